"""The online path: bars and features from one event at a time, identical to the batch path's.

Example
-------
>>> tracker = VolumeBarTracker(threshold=1.0)
>>> tracker.add_trade({"ts_local_us": 1, "px": 100.0, "qty": 0.4, "side": 0}) is None
True
>>> bar = tracker.add_trade({"ts_local_us": 2, "px": 101.0, "qty": 0.6, "side": 1})
>>> bar["trade_count"], bar["bar_start_ts"], bar["vwap"], round(bar["flow_imbalance"], 3)
(2, 1, 100.6, -0.2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pointline.online.bars import OnlineBars
from pointline.online.pipeline import OnlinePipeline
from pointline.research.spines import VolumeBarConfig

#: What the guide's tracker computes per bar, as registered aggregations: ``vol_imbalance`` is the
#: guide's flow imbalance on decimal quantities (``flow_imbalance`` computes it exactly on
#: ``qty_int``, which trades from the lake carry).
GUIDE_FEATURES: tuple[str, ...] = ("trade_vwap", "vol_imbalance", "trade_count", "ohlcv")


class VolumeBarTracker:
    """The guide's ``VolumeBarTracker``: volume bars of ``threshold`` (base units), one trade at a time.

    ``add_trade`` returns the bar the trade completed (a dict of the batch row: ``bar_index``,
    ``bucket_start``, ``bucket_end``, ``ts``, ``is_complete`` and the features) or ``None``. Bar 0
    opens at ``anchor_ts_us`` (default: the first trade's ``ts_local_us``); pass the batch timeline
    start for bars identical to the batch path's. Built on :class:`OnlineBars`.

    The bar also carries the guide tracker's own keys: ``bar_start_ts`` (``ts_local_us`` of the
    bar's first trade) and, with ``vol_imbalance`` among the aggregations, ``flow_imbalance`` (the
    guide's formula, ``(buy − sell) / (buy + sell)`` volume: the same value).
    """

    def __init__(
        self,
        threshold: float,
        aggregations: Sequence[str | Mapping[str, Any]] = GUIDE_FEATURES,
        *,
        anchor_ts_us: int | None = None,
        symbol_id: int = 0,
    ) -> None:
        self.config = VolumeBarConfig(volume_threshold=threshold)
        self.aggregations = aggregations
        self.anchor_ts_us = anchor_ts_us
        self.symbol_id = symbol_id
        self.bars: OnlineBars | None = None
        self._first_ts: int | None = None  # the open bar's first trade

    def add_trade(self, trade: Mapping[str, Any]) -> dict[str, Any] | None:
        """Add a trade; the bar it completed, or ``None`` (a volume bar closes at most once per trade)."""
        if self.bars is None:
            anchor = int(trade["ts_local_us"]) if self.anchor_ts_us is None else self.anchor_ts_us
            self.bars = OnlineBars(
                "volume", self.config, self.aggregations, anchor_ts_us=anchor, symbol_id=self.symbol_id
            )
        ts = int(trade["ts_local_us"])
        if self._first_ts is None and ts >= self.bars.folder.state.anchor_ts_us:
            self._first_ts = ts  # a trade before the anchor is in no bar (see OnlineBars.add_trade)
        closed = self.bars.add_trade(trade)
        if not closed:
            return None
        bar = closed[-1]
        bar.setdefault("bar_start_ts", self._first_ts)
        if "vol_imbalance" in bar:
            bar.setdefault("flow_imbalance", bar["vol_imbalance"])
        self._first_ts = None
        return bar


__all__ = ["GUIDE_FEATURES", "OnlineBars", "OnlinePipeline", "VolumeBarTracker"]
