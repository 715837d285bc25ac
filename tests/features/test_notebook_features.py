"""notebook_features reproduces the notebook's compute_microstructure_features to rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research.features import notebook_features


def notebook_reference(trades: pd.DataFrame, interval_us: int) -> pd.DataFrame:
    """The notebook's per-bucket pandas loop, formula for formula (the slow, obvious reference)."""
    trades = trades.copy()
    trades["bucket"] = (trades["timestamp_us"].values // interval_us) * interval_us
    rows = []
    for bkt, grp in trades.groupby("bucket"):
        p = grp["price"].values
        q = grp["quantity"].values
        qq = grp["quote_quantity"].values
        s = grp["side"].values
        t = grp["timestamp_us"].values
        n = len(grp)
        if n < 2:
            continue
        buy, sell = s == 1, s == -1
        buy_vol, sell_vol, total_vol = q[buy].sum(), q[sell].sum(), q.sum()
        buy_quote, sell_quote = qq[buy].sum(), qq[sell].sum()
        q90 = np.percentile(q, 90)
        large = q >= q90
        lb, ls = q[large & buy].sum(), q[large & sell].sum()
        if n > 2:
            iti = np.diff(t).astype(np.float64)
            iti_cv = iti.std() / max(iti.mean(), 1)
            counts = np.histogram(t, bins=np.linspace(t[0], t[-1], 6))[0]
            burstiness = counts.max() / max(n, 1)
        else:
            iti_cv, burstiness = 0, 1.0
        first_half = (t < (t[0] + t[-1]) / 2).sum()
        vwap = qq.sum() / max(total_vol, 1e-10)
        kyle = 0
        if n > 10:
            sv = q * s
            dp = np.diff(p)
            if len(dp) > 1 and sv[1:].std() > 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    kyle = np.corrcoef(sv[1:], dp)[0, 1]
        mid = (p.max() + p.min()) / 2
        rows.append(
            {
                "timestamp_us": bkt,
                "vol_imbalance": (buy_vol - sell_vol) / max(total_vol, 1e-10),
                "dollar_imbalance": (buy_quote - sell_quote) / max(buy_quote + sell_quote, 1e-10),
                "large_imbalance": (lb - ls) / max(lb + ls, 1e-10),
                "large_vol_pct": q[large].sum() / max(total_vol, 1e-10),
                "count_imbalance": (buy.sum() - sell.sum()) / max(n, 1),
                "arrival_rate": n / max((t[-1] - t[0]) / 1e6, 0.001),
                "iti_cv": iti_cv,
                "burstiness": burstiness,
                "trade_acceleration": (n - 2 * first_half) / max(n, 1),
                "price_range": (p.max() - p.min()) / max(vwap, 1e-10),
                "close_vs_vwap": (p[-1] - vwap) / max(vwap, 1e-10),
                "kyle_lambda": kyle,
                "vol_profile_skew": (q[p >= mid].sum() - q[p < mid].sum()) / max(total_vol, 1e-10),
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
    return pd.DataFrame(rows)


def to_notebook_input(trades: pl.DataFrame) -> pd.DataFrame:
    """Lake columns → the notebook's parquet columns (the documented mapping)."""
    return pd.DataFrame(
        {
            "timestamp_us": trades["ts_local_us"].to_numpy(),
            "price": trades["px"].to_numpy(),
            "quantity": trades["qty"].to_numpy(),
            "quote_quantity": (trades["px"] * trades["qty"]).to_numpy(),
            "side": np.select([trades["side"].to_numpy() == 0, trades["side"].to_numpy() == 1], [1, -1], 0),
        }
    )


def synthetic_trades(seed: int, interval_us: int = 1_000_000, n_buckets: int = 60) -> pl.DataFrame:
    """Bursty trades with timestamp ties, 0/1/2-trade buckets, flat-price buckets and size ties."""
    rng = np.random.default_rng(seed)
    ts, px, qty, side = [], [], [], []
    price = 100.0
    for b in range(n_buckets):
        n = int(rng.choice([0, 1, 2, 3, 5, 11, 12, 40, 200]))
        start = 1_600_000_000_000_000 + b * interval_us
        if rng.random() < 0.3:  # a burst in a narrow window
            offsets = np.sort(rng.integers(0, interval_us // 50, n)) + rng.integers(0, interval_us // 2)
        else:
            offsets = np.sort(rng.integers(0, interval_us, n))
        if n > 3 and rng.random() < 0.5:  # ties on the receive clock
            offsets[1:3] = offsets[1]
        flat = rng.random() < 0.15
        for off in offsets:
            if not flat:
                price += 0.5 * rng.integers(-2, 3)
            ts.append(start + int(off))
            px.append(price)
            qty.append(float(rng.choice([0.001, 0.01, 0.5, 1.0, round(rng.lognormal(-2, 1.5), 6)])))
            side.append(int(rng.choice([0, 1, 2], p=[0.48, 0.48, 0.04])))
    return pl.DataFrame(
        {
            "ts_local_us": np.array(ts, dtype=np.int64),
            "file_id": np.zeros(len(ts), dtype=np.int32),
            "file_line_number": np.arange(len(ts), dtype=np.int32),
            "px": px,
            "qty": qty,
            "side": np.array(side, dtype=np.int8),
        }
    )


def assert_matches_reference(fast: pl.DataFrame, ref: pd.DataFrame) -> None:
    assert fast.columns == list(ref.columns)
    assert fast.height == len(ref)
    for col in ref.columns:
        got = fast[col].to_numpy().astype(np.float64)
        want = ref[col].to_numpy().astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=col)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_notebook_features_match_notebook_loop_on_synthetic_trades(seed: int) -> None:
    trades = synthetic_trades(seed)
    fast = notebook_features(trades, 1_000_000)
    assert_matches_reference(fast, notebook_reference(to_notebook_input(trades), 1_000_000))


def test_notebook_features_match_notebook_loop_on_tardis_trades(tardis_dir: Path) -> None:
    raw = pl.read_csv(tardis_dir / "trades.csv")
    trades = raw.select(
        pl.col("local_timestamp").alias("ts_local_us"),
        pl.col("price").cast(pl.Float64).alias("px"),
        pl.col("amount").cast(pl.Float64).alias("qty"),
        pl.col("side").replace_strict({"buy": 0, "sell": 1}, default=2, return_dtype=pl.Int8).alias("side"),
    )
    for interval in (300_000_000, 10_000_000, 1_000_000):
        fast = notebook_features(trades, interval)
        assert fast.height > 0
        assert_matches_reference(fast, notebook_reference(to_notebook_input(trades), interval))


def test_buckets_are_labelled_by_start_and_sparse_buckets_dropped() -> None:
    trades = pl.DataFrame(
        {
            "ts_local_us": [0, 10, 300_000_000, 600_000_000, 600_000_001],
            "px": [1.0, 2.0, 3.0, 4.0, 5.0],
            "qty": [1.0, 1.0, 1.0, 1.0, 3.0],
            "side": [0, 1, 0, 1, 0],
        }
    )
    out = notebook_features(trades)
    assert out["timestamp_us"].to_list() == [0, 600_000_000]
    assert out["vol_imbalance"].to_list() == [0.0, 0.5]


def test_pit_labelling_keeps_sparse_buckets_and_stamps_bucket_end() -> None:
    trades = pl.DataFrame(
        {
            "ts_local_us": [0, 10, 300_000_000, 900_000_000, 900_000_001],
            "px": [1.0, 2.0, 3.0, 4.0, 5.0],
            "qty": [1.0, 1.0, 1.0, 1.0, 3.0],
            "side": [0, 1, 0, 1, 0],
        }
    )
    out = notebook_features(trades, notebook_compatible=False)
    assert out["bucket_start"].to_list() == [0, 300_000_000, 600_000_000, 900_000_000]
    assert out["ts"].to_list() == [300_000_000, 600_000_000, 900_000_000, 1_200_000_000]
    assert out["trade_count"].to_list() == [2, 1, 0, 2]
    assert out["vol_imbalance"].to_list() == [0.0, None, None, 0.5]


def test_pit_rows_do_not_change_when_later_trades_arrive() -> None:
    trades = synthetic_trades(7)
    full = notebook_features(trades, 1_000_000, notebook_compatible=False)
    cut = int(full["ts"][20])
    early = notebook_features(
        trades.filter(pl.col("ts_local_us") < cut), 1_000_000, notebook_compatible=False
    )
    assert early.equals(full.filter(pl.col("ts") <= cut))


def test_trades_are_put_in_total_order_first() -> None:
    trades = synthetic_trades(3)
    shuffled = trades.sample(fraction=1.0, shuffle=True, seed=1)
    assert notebook_features(shuffled, 1_000_000).equals(notebook_features(trades, 1_000_000))


def test_lazy_input_gives_the_same_frame() -> None:
    trades = synthetic_trades(4)
    assert notebook_features(trades.lazy(), 1_000_000).equals(notebook_features(trades, 1_000_000))


def test_constant_price_bucket_gives_nan_kyle_lambda_like_numpy() -> None:
    n = 12
    trades = pl.DataFrame(
        {"ts_local_us": np.arange(n), "px": [5.0] * n, "qty": np.linspace(1, 2, n), "side": [0, 1] * (n // 2)}
    )
    assert np.isnan(notebook_features(trades)["kyle_lambda"].item())


def test_several_symbols_are_rejected() -> None:
    trades = synthetic_trades(0).with_columns(symbol_id=pl.int_range(pl.len()) % 2)
    with pytest.raises(PointlineError, match="ONE symbol"):
        notebook_features(trades)


def test_missing_decoded_columns_are_named() -> None:
    with pytest.raises(PointlineError, match="px"):
        notebook_features(pl.DataFrame({"ts_local_us": [1], "qty": [1.0], "side": [0]}))


def test_inverse_contract_quote_volume_is_contracts_times_size() -> None:
    trades = pl.DataFrame({"ts_local_us": [0, 1], "px": [100.0, 200.0], "qty": [3.0, 1.0], "side": [0, 1]})
    out = notebook_features(trades, contract_size=10.0, is_inverse=True)
    assert out["quote_volume"].item() == 40.0
