"""Throughput of the spine builders and of assign_to_buckets on synthetic trades.

Baselines, computed in the same run:

- volume kernel: a vectorised numpy ``cumsum`` bar boundary (carries overshoot, so it is a
  different, easier rule) on the same arrays — ratio = kernel / cumsum throughput;
- every spine builder (``build_spine`` on a frame already in memory, no I/O; target for volume
  bars: >= 30 M trades/s): a plain Python loop of the same reset rule on a subset, scaled to
  trades/s;
- assign_to_buckets: a bare Polars ``join_asof`` on ``ts`` (no tie fix-up, no bar columns).

Usage: ``python benchmarks/bench_spines.py [--quick]``; prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import polars as pl

from pointline.research.resample import assign_to_buckets
from pointline.research.spines import (
    ClockConfig,
    DollarBarConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)
from pointline.research.spines.kernels import threshold_runs
from timing import best_of

DAY_US = 86_400_000_000
#: Issue 3: volume-bar spine construction on an in-memory frame, M trades/s.
TARGET_M_TRADES_S = 30


def synthetic_trades(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` trades over one day: a third share their µs with the previous trade (one order
    sweeping several levels), qty_int on a 1e-3 grid (mean 0.05), px a random walk around 60 000."""
    rng = np.random.default_rng(seed)
    gap = rng.integers(1, 2 * DAY_US // n, n) * (rng.random(n) > 1 / 3)
    ts = 1_714_521_600_000_000 + np.cumsum(gap)
    qty_int = rng.geometric(0.02, n).astype(np.int64)
    px = 60_000.0 + np.cumsum(rng.normal(0, 0.5, n))
    return pl.DataFrame(
        {
            "ts_local_us": ts,
            "file_id": np.ones(n, np.int32),
            "file_line_number": np.arange(1, n + 1, dtype=np.int32),
            "px": px,
            "qty": qty_int / 1000.0,
            "qty_int": qty_int,
        }
    )


def emit(name: str, value: float, unit: str, baseline: float, **extra: object) -> None:
    ratio = value / baseline if baseline else None
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit, "baseline": round(baseline, 1),
                      "ratio": None if ratio is None else round(ratio, 3), **extra}), flush=True)  # fmt: skip


def python_loop_rate(ts: np.ndarray, qty: np.ndarray, threshold: int, n: int = 200_000) -> float:
    """Trades/s of the reset rule written as a plain Python loop (on the first ``n`` trades)."""
    ts_l, q_l = ts[:n].tolist(), qty[:n].tolist()

    def run() -> None:
        closes, running = [], 0
        for t, q in zip(ts_l, q_l, strict=True):
            running += q
            if running >= threshold:
                closes.append(t)
                running = 0

    return len(ts_l) / best_of(run, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="1M trades instead of 5M (kernel: 2M instead of 10M)"
    )
    args = parser.parse_args()
    n = 1_000_000 if args.quick else 5_000_000
    n_kernel = 2_000_000 if args.quick else 10_000_000

    trades = synthetic_trades(max(n, n_kernel))
    ts = trades["ts_local_us"].to_numpy()[:n_kernel]
    qty_int = trades["qty_int"].to_numpy()[:n_kernel]
    threshold = 100_000  # 100 BTC in 1e-3 lots: about 2000 trades per bar
    args_k = (np.int64(threshold), np.int64(0), 0, False, int(ts[0]), np.int64(0))
    threshold_runs(ts[:10], qty_int[:10], *args_k)  # compile / load the cache outside the timing
    kernel = n_kernel / best_of(lambda: threshold_runs(ts, qty_int, *args_k))
    cumsum = n_kernel / best_of(lambda: np.flatnonzero(np.diff(np.cumsum(qty_int) // threshold)))
    emit(
        "volume_kernel_throughput",
        kernel / 1e6,
        "M trades/s",
        cumsum / 1e6,
        n=n_kernel,
        baseline_kind="numpy cumsum",
    )

    loop = python_loop_rate(ts, qty_int, threshold)
    frame = trades.head(n)
    start, end = int(frame["ts_local_us"][0]), int(frame["ts_local_us"][-1]) + 1
    configs = [
        ("clock", ClockConfig(step="1s", emit_empty=False)),
        ("tick", TickBarConfig(n_trades=1000)),
        ("volume", VolumeBarConfig(volume_threshold=100.0)),
        ("volume_split", VolumeBarConfig(volume_threshold=100.0, split_trades=True)),
        ("dollar", DollarBarConfig(notional_threshold=6_000_000.0, contract_size=1.0, is_inverse=False)),
        ("hybrid_volume_time", HybridVolumeTimeConfig(volume_threshold=100.0, max_time_seconds=1.0)),
    ]
    spines = {}
    for label, config in configs:
        builder = get_builder(label.removesuffix("_split"))

        def build(builder=builder, config=config):
            return builder.build_spine(
                symbol_id=1, start_ts_us=start, end_ts_us=end, config=config, trades=frame
            )

        spines[label] = build()
        rate = n / best_of(build, 3)
        target = {"target_value": TARGET_M_TRADES_S} if label == "volume" else {}
        emit(f"build_spine_{label}", rate / 1e6, "M trades/s", loop / 1e6, n=n, bars=spines[label].height,
             baseline_kind="python loop, volume rule", **target)  # fmt: skip

    spine = spines["volume"]
    assign = n / best_of(lambda: assign_to_buckets(frame, spine), 2)
    bare_right = spine.select("ts", "bar_index").sort("ts")

    def bare() -> pl.DataFrame:
        return frame.join_asof(bare_right, left_on="ts_local_us", right_on="ts", strategy="forward")

    emit("assign_to_buckets_volume", assign / 1e6, "M trades/s", n / best_of(bare, 2) / 1e6, n=n,
         baseline_kind="bare polars join_asof")  # fmt: skip
    split = n / best_of(lambda: assign_to_buckets(frame, spines["volume_split"]), 2)
    emit("assign_to_buckets_volume_split", split / 1e6, "M trades/s", assign / 1e6, n=n,
         baseline_kind="assign on the unsplit spine")  # fmt: skip


if __name__ == "__main__":
    main()
