"""Sampling spines (bars): clock, tick, volume, dollar and hybrid volume/time (DESIGN.md §4).

Example
-------
>>> from pointline.research.spines import VolumeBarConfig, get_builder
>>> spine = get_builder("volume").build_spine(  # doctest: +SKIP
...     symbol_id=12345, start_ts_us=start, end_ts_us=end, config=VolumeBarConfig(volume_threshold=100.0))
"""

from pointline.research.spines.base import SPINE_SCHEMA, SPLIT_SCHEMA, SpineBuilder, SpineState
from pointline.research.spines.clock import ClockConfig
from pointline.research.spines.dollar import DollarBarConfig
from pointline.research.spines.hybrid import HybridVolumeTimeConfig
from pointline.research.spines.registry import (
    get_builder,
    list_spines,
    register_spine,
    spine_config_from_dict,
)
from pointline.research.spines.tick import TickBarConfig
from pointline.research.spines.volume import VolumeBarConfig

__all__ = [
    "SPINE_SCHEMA",
    "SPLIT_SCHEMA",
    "ClockConfig",
    "DollarBarConfig",
    "HybridVolumeTimeConfig",
    "SpineBuilder",
    "SpineState",
    "TickBarConfig",
    "VolumeBarConfig",
    "get_builder",
    "list_spines",
    "register_spine",
    "spine_config_from_dict",
]
