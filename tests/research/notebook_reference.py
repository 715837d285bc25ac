"""Slow, obvious pandas reference written from the notebook's formulas (for parity tests only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

FEATS = [
    "vol_imbalance",
    "dollar_imbalance",
    "large_imbalance",
    "count_imbalance",
    "close_vs_vwap",
    "vol_profile_skew",
]
MERGE_COLS = [
    "timestamp_us",
    *FEATS,
    "kyle_lambda",
    "arrival_rate",
    "volume",
    "close",
    "returns",
    "price_range",
    "trade_count",
]
SIGNAL_FEATURES = [f"{f}_consensus" for f in FEATS]


def notebook_frames(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The notebook's layout: ``timestamp_us`` = bucket start, no ``ts``."""
    return {
        e: f.with_columns(pl.col("bucket_start").alias("timestamp_us")).drop("ts", "bucket_start")
        for e, f in frames.items()
    }


def reference_frame(frames: dict[str, pl.DataFrame], window: int = 864, minp: int = 288) -> pd.DataFrame:
    src = {}
    for e, f in frames.items():
        df = f.to_pandas().sort_values("timestamp_us").reset_index(drop=True)
        df["returns"] = df["close"].pct_change()
        src[e] = df
    bn, bb, okx = (src[e][MERGE_COLS].copy() for e in ("binance-futures", "bybit", "okex-swap"))
    df = bn.merge(bb, on="timestamp_us", suffixes=("_bn", "_bb")).merge(okx, on="timestamp_us")
    for col in MERGE_COLS[1:]:
        if col in df.columns and not col.endswith("_bn") and not col.endswith("_bb"):
            df = df.rename(columns={col: f"{col}_okx"})
    for feat in FEATS:
        df[f"{feat}_consensus"] = (df[f"{feat}_bn"] + df[f"{feat}_bb"] + df[f"{feat}_okx"]) / 3
    df["rvol_12"] = df["returns_bn"].rolling(12).std()
    df["rvol_288"] = df["returns_bn"].rolling(288).std()
    df["vol_ratio"] = df["rvol_12"] / df["rvol_288"].clip(lower=1e-10)
    df["vol_regime"] = pd.qcut(
        df["vol_ratio"].dropna(), q=[0, 0.3, 0.7, 1.0], labels=["low_vol", "normal", "high_vol"]
    )
    df["vol_regime"] = df["vol_regime"].cat.add_categories("warmup")
    df.loc[df["vol_ratio"].isna(), "vol_regime"] = "warmup"
    for bars, label in [(1, "5m"), (3, "15m"), (6, "30m"), (12, "1h"), (24, "2h")]:
        df[f"fwd_{label}"] = df["close_bn"].pct_change(bars).shift(-bars)
    for feat in SIGNAL_FEATURES:
        df[f"{feat}_rank"] = df[feat].rolling(window, min_periods=minp).rank(pct=True)
    df["composite"] = df[[f"{f}_rank" for f in SIGNAL_FEATURES]].mean(axis=1)
    roll = df["composite"].rolling(window, min_periods=minp)
    df["signal"] = (df["composite"] - roll.mean()) / roll.std().clip(lower=1e-10)
    return df


def backtest_fixed_holding(
    df,
    signal_col="signal",
    close_col="close_bn",
    entry_threshold=1.5,
    holding_bars=6,
    fee_bps=7.0,
    vol_filter=None,
):
    data = df.dropna(subset=[signal_col]).copy()
    data["tradeable"] = data["vol_regime"].isin(vol_filter) if vol_filter else True
    signals, closes = data[signal_col].values, data[close_col].values
    tradeable, ts = data["tradeable"].values, data["timestamp_us"].values
    n = len(data)
    trades, in_trade, entry, direction = [], False, 0, 0
    for i in range(n - holding_bars):
        if in_trade and i - entry >= holding_bars:
            raw = (closes[i] / closes[entry] - 1) * 10000 * direction
            trades.append(
                {
                    "entry_ts": ts[entry],
                    "exit_ts": ts[i],
                    "direction": direction,
                    "net_return_bps": raw - fee_bps,
                }
            )
            in_trade = False
        if not in_trade and tradeable[i]:
            if signals[i] > entry_threshold:
                in_trade, entry, direction = True, i, -1
            elif signals[i] < -entry_threshold:
                in_trade, entry, direction = True, i, 1
    return pd.DataFrame(trades)


VOL_FILTERS = {"all": None, "low+normal": ["low_vol", "normal"], "low_only": ["low_vol"]}
HOLDINGS = {"15m": 3, "30m": 6, "1h": 12, "2h": 24}
THRESHOLDS = [1.0, 1.5, 2.0, 2.5]


def sweep(df, signal_col="signal", fee_bps=7.0):
    rows = []
    for vf_name, vf in VOL_FILTERS.items():
        for thresh in THRESHOLDS:
            for hp_name, hp in HOLDINGS.items():
                t = backtest_fixed_holding(
                    df, signal_col, entry_threshold=thresh, holding_bars=hp, fee_bps=fee_bps, vol_filter=vf
                )
                if t.empty:
                    rows.append(
                        {
                            "vol_filter": vf_name,
                            "threshold": thresh,
                            "holding": hp_name,
                            "n_trades": 0,
                            "total_pnl_bps": 0.0,
                            "avg_pnl_bps": 0.0,
                            "win_rate": 0.0,
                            "sharpe": 0.0,
                        }
                    )
                    continue
                r = t["net_return_bps"]
                sharpe = r.mean() / r.std() * np.sqrt(252 * 288 / hp) if r.std() > 0 else 0
                rows.append(
                    {
                        "vol_filter": vf_name,
                        "threshold": thresh,
                        "holding": hp_name,
                        "n_trades": len(t),
                        "total_pnl_bps": r.sum(),
                        "avg_pnl_bps": r.mean(),
                        "win_rate": (r > 0).mean(),
                        "sharpe": sharpe,
                    }
                )
    return pd.DataFrame(rows)


def decile_tables(df, fee_bps=7.0):
    clean = df.dropna(subset=["signal"]).copy()
    clean["signal_decile"] = pd.qcut(clean["signal"], q=10, labels=False, duplicates="drop")
    spreads, regimes = {}, {}
    for h in ["5m", "15m", "30m", "1h", "2h"]:
        col = f"fwd_{h}"
        sub = clean.dropna(subset=[col])
        d = sub.groupby("signal_decile")[col].mean() * 10000
        spreads[h] = d.iloc[0] - d.iloc[-1]
        row = {}
        for regime in ["low_vol", "normal", "high_vol"]:
            s = clean[clean["vol_regime"] == regime].dropna(subset=[col])
            if len(s) < 200:
                row[regime] = np.nan
                continue
            dr = s.groupby("signal_decile")[col].mean() * 10000
            row[regime] = dr.iloc[0] - dr.iloc[-1]
        regimes[h] = row
    return spreads, regimes


def walk_forward(df, split_us):
    train_mask = df["timestamp_us"] < split_us
    test_mask = ~train_mask
    train_comp = df.loc[train_mask, "composite"]
    full = df.copy()
    full["signal_wf"] = (full["composite"] - train_comp.mean()) / train_comp.std()
    test_wf = full[test_mask].copy()
    res = sweep(test_wf, signal_col="signal_wf")
    best = res[res["n_trades"] > 20].sort_values("total_pnl_bps", ascending=False, kind="stable").iloc[0]
    is_trades = backtest_fixed_holding(
        full[train_mask],
        "signal_wf",
        entry_threshold=best["threshold"],
        holding_bars=HOLDINGS[best["holding"]],
        vol_filter=VOL_FILTERS[best["vol_filter"]],
    )
    return best, is_trades
