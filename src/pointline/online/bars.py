"""Bars and their trade features, fed one trade at a time (DESIGN.md §7, Online).

:class:`OnlineBars` emits each bar as soon as it closes, with exactly the rows the batch path
computes for it (``build_spine`` → ``assign_to_buckets`` → ``aggregate``). It is built from the same
parts, so there is one definition of a bar and of every feature:

- the bar boundaries come from the spine builder's own state machine, which is chunk-invariant: it
  folds the trades received since its last fold, and any chunking of a stream gives the batch's bars;
- a bar's features are computed when it closes, by the registered aggregations over the bar's own
  trades (incremental float sums would differ from the batch sums in the last bits).

A fold costs about a millisecond, so trades are folded only when a bar may close: a cheap test per
trade (running count, volume or time against the open bar) that never says "no" to a trade that
closes a bar. Spines without such a test (dollar bars, your own spines) fold every trade.

Time-driven closes (clock bars, the time side of hybrid bars) happen without a trade:
:meth:`OnlineBars.advance_time` emits the bars that closed by a given time. :meth:`OnlineBars.finish`
ends the stream: the bars still due and the unfinished bar (``is_complete = False``), as the batch
path emits them at the timeline end.

Not online yet: ``split_trades=True`` spines, and quote or book features (as-of state).

Example
-------
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
from pointline.research.resample.aggregate import AggregateConfig, aggregate
from pointline.research.resample.assign import assign_to_buckets
from pointline.research.spines import (
    ClockConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)

#: Types of the trade fields the lake's decoded trades carry; other fields are inferred.
TRADE_TYPES: dict[str, pl.DataType] = {
    "ts_local_us": pl.Int64(),
    "ts_exch_us": pl.Int64(),
    "file_id": pl.Int32(),
    "file_line_number": pl.Int32(),
    "trade_id": pl.Utf8(),
    "side": pl.Int8(),
    "px_int": pl.Int64(),
    "qty_int": pl.Int64(),
    "px": pl.Float64(),
    "qty": pl.Float64(),
}
#: Relative slack of the volume test: it may fold a trade that closes nothing, never the reverse.
_SLACK = 1e-6


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
        self.lake = lake
        self.builder = get_builder(spine)
        self.config = self.builder.check_config(config)
        if getattr(config, "split_trades", False):
            raise PointlineError("split_trades=True spines are not supported online yet")
        self.specs = [{"agg": a} if isinstance(a, str) else dict(a) for a in aggregations]
        self.mode = mode
        self.symbol_id = symbol_id
        self.state = self.builder.initial_state(self.config, anchor_ts_us, symbol_id=symbol_id)
        self._pending: list[dict[str, Any]] = []  # received, not yet folded into the spine state
        self._open: list[dict[str, Any]] = []  # folded, in bars not yet emitted
        self._pending_volume: float | None = 0.0  # sum of |qty| pending; None when a trade had no qty
        self._received = 0
        self._last_key: tuple[int, int, int] | None = None
        self._emitted_through = -1  # bar_index of the last bar emitted
        self._columns: list[str] | None = None

    def add_trade(self, trade: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take the next trade (a mapping with ``ts_local_us``, the columns the aggregations read,
        and optionally ``file_id`` / ``file_line_number`` for ties); the bars it closed (usually
        none), oldest first, each a dict of the batch row's columns."""
        row = dict(trade)
        self._received += 1
        row.setdefault("file_id", 0)
        row.setdefault("file_line_number", self._received)  # arrival order breaks timestamp ties
        if self._columns is None:
            self._columns = list(row)
        elif set(row) != set(self._columns):
            raise PointlineError(
                f"every trade must carry the same fields; expected {sorted(self._columns)}, got {sorted(row)}"
            )
        key = (int(row["ts_local_us"]), int(row["file_id"]), int(row["file_line_number"]))
        if self._last_key is not None and key <= self._last_key:
            raise PointlineError(
                f"trade {key} is not after the previous one {self._last_key}; trades must come in the "
                "order (ts_local_us, file_id, file_line_number)"
            )
        self._last_key = key
        self._pending.append(row)
        qty = row.get("qty")
        self._pending_volume = (
            None if qty is None or self._pending_volume is None else self._pending_volume + abs(float(qty))
        )
        return self._fold() if self._may_close(key[0]) else []

    def advance_time(self, now_us: int) -> list[dict[str, Any]]:
        """The bars that closed by ``now_us`` without a trade (clock bars, hybrid time closes):
        call it from a timer; ``now_us`` must not be before the last trade received."""
        if self._last_key is not None and now_us < self._last_key[0]:
            raise PointlineError(f"now_us ({now_us}) is before the last trade received ({self._last_key[0]})")
        rows = self._fold()
        due = self.builder.finish(self.state, now_us)
        closed = due.filter(pl.col("is_complete") & (pl.col("ts") <= now_us))
        return rows + self._emit(closed)

    def finish(self, end_ts_us: int) -> list[dict[str, Any]]:
        """End of the stream at ``end_ts_us``: the bars still due, then the unfinished bar
        (``is_complete = False``), as the batch path emits them at its timeline end."""
        rows = self._fold()
        return rows + self._emit(self.builder.finish(self.state, end_ts_us))

    def _may_close(self, ts: int) -> bool:
        """Whether folding now could close a bar (never ``False`` when it would)."""
        config, state = self.config, self.state
        if isinstance(config, TickBarConfig):
            return int(state.running) + len(self._pending) >= config.n_trades  # running: trades counted
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

    def _fold(self) -> list[dict[str, Any]]:
        if not self._pending:
            return []
        chunk = _frame(self._pending)
        bars, self.state = self.builder.advance(self.state, chunk, lake=self.lake)
        self._open.extend(self._pending)
        self._pending = []
        self._pending_volume = 0.0
        return self._emit(bars)

    def _emit(self, bars: pl.DataFrame) -> list[dict[str, Any]]:
        bars = bars.filter(pl.col("bar_index") > self._emitted_through)
        if bars.height == 0:
            return []
        events = _frame(self._open, self._columns).with_columns(
            pl.lit(self.symbol_id, dtype=pl.Int64).alias("symbol_id")
        )
        bucketed = assign_to_buckets(events, bars)
        assert isinstance(bucketed, pl.DataFrame)
        # The events of the emitted bars are the oldest ones: keep those of later bars.
        self._open = self._open[bucketed.height :]
        features = aggregate(bucketed, AggregateConfig(agg_specs=self.specs, mode=self.mode, spine=bars))
        self._emitted_through = int(bars["bar_index"].max())  # type: ignore[arg-type]
        return features.to_dicts()


def _frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pl.DataFrame:
    """Trades as a frame with the lake's column types."""
    names = list(rows[0]) if rows else list(columns or TRADE_TYPES)  # no trade yet: the lake's columns
    schema = {c: TRADE_TYPES.get(c) for c in names}
    if rows:
        return pl.DataFrame(rows, schema_overrides={c: t for c, t in schema.items() if t is not None})
    return pl.DataFrame(schema={c: t or pl.Float64() for c, t in schema.items()})
