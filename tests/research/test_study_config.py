"""Study config validation: every mistake is a ValidationError naming its field, never a crash later."""

from __future__ import annotations

import dataclasses

import pytest

from pointline.errors import PointlineError, ValidationError
from pointline.research.study import StudyConfig, run_study, synthetic_feature_frames
from pointline.research.study.config import _FIELD_TYPES


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"rank_window": "abc"}, "$.rank_window"),
        ({"thresholds": 1.5}, "$.thresholds"),
        ({"horizons": [1, 2]}, "$.horizons"),
        ({"exchanges": "binance-futures"}, "$.exchanges"),
        ({"exchanges": ["bybit", "bybit"]}, "$.exchanges"),
        ({"parity": "maybe"}, "$.parity"),
        ({"features": "vol_imbalance_consensus"}, "$.features"),
        ({"suffixes": ["bn"]}, "$.suffixes"),
        ({"holdings": {"15m": 0}}, "$.holdings.15m"),
        ({"fees": {"taker_bps": "x"}}, "$.fees.taker_bps"),
        ({"fees": {"taker": 5}}, "$.fees.taker"),
        ({"regime": {"method": "full_sample"}}, "$.regime.method"),
        ({"regime": {"quantiles": [0.7, 0.3]}}, "$.regime.quantiles"),
        ({"regime": {"short": 12}}, "$.regime.short"),
        ({"regime": {"method": "trailing", "window_bars": 100}}, "$.regime.window_bars"),
        ({"vol_filters": {"calm": "low_vol"}}, "$.vol_filters.calm"),
        ({"walk_forward": {"split": "2024-01-32"}}, "$.walk_forward.split"),
        ({"walk_forward": {"train_days": 10, "test_days": -1}}, "$.walk_forward.test_days"),
        ({"walk_forward": {"train_days": 10, "test_days": 5, "step": 2}}, "$.walk_forward.step"),
        ({"walk_forward": {"train_days": 10, "test_days": 5, "step_days": 2}}, "$.walk_forward.step_days"),
        ({"start": "2024-13-01", "end": "2024-02-01"}, "$.start"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "$.end"),
        ({"min_trades": -1}, "$.min_trades"),
        ({"execution": {"executor": "cluster"}}, "$.execution.executor"),
        ({"execution": {"max_workers": 0}}, "$.execution.max_workers"),
        ({"execution": {"workers": 2}}, "$.execution.workers"),
        ({"execution": "ray"}, "$.execution"),
    ],
)
def test_bad_value_raises_validation_error_naming_the_field(fields, path):
    with pytest.raises(ValidationError) as info:
        StudyConfig.from_dict(fields)
    assert path in [p for p, _ in info.value.problems]
    assert path in str(info.value)


def test_yaml_dates_stay_text_so_an_impossible_date_names_its_field(tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text("start: 2024-01-01\nend: 2024-02-30\n")
    with pytest.raises(ValidationError, match=r"\$\.end"):
        StudyConfig.from_file(config)
    config.write_text("start: 2024-01-01\nend: 2024-02-01\nwalk_forward: {split: 2024-01-20}\n")
    cfg = StudyConfig.from_file(config)
    assert (cfg.start, cfg.end, cfg.walk_forward["split"]) == ("2024-01-01", "2024-02-01", "2024-01-20")


def test_every_field_has_a_type_check():
    assert set(_FIELD_TYPES) == {f.name for f in dataclasses.fields(StudyConfig)}


def test_run_study_validates_a_config_object_too():
    with pytest.raises(ValidationError, match=r"\$\.sign"):
        run_study(StudyConfig(sign=2), frames=synthetic_feature_frames(10))


def test_a_signal_feature_missing_from_the_frame_is_named():
    cfg = StudyConfig(features=["vol_imbalance_consensus", "no_such_feature"], rank_window=50, min_periods=10)
    with pytest.raises(PointlineError, match="no_such_feature"):
        run_study(cfg, frames=synthetic_feature_frames(300))


def test_lake_inputs_and_out_may_be_path_objects(tmp_path):
    StudyConfig(lake=tmp_path, inputs={"bybit": tmp_path / "b.parquet"}, out=tmp_path / "out").validate()


def test_a_span_shorter_than_the_rank_warm_up_names_the_cause():
    frames = synthetic_feature_frames(250, seed=3)
    with pytest.raises(PointlineError, match=r"signal is empty on all 250 bars.*min_periods=288"):
        run_study({"walk_forward": {"split": "2025-11-01T12:00"}}, frames=frames)
    ran = run_study({"walk_forward": {"split": "2025-11-01T12:00"}, "min_periods": 50}, frames=frames)
    assert ran.clean.frame["signal"].is_not_null().sum() > 0
