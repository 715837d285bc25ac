"""Volatility regime from the ratio of short to long realised volatility, known at each bar.

``vol_ratio = std(returns over the last 12 bars) / std(returns over the last 288 bars)`` (1 h / 1 d on
5-minute bars). Each bar is labelled ``low_vol`` / ``normal`` / ``high_vol`` against the 0.3 and 0.7
quantiles of the vol ratios seen *up to and including that bar* (``expanding``) or in a trailing
window (``trailing``). Bars without a ratio, or before ``min_history`` ratios exist, are ``warmup``.

``full_sample`` reproduces the notebook's ``pd.qcut`` over the whole sample; it leaks future
information into every label and exists for parity runs only.

Bins follow ``pd.qcut``: ``low_vol`` is ``ratio <= q_lo``, ``normal`` is ``q_lo < ratio <= q_hi``,
``high_vol`` is ``ratio > q_hi``; quantiles use linear interpolation (numpy's default).
"""

from __future__ import annotations

from typing import Literal

import numba as nb
import numpy as np
import polars as pl

from pointline.errors import PointlineError

REGIMES = ("low_vol", "normal", "high_vol")
WARMUP = "warmup"
RegimeMethod = Literal["expanding", "trailing", "full_sample"]


@nb.njit(cache=True)
def _sorted_quantile(buf: np.ndarray, m: int, q: float) -> float:
    pos = q * (m - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, m - 1)
    frac = pos - lo
    return buf[lo] + (buf[hi] - buf[lo]) * frac


@nb.njit(cache=True)
def _causal_thresholds(
    x: np.ndarray, q_lo: float, q_hi: float, window: int, min_history: int
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of the finite values among x[max(0, t-window+1) .. t] (window <= 0: expanding)."""
    n = x.shape[0]
    lo_out = np.full(n, np.nan)
    hi_out = np.full(n, np.nan)
    buf = np.empty(n)
    m = 0
    for t in range(n):
        v = x[t]
        if np.isfinite(v):
            k = np.searchsorted(buf[:m], v)
            buf[k + 1 : m + 1] = buf[k:m].copy()
            buf[k] = v
            m += 1
        if window > 0 and t - window >= 0:
            old = x[t - window]
            if np.isfinite(old):
                k = np.searchsorted(buf[:m], old)
                buf[k : m - 1] = buf[k + 1 : m].copy()
                m -= 1
        if m >= min_history and m > 0:
            lo_out[t] = _sorted_quantile(buf, m, q_lo)
            hi_out[t] = _sorted_quantile(buf, m, q_hi)
    return lo_out, hi_out


def vol_regime(
    df: pl.DataFrame,
    returns_col: str,
    *,
    short_bars: int = 12,
    long_bars: int = 288,
    quantiles: tuple[float, float] = (0.3, 0.7),
    method: RegimeMethod = "expanding",
    window_bars: int = 288 * 30,
    min_history: int = 288,
    min_fraction: float = 1.0,
) -> pl.DataFrame:
    """Add ``rvol_short``, ``rvol_long``, ``vol_ratio``, ``vol_lo``, ``vol_hi`` and ``vol_regime``.

    Parameters
    ----------
    df
        One row per bar in time order (use a complete time grid so that rows are time).
    returns_col
        One-bar returns of the reference venue.
    short_bars, long_bars
        Rolling windows (rows) of the realised-vol standard deviations (ddof=1, full windows only).
    quantiles
        Lower and upper regime quantiles.
    method
        ``expanding`` / ``trailing`` (point-in-time) or ``full_sample`` (notebook parity, leaks).
    window_bars
        Trailing window for ``method="trailing"``.
    min_history
        Number of vol ratios needed before a causal threshold is trusted (earlier bars: ``warmup``).
    min_fraction
        Share of non-null returns a rolling window needs (1.0 = full windows, the notebook's
        pandas default; lower it on a time grid with occasional missing bars).

    Returns
    -------
    pl.DataFrame
        ``df`` plus the columns above; ``vol_regime`` is Utf8 in ``low_vol``, ``normal``,
        ``high_vol``, ``warmup``. With a causal method, the label at a bar depends only on rows up
        to that bar.

    Example
    -------
    >>> import numpy as np
    >>> bars = pl.DataFrame({"r": np.random.default_rng(0).normal(0, 1e-3, 2000)})
    >>> vol_regime(bars, "r", min_history=100)["vol_regime"].unique().sort().to_list()
    ['high_vol', 'low_vol', 'normal', 'warmup']
    """
    if returns_col not in df.columns:
        raise PointlineError(f"vol_regime: returns column {returns_col!r} not in frame")
    q_lo, q_hi = quantiles
    if not 0.0 < q_lo < q_hi < 1.0:
        raise PointlineError(f"vol_regime: quantiles must satisfy 0 < lo < hi < 1, got {quantiles}")
    if method not in ("expanding", "trailing", "full_sample"):
        raise PointlineError(f"vol_regime: method must be expanding, trailing or full_sample, got {method!r}")
    if not 0.0 < min_fraction <= 1.0:
        raise PointlineError(f"vol_regime: min_fraction must be in (0, 1], got {min_fraction}")
    r = pl.col(returns_col).fill_nan(None)
    need_short = max(2, int(np.ceil(short_bars * min_fraction)))
    need_long = max(2, int(np.ceil(long_bars * min_fraction)))
    out = df.with_columns(
        r.rolling_std(short_bars, min_samples=need_short).alias("rvol_short"),
        r.rolling_std(long_bars, min_samples=need_long).alias("rvol_long"),
    ).with_columns((pl.col("rvol_short") / pl.col("rvol_long").clip(lower_bound=1e-10)).alias("vol_ratio"))
    ratio = out["vol_ratio"].fill_null(np.nan).to_numpy().astype(np.float64)
    if method == "full_sample":
        finite = ratio[np.isfinite(ratio)]
        lo_v, hi_v = np.quantile(finite, [q_lo, q_hi]) if finite.size else (np.nan, np.nan)
        lo = np.full(ratio.shape, lo_v)
        hi = np.full(ratio.shape, hi_v)
    else:
        window = window_bars if method == "trailing" else 0
        lo, hi = _causal_thresholds(ratio, q_lo, q_hi, window, max(min_history, 1))
    out = out.with_columns(pl.Series("vol_lo", lo).fill_nan(None), pl.Series("vol_hi", hi).fill_nan(None))
    label = (
        pl.when(pl.col("vol_ratio").is_null() | pl.col("vol_lo").is_null())
        .then(pl.lit(WARMUP))
        .when(pl.col("vol_ratio") <= pl.col("vol_lo"))
        .then(pl.lit("low_vol"))
        .when(pl.col("vol_ratio") <= pl.col("vol_hi"))
        .then(pl.lit("normal"))
        .otherwise(pl.lit("high_vol"))
    )
    return out.with_columns(label.alias("vol_regime"))
