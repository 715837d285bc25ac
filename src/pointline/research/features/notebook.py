"""The composite-signal notebook's 5-minute feature builder, on lake trades and fast.

``notebook_features`` reproduces ``compute_microstructure_features`` of the notebook (same buckets,
same formulas, NumPy rounding) with a Numba kernel, or labels the same buckets point-in-time.
"""

from __future__ import annotations

import polars as pl

from pointline.errors import PointlineError
from pointline.lake.schema import EVENT_ORDER
from pointline.research.resample.aggregations._order import sort_if_needed
from pointline.research.resample.aggregations.notebook import (
    NOTEBOOK_COLUMNS,
    REQUIRED_COLUMNS,
    microstructure_features,
)


def notebook_features(
    trades: pl.DataFrame | pl.LazyFrame,
    interval_us: int = 300_000_000,
    *,
    notebook_compatible: bool = True,
    contract_size: float = 1.0,
    is_inverse: bool = False,
) -> pl.DataFrame:
    """Per-interval microstructure features of one symbol's trades, as the notebook computes them.

    Buckets are ``floor(ts_local_us / interval_us) * interval_us`` (UTC-aligned clock buckets on the
    receive clock). Inputs map to the notebook's columns as ``price = px``, ``quantity = qty``,
    ``quote_quantity = px * qty * contract_size`` (``qty * contract_size`` if ``is_inverse``),
    ``side = +1 / -1 / 0`` for lake side 0 (buy) / 1 (sell) / 2 (unknown), and
    ``timestamp_us = ts_local_us``. Trades are put in total order first.

    Parameters
    ----------
    trades:
        Decoded lake trades of ONE symbol: ``ts_local_us`` (µs), ``px``, ``qty``, ``side``
        (optional ``file_id``, ``file_line_number``, ``symbol_id``).
    interval_us:
        Bucket width in µs (default 5 minutes).
    notebook_compatible:
        ``True``: exactly the notebook's frame — one row per bucket with at least 2 trades,
        labelled by the bucket START in ``timestamp_us``. Careful: a row labelled ``t`` is only
        known at ``t + interval_us``.
        ``False``: point-in-time labelling — every bucket from the first to the last trade's
        bucket is kept, with ``bucket_start``, ``bucket_end`` and ``ts = bucket_end`` (the instant
        the row is known); buckets with fewer than 2 trades have null features and their real
        ``trade_count`` (0 when empty). The last bucket is labelled at its end even if the data
        stops earlier.
    contract_size, is_inverse:
        Quote-quantity convention for derivatives (defaults: linear, contract size 1).

    Returns
    -------
    pl.DataFrame
        Sorted by time. Feature columns in the notebook's order: vol_imbalance, dollar_imbalance,
        large_imbalance, large_vol_pct, count_imbalance, arrival_rate (trades/s), iti_cv,
        burstiness, trade_acceleration, price_range, close_vs_vwap, kyle_lambda, vol_profile_skew,
        open, close, high, low, volume (base units), buy_volume, sell_volume, quote_volume
        (quote currency), trade_count. See docs/features.md for each formula.

    Example
    -------
    >>> t = pl.DataFrame({"ts_local_us": [0, 1_000_000, 2_000_000], "px": [10.0, 11.0, 12.0],
    ...                   "qty": [1.0, 1.0, 2.0], "side": [0, 1, 0]})
    >>> notebook_features(t)["vol_imbalance"].to_list()
    [0.5]
    """
    if isinstance(interval_us, bool) or not isinstance(interval_us, int) or interval_us <= 0:
        raise PointlineError(f"interval_us must be a positive integer number of µs, got {interval_us!r}")
    lazy = trades.lazy()
    columns = lazy.collect_schema().names()
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise PointlineError(
            f"notebook_features needs decoded trades with columns {REQUIRED_COLUMNS}; missing {missing} "
            "(use query.trades(..., decoded=True))"
        )
    order = [c for c in EVENT_ORDER if c in columns]
    keep = [*REQUIRED_COLUMNS, *[c for c in ("file_id", "file_line_number", "symbol_id") if c in columns]]
    frame = sort_if_needed(lazy.select(keep).collect(), order)
    if "symbol_id" in frame.columns and frame["symbol_id"].n_unique() > 1:
        raise PointlineError(
            "notebook_features takes the trades of ONE symbol; got symbol_ids "
            f"{sorted(frame['symbol_id'].unique().to_list())[:5]} — call it once per symbol"
        )
    frame = frame.with_columns(((pl.col("ts_local_us") // interval_us) * interval_us).alias("bucket"))
    feats = microstructure_features(frame, ["bucket"], contract_size=contract_size, is_inverse=is_inverse)
    if notebook_compatible:
        return feats.filter(pl.col("trade_count") >= 2).select(
            pl.col("bucket").alias("timestamp_us"), *NOTEBOOK_COLUMNS
        )
    if feats.height == 0:
        grid = pl.DataFrame({"bucket_start": []}, schema={"bucket_start": pl.Int64})
    else:
        first, last = feats["bucket"][0], feats["bucket"][-1]
        grid = pl.DataFrame(
            {"bucket_start": pl.int_range(first, last + interval_us, interval_us, eager=True)}
        )
    out = grid.join(feats.rename({"bucket": "bucket_start"}), on="bucket_start", how="left")
    return out.select(
        "bucket_start",
        (pl.col("bucket_start") + interval_us).alias("bucket_end"),
        (pl.col("bucket_start") + interval_us).alias("ts"),
        *(c for c in NOTEBOOK_COLUMNS if c != "trade_count"),
        pl.col("trade_count").fill_null(0),
    ).sort("bucket_start")
