"""Parameter sweep: threshold × holding period × regime filter (the notebook's 48 configurations).

The bar arrays are extracted once and every configuration runs the Numba kernel on them, so a sweep
costs little more than its trades.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from pointline.research.backtest.fixed_holding import (
    PreparedSeries,
    run_prepared,
    series_metrics,
    tradeable_mask,
)
from pointline.research.backtest.metrics import METRIC_NAMES

DEFAULT_THRESHOLDS: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5)
DEFAULT_HOLDINGS: dict[str, int] = {"15m": 3, "30m": 6, "1h": 12, "2h": 24}
DEFAULT_VOL_FILTERS: dict[str, list[str] | None] = {
    "all": None,
    "low+normal": ["low_vol", "normal"],
    "low_only": ["low_vol"],
}


def sweep(
    series: PreparedSeries,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    holdings: Mapping[str, int] | None = None,
    vol_filters: Mapping[str, Sequence[str] | None] | None = None,
    fee_bps: float = 7.0,
    side: int = -1,
    overlapping: bool = False,
) -> pl.DataFrame:
    """Backtest every configuration of the grid on one prepared series.

    Parameters
    ----------
    series
        From :func:`pointline.research.backtest.fixed_holding.prepare_series`.
    thresholds
        Entry thresholds on ``|signal|``.
    holdings
        ``{label: holding bars}`` (default 15m/30m/1h/2h on 5-minute bars).
    vol_filters
        ``{label: regimes allowed or None}`` (default all / low+normal / low_only).
    fee_bps, side, overlapping
        As in :func:`pointline.research.backtest.fixed_holding.backtest_fixed_holding`.

    Returns
    -------
    pl.DataFrame
        One row per configuration, in the notebook's order (filter, threshold, holding):
        ``vol_filter``, ``threshold``, ``holding``, ``holding_bars`` and the metrics of
        :data:`pointline.research.backtest.metrics.METRIC_NAMES` (``n_trades`` as Int64).

    Example
    -------
    >>> from pointline.research.backtest.fixed_holding import prepare_series
    >>> bars = pl.DataFrame({"ts": list(range(50)), "signal": [3.0, -3.0] * 25,
    ...                      "close": [100.0 + (i % 3) for i in range(50)]})
    >>> s = prepare_series(bars, entry="signal_close", regime_col=None)
    >>> sweep(s, vol_filters={"all": None}).height
    16
    """
    holdings = dict(DEFAULT_HOLDINGS if holdings is None else holdings)
    vol_filters = dict(DEFAULT_VOL_FILTERS if vol_filters is None else vol_filters)
    rows = []
    for vf_name, vf in vol_filters.items():
        mask = tradeable_mask(series, vf)
        for thresh in thresholds:
            for hp_name, hp_bars in holdings.items():
                arrays = run_prepared(
                    series,
                    mask,
                    threshold=thresh,
                    holding_bars=hp_bars,
                    fee_bps=fee_bps,
                    side=side,
                    overlapping=overlapping,
                )
                metrics = series_metrics(series, arrays, hp_bars)
                rows.append(
                    {
                        "vol_filter": vf_name,
                        "threshold": float(thresh),
                        "holding": hp_name,
                        "holding_bars": int(hp_bars),
                        **metrics,
                    }
                )
    schema = {"vol_filter": pl.Utf8, "threshold": pl.Float64, "holding": pl.Utf8, "holding_bars": pl.Int64}
    schema.update(dict.fromkeys(METRIC_NAMES, pl.Float64))
    return pl.DataFrame(rows, schema=schema).with_columns(pl.col("n_trades").cast(pl.Int64))


def best_config(
    results: pl.DataFrame, *, objective: str = "total_pnl_bps", min_trades: int = 50
) -> dict | None:
    """The row with the highest ``objective`` among configurations with more than ``min_trades`` trades.

    Ties keep the earlier row (grid order), like a stable sort. Returns ``None`` when no
    configuration has enough trades.
    """
    viable = results.with_row_index("__order").filter(pl.col("n_trades") > min_trades)
    if viable.is_empty():
        return None
    row = viable.sort([objective, "__order"], descending=[True, False]).row(0, named=True)
    row.pop("__order")
    return row
