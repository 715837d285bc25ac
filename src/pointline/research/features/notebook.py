"""The composite-signal notebook's 5-minute feature builder, on lake trades and fast.

``notebook_features`` reproduces ``compute_microstructure_features`` of the notebook (same buckets,
same formulas, NumPy rounding) with a Numba kernel, or labels the same buckets point-in-time.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from pointline.errors import PointlineError
from pointline.lake.schema import EVENT_ORDER
from pointline.research.event_order import descends_at
from pointline.research.resample.aggregations.notebook import (
    FEATURES,
    NOTEBOOK_COLUMNS,
    REQUIRED_COLUMNS,
    feature_frame,
    feature_values,
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
    keep = [*REQUIRED_COLUMNS, *[c for c in (*EVENT_ORDER[1:], "symbol_id") if c in columns]]
    frame = trades.select(keep) if isinstance(trades, pl.DataFrame) else lazy.select(keep).collect()
    in_order, one_symbol, starts, buckets = _scan(frame, interval_us)
    if not in_order:
        frame = frame.sort([c for c in EVENT_ORDER if c in frame.columns], maintain_order=True)
        in_order, one_symbol, starts, buckets = _scan(frame, interval_us)
    if not one_symbol:
        sids = frame["symbol_id"].unique().sort(nulls_last=True).to_list()
        raise PointlineError(
            f"notebook_features takes the trades of ONE symbol; got symbol_ids {sids[:5]} — call it once per symbol"
        )
    values = feature_values(frame, starts, contract_size=contract_size, is_inverse=is_inverse)
    counts = np.diff(starts)
    if notebook_compatible:
        # The notebook drops buckets with fewer than 2 trades.
        full = counts >= 2
        return pl.DataFrame(
            {
                "timestamp_us": buckets[full],
                **{name: values[j][full] for j, name in enumerate(FEATURES)},
                "trade_count": counts[full],
            }
        )
    feats = feature_frame(values, counts).insert_column(0, pl.Series("bucket_start", buckets))
    return on_bucket_grid(feats, interval_us)


def on_bucket_grid(feats: pl.DataFrame, interval_us: int) -> pl.DataFrame:
    """Point-in-time rows for every bucket from the first to the last of ``feats``.

    ``feats`` holds ``bucket_start`` (µs, receive clock, multiples of ``interval_us``) and the
    notebook columns for the buckets that had trades, possibly in several pieces (time chunks
    computed apart) whose buckets do not overlap. Missing buckets become rows with null features and
    ``trade_count = 0``; every row gets ``bucket_end = ts = bucket_start + interval_us``. So the
    pieces of a time range, put on the grid together, give the frame of the range in one pass.

    Example
    -------
    >>> t = pl.DataFrame({"ts_local_us": [0, 1, 25, 26], "px": [1.0, 2.0, 3.0, 4.0],
    ...                   "qty": [1.0] * 4, "side": [0, 1, 0, 1]})
    >>> early, late = (notebook_features(part, 10, notebook_compatible=False) for part in (t[:2], t[2:]))
    >>> on_bucket_grid(pl.concat([early, late]), 10).select("bucket_start", "ts", "trade_count").rows()
    [(0, 10, 2), (10, 20, 0), (20, 30, 2)]
    """
    if feats.height == 0:
        grid = pl.DataFrame({"bucket_start": []}, schema={"bucket_start": pl.Int64})
    else:
        first, last = feats["bucket_start"].min(), feats["bucket_start"].max()
        grid = pl.DataFrame(
            {"bucket_start": pl.int_range(first, last + interval_us, interval_us, eager=True)}
        )
    keep = [c for c in feats.columns if c not in ("bucket_end", "ts")]
    out = grid.join(feats.select(keep), on="bucket_start", how="left")
    return out.select(
        "bucket_start",
        (pl.col("bucket_start") + interval_us).alias("bucket_end"),
        (pl.col("bucket_start") + interval_us).alias("ts"),
        *(c for c in NOTEBOOK_COLUMNS if c != "trade_count"),
        pl.col("trade_count").fill_null(0),
    ).sort("bucket_start")


def _scan(frame: pl.DataFrame, interval_us: int) -> tuple[bool, bool, np.ndarray, np.ndarray]:
    # One pass over the keys: total order, a single symbol, and the bucket runs.
    ts = frame["ts_local_us"].cast(pl.Int64).to_numpy()
    fid, line = (
        frame[c].fill_null(0).to_numpy() if c in frame.columns else np.zeros_like(ts) for c in EVENT_ORDER[1:]
    )
    sid = frame["symbol_id"] if "symbol_id" in frame.columns else pl.Series([], dtype=pl.Int64)
    mixed = 0 < sid.null_count() < sid.len()  # symbols and nulls: never one symbol
    if sid.null_count():
        sid = pl.Series([], dtype=pl.Int64)  # an empty column is not checked
    in_order, one_symbol, starts, buckets = _scan_keys(
        ts, fid, line, sid.cast(pl.Int64).to_numpy(), interval_us
    )
    return in_order, one_symbol and not mixed, starts, buckets


@njit(cache=True, nogil=True)
def _scan_keys(
    ts: np.ndarray, fid: np.ndarray, line: np.ndarray, sid: np.ndarray, interval_us: int
) -> tuple[bool, bool, np.ndarray, np.ndarray]:
    # Returns (in total order, one symbol, run offsets, bucket starts): the runs of ``ts`` in the
    # same bucket floor(ts / interval) * interval, one comparison per trade and a division per
    # bucket. Runs are only meaningful when the rows are in order; an empty ``sid`` is not checked.
    n = ts.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    starts[0] = 0
    if n == 0:
        return True, True, starts[:1].copy(), labels[:0].copy()
    # The checks have no branches and vectorise; the bucket walk is a separate scalar loop.
    out_of_order = False
    for i in range(1, n):
        out_of_order |= descends_at(ts, fid, line, i)
    other_symbol = False
    for i in range(1, sid.shape[0]):
        other_symbol |= sid[i] != sid[0]
    g = 0
    labels[0] = (ts[0] // interval_us) * interval_us
    end = labels[0] + interval_us
    for i in range(1, n):
        if ts[i] >= end:
            g += 1
            starts[g] = i
            labels[g] = (ts[i] // interval_us) * interval_us
            end = labels[g] + interval_us
    starts[g + 1] = n
    return not out_of_order, not other_symbol, starts[: g + 2].copy(), labels[: g + 1].copy()
