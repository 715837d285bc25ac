"""Decile analysis of a signal: mean forward return per decile, D1−D10 spreads, by regime.

Deciles follow ``pd.qcut(signal, 10, labels=False, duplicates="drop")`` on the bars that have a
signal: bin edges are the linearly interpolated quantiles of the whole evaluated sample, bins are
right-closed and the lowest edge is included. Assigning deciles with the full sample is an
*evaluation* device (how do returns sort on the signal?), not a trading rule; tradeable thresholds
are tested by the backtest instead.

Spreads are in bps. Contrarian (default): ``D1 − D10`` (long the lowest decile, short the highest);
otherwise ``D10 − D1``. A spread is the return of two positions, a long and a short, and each trades
a round trip: ``net_bps`` subtracts ``fee_legs`` round-trip fees (2 by default; the notebook's table
subtracts one, ``fee_legs=1``, which makes a thin spread look profitable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from pointline.research.evaluate.columns import require_bins, require_columns

REGIME_ORDER = ("low_vol", "normal", "high_vol")


def quantile_bins(values: np.ndarray, q: int = 10) -> np.ndarray:
    """``pd.qcut(values, q, labels=False, duplicates="drop")`` for finite values (-1 where NaN).

    Example
    -------
    >>> quantile_bins(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [0, 0, 1, 1]
    """
    out = np.full(values.shape[0], -1, dtype=np.int64)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    edges = np.unique(np.quantile(values[ok], np.linspace(0.0, 1.0, q + 1)))
    idx = np.searchsorted(edges, values[ok], side="left") - 1
    out[ok] = np.clip(idx, 0, max(edges.size - 2, 0))
    return out


def with_deciles(df: pl.DataFrame, signal_col: str = "signal", q: int = 10) -> pl.DataFrame:
    """Rows with a signal, plus ``signal_decile`` (0 = lowest signal)."""
    require_columns(df, [signal_col], "with_deciles")
    require_bins(q, "with_deciles")
    clean = df.filter(pl.col(signal_col).is_not_null() & pl.col(signal_col).is_not_nan())
    bins = quantile_bins(clean[signal_col].cast(pl.Float64).to_numpy(), q)
    return clean.with_columns(pl.Series("signal_decile", bins))


def decile_returns(deciled: pl.DataFrame, horizons: Mapping[str, str]) -> pl.DataFrame:
    """Mean forward return (bps) and count per (horizon, decile) from :func:`with_deciles` output."""
    require_columns(deciled, ["signal_decile", *horizons.values()], "decile_returns")
    parts = [
        deciled.filter(pl.col(col).is_not_null())
        .group_by("signal_decile")
        .agg((pl.col(col).mean() * 1e4).alias("mean_bps"), pl.len().alias("count"))
        .with_columns(pl.lit(label).alias("horizon"))
        .sort("signal_decile")
        for label, col in horizons.items()
    ]
    return pl.concat(parts).select("horizon", "signal_decile", "mean_bps", "count")


def _spread(sub: pl.DataFrame, col: str, contrarian: bool) -> tuple[float, float, float]:
    means = sub.group_by("signal_decile").agg(pl.col(col).mean() * 1e4).sort("signal_decile")[col].to_numpy()
    if means.size == 0:
        return (np.nan, np.nan, np.nan)
    first, last = float(means[0]), float(means[-1])
    return first, last, (first - last) if contrarian else (last - first)


def decile_spreads(
    deciled: pl.DataFrame,
    horizons: Mapping[str, str],
    *,
    fee_bps: float = 7.0,
    contrarian: bool = True,
    fee_legs: int = 2,
) -> pl.DataFrame:
    """Per horizon: ``d1_bps``, ``d10_bps`` (lowest / highest decile mean), ``spread_bps``, and
    ``net_bps`` = ``spread_bps − fee_legs × fee_bps`` (``fee_bps`` is one round trip; both legs of
    the long-short spread pay one, see the module docstring).

    Example
    -------
    >>> d = with_deciles(pl.DataFrame({"signal": np.arange(100.0), "fwd": -np.arange(100.0) / 1e4}))
    >>> decile_spreads(d, {"x": "fwd"}, fee_bps=0.0)["spread_bps"].to_list()
    [90.0]
    """
    require_columns(deciled, ["signal_decile", *horizons.values()], "decile_spreads")
    rows = []
    for label, col in horizons.items():
        d1, d10, spread = _spread(deciled.filter(pl.col(col).is_not_null()), col, contrarian)
        rows.append(
            {
                "horizon": label,
                "d1_bps": d1,
                "d10_bps": d10,
                "spread_bps": spread,
                "net_bps": spread - fee_legs * fee_bps,
            }
        )
    return pl.DataFrame(rows)


def regime_spreads(
    deciled: pl.DataFrame,
    horizons: Mapping[str, str],
    *,
    regime_col: str = "vol_regime",
    regimes: Sequence[str] = REGIME_ORDER,
    min_obs: int = 200,
    contrarian: bool = True,
) -> pl.DataFrame:
    """Decile spread (bps) per horizon and regime (deciles from the whole sample, as the notebook).

    A regime with fewer than ``min_obs`` bars for a horizon gets a null spread; column ``all`` is the
    spread over every bar.
    """
    rows = []
    for label, col in horizons.items():
        valid = deciled.filter(pl.col(col).is_not_null())
        row: dict[str, object] = {"horizon": label}
        for regime in regimes:
            sub = valid.filter(pl.col(regime_col) == regime)
            row[regime] = None if sub.height < min_obs else _spread(sub, col, contrarian)[2]
        row["all"] = _spread(valid, col, contrarian)[2]
        rows.append(row)
    schema = {"horizon": pl.Utf8, **{r: pl.Float64 for r in (*regimes, "all")}}
    return pl.DataFrame(rows, schema=schema)
