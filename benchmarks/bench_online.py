"""Online bars (one trade at a time) against the batch path over the same trades.

Prints one JSON line, ``online_volume_bars_trades_per_s``: ``OnlineBars`` fed every trade of a
synthetic day (volume bars, the guide's trade features) against the batch path
(``build_spine`` → ``assign_to_buckets`` → ``aggregate``) on the same frame. The ratio is far below 1
by nature (a Python call per trade against one vectorised pass); the value is what matters live:
trades per second one process keeps up with. Both sides emit the same rows (checked).

Usage: ``python benchmarks/bench_online.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import time

import polars as pl

from bench_spines import synthetic_trades
from pointline.online import OnlineBars
from pointline.research.resample import assign_to_buckets
from pointline.research.resample.aggregate import AggregateConfig, aggregate
from pointline.research.spines import VolumeBarConfig, get_builder
from timing import best_of

FEATURES = ["trade_vwap", "ohlcv", "flow_imbalance", "trade_count", "realized_volatility"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    trades = synthetic_trades(n).with_columns(
        pl.lit(1, dtype=pl.Int32).alias("file_id"),
        pl.int_range(2, n + 2, dtype=pl.Int32).alias("file_line_number"),
        (pl.col("qty_int") / 1000).alias("qty"),
        (pl.col("px") * 100).round().cast(pl.Int64).alias("px_int"),
        pl.lit(0, dtype=pl.Int8).alias("side"),
    )
    start = int(trades["ts_local_us"][0])
    end = int(trades["ts_local_us"][-1]) + 1
    config = VolumeBarConfig(volume_threshold=float(trades["qty"].sum()) / (n // 200))  # ~200 trades a bar

    def batch() -> pl.DataFrame:
        spine = get_builder("volume").build_spine(
            symbol_id=1, start_ts_us=start, end_ts_us=end, config=config, trades=trades
        )
        bucketed = assign_to_buckets(trades.with_columns(pl.lit(1, dtype=pl.Int64).alias("symbol_id")), spine)
        return aggregate(bucketed, AggregateConfig([{"agg": a} for a in FEATURES], spine=spine))

    rows = trades.select(
        "ts_local_us", "file_id", "file_line_number", "side", "px", "qty", "px_int", "qty_int"
    ).to_dicts()

    def online() -> pl.DataFrame:
        bars = OnlineBars("volume", config, FEATURES, anchor_ts_us=start, symbol_id=1)
        out = []
        for row in rows:
            out += bars.add_trade(row)
        out += bars.finish(end)
        return pl.DataFrame(out)

    expected = batch()
    started = time.perf_counter()
    got = online()
    online_s = time.perf_counter() - started
    assert got.to_dicts() == expected.to_dicts()
    batch_s = best_of(batch, 3)
    print(
        json.dumps(
            {
                "name": "online_volume_bars_trades_per_s",
                "value": round(n / online_s),
                "unit": "trades/s",
                "baseline": round(n / batch_s),
                "baseline_name": "batch build_spine + assign_to_buckets + aggregate",
                "ratio": round(batch_s / online_s, 4),
                "trades": n,
                "bars": expected.height,
                "online_s": round(online_s, 2),
                "note": "one process, one trade at a time, the guide's trade features; same rows as batch",
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
