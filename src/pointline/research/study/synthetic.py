"""Synthetic multi-exchange bar frames with a planted contrarian relation (tests, benchmarks, demos).

A latent order-flow factor ``f_t`` (AR(1)) drives every imbalance feature on every venue (plus
venue noise); the *next* bar's return is ``-effect * sigma_t * f_t`` plus noise, so a high imbalance
predicts a fall (the notebook's contrarian finding). Volatility ``sigma_t`` wanders slowly so that
the three regimes exist. Frames use the point-in-time layout: ``ts`` = bucket end, ``bucket_start``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from pointline.research.study.inputs import CONSENSUS_FEATURES


def synthetic_feature_frames(
    n_bars: int,
    *,
    exchanges: Sequence[str] = ("binance-futures", "bybit", "okex-swap"),
    start_us: int = 1_761_955_200_000_000,
    interval_us: int = 300_000_000,
    effect: float = 0.3,
    seed: int = 0,
    drop_ratio: float = 0.0,
) -> dict[str, pl.DataFrame]:
    """Bar frames per exchange with the notebook's feature columns.

    Parameters
    ----------
    n_bars
        Bars per exchange.
    exchanges
        Venue names (the keys of the result).
    start_us, interval_us
        First bucket start and bar length, µs (default 2025-11-01, 5 minutes).
    effect
        Strength of the planted relation (0 = features carry no information about returns).
    seed
        Random seed (same seed → same frames).
    drop_ratio
        Share of bars removed at random from each venue (gaps in the grid).

    Returns
    -------
    dict[str, pl.DataFrame]
        ``{exchange: frame}`` with ``ts``, ``bucket_start``, the six imbalance features,
        ``kyle_lambda``, ``arrival_rate``, ``volume``, ``open``, ``close``, ``price_range``,
        ``trade_count``.

    Example
    -------
    >>> frames = synthetic_feature_frames(100)
    >>> sorted(frames), frames["bybit"].height
    (['binance-futures', 'bybit', 'okex-swap'], 100)
    """
    rng = np.random.default_rng(seed)
    f = np.empty(n_bars)
    f[0] = 0.0
    shocks = rng.normal(0.0, 1.0, n_bars)
    for t in range(1, n_bars):
        f[t] = 0.3 * f[t - 1] + shocks[t]
    vol_shocks = rng.normal(0.0, 0.03, n_bars)
    log_sigma = np.empty(n_bars)
    log_sigma[0] = 0.0
    for t in range(1, n_bars):
        log_sigma[t] = 0.998 * log_sigma[t - 1] + vol_shocks[t]
    sigma = 1e-3 * np.exp(log_sigma)
    noise = rng.normal(0.0, 1.0, n_bars)
    ret = np.empty(n_bars)
    ret[0] = sigma[0] * noise[0]
    ret[1:] = sigma[1:] * (-effect * f[:-1] + noise[1:])
    mid = 50_000.0 * np.exp(np.cumsum(ret))
    bucket_start = start_us + interval_us * np.arange(n_bars, dtype=np.int64)
    frames = {}
    for exchange in exchanges:
        basis = np.exp(rng.normal(0.0, 2e-5, n_bars))
        close = mid * basis
        open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0.0, 1e-5, n_bars))
        cols = {name: np.tanh(0.3 * f + rng.normal(0.0, 0.5, n_bars)) for name in CONSENSUS_FEATURES}
        frame = pl.DataFrame(
            {
                "ts": bucket_start + interval_us,
                "bucket_start": bucket_start,
                **cols,
                "kyle_lambda": rng.normal(0.0, 0.2, n_bars),
                "arrival_rate": rng.gamma(5.0, 2.0, n_bars) * sigma / 1e-3,
                "volume": rng.gamma(3.0, 10.0, n_bars),
                "open": open_,
                "close": close,
                "price_range": np.abs(rng.normal(0.0, 1.0, n_bars)) * sigma * 2,
                "trade_count": rng.poisson(500, n_bars).astype(np.int64),
            }
        )
        if drop_ratio > 0:
            frame = frame.filter(pl.Series(rng.random(n_bars) >= drop_ratio))
        frames[exchange] = frame
    return frames
