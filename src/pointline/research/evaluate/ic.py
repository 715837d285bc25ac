"""Rank information coefficient (Spearman) of a signal against forward returns.

Forward returns over ``h`` bars sampled every bar overlap, so consecutive products of ranks are
autocorrelated and the classical Spearman p-value overstates significance. Two overlap-aware
figures are reported beside it:

- ``t_nw`` / ``p_nw``: the IC written as the mean of ``z(rank signal) * z(rank return)`` (which equals
  Spearman's rho exactly) with a Newey-West (Bartlett kernel) standard error using ``h - 1`` lags;
- ``ic_nonoverlap`` / ``p_nonoverlap``: Spearman on every ``h``-th pair only (no two returns overlap).

:func:`regime_ic` gives the same figures per volatility regime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from pointline.research.evaluate.columns import require_columns
from pointline.research.evaluate.deciles import REGIME_ORDER

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


def regime_ic(
    df: pl.DataFrame,
    signal_col: str,
    horizons: Mapping[str, str],
    horizon_bars: Mapping[str, int] | None = None,
    *,
    regime_col: str = "vol_regime",
    regimes: Sequence[str] = REGIME_ORDER,
    min_obs: int = 200,
) -> pl.DataFrame:
    """Rank IC of ``signal_col`` per regime (the label of the signal's bar) and horizon.

    Each regime's bars, in time order, are evaluated as :func:`rank_ic` evaluates the whole sample.
    A regime's bars are not consecutive, so two of them ``h`` rows apart are at least ``h`` bars
    apart: the Newey-West lags and the every-``h``-th-pair estimate stay conservative. A regime with
    fewer than ``min_obs`` complete pairs for a horizon gets its ``n`` and null statistics (the same
    floor as the decile spreads by regime).

    Returns
    -------
    pl.DataFrame
        ``regime``, then the columns of :data:`IC_COLUMNS`; one row per regime and horizon.

    Example
    -------
    >>> bars = pl.DataFrame({"s": [1.0, 2, 3, 4], "fwd": [1.0, 2, 4, 3], "vol_regime": ["low_vol"] * 4})
    >>> regime_ic(bars, "s", {"1b": "fwd"}, min_obs=3).select("regime", "n", pl.col("ic").round(1)).row(0)
    ('low_vol', 4, 0.8)
    """
    require_columns(df, [signal_col, regime_col, *horizons.values()], "regime_ic")
    stats = [c for c in IC_COLUMNS if c not in ("horizon", "n")]
    tables = []
    for regime in regimes:
        sub = df.filter(pl.col(regime_col) == regime)
        table = rank_ic(sub, signal_col, horizons, horizon_bars)
        table = table.with_columns(pl.when(pl.col("n") >= min_obs).then(pl.col(c)).alias(c) for c in stats)
        tables.append(table.select(pl.lit(regime).alias("regime"), pl.all()))
    return pl.concat(tables)
