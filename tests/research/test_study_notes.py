"""A study says why a result is empty or blank, instead of leaving a reader to take it for a finding."""

from __future__ import annotations

import polars as pl
import pytest

from pointline.research.report import render_report
from pointline.research.study import run_study, synthetic_feature_frames

DAY_BARS = 288  # 5-minute bars


@pytest.fixture(scope="module")
def frames():
    return synthetic_feature_frames(3 * DAY_BARS, seed=4)


def test_a_fold_whose_training_window_is_all_warm_up_says_so(frames):
    # Training = the first 12 hours: the composite needs 288 bars (a day) of history first.
    result = run_study({"walk_forward": {"split": "2025-11-01T12:00:00Z"}}, frames=frames)
    folds = result.clean.walk_forward.folds
    assert folds["vol_filter"].to_list() == [None] and result.clean.walk_forward.oos_trades.height == 0
    fold_notes = [n for n in result.notes if "walk-forward fold 0" in n]
    assert len(fold_notes) == 1
    assert "no signal" in fold_notes[0] and "min_periods=288" in fold_notes[0]
    assert any("annualised Sharpe" in n for n in result.notes)  # 3 days of bars
    html = render_report(result)
    assert "Read this first" in html and "walk-forward fold 0" in html


def test_a_fold_with_signal_but_too_few_trades_says_that_instead(frames):
    result = run_study({"walk_forward": {"split": "2025-11-03"}, "min_trades": 10_000}, frames=frames)
    note = next(n for n in result.notes if "walk-forward fold 0" in n)
    assert "min_trades=10000" in note and "bars with a signal" in note
    assert any("no best configuration" in n for n in result.notes)


def test_a_fold_that_chose_nothing_is_flat_over_its_test_window_in_both_studies(frames):
    cfg = {
        "walk_forward": {"split": "2025-11-03"},
        "parity": True,
        "min_trades": 10_000,
        "min_trades_oos": 10_000,
    }
    result = run_study(cfg, frames=frames)
    for a in (result.clean, result.parity):
        (fold,) = a.walk_forward.folds.iter_rows(named=True)
        assert fold.get("vol_filter") is None and fold["is_n_trades"] is None
        assert fold["oos_n_trades"] == 0.0 and fold["oos_turnover_per_day"] == 0.0
        assert fold["oos_covered_days"] == pytest.approx(1.0)  # the last of the three days
    assert "flat" in next(n for n in result.notes if "walk-forward fold 0" in n)


def test_regime_cells_left_blank_are_explained_and_the_minimum_is_configurable(frames):
    blank = run_study({"walk_forward": {"split": "2025-11-03"}}, frames=frames)
    counts = dict(blank.clean.regime_counts.iter_rows())
    assert all(counts.get(r, 0) < 200 for r in ("low_vol", "normal", "high_vol"))
    assert blank.clean.regime_spreads["normal"].null_count() == blank.clean.regime_spreads.height
    assert blank.clean.regime_ic["ic"].null_count() == blank.clean.regime_ic.height
    assert any("regime_min_obs=200" in n for n in blank.notes)

    lowered = run_study({"walk_forward": {"split": "2025-11-03"}, "regime_min_obs": 5}, frames=frames)
    filled = [r for r in ("low_vol", "normal", "high_vol") if counts.get(r, 0) >= 50]
    assert filled and all(lowered.clean.regime_spreads[r].null_count() == 0 for r in filled)
    ic = lowered.clean.regime_ic.filter(pl.col("regime").is_in(filled))
    assert ic.height and ic["ic"].null_count() == 0
    assert "clean_regime_ic" in lowered.tables()


def test_regime_min_obs_is_validated():
    from pointline.errors import ValidationError

    with pytest.raises(ValidationError, match=r"\$\.regime_min_obs"):
        run_study({"regime_min_obs": -1}, frames={})


def test_rolling_folds_hold_the_bars_that_open_on_the_bar_grid(frames):
    # Windows are [start, end) on the known-at clock (ts = bucket end): the first bar opens at
    # 00:00 and is known at 00:05, so day-aligned windows run 00:05 -> 00:05 and the last bar
    # (known at 00:00 of day 3) is in the last test window.
    result = run_study({"walk_forward": {"train_days": 1.5, "test_days": 0.5}}, frames=frames)
    folds = result.clean.walk_forward.folds
    day, bar = 86_400_000_000, 300_000_000
    start = 1_761_955_200_000_000  # 2025-11-01, where the synthetic bars start
    assert folds["train_start"][0] == start + bar
    assert folds["test_start"].to_list() == [
        start + 3 * day // 2 + bar,
        start + 2 * day + bar,
        start + 5 * day // 2 + bar,
    ]
    assert folds["test_end"][-1] == start + 3 * day + 1
