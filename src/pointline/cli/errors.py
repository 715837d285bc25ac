"""How the CLI reports user mistakes: one red line, a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from pointline.cli.console import make_console
from pointline.errors import PointlineError

err_console = make_console(stderr=True)
F = TypeVar("F", bound=Callable[..., object])


@contextmanager
def user_errors(exit_code: int = 2) -> Iterator[None]:
    """Turn :class:`PointlineError` (and friends) into a clear message and ``exit_code``."""
    try:
        yield
    except PointlineError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(exit_code) from None
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(exit_code) from None
