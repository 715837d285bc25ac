"""Spine registry and the JSON config helper."""

from __future__ import annotations

import pytest

from pointline.errors import PointlineError
from pointline.research.spines import (
    ClockConfig,
    HybridVolumeTimeConfig,
    VolumeBarConfig,
    get_builder,
    list_spines,
    spine_config_from_dict,
)


def test_all_spine_types_are_registered():
    assert list_spines() == ["clock", "dollar", "hybrid_volume_time", "tick", "volume"]


def test_unknown_spine_type_suggests_the_closest_name():
    with pytest.raises(PointlineError, match="Did you mean 'volume'"):
        get_builder("volumes")


def test_config_from_request_json():
    assert spine_config_from_dict("volume", {"volume_threshold": 100.0, "use_absolute_volume": True}) == (
        VolumeBarConfig(volume_threshold=100.0)
    )
    assert spine_config_from_dict("clock", {"step": "5m"}) == ClockConfig(step="5m")
    assert spine_config_from_dict("hybrid_volume_time", {"volume_threshold": 5, "max_time_seconds": 60}) == (
        HybridVolumeTimeConfig(5, 60)
    )


def test_config_from_json_rejects_unknown_fields_and_bad_values():
    with pytest.raises(PointlineError, match="unknown config field"):
        spine_config_from_dict("volume", {"volume_threshold": 1.0, "threshold": 2})
    with pytest.raises(PointlineError, match="volume_threshold must be a positive number"):
        spine_config_from_dict("volume", {"volume_threshold": -1})
    with pytest.raises(PointlineError, match="invalid config"):
        spine_config_from_dict("volume", {})
