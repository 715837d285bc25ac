"""Rank IC, deciles, quality and quintiles on frames with a planted (or absent) relation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pointline.research.evaluate import (
    decile_spreads,
    quick_backtest,
    rank_ic,
    regime_ic,
    validate_features,
    with_deciles,
)
from pointline.research.study import StudyConfig, build_study_frame, synthetic_feature_frames

HORIZONS = {"5m": "fwd_5m", "15m": "fwd_15m"}


def _frame(effect: float, seed: int) -> pl.DataFrame:
    cfg = StudyConfig(rank_window=288, min_periods=100)
    return build_study_frame(synthetic_feature_frames(3000, effect=effect, seed=seed), cfg)


def test_composite_ic_has_the_planted_contrarian_sign():
    ic = rank_ic(_frame(0.3, 11), "signal", HORIZONS, {"5m": 1, "15m": 3})
    row = ic.row(0, named=True)
    assert row["ic"] < -0.1 and row["p_value"] < 1e-6 and row["p_nw"] < 1e-6


def test_without_an_effect_the_ic_is_not_significant():
    ic = rank_ic(_frame(0.0, 12), "signal", HORIZONS, {"5m": 1, "15m": 3})
    assert ic["p_value"][0] > 0.01
    assert abs(ic["ic"][0]) < 0.05


def test_overlap_aware_t_stat_is_smaller_than_the_naive_one_on_overlapping_returns():
    ic = rank_ic(_frame(0.3, 13), "signal", {"2h": "fwd_2h"}, {"2h": 24}).row(0, named=True)
    naive_t = ic["ic"] * np.sqrt((ic["n"] - 2) / (1 - ic["ic"] ** 2))
    assert abs(ic["t_nw"]) < abs(naive_t)
    assert ic["n_nonoverlap"] == pytest.approx(ic["n"] / 24, abs=1)


def test_decile_spread_is_positive_for_a_contrarian_signal_and_net_pays_a_round_trip_per_leg():
    deciled = with_deciles(_frame(0.3, 14))
    row = decile_spreads(deciled, HORIZONS, fee_bps=7.0).row(0, named=True)
    assert row["spread_bps"] > 0
    # Long the lowest decile and short the highest: two positions, each pays the 7 bps round trip.
    assert row["net_bps"] == pytest.approx(row["spread_bps"] - 14.0)
    notebook = decile_spreads(deciled, HORIZONS, fee_bps=7.0, fee_legs=1).row(0, named=True)
    assert notebook["net_bps"] == pytest.approx(row["spread_bps"] - 7.0)


def test_quality_checks_flag_nulls_outliers_and_redundant_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    spiky = x.copy()
    spiky[:10] = 100.0
    df = pl.DataFrame({"a": x, "b": x * 2 + 1e-3 * rng.normal(size=2000), "c": spiky}).with_columns(
        pl.when(pl.int_range(pl.len()) < 100).then(None).otherwise(pl.col("a")).alias("a")
    )
    q = validate_features(df, ["a", "b", "c"])
    t = {r["feature"]: r for r in q.table.iter_rows(named=True)}
    assert t["a"]["null_ratio"] == pytest.approx(0.05) and not t["a"]["null_ok"]
    assert not t["c"]["outlier_ok"] and t["b"]["stationary"]
    assert q.max_corr > 0.99 and q.checks["features_independent"] is False


def test_quintiles_use_only_rows_with_both_signal_and_label():
    df = pl.DataFrame({"s": [1.0, 2.0, None, 4.0, 5.0, 6.0], "y": [1.0, 2.0, 3.0, None, 5.0, 6.0]})
    res = quick_backtest(df, "s", "y")
    assert res.ic == pytest.approx(1.0)
    assert res.table["count"].sum() == 4


def test_a_wrong_column_or_bin_count_is_a_clear_error():
    from pointline.errors import PointlineError

    frame = _frame(0.3, 14)
    with pytest.raises(
        PointlineError, match="rank_ic: column 'signl' is not in the frame; did you mean 'signal'"
    ):
        rank_ic(frame, "signl", HORIZONS)
    with pytest.raises(PointlineError, match="with_deciles: column 'sig'"):
        with_deciles(frame, "sig")
    for q in (0, -3, 2.5):
        with pytest.raises(PointlineError, match="q must be an integer number of bins >= 2"):
            with_deciles(frame, "signal", q=q)  # type: ignore[arg-type]
        with pytest.raises(PointlineError, match="q must be an integer number of bins >= 2"):
            quick_backtest(frame, "signal", next(iter(HORIZONS.values())), q=q)  # type: ignore[arg-type]


def test_ic_by_regime_is_spearman_on_each_regimes_bars_and_blank_below_the_floor():
    from scipy import stats

    frame = _frame(0.3, 14).filter(pl.col("vol_regime") != "warmup")
    table = regime_ic(frame, "signal", HORIZONS, {"5m": 1, "15m": 3}, min_obs=150)
    assert table.select("regime", "horizon").rows() == [
        (r, h) for r in ("low_vol", "normal", "high_vol") for h in HORIZONS
    ]
    for row in table.iter_rows(named=True):
        pairs = frame.filter(pl.col("vol_regime") == row["regime"]).select("signal", HORIZONS[row["horizon"]])
        pairs = pairs.drop_nulls().filter(pl.all_horizontal(pl.all().is_not_nan()))
        assert row["n"] == pairs.height
        if pairs.height < 150:
            assert row["ic"] is None and row["p_nw"] is None
            continue
        rho = stats.spearmanr(pairs.to_series(0).to_numpy(), pairs.to_series(1).to_numpy())[0]
        assert row["ic"] == pytest.approx(rho, abs=1e-12)
        assert row["ic"] < 0  # the planted contrarian effect holds in every regime
    assert table.filter(pl.col("ic").is_not_null()).height >= 4
    floor = regime_ic(frame, "signal", HORIZONS, min_obs=10**6)
    assert floor["ic"].null_count() == floor.height and floor["n"].null_count() == 0
