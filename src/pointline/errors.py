"""Exceptions a user can cause. Each message says what was wrong and what was expected."""

from __future__ import annotations


class PointlineWarning(UserWarning):
    """Something a user asked for has no effect or may not mean what they think (a config key an
    aggregation does not read, a source of another instrument); the run goes on."""


class PointlineError(Exception):
    """Base class for errors caused by user input (bad arguments, unknown names, bad files)."""


class SymbolNotFoundError(PointlineError, LookupError):
    """No instrument matches an (exchange, symbol) pair exactly."""


class DataNotFoundError(PointlineError, LookupError):
    """A table or partition the request needs holds no data."""


class ValidationError(PointlineError, ValueError):
    """A request or configuration is invalid; ``problems`` lists ``(json_path, message)`` pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
