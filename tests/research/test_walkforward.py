"""Walk-forward: the configuration is chosen on the training window only."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research.backtest import make_folds, walk_forward
from pointline.research.backtest.sweep import DEFAULT_HOLDINGS, DEFAULT_THRESHOLDS, DEFAULT_VOL_FILTERS
from pointline.research.study import StudyConfig, build_study_frame, synthetic_feature_frames

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
