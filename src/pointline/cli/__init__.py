"""The ``pointline`` command line (Typer + Rich).

Each command group lives in its own module with a ``register(app)`` function; this module
only assembles them, so commands never import each other.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="pointline",
    help="Point-in-time correct research on crypto tick data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = ("lake", "ingest", "synth", "pipeline", "study")

for _name in _COMMAND_MODULES:
    importlib.import_module(f"pointline.cli.{_name}").register(app)


def main() -> None:
    """Entry point of the ``pointline`` console script."""
    app()
