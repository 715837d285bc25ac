"""Bars and their trade features, fed one trade at a time (DESIGN.md §7, Online).

:class:`OnlineBars` emits each bar as soon as it closes, with exactly the rows the batch path
computes for it (``build_spine`` → ``assign_to_buckets`` → ``aggregate``). It is built from the same
parts, so there is one definition of a bar and of every feature:

- the bar boundaries come from the spine builder's own state machine, which is chunk-invariant: it
  folds the trades received since its last fold, and any chunking of a stream gives the batch's bars;
- a bar's features are computed when it closes, by the registered aggregations over the bar's own
  trades (incremental float sums would differ from the batch sums in the last bits).

Trades are folded only when a bar may close (:class:`~pointline.online.folder.SpineFolder`).

Time-driven closes (clock bars, the time side of hybrid bars) happen without a trade:
:meth:`OnlineBars.advance_time` emits the bars that closed by a given time. :meth:`OnlineBars.finish`
ends the stream: the bars still due and the unfinished bar (``is_complete = False``), as the batch
path emits them at the timeline end.

Quote and book features (bucket or as-of state) of a whole pipeline request:
:class:`~pointline.online.pipeline.OnlinePipeline`. Not online yet: ``split_trades=True`` spines.

Example
-------
>>> from pointline.research.spines import VolumeBarConfig
>>> bars = OnlineBars("volume", VolumeBarConfig(volume_threshold=2.0), ["trade_vwap"], anchor_ts_us=0)
>>> bars.add_trade({"ts_local_us": 1, "px": 10.0, "qty": 1.5, "side": 0})
[]
>>> [(b["bar_index"], b["ts"], b["vwap"]) for b in bars.add_trade({"ts_local_us": 2, "px": 12.0, "qty": 0.5, "side": 1})]
[(0, 2, 10.5)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.online.folder import EventOrder, SpineFolder, event_types, events_frame
from pointline.research.resample.aggregate import AggregateConfig, aggregate
from pointline.research.resample.assign import assign_to_buckets


class OnlineBars:
    """One instrument's bars, fed trades in the total order; see the module docstring.

    Parameters
    ----------
    spine
        Spine name (``clock``, ``tick``, ``volume``, ``dollar``, ``hybrid_volume_time``, or one
        you registered).
    config
        That spine's config (e.g. ``VolumeBarConfig(volume_threshold=100.0)``).
    aggregations
        Trade aggregations, as names (``"trade_vwap"``) or pipeline-style dicts
        (``{"agg": "flow_imbalance", "config": {...}}``).
    anchor_ts_us
        Where bar 0 opens (µs, ``ts_local_us`` clock): the batch path's anchor (default: the
        timeline start) for identical bars.
    symbol_id
        Written to each row's ``symbol_id``.
    mode
        Pipeline mode the aggregations run in.
    lake
        Lake a spine reads instrument facts from (dollar bars without ``contract_size``).
    """

    def __init__(
        self,
        spine: str,
        config: Any,
        aggregations: Sequence[str | Mapping[str, Any]],
        *,
        anchor_ts_us: int,
        symbol_id: int = 0,
        mode: str = "bar_then_feature",
        lake: str | None = None,
    ) -> None:
        self.folder = SpineFolder(spine, config, anchor_ts_us=anchor_ts_us, symbol_id=symbol_id, lake=lake)
        self.specs = [{"agg": a} if isinstance(a, str) else dict(a) for a in aggregations]
        self.mode = mode
        self.symbol_id = symbol_id
        self._open: list[dict[str, Any]] = []  # received, in bars not yet emitted
        self._order = EventOrder()
        self._columns: list[str] | None = None
        self._fields: frozenset[str] = frozenset()

    def add_trade(self, trade: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take the next trade (a mapping with ``ts_local_us``, the columns the aggregations read,
        and optionally ``file_id`` / ``file_line_number`` for ties); the bars it closed (usually
        none), oldest first, each a dict of the batch row's columns."""
        row = self._order.admit(trade)
        if self._columns is None:
            self._columns = list(row)
            self._fields = frozenset(row)
        elif row.keys() != self._fields:
            raise PointlineError(
                f"every trade must carry the same fields; expected {sorted(self._fields)}, got {sorted(row)}"
            )
        if int(row["ts_local_us"]) < self.folder.state.anchor_ts_us:
            # Before bar 0 opens: in no bar, as the batch path never reads it. Not held either, so
            # the held trades stay exactly those of the bars not yet emitted.
            return []
        self._open.append(row)
        bars = self.folder.add(row)
        return [] if bars is None else self._emit(bars)

    def advance_time(self, now_us: int) -> list[dict[str, Any]]:
        """The bars that closed by ``now_us`` without a trade (clock bars, hybrid time closes):
        call it from a timer; ``now_us`` must not be before the last trade received."""
        self._order.check_time(now_us)
        rows = self._emit(self.folder.fold())
        return rows + self._emit(self.folder.closed_by(now_us))

    def finish(self, end_ts_us: int) -> list[dict[str, Any]]:
        """End of the stream at ``end_ts_us``: the bars still due, then the unfinished bar
        (``is_complete = False``), as the batch path emits them at its timeline end."""
        rows = self._emit(self.folder.fold())
        return rows + self._emit(self.folder.finish(end_ts_us))

    def _emit(self, bars: pl.DataFrame | None) -> list[dict[str, Any]]:
        if bars is None or bars.height == 0:
            return []
        events = events_frame(self._open, event_types("trades"), self._columns or list(event_types("trades")))
        events = events.with_columns(pl.lit(self.symbol_id, dtype=pl.Int64).alias("symbol_id"))
        bucketed = assign_to_buckets(events, bars)
        assert isinstance(bucketed, pl.DataFrame)
        # The events of the emitted bars are the oldest ones: keep those of later bars.
        self._open = self._open[bucketed.height :]
        features = aggregate(bucketed, AggregateConfig(agg_specs=self.specs, mode=self.mode, spine=bars))
        return features.to_dicts()
