"""Rank information coefficient (Spearman) of a signal against forward returns.

Forward returns over ``h`` bars sampled every bar overlap, so consecutive products of ranks are
autocorrelated and the classical Spearman p-value overstates significance. Two overlap-aware
figures are reported beside it:

- ``t_nw`` / ``p_nw``: the IC written as the mean of ``z(rank signal) * z(rank return)`` (which equals
  Spearman's rho exactly) with a Newey-West (Bartlett kernel) standard error using ``h - 1`` lags;
- ``ic_nonoverlap`` / ``p_nonoverlap``: Spearman on every ``h``-th pair only (no two returns overlap).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from pointline.research.evaluate.columns import require_columns

IC_COLUMNS = (
    "horizon",
    "n",
    "ic",
    "p_value",
    "nw_lags",
    "t_nw",
    "p_nw",
    "n_nonoverlap",
    "ic_nonoverlap",
    "p_nonoverlap",
)


def newey_west_mean_t(u: np.ndarray, lags: int) -> float:
    """t-statistic of ``mean(u)`` with a Newey-West (Bartlett) long-run variance over ``lags`` lags."""
    n = u.size
    d = u - u.mean()
    lrv = float(d @ d) / n
    for lag in range(1, min(lags, n - 1) + 1):
        w = 1.0 - lag / (lags + 1.0)
        lrv += 2.0 * w * float(d[lag:] @ d[:-lag]) / n
    if lrv <= 0:
        return float("nan")
    return float(u.mean() / np.sqrt(lrv / n))


def ic_one(signal: np.ndarray, label: np.ndarray, horizon_bars: int = 1) -> dict[str, float]:
    """Spearman IC and its overlap-aware statistics on the pair-complete rows of two arrays.

    Parameters
    ----------
    signal, label
        Float arrays in time order; NaN = missing (pairs with a missing side are dropped).
    horizon_bars
        Length of the forward return in bars (``h - 1`` Newey-West lags, every ``h``-th pair for
        the non-overlapping estimate).

    Returns
    -------
    dict[str, float]
        ``n, ic, p_value, nw_lags, t_nw, p_nw, n_nonoverlap, ic_nonoverlap, p_nonoverlap``.

    Example
    -------
    >>> x = np.arange(100.0)
    >>> round(ic_one(x, x)["ic"], 6)
    1.0
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    ok = np.isfinite(signal) & np.isfinite(label)
    s, y = signal[ok], label[ok]
    nan = float("nan")
    out = dict.fromkeys(IC_COLUMNS[1:], nan)
    out["n"] = float(s.size)
    lags = max(int(horizon_bars) - 1, 0)
    out["nw_lags"] = float(lags)
    if s.size < 3:
        return out
    rho, p = stats.spearmanr(s, y)
    out["ic"], out["p_value"] = float(rho), float(p)
    rs, ry = stats.rankdata(s), stats.rankdata(y)
    if rs.std() > 0 and ry.std() > 0:
        u = ((rs - rs.mean()) / rs.std()) * ((ry - ry.mean()) / ry.std())
        t = newey_west_mean_t(u, lags)
        out["t_nw"] = t
        out["p_nw"] = float(2.0 * stats.norm.sf(abs(t))) if np.isfinite(t) else nan
    step = max(int(horizon_bars), 1)
    s2, y2 = s[::step], y[::step]
    out["n_nonoverlap"] = float(s2.size)
    if s2.size >= 3:
        rho2, p2 = stats.spearmanr(s2, y2)
        out["ic_nonoverlap"], out["p_nonoverlap"] = float(rho2), float(p2)
    return out


def rank_ic(
    df: pl.DataFrame,
    signal_col: str,
    horizons: Mapping[str, str],
    horizon_bars: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """Rank IC of ``signal_col`` against each forward-return column.

    Parameters
    ----------
    df
        Bars in time order.
    signal_col
        Signal column.
    horizons
        ``{horizon label: forward-return column}``.
    horizon_bars
        ``{horizon label: bars}`` for the overlap corrections (default 1 = no correction).

    Returns
    -------
    pl.DataFrame
        One row per horizon with the columns of :data:`IC_COLUMNS`.

    Example
    -------
    >>> bars = pl.DataFrame({"s": [1.0, 2, 3, 4, 5], "fwd_5m": [0.1, 0.2, 0.3, 0.5, 0.4]})
    >>> rank_ic(bars, "s", {"5m": "fwd_5m"})["ic"].round(2).to_list()
    [0.9]
    """
    require_columns(df, [signal_col, *horizons.values()], "rank_ic")
    sig = df[signal_col].cast(pl.Float64).fill_null(np.nan).to_numpy()
    rows = []
    for label, col in horizons.items():
        y = df[col].cast(pl.Float64).fill_null(np.nan).to_numpy()
        bars = (horizon_bars or {}).get(label, 1)
        rows.append({"horizon": label, **ic_one(sig, y, bars)})
    schema = {"horizon": pl.Utf8, **dict.fromkeys(IC_COLUMNS[1:], pl.Float64)}
    return pl.DataFrame(rows, schema=schema).with_columns(pl.col("n").cast(pl.Int64))
