"""Benchmark: the notebook's 48-configuration sweep on 92 days of 5-minute bars.

Baseline (same run): the notebook's style — a pandas frame copy and a Python per-bar loop per
configuration. Candidate: ``prepare_series`` once + the Numba ``sweep``. Prints one JSON object per line.

    python benchmarks/bench_research.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import polars as pl

from pointline.research.backtest import prepare_series, sweep
from pointline.research.backtest.sweep import DEFAULT_HOLDINGS, DEFAULT_THRESHOLDS, DEFAULT_VOL_FILTERS


def synthetic_frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50_000 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    regimes = np.array(["low_vol", "normal", "high_vol"])[rng.integers(0, 3, n)]
    return pl.DataFrame(
        {
            "ts": 1_761_955_500_000_000 + 300_000_000 * np.arange(n, dtype=np.int64),
            "signal": rng.normal(size=n),
            "close": close,
            "vol_regime": regimes,
        }
    )


def python_loop_sweep(df: pd.DataFrame, fee_bps: float = 7.0) -> int:
    """The notebook's backtest_fixed_holding, called once per configuration."""
    total = 0
    for vf in DEFAULT_VOL_FILTERS.values():
        for thresh in DEFAULT_THRESHOLDS:
            for hp in DEFAULT_HOLDINGS.values():
                data = df.dropna(subset=["signal"]).copy()
                data["tradeable"] = data["vol_regime"].isin(vf) if vf else True
                signals, closes, tradeable = (
                    data["signal"].values,
                    data["close"].values,
                    data["tradeable"].values,
                )
                trades, in_trade, entry, direction = [], False, 0, 0
                for i in range(len(data) - hp):
                    if in_trade and i - entry >= hp:
                        trades.append((closes[i] / closes[entry] - 1) * 10000 * direction - fee_bps)
                        in_trade = False
                    if not in_trade and tradeable[i]:
                        if signals[i] > thresh:
                            in_trade, entry, direction = True, i, -1
                        elif signals[i] < -thresh:
                            in_trade, entry, direction = True, i, 1
                total += len(trades)
    return total


def fast_sweep(df: pl.DataFrame) -> int:
    series = prepare_series(df, entry="signal_close", parity=True, open_col=None)
    return int(sweep(series)["n_trades"].sum())


def best_of(fn, arg, repeat: int) -> tuple[float, int]:
    best, out = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10 days instead of 92")
    args = parser.parse_args()
    n = 2_880 if args.quick else 26_496
    frame = synthetic_frame(n)
    fast_sweep(frame)  # compile the kernel outside the timing
    t_fast, trades_fast = best_of(fast_sweep, frame, 5)
    t_base, trades_base = best_of(python_loop_sweep, frame.to_pandas(), 1)
    assert trades_fast == trades_base, (trades_fast, trades_base)
    print(
        json.dumps(
            {
                "name": "sweep_48_configs",
                "bars": n,
                "value": round(t_fast, 5),
                "unit": "s",
                "baseline": round(t_base, 5),
                "baseline_name": "notebook python per-bar loop",
                "ratio": round(t_base / t_fast, 1),
                "trades": trades_fast,
            }
        )
    )
    print(
        json.dumps(
            {
                "name": "sweep_bars_per_second",
                "value": round(48 * n / t_fast),
                "unit": "bar-configs/s",
                "baseline": round(48 * n / t_base),
                "ratio": round(t_base / t_fast, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
