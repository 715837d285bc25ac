"""Rolling-rank composite signal.

Each feature is turned into its percentile rank among the trailing ``window`` rows (the current row
included; ties get the average rank; pandas ``rolling(window, min_periods).rank(pct=True)``
semantics), the ranks are averaged across features (ignoring missing ranks), and the average is
z-scored with the trailing mean and standard deviation (ddof=1) over the same window. Every value at
row ``t`` depends only on rows ``<= t``.

Rows are bars; put the frame on a complete time grid first so that ``window`` rows is a fixed
length of time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np
import polars as pl

from pointline.errors import PointlineError

RANK_WINDOW = 864
MIN_PERIODS = 288


@nb.njit(cache=True)
def rolling_pct_rank(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Percentile rank of ``x[t]`` among the finite values of ``x[t-window+1 .. t]`` (NaN-aware).

    Parameters
    ----------
    x
        Float64 values; NaN means missing.
    window, min_periods
        Trailing window length (rows) and the minimum number of finite values in it.

    Returns
    -------
    np.ndarray
        Average-tie rank divided by the number of finite values; NaN where ``x[t]`` is NaN or the
        window holds fewer than ``min_periods`` values.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(n):
        v = x[t]
        if not np.isfinite(v):
            continue
        start = max(0, t - window + 1)
        count = 0
        less = 0
        equal = 0
        for j in range(start, t + 1):
            w = x[j]
            if np.isfinite(w):
                count += 1
                if w < v:
                    less += 1
                elif w == v:
                    equal += 1
        if count >= min_periods:
            out[t] = (less + (equal + 1) / 2.0) / count
    return out


@nb.njit(cache=True)
def rolling_mean_std(x: np.ndarray, window: int, min_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean and sample std (ddof=1) of the finite values in each window (two-pass, exact)."""
    n = x.shape[0]
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    for t in range(n):
        start = max(0, t - window + 1)
        s = 0.0
        c = 0
        for j in range(start, t + 1):
            if np.isfinite(x[j]):
                s += x[j]
                c += 1
        if c < min_periods or c == 0:
            continue
        m = s / c
        mean[t] = m
        if c > 1:
            ss = 0.0
            for j in range(start, t + 1):
                if np.isfinite(x[j]):
                    d = x[j] - m
                    ss += d * d
            std[t] = np.sqrt(ss / (c - 1))
    return mean, std


def _as_float(df: pl.DataFrame, col: str) -> np.ndarray:
    return df[col].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()


def composite_signal(
    df: pl.DataFrame,
    features: Sequence[str],
    *,
    window: int = RANK_WINDOW,
    min_periods: int = MIN_PERIODS,
    sign: float = 1.0,
    name: str = "signal",
) -> pl.DataFrame:
    """Add ``<feature>_rank`` columns, ``composite`` and the z-scored ``signal``.

    Parameters
    ----------
    df
        One row per bar in time order.
    features
        Feature columns to combine (all oriented the same way).
    window, min_periods
        Trailing window (rows) and warm-up for both the ranks and the z-score (default 864 / 288:
        three days / one day of 5-minute bars).
    sign
        ``+1`` keeps the features' orientation, ``-1`` flips it (a high signal then means a low
        feature average).
    name
        Name of the output signal column.

    Returns
    -------
    pl.DataFrame
        ``df`` plus the rank columns, ``composite`` (mean rank in [0, 1]) and ``name``:
        ``sign * (composite - mean) / max(std, 1e-10)`` over the trailing window; null in warm-up.

    Example
    -------
    >>> import numpy as np
    >>> bars = pl.DataFrame({"a": np.arange(400.0), "b": np.arange(400.0)})
    >>> composite_signal(bars, ["a", "b"], window=100, min_periods=50)["composite"][-1]
    1.0
    """
    if not features:
        raise PointlineError("composite_signal: expected at least one feature column")
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise PointlineError(f"composite_signal: feature column(s) {missing} not in frame")
    if min_periods < 1 or window < min_periods:
        raise PointlineError(
            f"composite_signal: need 1 <= min_periods <= window, got window={window}, min_periods={min_periods}"
        )
    if sign not in (1.0, -1.0):
        raise PointlineError(f"composite_signal: sign must be +1 or -1, got {sign}")
    ranks = np.column_stack([rolling_pct_rank(_as_float(df, f), window, min_periods) for f in features])
    counts = np.isfinite(ranks).sum(axis=1)
    with np.errstate(invalid="ignore"):
        comp = np.where(counts > 0, np.nansum(ranks, axis=1) / np.maximum(counts, 1), np.nan)
    mean, std = rolling_mean_std(comp, window, min_periods)
    signal = sign * (comp - mean) / np.maximum(std, 1e-10)
    cols = [pl.Series(f"{f}_rank", ranks[:, i]).fill_nan(None) for i, f in enumerate(features)]
    cols += [pl.Series("composite", comp).fill_nan(None), pl.Series(name, signal).fill_nan(None)]
    return df.with_columns(cols)


def frozen_zscore(composite: np.ndarray, train_mask: np.ndarray) -> np.ndarray:
    """Notebook walk-forward z-score: ``(composite - mean_train) / std_train`` (ddof=1, NaN-skipping).

    Parameters
    ----------
    composite
        Composite values (NaN in warm-up).
    train_mask
        True on the training rows whose statistics are frozen.

    Returns
    -------
    np.ndarray
        The z-scored composite on every row.
    """
    train = composite[train_mask & np.isfinite(composite)]
    return (composite - train.mean()) / train.std(ddof=1)
