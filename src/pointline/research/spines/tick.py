"""Tick bars: a bar closes on its ``n_trades``-th trade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pointline.research.spines.base import LakeArg, SpineState, require_positive
from pointline.research.spines.event import Measure, ThresholdBarBuilder
from pointline.research.spines.registry import register_spine


@dataclass(frozen=True)
class TickBarConfig:
    """Tick bar parameters.

    Parameters
    ----------
    n_trades
        Trades per bar (positive integer).

    Example
    -------
    >>> TickBarConfig(n_trades=500)
    TickBarConfig(n_trades=500)
    """

    n_trades: int

    def __post_init__(self) -> None:
        require_positive("TickBarConfig", "n_trades", self.n_trades, integer=True)


@register_spine
class TickBarBuilder(ThresholdBarBuilder):
    """Tick bars (``get_builder("tick")``); see :class:`TickBarConfig`."""

    name = "tick"
    config_class = TickBarConfig

    def measure(self, state: SpineState, events: pl.DataFrame, lake: LakeArg) -> tuple[Measure, SpineState]:
        """Every trade counts 1."""
        config: TickBarConfig = state.config
        return Measure(np.ones(events.height, np.int64), int(config.n_trades)), state
