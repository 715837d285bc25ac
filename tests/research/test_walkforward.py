"""Walk-forward: the configuration is chosen on the training window only."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.research.backtest import Fold, make_folds, oos_summary, walk_forward
from pointline.research.backtest.metrics import METRIC_NAMES
from pointline.research.backtest.sweep import DEFAULT_HOLDINGS, DEFAULT_THRESHOLDS, DEFAULT_VOL_FILTERS
from pointline.research.study import StudyConfig, build_study_frame, synthetic_feature_frames
from pointline.research.study.run import _clean_folds

DAY = 86_400_000_000
CFG = StudyConfig(rank_window=288, min_periods=100)
GRID = {"thresholds": DEFAULT_THRESHOLDS, "holdings": DEFAULT_HOLDINGS, "vol_filters": DEFAULT_VOL_FILTERS}


def _run(frames, folds):
    frame = build_study_frame(frames, CFG)
    return walk_forward(frame, folds, min_trades=10, **GRID)


def test_perturbing_test_window_data_never_changes_the_chosen_configuration():
    frames = synthetic_feature_frames(4032, seed=5, effect=0.3)
    first = int(frames["bybit"]["ts"].min())
    folds = make_folds(first, int(frames["bybit"]["ts"].max()), train_us=6 * DAY, test_us=4 * DAY)
    base = _run(frames, folds)
    fold = folds[0]
    rng = np.random.default_rng(1)
    perturbed = {}
    for e, f in frames.items():
        in_test = (pl.col("ts") >= fold.test_start).alias("t")
        perturbed[e] = f.with_columns(
            pl.when(in_test)
            .then(pl.col(c) * pl.Series(rng.uniform(0.5, 1.5, f.height)))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("vol_imbalance", "dollar_imbalance", "count_imbalance", "close", "open")
        )
    again = _run(perturbed, folds)
    keys = ["vol_filter", "threshold", "holding", "is_n_trades", "is_total_pnl_bps"]
    assert base.folds.row(0, named=True)["vol_filter"] is not None
    assert base.folds.select(keys).row(0) == again.folds.select(keys).row(0)
    assert base.folds["oos_total_pnl_bps"][0] != again.folds["oos_total_pnl_bps"][0]


def test_training_trades_never_exit_inside_the_test_window():
    frames = synthetic_feature_frames(3000, seed=6)
    ts = frames["bybit"]["ts"]
    folds = make_folds(int(ts.min()), int(ts.max()), train_us=4 * DAY, test_us=3 * DAY, anchored=True)
    wf = _run(frames, folds)
    for i, fold in enumerate(folds):
        is_tr = wf.is_trades.filter(pl.col("fold") == i)
        oos = wf.oos_trades.filter(pl.col("fold") == i)
        assert is_tr.is_empty() or is_tr["exit_ts"].max() < fold.train_end
        assert oos.is_empty() or oos["signal_ts"].min() >= fold.test_start
        assert fold.train_start == int(ts.min())


def test_fold_metrics_cover_the_fold_s_own_bars_only():
    # 3000 bars = 10 days and 120 bars; the last test window holds those 120 bars, not 3 days.
    frames = synthetic_feature_frames(3000, seed=6)
    ts = frames["bybit"]["ts"]
    folds = make_folds(int(ts.min()), int(ts.max()), train_us=4 * DAY, test_us=3 * DAY)
    wf = _run(frames, folds).folds.filter(pl.col("vol_filter").is_not_null())
    assert wf.height >= 2
    bars = [ts.filter((ts >= r["test_start"]) & (ts < r["test_end"])).len() for r in wf.iter_rows(named=True)]
    assert wf["oos_covered_days"].to_list() == pytest.approx([b * 300_000_000 / DAY for b in bars])
    assert bars[-1] == 120
    assert (wf["oos_turnover_per_day"] == 2 * wf["oos_n_trades"] / wf["oos_covered_days"]).all()


BAR = 300_000_000


def _flat_first_walk_forward():
    """Four UTC days of 5-minute bars, no signal on day 0; folds train one day and test the next.

    Fold 0 trains on day 0 (no trade, so no configuration) and is flat on day 1; folds 1 and 2
    trade on days 2 and 3.
    """
    rng = np.random.default_rng(11)
    n = 4 * 288
    ts = BAR * np.arange(1, n + 1, dtype=np.int64)
    signal = np.where(np.arange(n) < 288, 0.0, 2 * rng.normal(size=n))
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    bars = pl.DataFrame({"ts": ts, "signal": signal, "open": px, "close": px})
    folds = make_folds(int(ts[0]), int(ts[-1]), train_us=DAY, test_us=DAY)
    wf = walk_forward(
        bars,
        folds,
        thresholds=[1.0],
        holdings={"30m": 6},
        vol_filters={"all": None},
        min_trades=10,
        prepare_kwargs={"regime_col": None},
    )
    return folds, wf


def test_a_fold_without_a_configuration_is_flat_out_of_sample():
    folds, wf = _flat_first_walk_forward()
    assert len(folds) == 3 and wf.folds["vol_filter"].to_list() == [None, "all", "all"]
    flat = wf.folds.row(0, named=True)
    assert flat["oos_covered_days"] == 1.0  # its whole test day, traded by nobody
    assert {k: flat[f"oos_{k}"] for k in METRIC_NAMES if k != "covered_days"} == dict.fromkeys(
        (k for k in METRIC_NAMES if k != "covered_days"), 0.0
    )
    assert all(flat[f"is_{k}"] is None for k in METRIC_NAMES)  # nothing was run in sample
    assert wf.oos_trades.filter(pl.col("fold") == 0).is_empty()


def test_oos_summary_counts_a_flat_fold_as_zero_trades_over_its_days():
    _, wf = _flat_first_walk_forward()
    got = oos_summary(wf.folds)
    n = wf.oos_trades.height
    assert n > 0 and got["oos_n_trades"] == n
    assert got["oos_covered_days"] == 3.0  # the flat day 1 and the traded days 2 and 3
    assert got["oos_turnover_per_day"] == pytest.approx(2 * n / 3.0)  # not 2 * n / 2.0
    assert got["oos_total_pnl_bps"] == pytest.approx(wf.oos_trades["net_bps"].sum())
    assert got["oos_avg_pnl_bps"] == pytest.approx(wf.oos_trades["net_bps"].mean())  # per trade taken
    assert got["oos_win_rate"] == pytest.approx((wf.oos_trades["net_bps"] > 0).mean())


def test_oos_summary_when_every_fold_chooses_is_the_folds_totals():
    _, wf = _flat_first_walk_forward()
    traded = wf.folds.filter(pl.col("vol_filter").is_not_null())
    got = oos_summary(traded)
    days = traded["oos_covered_days"].sum()
    assert days == 2.0
    assert got["oos_turnover_per_day"] == pytest.approx(2 * traded["oos_n_trades"].sum() / days)


def test_rolling_folds_tile_time():
    folds = make_folds(0, 100, train_us=30, test_us=20)
    assert [(f.train_start, f.test_start, f.test_end) for f in folds] == [
        (0, 30, 50),
        (20, 50, 70),
        (40, 70, 90),
        (60, 90, 101),
    ]
    with pytest.raises(PointlineError, match="shorter than one training window"):
        make_folds(0, 10, train_us=30, test_us=5)


def _bounds(folds: list[Fold]) -> list[tuple[int, int, int, int]]:
    return [(f.train_start, f.train_end, f.test_start, f.test_end) for f in folds]


def test_the_last_bar_is_in_a_test_window_when_the_data_ends_on_a_fold_boundary():
    # Bars known at 10, 20, ..., 100: training 30 µs, test 30 µs. The third split falls on the last
    # bar (100); it must open a last test window holding that bar, clipped one µs past it.
    assert _bounds(make_folds(10, 100, train_us=30, test_us=30)) == [
        (10, 40, 40, 70),
        (40, 70, 70, 100),
        (70, 100, 100, 101),
    ]
    assert _bounds(make_folds(10, 100, train_us=30, test_us=30, anchored=True)) == [
        (10, 40, 40, 70),
        (10, 70, 70, 100),
        (10, 100, 100, 101),
    ]
    # A step longer than the test window leaves gaps between test windows, never overlaps.
    assert _bounds(make_folds(0, 100, train_us=30, test_us=20, step_us=30)) == [
        (0, 30, 30, 50),
        (30, 60, 60, 80),
        (60, 90, 90, 101),
    ]
    # The data is exactly one training window and one bar: one fold, that bar.
    assert _bounds(make_folds(0, 30, train_us=30, test_us=20)) == [(0, 30, 30, 31)]
    with pytest.raises(PointlineError, match="step"):
        make_folds(0, 100, train_us=30, test_us=20, step_us=-10)


def test_study_folds_hold_whole_utc_days_of_bars_and_the_last_bar():
    # Ten whole UTC days of 5-minute bars: ts (known-at = bucket end) runs from 00:05 of day 0 to
    # 00:00 of day 10. Train 6 days / test 2 days: two test windows, days 6-7 and 8-9, by bar interval.
    bar = 300_000_000
    day0 = 1_761_955_200_000_000
    ts = day0 + bar * np.arange(1, 10 * 288 + 1, dtype=np.int64)
    frame = pl.DataFrame({"ts": ts})
    cfg = StudyConfig(walk_forward={"train_days": 6, "test_days": 2})
    folds = _clean_folds(frame, cfg)
    assert _bounds(folds) == [
        (day0 + bar, day0 + 6 * DAY + bar, day0 + 6 * DAY + bar, day0 + 8 * DAY + bar),
        (day0 + 2 * DAY + bar, day0 + 8 * DAY + bar, day0 + 8 * DAY + bar, int(ts[-1]) + 1),
    ]
    for f in folds:  # every window is whole days of bars: 288 bars a day, opening from 00:00
        in_test = ts[(ts >= f.test_start) & (ts < f.test_end)]
        assert in_test.size == 2 * 288 and (in_test[0] - bar) % DAY == 0
        in_train = ts[(ts >= f.train_start) & (ts < f.train_end)]
        assert in_train.size == 6 * 288 and (in_train[0] - bar) % DAY == 0
    tested = np.concatenate([ts[(ts >= f.test_start) & (ts < f.test_end)] for f in folds])
    assert tested.tolist() == ts[6 * 288 :].tolist()  # the last bar (00:00 of day 10) included


def test_study_folds_of_data_starting_mid_day_still_test_whole_utc_days():
    # 5-minute bars from 13:00 of day 0 (first ts 13:05) to the bar ending at 00:00 of day 10.
    bar = 300_000_000
    day0 = 1_761_955_200_000_000
    ts = day0 + 13 * 3600 * 1_000_000 + bar * np.arange(1, (10 * 24 - 13) * 12 + 1, dtype=np.int64)
    assert int(ts[-1]) == day0 + 10 * DAY
    cfg = StudyConfig(walk_forward={"train_days": 6, "test_days": 2})
    folds = _clean_folds(pl.DataFrame({"ts": ts}), cfg)
    # Tiling from the midnight before the data: the first training window holds the partial day 0.
    assert [(f.test_start, f.test_end) for f in folds] == [
        (day0 + 6 * DAY + bar, day0 + 8 * DAY + bar),
        (day0 + 8 * DAY + bar, int(ts[-1]) + 1),
    ]
    for f in folds:  # each test window: two whole UTC days of bars, opening from 00:00
        in_test = ts[(ts >= f.test_start) & (ts < f.test_end)]
        assert in_test.size == 2 * 288 and (in_test[0] - bar) % DAY == 0
    first_train = ts[(ts >= folds[0].train_start) & (ts < folds[0].train_end)]
    assert first_train[0] == ts[0] and first_train.size == (6 * 24 - 13) * 12


def test_study_split_date_tests_the_bars_that_open_at_or_after_it():
    bar = 300_000_000
    day0 = 1_761_955_200_000_000
    ts = day0 + bar * np.arange(1, 3 * 288 + 1, dtype=np.int64)
    cfg = StudyConfig(walk_forward={"split": "2025-11-03"})
    (fold,) = _clean_folds(pl.DataFrame({"ts": ts}), cfg)
    split = day0 + 2 * DAY
    assert _bounds([fold]) == [(int(ts[0]), split + bar, split + bar, int(ts[-1]) + 1)]


@settings(max_examples=300, deadline=None)
@given(
    n_bars=st.integers(1, 120),
    interval=st.integers(1, 7),
    t0=st.integers(-1000, 1000),
    train=st.integers(1, 300),
    test=st.integers(1, 300),
    extra_step=st.integers(0, 50),
    anchored=st.booleans(),
)
def test_folds_cover_every_bar_after_the_first_training_window_once(
    n_bars: int, interval: int, t0: int, train: int, test: int, extra_step: int, anchored: bool
) -> None:
    ts = t0 + interval * np.arange(n_bars, dtype=np.int64)
    ts_min, ts_max = int(ts[0]), int(ts[-1])
    step = test + extra_step
    if ts_min + train > ts_max:
        with pytest.raises(PointlineError, match="shorter than one training window"):
            make_folds(ts_min, ts_max, train_us=train, test_us=test, step_us=step, anchored=anchored)
        return
    folds = make_folds(ts_min, ts_max, train_us=train, test_us=test, step_us=step, anchored=anchored)
    for f in folds:
        assert f.train_end == f.test_start  # training ends where its test starts: no lookahead
        assert f.train_start < f.train_end
        assert f.train_start == ts_min if anchored else f.train_end - f.train_start == train
        assert f.test_start <= ts_max and f.test_end <= ts_max + 1  # never past the data
        assert 0 < f.test_end - f.test_start <= test
    for a, b in pairwise(folds):
        assert b.test_start - a.test_start == step and a.test_end <= b.test_start  # no overlap
        if extra_step == 0:
            assert a.test_end == b.test_start  # tiles
    hits = np.array([sum(f.test_start <= t < f.test_end for f in folds) for t in ts])
    assert (hits[ts < ts_min + train] == 0).all()
    if extra_step == 0:
        assert (hits[ts >= ts_min + train] == 1).all()
    else:
        assert hits.max() <= 1
