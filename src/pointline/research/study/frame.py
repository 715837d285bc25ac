"""The study frame: merged venues, consensus, regime, forward returns and composite signal."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from pointline.errors import PointlineError
from pointline.research.composite import composite_signal
from pointline.research.regime import vol_regime
from pointline.research.returns import forward_returns, forward_returns_by_rows
from pointline.research.study.config import StudyConfig
from pointline.research.study.inputs import (
    NOTEBOOK_MERGE_COLUMNS,
    add_consensus,
    merge_exchanges,
    suffix_for,
    to_time_grid,
)


def build_study_frame(
    frames: Mapping[str, pl.DataFrame], cfg: StudyConfig, *, parity: bool = False
) -> pl.DataFrame:
    """One row per bar with everything the evaluation and the backtests read.

    Parameters
    ----------
    frames
        ``{exchange: bar frame}`` in config order; the first exchange prices the trades.
    cfg
        Study configuration.
    parity
        Notebook choices: row-based returns and horizons, no time grid, full-sample regime.

    Returns
    -------
    pl.DataFrame
        ``ts`` (bucket end, µs), ``bucket_start`` (µs), suffixed venue columns, ``<f>_consensus``,
        ``open``/``close`` of the reference venue, regime columns, ``fwd_<h>`` labels, ranks,
        ``composite`` and ``signal``. Clean frames are on the complete time grid (missing bars are
        null rows), so every rolling window is a window of time.
    """
    interval = cfg.interval_us
    extra = [c for c in cfg.consensus_features if c not in NOTEBOOK_MERGE_COLUMNS]
    merged = merge_exchanges(
        frames,
        columns=(*NOTEBOOK_MERGE_COLUMNS, *extra),
        suffixes=cfg.suffixes,
        interval_us=interval,
        returns="rows" if parity else "grid",
    )
    if not parity:
        merged = to_time_grid(merged, interval)
    sfx = [suffix_for(e, cfg.suffixes) for e in frames]
    merged = add_consensus(merged, cfg.consensus_features, sfx)
    ref = sfx[0]
    prices = [pl.col(f"close_{ref}").alias("close")]
    if f"open_{ref}" in merged.columns:
        prices.append(pl.col(f"open_{ref}").alias("open"))
    merged = merged.with_columns(prices)
    reg = dict(cfg.regime)
    merged = vol_regime(
        merged,
        f"returns_{ref}",
        short_bars=int(reg.get("short_bars", 12)),
        long_bars=int(reg.get("long_bars", 288)),
        quantiles=tuple(reg.get("quantiles", (0.3, 0.7))),  # type: ignore[arg-type]
        method="full_sample" if parity else reg.get("method", "expanding"),
        window_bars=int(reg.get("window_bars", 288 * 30)),
        min_history=int(reg.get("min_history", 288)),
        min_fraction=1.0 if parity else float(reg.get("min_fraction", 0.8)),
    )
    if parity:
        merged = forward_returns_by_rows(merged, "close", cfg.horizons)
    else:
        merged = forward_returns(merged, "close", {k: v * interval for k, v in cfg.horizons.items()})
    missing = [f for f in cfg.features if f not in merged.columns]
    if missing:
        raise PointlineError(
            f"study config: features {missing} are not columns of the study frame; consensus columns are "
            f"{[f'{f}_consensus' for f in cfg.consensus_features]}, venue columns end in {sfx}"
        )
    return composite_signal(
        merged, cfg.features, window=cfg.rank_window, min_periods=cfg.min_periods, sign=float(cfg.sign)
    )
