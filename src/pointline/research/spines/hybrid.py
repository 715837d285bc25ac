"""Hybrid volume/time bars: close on volume like a volume bar, or ``max_time_seconds`` after the bar
opened (the previous close, or the anchor), whichever comes first.

A time close needs no trade: its ``ts`` is ``open + max_time``, its close key is null, and an
event exactly at that ``ts`` belongs to the next bar. A quiet stretch produces one empty bar per
``max_time``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pointline.research.spines.base import LakeArg, SpineState, require_positive
from pointline.research.spines.event import Measure, ThresholdBarBuilder
from pointline.research.spines.registry import register_spine
from pointline.research.spines.volume import volume_measure


@dataclass(frozen=True)
class HybridVolumeTimeConfig:
    """Hybrid volume/time bar parameters.

    Parameters
    ----------
    volume_threshold
        Quantity per bar in base units (``|qty|`` summed, exact on ``qty_int``).
    max_time_seconds
        Longest a bar stays open, in seconds (resolved to whole µs).
    use_absolute_volume
        Sum ``|qty|`` (default), as volume bars; ``False`` sums signed quantities as given.

    Example
    -------
    >>> HybridVolumeTimeConfig(volume_threshold=100.0, max_time_seconds=300)
    HybridVolumeTimeConfig(volume_threshold=100.0, max_time_seconds=300, use_absolute_volume=True)
    """

    volume_threshold: float
    max_time_seconds: float
    use_absolute_volume: bool = True

    def __post_init__(self) -> None:
        require_positive("HybridVolumeTimeConfig", "volume_threshold", self.volume_threshold)
        require_positive("HybridVolumeTimeConfig", "max_time_seconds", self.max_time_seconds)
        if round(self.max_time_seconds * 1_000_000) < 1:
            require_positive("HybridVolumeTimeConfig", "max_time_seconds (in µs)", 0)

    @property
    def max_time_us(self) -> int:
        """``max_time_seconds`` in µs."""
        return round(self.max_time_seconds * 1_000_000)


@register_spine
class HybridVolumeTimeBuilder(ThresholdBarBuilder):
    """Hybrid bars (``get_builder("hybrid_volume_time")``); see :class:`HybridVolumeTimeConfig`."""

    name = "hybrid_volume_time"
    config_class = HybridVolumeTimeConfig

    def max_time_us(self, config: HybridVolumeTimeConfig) -> int:  # type: ignore[override]
        """The bar's time limit in µs."""
        return config.max_time_us

    def measure(self, state: SpineState, events: pl.DataFrame, lake: LakeArg) -> tuple[Measure, SpineState]:
        """Trade quantities, as for volume bars."""
        config: HybridVolumeTimeConfig = state.config
        return volume_measure(state, events, lake, config.volume_threshold, config.use_absolute_volume)
