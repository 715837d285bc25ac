"""Put event frames in a given lexicographic order without paying for a sort when already there.

Lake files are written in total order, so query results, bucketed frames and state frames are
almost always sorted already; a single Numba pass over the key columns (no copies for Int64 keys)
proves it for a fraction of what even a no-op sort costs.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from numba import njit

_MAX_FAST_KEYS = 5
#: Up to this many rows, integer keys are compared as Python tuples (no array conversion, no kernel call).
_SMALL_ROWS = 1024


@njit(cache=True, nogil=True)
def _lex_sorted(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, e: np.ndarray) -> bool:
    """Whether rows are non-decreasing by ``(a, b, c, d, e)``; callers repeat the last key to pad."""
    for i in range(1, a.shape[0]):
        if a[i] != a[i - 1]:
            if a[i] < a[i - 1]:
                return False
        elif b[i] != b[i - 1]:
            if b[i] < b[i - 1]:
                return False
        elif c[i] != c[i - 1]:
            if c[i] < c[i - 1]:
                return False
        elif d[i] != d[i - 1]:
            if d[i] < d[i - 1]:
                return False
        elif e[i] < e[i - 1]:
            return False
    return True


def is_sorted_by(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether ``frame`` is in non-decreasing lexicographic order of ``columns``.

    Example
    -------
    >>> is_sorted_by(pl.DataFrame({"t": [1, 1, 2], "line": [5, 6, 1]}), ["t", "line"])
    True
    """
    if frame.height < 2 or not columns:
        return True
    keys = frame.select(columns)
    fast = len(columns) <= _MAX_FAST_KEYS and all(
        dtype.is_integer() or dtype in (pl.Date, pl.Datetime) for dtype in keys.dtypes
    )
    if fast and not any(keys.null_count().row(0)):
        if keys.height <= _SMALL_ROWS:  # a bar's events online: tuples beat handing arrays to Numba
            rows = (
                keys.select(pl.all().to_physical()).rows()
                if any(d in (pl.Date, pl.Datetime) for d in keys.dtypes)
                else keys.rows()
            )
            return all(a <= b for a, b in itertools.pairwise(rows))
        # Integer keys as they are (Numba compiles one kernel per dtype mix): widening Int32 keys
        # such as file_id and file_line_number would copy them.
        arrays = [keys[c].to_physical().to_numpy() for c in columns]
        arrays += [arrays[-1]] * (_MAX_FAST_KEYS - len(arrays))
        return bool(_lex_sorted(*arrays))
    # Nulls come first, where ``DataFrame.sort`` puts them.
    in_order = pl.lit(True)
    for name in reversed(columns):
        col, prev = pl.col(name), pl.col(name).shift(1)
        up = (col > prev).fill_null(False) | (prev.is_null() & col.is_not_null())
        in_order = up | (col.eq_missing(prev) & in_order)
    return bool(keys.select(in_order.slice(1).all()).item())


def sort_if_needed(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` sorted (stably) by ``columns``; returned as is when already in that order.

    Query results are in total order already, so a linear check usually saves the sort.
    """
    if frame.height < 2 or not columns:
        return frame
    if is_sorted_by(frame, columns):
        # Mark the leading key sorted as ``sort`` would: Polars picks its group_by algorithm (and
        # so float summation order) from that flag, and results must not depend on the input layout.
        return frame.with_columns(pl.col(columns[0]).set_sorted())
    return frame.sort(columns, maintain_order=True)
