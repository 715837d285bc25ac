"""The CLI's consoles. On a terminal Rich fits tables to its width; piped into a file or another
program there is no width to fit, and Rich's default of 80 columns (or ``COLUMNS``) would cut ids
and paths (``6306468…``), so output that is not a terminal is at least :data:`PIPED_WIDTH` wide.
Decided at each print, so a stream redirected after start-up is seen as it is."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleDimensions

#: Least width of output that is not a terminal.
PIPED_WIDTH = 200


class _CliConsole(Console):
    @property  # type: ignore[override]
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or size.width >= PIPED_WIDTH:
            return size
        return ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def make_console(*, stderr: bool = False, **kwargs: Any) -> Console:
    """A Rich console on stdout (or stderr) that does not squeeze tables when piped."""
    return _CliConsole(stderr=stderr, **kwargs)
