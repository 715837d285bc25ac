"""Benchmark: notebook features and built-in aggregations on one synthetic day of trades.

Prints one JSON object per line (name, value, unit, baseline, ratio, ...).

* ``notebook_features_<interval>``: ``notebook_features`` (Numba kernel, best of 10) vs the
  notebook's own ``compute_microstructure_features`` (copied verbatim: a per-bucket pandas loop)
  on the same trades, best of 3 at 5 min and of 2 at 10 s. ``ratio`` = baseline seconds / fast
  seconds (targets: >= 10 at 5 min, >= 100 at 10 s). The loop runs on every bucket unless
  ``--baseline-buckets`` (or ``--quick``) limits it; then its time is scaled linearly by the bucket
  count (``baseline_scaled: true``), which also scales its one-off setup and so flatters the ratio.
* ``aggregate_<group>``: rows/s of ``aggregate`` for every built-in aggregation group at 5-minute
  bars — trades groups on the trades (``trades/s``), quote groups on as many synthetic quotes,
  book groups on a tenth as many 25-level snapshots; baseline = rows/s of a bare
  ``group_by(symbol_id, bar_index).agg(pl.len())`` on the same frame in the same run, so
  ``ratio`` is the fraction of the engine's floor speed.

Run: ``python benchmarks/bench_aggregations.py [--quick] [--trades N]``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import polars as pl

from pointline.research.features import notebook_features
from pointline.research.resample import AggregateConfig, aggregate
from timing import best_of

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


def notebook_loop(trades: pd.DataFrame, interval_us: int, max_buckets: int | None = None) -> int:
    """The notebook's ``compute_microstructure_features``, verbatim (its per-bucket pandas loop).

    Only ``max_buckets`` (stop after that many buckets) is added; returns the buckets processed.
    """
    bucket = (trades["timestamp_us"].values // interval_us) * interval_us
    trades = trades.copy()
    trades["bucket"] = bucket

    features = []
    done = 0
    for bkt, grp in trades.groupby("bucket"):
        if max_buckets is not None and done >= max_buckets:
            break
        done += 1
        p = grp["price"].values
        q = grp["quantity"].values
        qq = grp["quote_quantity"].values
        s = grp["side"].values
        t = grp["timestamp_us"].values
        n = len(grp)
        if n < 2:
            continue

        buy_mask = s == 1
        sell_mask = s == -1
        buy_vol = q[buy_mask].sum()
        sell_vol = q[sell_mask].sum()
        total_vol = q.sum()
        buy_quote = qq[buy_mask].sum()
        sell_quote = qq[sell_mask].sum()

        vol_imbalance = (buy_vol - sell_vol) / max(total_vol, 1e-10)
        dollar_imbalance = (buy_quote - sell_quote) / max(buy_quote + sell_quote, 1e-10)

        q90 = np.percentile(q, 90)
        large_mask = q >= q90
        large_buy_vol = q[large_mask & buy_mask].sum()
        large_sell_vol = q[large_mask & sell_mask].sum()
        large_imbalance = (large_buy_vol - large_sell_vol) / max(large_buy_vol + large_sell_vol, 1e-10)
        large_vol_pct = q[large_mask].sum() / max(total_vol, 1e-10)

        buy_count = buy_mask.sum()
        sell_count = sell_mask.sum()
        count_imbalance = (buy_count - sell_count) / max(n, 1)

        duration_s = max((t[-1] - t[0]) / 1e6, 0.001)
        arrival_rate = n / duration_s

        if n > 2:
            iti = np.diff(t).astype(np.float64)
            iti_cv = iti.std() / max(iti.mean(), 1)
            sub_buckets = np.linspace(t[0], t[-1], 6)
            sub_counts = np.histogram(t, bins=sub_buckets)[0]
            burstiness = sub_counts.max() / max(n, 1)
        else:
            iti_cv = 0
            burstiness = 1.0

        mid_t = (t[0] + t[-1]) / 2
        first_half = (t < mid_t).sum()
        trade_acceleration = (n - first_half - first_half) / max(n, 1)

        vwap = qq.sum() / max(total_vol, 1e-10)
        price_range = (p.max() - p.min()) / max(vwap, 1e-10)
        close_vs_vwap = (p[-1] - vwap) / max(vwap, 1e-10)

        if n > 10:
            signed_vol = q * s
            price_changes = np.diff(p)
            if len(price_changes) > 1 and signed_vol[1:].std() > 0:
                kyle_lambda = np.corrcoef(signed_vol[1:], price_changes)[0, 1]
            else:
                kyle_lambda = 0
        else:
            kyle_lambda = 0

        price_mid = (p.max() + p.min()) / 2
        vol_above = q[p >= price_mid].sum()
        vol_below = q[p < price_mid].sum()
        vol_profile_skew = (vol_above - vol_below) / max(total_vol, 1e-10)

        features.append(
            {
                "timestamp_us": bkt,
                "vol_imbalance": vol_imbalance,
                "dollar_imbalance": dollar_imbalance,
                "large_imbalance": large_imbalance,
                "large_vol_pct": large_vol_pct,
                "count_imbalance": count_imbalance,
                "arrival_rate": arrival_rate,
                "iti_cv": iti_cv,
                "burstiness": burstiness,
                "trade_acceleration": trade_acceleration,
                "price_range": price_range,
                "close_vs_vwap": close_vs_vwap,
                "kyle_lambda": kyle_lambda,
                "vol_profile_skew": vol_profile_skew,
                "open": p[0],
                "close": p[-1],
                "high": p.max(),
                "low": p.min(),
                "volume": total_vol,
                "buy_volume": buy_vol,
                "sell_volume": sell_vol,
                "quote_volume": buy_quote + sell_quote,
                "trade_count": n,
            }
        )
    pd.DataFrame(features)
    return done


def emit(**record: object) -> None:
    print(json.dumps(record), flush=True)


def bench_notebook(
    trades: pl.DataFrame, interval_us: int, label: str, baseline_buckets: int | None, baseline_repeat: int
) -> None:
    notebook_features(trades.head(1000), interval_us)  # JIT warm-up (loads the on-disk cache)
    fast = best_of(lambda: notebook_features(trades, interval_us), 10)
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
    limit = None if baseline_buckets is None or n_buckets <= baseline_buckets else baseline_buckets
    done = notebook_loop(pdf, interval_us, limit)
    baseline = best_of(lambda: notebook_loop(pdf, interval_us, limit), baseline_repeat) * n_buckets / done
    emit(
        name=f"notebook_features_{label}",
        value=round(fast, 4),
        unit="s",
        baseline=round(baseline, 4),
        ratio=round(baseline / fast, 1),
        trades=trades.height,
        trades_per_s=round(trades.height / fast),
        buckets=n_buckets,
        baseline_scaled=limit is not None,
        baseline_buckets_run=done,
        target_ratio=10 if interval_us >= 300_000_000 else 100,
    )


def five_minute_bars(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with the bar columns of 5-minute clock bars attached (what assignment adds)."""
    step = 300_000_000
    return events.with_columns(
        symbol_id=pl.lit(1, pl.Int64), bar_index=(pl.col("ts_local_us") - START_US) // step
    ).with_columns(
        bucket_start=START_US + pl.col("bar_index") * step,
        bucket_end=START_US + (pl.col("bar_index") + 1) * step,
        ts=START_US + (pl.col("bar_index") + 1) * step,
        is_complete=pl.lit(True),
    )


def synthetic_quotes(n: int, seed: int = 1) -> pl.DataFrame:
    """``n`` top-of-book quotes over one day (prices on a 0.1 grid, sizes on a 1e-3 grid)."""
    rng = np.random.default_rng(seed)
    bid_int = 600_000 + np.cumsum(rng.choice([-1, 0, 1], n))
    ask_int = bid_int + rng.integers(1, 4, n)
    bid_qty_int = rng.integers(1, 5_000, n)
    ask_qty_int = rng.integers(1, 5_000, n)
    return pl.DataFrame(
        {
            "ts_local_us": np.sort(rng.integers(START_US, START_US + DAY_US, n)),
            "file_id": np.zeros(n, dtype=np.int32),
            "file_line_number": np.arange(n, dtype=np.int32),
            "bid_px_int": bid_int,
            "ask_px_int": ask_int,
            "bid_px": bid_int / 10,
            "ask_px": ask_int / 10,
            "bid_qty": bid_qty_int / 1000,
            "ask_qty": ask_qty_int / 1000,
        }
    )


def synthetic_books(n: int, levels: int = 25, seed: int = 2) -> pl.DataFrame:
    """``n`` order-book snapshots over one day with ``levels`` levels a side (list columns)."""
    rng = np.random.default_rng(seed)
    best_bid = 600_000 + np.cumsum(rng.choice([-1, 0, 1], n))
    steps = np.arange(levels)
    bids_px_int = best_bid[:, None] - steps
    asks_px_int = best_bid[:, None] + 1 + steps
    bids_qty_int = rng.integers(1, 5_000, (n, levels))
    asks_qty_int = rng.integers(1, 5_000, (n, levels))
    return pl.DataFrame(
        {
            "ts_local_us": np.sort(rng.integers(START_US, START_US + DAY_US, n)),
            "file_id": np.zeros(n, dtype=np.int32),
            "file_line_number": np.arange(n, dtype=np.int32),
            "bids_px_int": bids_px_int,
            "bids_qty_int": bids_qty_int,
            "asks_px_int": asks_px_int,
            "asks_qty_int": asks_qty_int,
            "bids_px": bids_px_int / 10,
            "bids_qty": bids_qty_int / 1000,
            "asks_px": asks_px_int / 10,
            "asks_qty": asks_qty_int / 1000,
        }
    ).with_columns(
        pl.col(c).arr.to_list()
        for c in (
            "bids_px_int",
            "bids_qty_int",
            "asks_px_int",
            "asks_qty_int",
            "bids_px",
            "bids_qty",
            "asks_px",
            "asks_qty",
        )
    )


#: Every built-in aggregation group, by the table its events come from. The single notebook
#: features (``vol_imbalance``, ``kyle_lambda``, ...) share the ``microstructure`` kernel pass.
GROUPS: dict[str, dict[str, list[dict[str, object]]]] = {
    "trades": {
        "trade_vwap": [{"agg": "trade_vwap"}],
        "ohlcv": [{"agg": "ohlcv"}],
        "flow_imbalance": [{"agg": "flow_imbalance"}],
        "trade_count": [{"agg": "trade_count"}],
        "avg_trade_size": [{"agg": "avg_trade_size"}],
        "realized_volatility": [{"agg": "realized_volatility"}],
        "bar_duration": [{"agg": "bar_duration"}],
        "microstructure": [{"agg": "microstructure"}],
        "notebook_single_features": [
            {"agg": name}
            for name in ("vol_imbalance", "kyle_lambda", "burstiness", "large_imbalance", "quote_volume")
        ],
        "guide_trade_set": [
            {"agg": "trade_vwap"},
            {"agg": "ohlcv"},
            {"agg": "flow_imbalance"},
            {"agg": "trade_count"},
            {"agg": "avg_trade_size"},
            {"agg": "realized_volatility"},
        ],
    },
    "quotes": {
        "spread_bps": [{"agg": "spread_bps"}],
        "mid_px": [{"agg": "mid_px"}],
        "microprice": [{"agg": "microprice"}],
    },
    "book_snapshot_25": {
        "book_imbalance_top1": [{"agg": "book_imbalance_top1"}],
        "book_imbalance_top5": [{"agg": "book_imbalance_top5"}],
        "book_imbalance_top25": [{"agg": "book_imbalance_top25"}],
        "depth_weighted_mid": [{"agg": "depth_weighted_mid"}],
    },
}


UNITS = {"trades": "trades/s", "quotes": "quotes/s", "book_snapshot_25": "snapshots/s"}


def bench_aggregations(events_by_table: dict[str, pl.DataFrame]) -> None:
    for table, groups in GROUPS.items():
        bucketed = five_minute_bars(events_by_table[table])
        n = bucketed.height
        floor = best_of(lambda b=bucketed: b.group_by("symbol_id", "bar_index").agg(pl.len()), 3)
        for name, specs in groups.items():
            aggregate(bucketed.head(1000), AggregateConfig(specs))  # warm-up (JIT cache load)
            secs = best_of(lambda specs=specs, b=bucketed: aggregate(b, AggregateConfig(specs)), 3)
            emit(
                name=f"aggregate_{name}",
                value=round(n / secs),
                unit=UNITS[table],
                baseline=round(n / floor),
                ratio=round(floor / secs, 3),
                rows=n,
                table=table,
                bar="5min",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200k trades instead of 1M")
    parser.add_argument("--trades", type=int, default=None)
    parser.add_argument(
        "--baseline-buckets",
        type=int,
        default=None,
        help="run the notebook loop on this many buckets only and scale (default: all; --quick: 1500)",
    )
    args = parser.parse_args()
    n = args.trades or (200_000 if args.quick else 1_000_000)
    baseline_buckets = args.baseline_buckets or (1500 if args.quick else None)
    repeat = 1 if args.quick else 3
    trades = synthetic_day(n)
    bench_notebook(trades, 300_000_000, "5min", baseline_buckets, repeat)
    bench_notebook(trades, 10_000_000, "10s", baseline_buckets, max(1, repeat - 1))
    bench_aggregations(
        {
            "trades": trades,
            "quotes": synthetic_quotes(n),
            "book_snapshot_25": synthetic_books(max(n // 10, 1000)),
        }
    )


if __name__ == "__main__":
    main()
