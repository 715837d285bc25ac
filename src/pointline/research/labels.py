"""Forward-return labels on bar frames, with point-in-time normalisation.

Labels look forward by definition and live in label columns only. For bar ``t`` of a symbol (bars
ordered by ``ts``, ties broken by ``bar_index``) and a horizon of ``window`` bars::

    r_t = price[t + window] / price[t] - 1

``r_t`` is null when the horizon is incomplete: in the last ``window`` bars, when either price is
null / NaN / zero, or when either bar is the unfinished last bar (``is_complete == False``).

**When a label is known.** ``r_s`` becomes known (realised) when bar ``s + window`` closes, at its
``ts``. Normalisation at bar ``t`` therefore only uses the labels ``r_s`` with ``s + window <= t``
(counted in bar positions within the symbol), never a full-sample statistic:

- ``"standardized"``: ``(r_t - mean) / std`` over the realised labels (expanding, sample std);
- ``"rank"``: the mid-rank percentile of ``r_t`` among the realised labels,
  ``(#{r_s < r_t} + 0.5 * #{r_s == r_t}) / n``, in ``[0, 1]``.

Both are null until ``min_periods`` labels are realised (default 20) and wherever ``r_t`` is null.
Consequence (pinned by tests): the normalised label of bar ``t`` depends only on bars ``0 .. t +
window``; truncating or changing any later bar never changes it.

**Column alias.** The guide's requests name ``"vwap_px"`` while the ``trade_vwap`` aggregation writes
``vwap``; when ``column == "vwap_px"`` is absent and ``vwap`` exists, ``vwap`` is used.
"""

from __future__ import annotations

import difflib
from typing import Any

import numba
import numpy as np
import polars as pl

from pointline.errors import ValidationError

NORMALIZATIONS = ("none", "standardized", "rank")
LABEL_TYPES = ("forward_return",)
DEFAULT_MIN_PERIODS = 20
#: Requested column → column actually used when the requested one is absent.
COLUMN_ALIASES = {"vwap_px": "vwap"}

_ROW = "__pointline_label_row"
_GROUP = "__pointline_label_group"


def resolve_price_column(columns: list[str], column: str) -> str:
    """The column a label reads: ``column`` itself, or its alias (``vwap_px`` → ``vwap``) when absent.

    Raises
    ------
    pointline.errors.ValidationError
        Neither the column nor its alias is in ``columns``.

    Example
    -------
    >>> resolve_price_column(["ts", "vwap"], "vwap_px")
    'vwap'
    """
    if column in columns:
        return column
    alias = COLUMN_ALIASES.get(column)
    if alias is not None and alias in columns:
        return alias
    hint = difflib.get_close_matches(column, columns, n=1)
    suffix = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValidationError(
        f"label column {column!r} is not in the frame (columns: {', '.join(columns)}){suffix}",
        [("column", f"expected one of the frame's columns, got {column!r}")],
    )


def forward_return(
    df: pl.DataFrame,
    *,
    window: int,
    column: str,
    name: str,
    by: str | None = "symbol_id",
    order: str = "ts",
    normalization: str = "none",
    min_periods: int = DEFAULT_MIN_PERIODS,
) -> pl.DataFrame:
    """Add a forward-return label column to a bar frame.

    Parameters
    ----------
    df
        Bars, one row per bar (any row order; the output keeps it).
    window
        Horizon in bars (>= 1).
    column
        Price column, e.g. ``"vwap"`` or ``"close"`` (``"vwap_px"`` falls back to ``vwap``).
    name
        Name of the new label column (Float64).
    by
        Symbol column; each symbol is labelled separately. ``None`` or a column the frame lacks
        means the frame holds a single series.
    order
        Column ordering bars in time, normally ``ts`` (µs, ``ts_local_us`` clock, the bar's
        known-at instant); ties are broken by ``bar_index`` when present.
    normalization
        ``"none"``, ``"standardized"`` or ``"rank"`` (see the module docstring: only labels already
        realised at each bar are used).
    min_periods
        Realised labels needed before a normalised value is emitted (>= 2).

    Returns
    -------
    pl.DataFrame
        ``df`` with the label column added (replaced if it existed).

    Example
    -------
    >>> bars = pl.DataFrame({"ts": [1, 2, 3], "close": [100.0, 110.0, 99.0]})
    >>> forward_return(bars, window=1, column="close", name="r1")["r1"].to_list()
    [0.10000000000000009, -0.09999999999999998, None]
    """
    _check_args(window, normalization, min_periods)
    price_col = resolve_price_column(df.columns, column)
    if order not in df.columns:
        raise ValidationError(
            f"order column {order!r} is not in the frame; expected the bars' time column (usually 'ts')",
            [("order", f"expected a column of the frame, got {order!r}")],
        )
    keys = [by] if by is not None and by in df.columns else []
    sort_cols = [*keys, order] + (["bar_index"] if "bar_index" in df.columns and order != "bar_index" else [])

    price = pl.col(price_col).cast(pl.Float64).fill_nan(None)
    if "is_complete" in df.columns:
        # The unfinished last bar's price is partial: it can neither start nor end a horizon.
        price = pl.when(pl.col("is_complete").fill_null(True)).then(price)
    price = pl.when(price != 0).then(price)
    ahead = price.shift(-window)
    if keys:
        ahead = ahead.over(keys)
    raw = (ahead / price - 1.0).alias(name)

    work = (
        df.with_row_index(_ROW)
        .sort(sort_cols, maintain_order=True)
        .with_columns(raw, (pl.struct(keys).rle_id() if keys else pl.lit(0, pl.UInt32)).alias(_GROUP))
    )
    if normalization != "none":
        values = work[name].to_numpy(allow_copy=True).astype(np.float64)
        groups = work[_GROUP].to_numpy().astype(np.int64)
        if normalization == "standardized":
            normed = _expanding_zscore(values, groups, window, min_periods)
        else:
            codes, n_values = _dense_codes(values)
            normed = _expanding_pct_rank(codes, groups, window, min_periods, n_values)
        work = work.with_columns(pl.Series(name, normed).fill_nan(None))
    return work.sort(_ROW).drop(_ROW, _GROUP)


def add_labels(
    df: pl.DataFrame,
    label_specs: list[dict[str, Any]],
    *,
    by: str | None = "symbol_id",
    order: str = "ts",
) -> pl.DataFrame:
    """Add every label of a request's ``labels`` list to a bar frame.

    Parameters
    ----------
    df
        Bars (see :func:`forward_return`).
    label_specs
        Dicts with ``name``, ``window``, ``column`` and optionally ``type`` (``"forward_return"``),
        ``normalization`` (``"none"``) and ``min_periods`` (20), as in the request schema.
    by, order
        As in :func:`forward_return`.

    Returns
    -------
    pl.DataFrame
        ``df`` with one Float64 column per label, in the order given.

    Example
    -------
    >>> bars = pl.DataFrame({"ts": [1, 2, 3], "vwap": [100.0, 101.0, 102.0]})
    >>> add_labels(bars, [{"name": "fwd1", "window": 1, "column": "vwap_px"}]).columns
    ['ts', 'vwap', 'fwd1']
    """
    out = df
    for i, spec in enumerate(label_specs):
        if not isinstance(spec, dict) or not {"name", "window", "column"} <= set(spec):
            raise ValidationError(
                f"labels[{i}]: expected an object with name, window and column, got {spec!r}",
                [(f"$.labels[{i}]", "expected an object with name, window and column")],
            )
        kind = spec.get("type", "forward_return")
        if kind not in LABEL_TYPES:
            raise ValidationError(
                f"labels[{i}].type: expected one of {', '.join(LABEL_TYPES)}, got {kind!r}",
                [(f"$.labels[{i}].type", f"expected one of {', '.join(LABEL_TYPES)}")],
            )
        out = forward_return(
            out,
            window=spec["window"],
            column=spec["column"],
            name=spec["name"],
            by=by,
            order=order,
            normalization=spec.get("normalization", "none"),
            min_periods=spec.get("min_periods", DEFAULT_MIN_PERIODS),
        )
    return out


def _check_args(window: Any, normalization: Any, min_periods: Any) -> None:
    problems = []
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        problems.append(("window", f"expected a whole number of bars >= 1, got {window!r}"))
    if normalization not in NORMALIZATIONS:
        problems.append(
            ("normalization", f"expected one of {', '.join(NORMALIZATIONS)}, got {normalization!r}")
        )
    if not isinstance(min_periods, int) or isinstance(min_periods, bool) or min_periods < 2:
        problems.append(("min_periods", f"expected an integer >= 2, got {min_periods!r}"))
    if problems:
        raise ValidationError("; ".join(f"{k}: {m}" for k, m in problems), problems)


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes of the finite values (equal values share a code); -1 for missing."""
    finite = np.isfinite(values)
    distinct = np.unique(values[finite])
    codes = np.full(values.shape, -1, dtype=np.int64)
    codes[finite] = np.searchsorted(distinct, values[finite])
    return codes, len(distinct)


@numba.njit(cache=True)
def _expanding_zscore(values: np.ndarray, groups: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """z-score of ``values[p]`` against ``values[start .. p - window]`` of its group (Welford)."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    start = 0
    while start < n:
        end = start
        while end < n and groups[end] == groups[start]:
            end += 1
        count = 0
        mean = 0.0
        m2 = 0.0
        for p in range(start, end):
            q = p - window
            if q >= start and np.isfinite(values[q]):
                count += 1
                delta = values[q] - mean
                mean += delta / count
                m2 += delta * (values[q] - mean)
            if count >= min_periods and np.isfinite(values[p]):
                var = m2 / (count - 1)
                if var > 0.0:
                    out[p] = (values[p] - mean) / np.sqrt(var)
        start = end
    return out


@numba.njit(cache=True)
def _expanding_pct_rank(
    codes: np.ndarray, groups: np.ndarray, window: int, min_periods: int, n_values: int
) -> np.ndarray:
    """Mid-rank percentile of ``codes[p]`` among ``codes[start .. p - window]`` (Fenwick tree counts)."""
    n = codes.shape[0]
    out = np.full(n, np.nan)
    tree = np.zeros(n_values + 1, dtype=np.int64)
    start = 0
    while start < n:
        end = start
        while end < n and groups[end] == groups[start]:
            end += 1
        count = 0
        for p in range(start, end):
            q = p - window
            if q >= start and codes[q] >= 0:
                i = codes[q] + 1
                while i <= n_values:
                    tree[i] += 1
                    i += i & -i
                count += 1
            c = codes[p]
            if count >= min_periods and c >= 0:
                less = 0
                i = c
                while i > 0:
                    less += tree[i]
                    i -= i & -i
                at_most = 0
                i = c + 1
                while i > 0:
                    at_most += tree[i]
                    i -= i & -i
                out[p] = (less + 0.5 * (at_most - less)) / count
        for q in range(start, max(start, end - window)):
            if codes[q] >= 0:
                i = codes[q] + 1
                while i <= n_values:
                    tree[i] -= 1
                    i += i & -i
        start = end
    return out
