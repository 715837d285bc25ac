"""A spine builder's state machine fed one trade at a time, the order of a stream, and events as
typed frames: what the online entry points share.

:class:`SpineFolder` holds the received trades until a bar may close, then folds them into the
builder's state (``SpineBuilder.advance``, chunk-invariant, so the bars are the batch's). A fold
costs about a millisecond; the test of whether a bar may close costs microseconds and never says
"no" to a trade that closes one (it may say "yes" to one that closes nothing). Spines without such
a test (dollar bars, your own) fold every trade.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.lake.schema import EVENT_TABLES, decoded_name
from pointline.research.spines import (
    ClockConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)

#: Relative slack of the volume test: it may fold a trade that closes nothing, never the reverse.
_SLACK = 1e-6


def event_types(table: str) -> dict[str, pl.DataType]:
    """Column types of a lake table's decoded events (``query(..., decoded=True)``): the stored
    columns and the decoded prices and sizes (Float64, or lists of Float64 for book levels)."""
    spec = EVENT_TABLES[table]
    types = dict(spec.schema)
    for column in (*spec.price_columns, *spec.qty_columns):
        decoded = pl.List(pl.Float64()) if isinstance(types[column], pl.List) else pl.Float64()
        types[decoded_name(column)] = decoded
    return types


def events_frame(
    rows: list[dict[str, Any]], types: dict[str, pl.DataType], columns: list[str]
) -> pl.DataFrame:
    """Event dicts as a frame, typed as the lake's columns where the names match."""
    if not rows:
        return pl.DataFrame(schema={c: types.get(c, pl.Float64()) for c in columns})
    return pl.DataFrame(rows, schema_overrides={c: t for c, t in types.items() if c in rows[0]})


class SpineFolder:
    """One instrument's bars from its trades, folded when a bar may close (see the module
    docstring). Every method returns the spine rows (complete bars, oldest first) not returned before.
    """

    def __init__(
        self, spine: str, config: Any, *, anchor_ts_us: int, symbol_id: int, lake: str | None = None
    ) -> None:
        self.builder = get_builder(spine)
        self.config = self.builder.check_config(config)
        if getattr(config, "split_trades", False):
            raise PointlineError("split_trades=True spines are not supported online yet")
        self.lake = lake
        self.state = self.builder.initial_state(self.config, anchor_ts_us, symbol_id=symbol_id)
        self.pending: list[dict[str, Any]] = []
        self._pending_volume: float | None = 0.0  # sum of |qty| pending; None once a trade had none
        self._returned_through = -1  # bar_index of the last bar returned

    def add(self, trade: dict[str, Any]) -> pl.DataFrame | None:
        """Take a trade; the bars it closed, or ``None`` when no fold was needed."""
        self.pending.append(trade)
        qty = trade.get("qty")
        if qty is None or self._pending_volume is None:
            self._pending_volume = None
        else:
            self._pending_volume += abs(float(qty))
        return self.fold() if self._may_close(int(trade["ts_local_us"])) else None

    def fold(self) -> pl.DataFrame | None:
        """Fold the pending trades; the bars they closed (``None`` when nothing was pending)."""
        if not self.pending:
            return None
        chunk = events_frame(self.pending, event_types("trades"), [])
        bars, self.state = self.builder.advance(self.state, chunk, lake=self.lake)
        self.pending = []
        self._pending_volume = 0.0
        return self._new(bars)

    def closed_by(self, now_us: int) -> pl.DataFrame:
        """Bars closed by time at ``now_us`` without a trade (clock bars, hybrid time closes);
        fold first."""
        due = self.builder.finish(self.state, now_us)
        return self._new(due.filter(pl.col("is_complete") & (pl.col("ts") <= now_us)))

    def finish(self, end_ts_us: int) -> pl.DataFrame:
        """The bars still due at ``end_ts_us`` and the unfinished one; fold first."""
        return self._new(self.builder.finish(self.state, end_ts_us))

    def _new(self, bars: pl.DataFrame) -> pl.DataFrame:
        bars = bars.filter(pl.col("bar_index") > self._returned_through)
        if bars.height:
            self._returned_through = int(bars["bar_index"].max())  # type: ignore[arg-type]
        return bars

    def _may_close(self, ts: int) -> bool:
        """Whether folding now could close a bar (never ``False`` when it would)."""
        config, state = self.config, self.state
        if isinstance(config, TickBarConfig):
            return int(state.running) + len(self.pending) >= config.n_trades  # running: trades counted
        if isinstance(config, ClockConfig):
            return ts >= state.open_ts_us + config.resolved_step_us
        if isinstance(config, VolumeBarConfig | HybridVolumeTimeConfig):
            if isinstance(config, HybridVolumeTimeConfig) and ts >= state.open_ts_us + config.max_time_us:
                return True
            if self._pending_volume is None:
                return True
            running = float(state.running)
            if state.qty_exp is not None:
                running /= 10**state.qty_exp
            return abs(running) + self._pending_volume >= config.volume_threshold * (1 - _SLACK)
        return True


class EventOrder:
    """The total order ``(ts_local_us, file_id, file_line_number)`` of a stream: events without
    ``file_id`` / ``file_line_number`` are numbered in arrival order; an event out of order is an error."""

    def __init__(self) -> None:
        self.received = 0
        self.last: tuple[int, int, int] | None = None
        self.now = -(2**63)  # the latest timer call: no event may come before it

    def admit(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The event as a dict with its order keys, after checking it follows the previous one."""
        row = dict(event)
        self.received += 1
        row.setdefault("file_id", 0)
        row.setdefault("file_line_number", self.received)  # arrival order breaks timestamp ties
        key = (int(row["ts_local_us"]), int(row["file_id"]), int(row["file_line_number"]))
        if self.last is not None and key <= self.last:
            raise PointlineError(
                f"event {key} is not after the previous one {self.last}; events must come in the "
                "order (ts_local_us, file_id, file_line_number)"
            )
        if key[0] < self.now:
            raise PointlineError(f"event at {key[0]} comes after a timer call at {self.now}: time went back")
        self.last = key
        return row

    def check_time(self, now_us: int) -> None:
        """A timer call must not go back before the last event (or the last timer call)."""
        if self.last is not None and now_us < self.last[0]:
            raise PointlineError(f"now_us ({now_us}) is before the last event received ({self.last[0]})")
        self.now = max(self.now, now_us)
