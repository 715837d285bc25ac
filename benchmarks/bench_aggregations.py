"""Benchmark: notebook features and built-in aggregations on one synthetic day of trades.

Prints one JSON object per line (name, value, unit, baseline, ratio, ...).

* ``notebook_features_<interval>``: ``notebook_features`` (Numba kernel) vs the notebook's own
  per-bucket pandas loop on the same trades. ``ratio`` = baseline seconds / fast seconds
  (targets: >= 10 at 5 min, >= 100 at 10 s). When the loop would take long, it runs on the first
  ``--baseline-buckets`` buckets only and its time is scaled linearly by the bucket count
  (``baseline_scaled: true``); per-bucket cost is flat because buckets hold similar trade counts.
* ``aggregate_<group>``: trades/s of ``aggregate`` per built-in aggregation group at 5-minute bars;
  baseline = trades/s of a bare ``group_by(symbol_id, bar_index).agg(pl.len())`` in the same run,
  so ``ratio`` is the fraction of the engine's floor speed.

Run: ``python benchmarks/bench_aggregations.py [--quick] [--trades N]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import polars as pl

from pointline.research.features import notebook_features
from pointline.research.resample import AggregateConfig, aggregate

DAY_US = 86_400_000_000
START_US = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z


def synthetic_day(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` decoded trades over one day: uniform arrivals, random-walk price, lognormal sizes."""
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(START_US, START_US + DAY_US, n))
    px = np.round(60_000 + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n)), 1)
    qty = np.round(rng.lognormal(-4, 1.5, n), 3) + 0.001
    side = rng.choice(np.array([0, 1], dtype=np.int8), n)
    return pl.DataFrame(
        {
            "symbol_id": np.full(n, 1, dtype=np.int64),
            "ts_local_us": ts,
            "file_id": np.zeros(n, dtype=np.int32),
            "file_line_number": np.arange(n, dtype=np.int32),
            "px": px,
            "qty": qty,
            "side": side,
            "px_int": np.round(px * 10).astype(np.int64),
            "qty_int": np.round(qty * 1000).astype(np.int64),
        }
    )


def notebook_loop(trades: pd.DataFrame, interval_us: int, max_buckets: int | None) -> int:
    """The notebook's per-bucket pandas loop (its own style); returns the number of buckets done."""
    trades = trades.copy()
    trades["bucket"] = (trades["timestamp_us"].values // interval_us) * interval_us
    done = 0
    rows = []
    for _bkt, grp in trades.groupby("bucket"):
        if max_buckets is not None and done >= max_buckets:
            break
        done += 1
        p, q, qq = grp["price"].values, grp["quantity"].values, grp["quote_quantity"].values
        s, t, n = grp["side"].values, grp["timestamp_us"].values, len(grp)
        if n < 2:
            continue
        buy, sell = s == 1, s == -1
        total = q.sum()
        q90 = np.percentile(q, 90)
        large = q >= q90
        iti = np.diff(t).astype(np.float64)
        iti_cv = iti.std() / max(iti.mean(), 1)
        burst = np.histogram(t, bins=np.linspace(t[0], t[-1], 6))[0].max() / n
        first_half = (t < (t[0] + t[-1]) / 2).sum()
        vwap = qq.sum() / max(total, 1e-10)
        kyle = 0.0
        if n > 10 and (q * s)[1:].std() > 0:
            kyle = np.corrcoef((q * s)[1:], np.diff(p))[0, 1]
        mid = (p.max() + p.min()) / 2
        rows.append(
            {
                "vol_imbalance": (q[buy].sum() - q[sell].sum()) / max(total, 1e-10),
                "dollar_imbalance": (qq[buy].sum() - qq[sell].sum())
                / max(qq[buy].sum() + qq[sell].sum(), 1e-10),
                "large_imbalance": (q[large & buy].sum() - q[large & sell].sum())
                / max(q[large & buy].sum() + q[large & sell].sum(), 1e-10),
                "large_vol_pct": q[large].sum() / max(total, 1e-10),
                "count_imbalance": (buy.sum() - sell.sum()) / n,
                "arrival_rate": n / max((t[-1] - t[0]) / 1e6, 0.001),
                "iti_cv": iti_cv,
                "burstiness": burst,
                "trade_acceleration": (n - 2 * first_half) / n,
                "price_range": (p.max() - p.min()) / max(vwap, 1e-10),
                "close_vs_vwap": (p[-1] - vwap) / max(vwap, 1e-10),
                "kyle_lambda": kyle,
                "vol_profile_skew": (q[p >= mid].sum() - q[p < mid].sum()) / max(total, 1e-10),
                "open": p[0],
                "close": p[-1],
                "high": p.max(),
                "low": p.min(),
                "volume": total,
                "trade_count": n,
            }
        )
    pd.DataFrame(rows)
    return done


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def emit(**record: object) -> None:
    print(json.dumps(record), flush=True)


def bench_notebook(trades: pl.DataFrame, interval_us: int, label: str, baseline_buckets: int) -> None:
    notebook_features(trades.head(1000), interval_us)  # JIT warm-up (cached after first run)
    fast = best_of(lambda: notebook_features(trades, interval_us), 3)
    pdf = pd.DataFrame(
        {
            "timestamp_us": trades["ts_local_us"].to_numpy(),
            "price": trades["px"].to_numpy(),
            "quantity": trades["qty"].to_numpy(),
            "quote_quantity": (trades["px"] * trades["qty"]).to_numpy(),
            "side": np.where(trades["side"].to_numpy() == 0, 1, -1),
        }
    )
    n_buckets = int((trades["ts_local_us"] // interval_us).n_unique())
    limit = None if n_buckets <= baseline_buckets else baseline_buckets
    t0 = time.perf_counter()
    done = notebook_loop(pdf, interval_us, limit)
    baseline = (time.perf_counter() - t0) * n_buckets / done
    emit(
        name=f"notebook_features_{label}",
        value=round(fast, 4),
        unit="s",
        baseline=round(baseline, 4),
        ratio=round(baseline / fast, 1),
        trades=trades.height,
        buckets=n_buckets,
        baseline_scaled=limit is not None,
        baseline_buckets_run=done,
        target_ratio=10 if interval_us >= 300_000_000 else 100,
    )


def bench_aggregations(trades: pl.DataFrame) -> None:
    bucketed = trades.with_columns(
        bar_index=(pl.col("ts_local_us") - START_US) // 300_000_000,
    ).with_columns(
        bucket_start=START_US + pl.col("bar_index") * 300_000_000,
        bucket_end=START_US + (pl.col("bar_index") + 1) * 300_000_000,
        ts=START_US + (pl.col("bar_index") + 1) * 300_000_000,
        is_complete=pl.lit(True),
    )
    floor = best_of(lambda: bucketed.group_by("symbol_id", "bar_index").agg(pl.len()), 3)
    groups = {
        "trade_vwap": [{"agg": "trade_vwap"}],
        "ohlcv": [{"agg": "ohlcv"}],
        "flow_imbalance": [{"agg": "flow_imbalance"}],
        "trade_count": [{"agg": "trade_count"}],
        "avg_trade_size": [{"agg": "avg_trade_size"}],
        "realized_volatility": [{"agg": "realized_volatility"}],
        "bar_duration": [{"agg": "bar_duration"}],
        "microstructure": [{"agg": "microstructure"}],
        "guide_trade_set": [
            {"agg": "trade_vwap"},
            {"agg": "ohlcv"},
            {"agg": "flow_imbalance"},
            {"agg": "trade_count"},
            {"agg": "avg_trade_size"},
            {"agg": "realized_volatility"},
        ],
    }
    aggregate(bucketed.head(1000), AggregateConfig([{"agg": "microstructure"}]))  # warm-up
    for name, specs in groups.items():
        secs = best_of(lambda specs=specs: aggregate(bucketed, AggregateConfig(specs)), 3)
        emit(
            name=f"aggregate_{name}",
            value=round(trades.height / secs),
            unit="trades/s",
            baseline=round(trades.height / floor),
            ratio=round(floor / secs, 3),
            trades=trades.height,
            bar="5min",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200k trades instead of 1M")
    parser.add_argument("--trades", type=int, default=None)
    parser.add_argument("--baseline-buckets", type=int, default=1500)
    args = parser.parse_args()
    n = args.trades or (200_000 if args.quick else 1_000_000)
    trades = synthetic_day(n)
    bench_notebook(trades, 300_000_000, "5min", args.baseline_buckets)
    bench_notebook(trades, 10_000_000, "10s", args.baseline_buckets)
    bench_aggregations(trades)


if __name__ == "__main__":
    main()
