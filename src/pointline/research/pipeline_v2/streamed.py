"""Streamed execution: a long timeline's feature table computed chunk by chunk, in bounded memory.

The one-pass engine (:func:`pointline.research.pipeline_v2.engine.compute`) holds every input
event of the timeline at once: about 0.4 GB per day of 1M trades, quotes and 1 s books, so a month
of a liquid instrument does not fit in memory. Here inputs are read one chunk of the timeline at a
time (UTC days by default) through a ``read(source, lo, hi)`` callable, in two passes:

1. **Spine.** The builder's ``advance`` is folded over the primary trades chunk by chunk with the
   bar state carried, then ``finish`` closes the timeline (as the partition-safety gate's
   day-chunked run does). The spine (one row per bar) is small and kept.
2. **Features.** Each chunk's events of every source are read again and put on that spine:
   ``bucket`` operators assign the chunk's events to bars (the bar a row belongs to does not
   depend on the chunk); the rows of a bar not yet known at the chunk's end (it closes in a
   later chunk) wait for it. ``asof_backward`` operators attach to each bar known in the chunk the
   last state row at its ``ts``, the last row of earlier chunks carried. A bar is aggregated once,
   in the chunk where it becomes known (its ``ts``), from all its rows.

Per-event operators (``tick_then_bar``) see the chunk's events with the last
:data:`PER_EVENT_CARRY` events of the chunk before prepended, so features that look back fewer
events than that (``cont_ofi`` looks back one) are those of one pass. Derived features and labels
run on the whole bar table afterwards (bars are few). So the table is the one-pass table, value
for value; the gates check that on each request (``partition_safety_check`` compares two
streamed runs whose chunk edges fall half a chunk apart).

What the gates need of the events (rows used outside their bar, state age, unassigned events) is
accumulated chunk by chunk in a :class:`ChunkTally` instead of keeping the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from pointline.research.pipeline_v2.chunked import day_bounds
from pointline.research.pipeline_v2.engine import (
    BAR_COLUMNS,
    EngineResult,
    _as_symbol,
    _derive,
    aggregate_onto,
    asof_events,
    bucket_events,
)
from pointline.research.pipeline_v2.plan import Plan
from pointline.research.resample.assign import AssignStats
from pointline.research.resample.per_event import apply_per_event
from pointline.research.spines import get_builder, spine_config_from_dict
from pointline.research.timeline import US_PER_DAY, us_to_iso

#: Progress of a streamed run: an INFO record per chunk and pass (``pointline run`` shows the latest).
log = logging.getLogger("pointline.pipeline.streamed")

#: ``read(source name, lo, hi)``: that source's decoded events with ``lo <= ts_local_us < hi``, in
#: the total order.
Reader = Callable[[str, int, int], pl.DataFrame]

#: Chunk length of a streamed run (its edges are UTC midnights).
STREAM_CHUNK_US = US_PER_DAY
#: Events of the previous chunk a per-event operator sees before a chunk's first event: exact for
#: features looking back up to that many events (rolling windows over trades), at the cost of
#: computing them again on the carried rows.
PER_EVENT_CARRY = 100_000


@dataclass
class ChunkTally:
    """What the gates and notices need of the rows a streamed run used, summed chunk by chunk.

    ``on_used(used_rows, spine)`` is called with each chunk's used rows (as
    :attr:`EngineResult.used_rows`) and the whole spine; ``None`` keeps nothing."""

    on_used: Callable[[dict[str, pl.DataFrame], pl.DataFrame], None] | None = None
    stats: dict[str, AssignStats] = field(default_factory=dict)
    first_primary_us: int | None = None
    last_primary_us: int | None = None

    def add_stats(self, source: str, stats: AssignStats) -> None:
        before = self.stats.get(source)
        if before is None:
            self.stats[source] = stats
            return
        n = before.n_events + stats.n_events
        bad = before.n_unassigned + stats.n_unassigned
        self.stats[source] = AssignStats(
            n_events=n,
            n_assigned=before.n_assigned + stats.n_assigned,
            n_unassigned=bad,
            unassigned_ratio=bad / n if n else 0.0,
        )

    def add_primary(self, trades: pl.DataFrame) -> None:
        if trades.height == 0:
            return
        first, last = int(trades["ts_local_us"].min()), int(trades["ts_local_us"].max())  # type: ignore[arg-type]
        self.first_primary_us = first if self.first_primary_us is None else min(self.first_primary_us, first)
        self.last_primary_us = last if self.last_primary_us is None else max(self.last_primary_us, last)


def chunk_bounds(plan: Plan, chunk_us: int = STREAM_CHUNK_US, offset_us: int = 0) -> list[tuple[int, int]]:
    """``[lo, hi)`` chunks covering the timeline, cut at ``offset_us`` past multiples of ``chunk_us``
    (UTC midnights by default)."""
    start, end = plan.start_us - offset_us, plan.end_us - offset_us
    return [(lo + offset_us, hi + offset_us) for lo, hi in day_bounds(start, end, chunk_us)]


def chunk_read_start(plan: Plan, source: str, index: int, lo: int) -> int:
    """Where chunk ``index`` (starting at ``lo``) reads ``source``: the first chunk from the source's
    read start (:meth:`Plan.read_start_us`: state sources an hour early), the others from ``lo``."""
    return plan.read_start_us(source) if index == 0 else lo


def compute_streamed(
    plan: Plan,
    read: Reader,
    *,
    symbol_id: int,
    chunks: list[tuple[int, int]],
    tally: ChunkTally | None = None,
    last_chunk: int | None = None,
    label: str = "",
) -> EngineResult:
    """The feature table of ``plan`` from inputs read chunk by chunk (see the module docstring).

    ``chunks`` tile ``[plan.start_us, plan.end_us)`` in order. ``last_chunk`` (an index) stops after
    that chunk, as if the inputs ended there: every bar not yet known is put out with what it has
    (the lookahead gate recomputes only up to its cut). ``used_rows`` of the result stays empty:
    ``tally`` receives them chunk by chunk. ``label`` names the run in the progress records
    (:data:`log`).
    """
    tally = tally if tally is not None else ChunkTally()
    if plan.mode == "event_joined":  # one row per event: the table itself is as large as the input
        raise ValueError("event_joined requests are computed in one pass")
    stop = len(chunks) - 1 if last_chunk is None else last_chunk
    chunks = chunks[: stop + 1]
    spine = _spine(plan, read, symbol_id, chunks, tally, label)

    carried_events: dict[str, pl.DataFrame] = {}
    waiting: dict[str, pl.DataFrame] = {}
    carried_state: dict[str, pl.DataFrame] = {}
    known_from = 0
    ts = spine["ts"]
    index = spine["bar_index"]
    parts = []
    for i, (lo, hi) in enumerate(chunks):
        _progress(label, "features", i, chunks)
        last = i == len(chunks) - 1
        known_to = spine.height if last else int((ts < hi).sum())
        day_spine = spine.slice(known_from, known_to - known_from)
        features = day_spine.select([c for c in BAR_COLUMNS if c in day_spine.columns])
        used: dict[str, pl.DataFrame] = {}
        for name in plan.sources:
            ops = plan.operators_for(name)
            if not ops:
                continue
            events = read(name, chunk_read_start(plan, name, i, lo), hi)
            events = _as_symbol(_per_event(plan, name, events, carried_events), symbol_id)
            for strategy in ("bucket", "asof_backward"):
                chosen = [op for op in ops if op.join_strategy == strategy]
                if not chosen:
                    continue
                if strategy == "bucket":
                    bucketed, stats, used[name] = bucket_events(plan, events, spine)
                    tally.add_stats(name, stats)
                    if name in waiting:
                        bucketed = pl.concat([waiting.pop(name), bucketed], how="vertical_relaxed")
                    if known_to < spine.height:  # rows of bars known in a later chunk wait
                        later = pl.col("bar_index") >= index[known_to]
                        waiting[name] = bucketed.filter(later)
                        bucketed = bucketed.filter(~later)
                else:
                    state = events
                    if name in carried_state:
                        state = pl.concat([carried_state[name], events], how="vertical_relaxed")
                    if state.height:
                        carried_state[name] = state.tail(1)
                    bucketed, used[f"{name}:asof"] = asof_events(day_spine, state)
                features = aggregate_onto(plan, features, bucketed, chosen, day_spine)
        if tally.on_used is not None:
            tally.on_used(used, spine)
        parts.append(features)
        known_from = known_to
    features = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    features = _derive(plan, features)
    return EngineResult(features=features.sort("bar_index"), spine=spine, assign_stats=dict(tally.stats))


def _progress(label: str, step: str, i: int, chunks: list[tuple[int, int]]) -> None:
    if log.isEnabledFor(logging.INFO):
        lo, hi = chunks[i]
        span = f"{us_to_iso(lo)[:16]} to {us_to_iso(hi)[:16]}"
        log.info("%s%s, chunk %d of %d (%s)", f"{label}: " if label else "", step, i + 1, len(chunks), span)


def _spine(
    plan: Plan,
    read: Reader,
    symbol_id: int,
    chunks: list[tuple[int, int]],
    tally: ChunkTally,
    label: str,
) -> pl.DataFrame:
    """Pass 1: the bars of the timeline, the builder's state carried from chunk to chunk."""
    builder = get_builder(plan.spine_type)
    config = spine_config_from_dict(plan.spine_type, plan.spine_config)
    state = builder.initial_state(config, plan.start_us, symbol_id=symbol_id, start_ts_us=plan.start_us)
    bars = []
    for i, (lo, hi) in enumerate(chunks):
        _progress(label, "bars", i, chunks)
        trades = read(plan.primary, lo, hi)
        tally.add_primary(trades)
        chunk_bars, state = builder.advance(state, trades)
        bars.append(chunk_bars)
    bars.append(builder.finish(state, plan.end_us))
    filled = [b for b in bars if b.height]
    return pl.concat(filled, how="vertical_relaxed") if filled else bars[-1]


def _per_event(plan: Plan, name: str, events: pl.DataFrame, carried: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``events`` with the source's per-event columns, computed with the previous chunk's last
    :data:`PER_EVENT_CARRY` events in front (then dropped)."""
    ops = [op for op in plan.operators if op.stage == "per_event" and op.source == name]
    if not ops:
        return events
    before = carried.get(name)
    joined = pl.concat([before, events], how="vertical_relaxed") if before is not None else events
    if joined.height:
        carried[name] = joined.tail(PER_EVENT_CARRY)
    out = apply_per_event(joined, ops)
    return out.slice(before.height) if before is not None else out
