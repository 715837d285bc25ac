"""Benchmark: the notebook's 48-configuration sweep on 92 days of 5-minute bars.

Baseline (same run): the notebook's sweep cell as printed — its ``backtest_fixed_holding`` (a pandas
frame copy, a Python per-bar loop building trade dicts, a trades frame) per configuration plus the
cell's summary statistics. Candidate: ``prepare_series`` once + the Numba ``sweep``. Prints one JSON object per line.

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


def backtest_fixed_holding(
    df: pd.DataFrame, entry_threshold: float, holding_bars: int, fee_bps: float, vol_filter
):  # type: ignore[no-untyped-def]
    """The notebook's ``backtest_fixed_holding``, as printed (trade dicts, then a trades frame)."""
    data = df.dropna(subset=["signal"]).copy()
    if vol_filter:
        data["tradeable"] = data["vol_regime"].isin(vol_filter)
    else:
        data["tradeable"] = True
    signals = data["signal"].values
    closes = data["close"].values
    tradeable = data["tradeable"].values
    datetimes = data["datetime"].values
    n = len(data)
    trades = []
    in_trade = False
    trade_entry_idx = 0
    trade_direction = 0
    for i in range(n - holding_bars):
        if in_trade and i - trade_entry_idx >= holding_bars:  # the notebook's nested ifs, merged
            exit_price = closes[i]
            entry_price = closes[trade_entry_idx]
            raw_return_bps = (exit_price / entry_price - 1) * 10000 * trade_direction
            net_return_bps = raw_return_bps - fee_bps
            trades.append(
                {
                    "entry_time": datetimes[trade_entry_idx],
                    "exit_time": datetimes[i],
                    "direction": trade_direction,
                    "entry_price": entry_price,
                    "exit_price": exit_price,
                    "signal_value": signals[trade_entry_idx],
                    "raw_return_bps": raw_return_bps,
                    "net_return_bps": net_return_bps,
                }
            )
            in_trade = False
        if not in_trade and tradeable[i]:
            if signals[i] > entry_threshold:
                in_trade, trade_entry_idx, trade_direction = True, i, -1
            elif signals[i] < -entry_threshold:
                in_trade, trade_entry_idx, trade_direction = True, i, 1
    if not trades:
        return pd.DataFrame(), pd.Series(dtype=float)
    trades_df = pd.DataFrame(trades)
    trades_df["cum_pnl_bps"] = trades_df["net_return_bps"].cumsum()
    return trades_df, trades_df["cum_pnl_bps"]


def python_loop_sweep(df: pd.DataFrame, fee_bps: float = 7.0) -> int:
    """The notebook's sweep cell: ``backtest_fixed_holding`` per configuration plus its summary stats."""
    results = []
    for vf_name, vf in DEFAULT_VOL_FILTERS.items():
        for thresh in DEFAULT_THRESHOLDS:
            for hp_name, hp_bars in DEFAULT_HOLDINGS.items():
                trades_df, _ = backtest_fixed_holding(df, thresh, hp_bars, fee_bps, vf)
                if trades_df.empty:
                    results.append(
                        {"vol_filter": vf_name, "threshold": thresh, "holding": hp_name, "n_trades": 0}
                    )
                    continue
                pnl = trades_df["net_return_bps"]
                std = pnl.std()
                results.append(
                    {
                        "vol_filter": vf_name,
                        "threshold": thresh,
                        "holding": hp_name,
                        "n_trades": len(trades_df),
                        "total_pnl_bps": pnl.sum(),
                        "avg_pnl_bps": pnl.mean(),
                        "win_rate": (pnl > 0).mean(),
                        "sharpe": pnl.mean() / std * np.sqrt(252 * 288 / max(hp_bars, 1)) if std > 0 else 0,
                    }
                )
    return int(pd.DataFrame(results)["n_trades"].sum())


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
    pandas_frame = frame.to_pandas()
    pandas_frame["datetime"] = pd.to_datetime(pandas_frame["ts"], unit="us", utc=True)
    t_base, trades_base = best_of(python_loop_sweep, pandas_frame, 3)
    assert trades_fast == trades_base, (trades_fast, trades_base)
    print(
        json.dumps(
            {
                "name": "sweep_48_configs",
                "bars": n,
                "value": round(t_fast, 5),
                "unit": "s",
                "baseline": round(t_base, 5),
                "baseline_name": "notebook sweep cell (per-bar loop + trades frame + stats)",
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
