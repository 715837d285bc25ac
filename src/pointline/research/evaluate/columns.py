"""Argument checks shared by the evaluation functions: a wrong column name or bin count is a
:class:`~pointline.errors.PointlineError` naming it, not an engine error from deep inside."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import polars as pl

from pointline.errors import PointlineError


def require_columns(df: pl.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise naming the first of ``columns`` missing from ``df`` (with a close match, if any).

    Example
    -------
    >>> require_columns(pl.DataFrame({"signal": [1.0]}), ["signl"], "rank_ic")
    Traceback (most recent call last):
    ...
    pointline.errors.PointlineError: rank_ic: column 'signl' is not in the frame; did you mean 'signal'?
    """
    for column in columns:
        if column not in df.columns:
            hint = difflib.get_close_matches(column, df.columns, n=1)
            suffix = f"; did you mean {hint[0]!r}?" if hint else f" (columns: {', '.join(df.columns)})"
            raise PointlineError(f"{where}: column {column!r} is not in the frame{suffix}")


def require_bins(q: object, where: str) -> None:
    """Raise unless ``q`` is an integer number of quantile bins, at least 2."""
    if isinstance(q, bool) or not isinstance(q, int) or q < 2:
        raise PointlineError(f"{where}: q must be an integer number of bins >= 2, got {q!r}")
