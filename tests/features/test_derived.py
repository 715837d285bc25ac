"""Derived features: the guide's formulas, per symbol, past bars only."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.research.features import add_derived_features, list_derived, register_derived

GUIDE = [
    "vwap_reversion",
    "ret_1bar",
    "ret_5bar",
    "trade_count_accel",
    "spread_deviation",
    "flow_persistence",
    "book_flow_divergence",
    "vol_zscore",
    "size_ratio",
    "hl_range_pct",
    "hour",
]


def bars(n: int = 60, seed: int = 0, symbol_id: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.standard_normal(n))
    return pl.DataFrame(
        {
            "symbol_id": np.full(n, symbol_id),
            "bucket_start": np.arange(n) * 600_000_000,
            "ts": (np.arange(n) + 1) * 600_000_000,
            "close": close,
            "vwap": close + rng.standard_normal(n) * 0.1,
            "high": close + 1.0,
            "low": close - 1.0,
            "trade_count": rng.integers(1, 100, n),
            "spread_bps": rng.uniform(0.5, 3.0, n),
            "flow_imbalance": rng.uniform(-1, 1, n),
            "book_imbalance_top5": rng.uniform(-1, 1, n),
            "realized_vol": rng.uniform(0.0, 0.01, n),
            "avg_trade_size": rng.uniform(0.01, 2.0, n),
        }
    )


def test_guide_features_are_all_registered() -> None:
    assert set(GUIDE) <= set(list_derived())


def test_each_guide_feature_matches_a_hand_computation() -> None:
    df = bars()
    out = add_derived_features(df, GUIDE)
    c = df["close"].to_numpy()
    k = 30
    row = out.row(k, named=True)
    assert row["vwap_reversion"] == pytest.approx((c[k] - df["vwap"][k]) / df["vwap"][k])
    assert row["ret_1bar"] == pytest.approx(c[k] / c[k - 1] - 1)
    assert row["ret_5bar"] == pytest.approx(c[k] / c[k - 5] - 1)
    tc = df["trade_count"].to_numpy()
    assert row["trade_count_accel"] == pytest.approx(tc[k] / tc[k - 1] - 1)
    sp = df["spread_bps"].to_numpy()
    assert row["spread_deviation"] == pytest.approx(sp[k] - sp[k - 9 : k + 1].mean())
    fi = df["flow_imbalance"].to_numpy()
    assert row["flow_persistence"] == pytest.approx(fi[k] * fi[k - 1])
    assert row["book_flow_divergence"] == pytest.approx(df["book_imbalance_top5"][k] - fi[k])
    rv = df["realized_vol"].to_numpy()[k - 19 : k + 1]
    assert row["vol_zscore"] == pytest.approx((rv[-1] - rv.mean()) / rv.std(ddof=1))
    sz = df["avg_trade_size"].to_numpy()
    assert out["size_ratio"][55] == pytest.approx(sz[55] / np.median(sz[6:56]))
    assert row["hl_range_pct"] == pytest.approx(2.0 / df["vwap"][k])
    assert row["hour"] == (k * 600 // 60) // 60 % 24
    assert out["ret_5bar"][4] is None and out["spread_deviation"][8] is None


def test_features_are_computed_per_symbol() -> None:
    two = pl.concat([bars(symbol_id=1), bars(seed=1, symbol_id=2)]).sample(fraction=1.0, shuffle=True, seed=0)
    out = add_derived_features(two, ["ret_1bar"])
    first = out.group_by("symbol_id").agg(pl.col("ret_1bar").first())
    assert first["ret_1bar"].to_list() == [None, None]
    alone = add_derived_features(bars(seed=1, symbol_id=2), ["ret_1bar"])
    assert out.filter(pl.col("symbol_id") == 2)["ret_1bar"].equals(alone["ret_1bar"])


def test_bars_closing_at_the_same_ts_keep_their_bar_order() -> None:
    # Event bars can close at one instant (a large trade closing several split bars); a shuffled
    # frame must not make bar 1's predecessor the later bar 2.
    df = pl.DataFrame(
        {
            "symbol_id": [1] * 4,
            "bar_index": [0, 1, 2, 3],
            "ts": [10, 20, 20, 30],
            "close": [100.0, 101.0, 102.0, 103.0],
        }
    )
    want = [None, 101 / 100 - 1, 102 / 101 - 1, 103 / 102 - 1]
    for frame in (df, df.reverse(), df.sample(fraction=1.0, shuffle=True, seed=2)):
        out = add_derived_features(frame, ["ret_1bar"])
        assert out["bar_index"].to_list() == [0, 1, 2, 3]
        assert out["ret_1bar"].to_list() == [None, *[pytest.approx(w) for w in want[1:]]]


@settings(max_examples=30, deadline=None)
@given(k=st.integers(min_value=0, max_value=59), seed=st.integers(0, 1000))
def test_truncating_history_after_bar_k_leaves_rows_up_to_k_unchanged(k: int, seed: int) -> None:
    df = bars(seed=seed)
    full = add_derived_features(df, GUIDE)
    cut = add_derived_features(df.head(k + 1), GUIDE)
    assert cut.equals(full.head(k + 1))


def test_unknown_feature_suggests_a_name() -> None:
    with pytest.raises(PointlineError, match="Did you mean 'ret_1bar'"):
        add_derived_features(bars(), ["ret_1bars"])


def test_missing_input_column_is_named() -> None:
    with pytest.raises(PointlineError, match="needs column 'spread_bps'"):
        add_derived_features(bars().drop("spread_bps"), ["spread_deviation"])


def test_user_registered_feature_runs_per_symbol() -> None:
    register_derived("close_change_2", pl.col("close") - pl.col("close").shift(2), requires=["close"])
    out = add_derived_features(bars(), ["close_change_2"])
    assert out["close_change_2"][10] == pytest.approx(out["close"][10] - out["close"][8])


def test_default_adds_every_feature_whose_inputs_exist() -> None:
    out = add_derived_features(bars().drop("spread_bps"))
    assert "ret_1bar" in out.columns and "spread_deviation" not in out.columns
