"""Day-chunked re-execution used by the partition-safety gate.

What is re-executed chunk by chunk (UTC days of ``ts_local_us``):

- the spine: the builder's ``advance`` is folded over the day chunks of the primary trades with the
  bar state carried from day to day, then ``finish`` closes the timeline;
- assignment: each day's events are assigned on their own;
- as-of state: each day's bars see the state rows of that day plus the last row carried from the
  days before.

Aggregation and derived features then run on the concatenation, exactly as in one pass. The gate
compares the result with the one-pass table; any difference means some state did not survive a
midnight boundary.
"""

from __future__ import annotations

import polars as pl

from pointline.research.pipeline_v2.engine import (
    BAR_COLUMNS,
    EngineResult,
    _as_symbol,
    _derive,
    _event_joined,
    _per_event_stage,
    aggregate_onto,
)
from pointline.research.pipeline_v2.plan import Plan
from pointline.research.resample import attach_asof
from pointline.research.resample.assign import assign_with_stats
from pointline.research.spines import get_builder, spine_config_from_dict
from pointline.research.timeline import US_PER_DAY


def day_bounds(start_us: int, end_us: int, chunk_us: int = US_PER_DAY) -> list[tuple[int, int]]:
    """``[lo, hi)`` chunks covering ``[start_us, end_us)``, cut at multiples of ``chunk_us`` (UTC midnights)."""
    bounds = []
    lo = start_us
    while lo < end_us:
        hi = min((lo // chunk_us + 1) * chunk_us, end_us)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _slice(events: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    return events.filter((pl.col("ts_local_us") >= lo) & (pl.col("ts_local_us") < hi))


def compute_chunked(
    plan: Plan, inputs: dict[str, pl.DataFrame], *, symbol_id: int, chunk_us: int = US_PER_DAY
) -> EngineResult:
    """The feature table computed chunk by chunk with carried state (see the module docstring)."""
    timings: dict[str, float] = {}
    inputs = _per_event_stage(plan, inputs, timings)
    chunks = day_bounds(plan.start_us, plan.end_us, chunk_us)
    if plan.mode == "event_joined":
        parts = []
        for lo, hi in chunks:
            day_inputs = {
                name: (_slice(df, lo, hi) if name == plan.primary else df.filter(pl.col("ts_local_us") < hi))
                for name, df in inputs.items()
            }
            day_plan = _replace_timeline(plan, lo, hi)
            parts.append(_event_joined(day_plan, day_inputs, symbol_id, {}).features)
        features = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
        n = features.height
        features = features.with_columns(pl.arange(0, n, dtype=pl.Int64).alias("bar_index"))
        return EngineResult(features=features, spine=features.select(BAR_COLUMNS))

    builder = get_builder(plan.spine_type)
    config = spine_config_from_dict(plan.spine_type, plan.spine_config)
    state = builder.initial_state(config, plan.start_us, symbol_id=symbol_id, start_ts_us=plan.start_us)
    bars = []
    for lo, hi in chunks:
        day_bars, state = builder.advance(state, _slice(inputs[plan.primary], lo, hi))
        bars.append(day_bars)
    bars.append(builder.finish(state, plan.end_us))
    spine = (
        pl.concat([b for b in bars if b.height], how="vertical_relaxed")
        if any(b.height for b in bars)
        else bars[-1]
    )

    features = spine.select([c for c in BAR_COLUMNS if c in spine.columns])
    for name in plan.sources:
        ops = plan.operators_for(name)
        if not ops:
            continue
        events = _as_symbol(inputs[name], symbol_id)
        for strategy in ("bucket", "asof_backward"):
            chosen = [op for op in ops if op.join_strategy == strategy]
            if not chosen:
                continue
            if strategy == "bucket":
                parts = [assign_with_stats(_slice(events, lo, hi), spine)[0] for lo, hi in chunks]
                # A source without events in the timeline: its one empty part (the columns).
                filled = [p for p in parts if p.height] or parts[:1]
                bucketed = pl.concat(filled, how="vertical_relaxed") if filled else events.head(0)
            else:
                bucketed = _asof_chunked(spine, events, chunks)
            features = aggregate_onto(plan, features, bucketed, chosen, spine)
    features = _derive(plan, features)
    return EngineResult(features=features.sort("bar_index"), spine=spine, timings=timings)


def _asof_chunked(spine: pl.DataFrame, events: pl.DataFrame, chunks: list[tuple[int, int]]) -> pl.DataFrame:
    state = events.with_columns(pl.col("ts_local_us").alias("_state_ts_local_us"))
    carried = state.filter(pl.col("ts_local_us") < chunks[0][0]).tail(1)
    parts = []
    for i, (lo, hi) in enumerate(chunks):
        last = i == len(chunks) - 1
        # A bar belongs to the chunk in which it becomes known (the unfinished bar to the last chunk).
        day_spine = spine.filter((pl.col("ts") >= lo) & ((pl.col("ts") < hi) | pl.lit(last)))
        day_state = pl.concat([carried, _slice(state, lo, hi if not last else 2**62)], how="vertical_relaxed")
        if day_spine.height:
            parts.append(attach_asof(day_spine, day_state))
        if day_state.height:
            carried = day_state.tail(1)
    attached = (
        pl.concat(parts, how="vertical_relaxed") if parts else attach_asof(spine.head(0), state.head(0))
    )
    return attached.with_columns(pl.col("_state_ts_local_us").alias("ts_local_us"))


def _replace_timeline(plan: Plan, lo: int, hi: int) -> Plan:
    from dataclasses import replace

    return replace(plan, start_us=lo, end_us=hi)
