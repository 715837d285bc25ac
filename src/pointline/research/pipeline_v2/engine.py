"""The pipeline engine: a pure function from loaded inputs to a feature table.

``compute(plan, inputs)`` never reads the lake. The gates rely on that: they call it again on
truncated, re-read or day-chunked inputs and compare.

Modes
-----
- ``bar_then_feature``: spine from the primary trades source → every source aggregated onto that
  spine (``bucket``: events assigned to bars; ``asof_backward``: the state known at each bar's
  ``ts``) → derived features.
- ``tick_then_bar``: ``per_event`` operators first add columns to their source's events (signed
  volume, microprice, Cont OFI, …), then the bar pipeline above runs on the enriched events.
- ``event_joined``: one row per event of the primary source, with the as-of state of the other
  sources (at or before the event's ``ts_local_us``); operators are evaluated row by row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.lake.schema import EVENT_ORDER
from pointline.research.features.derived import add_derived_features
from pointline.research.pipeline_v2.plan import Operator, Plan
from pointline.research.resample import AggregateConfig, aggregate, attach_asof
from pointline.research.resample.assign import AssignStats, assign_with_stats
from pointline.research.resample.per_event import apply_per_event
from pointline.research.resample.registry import get_aggregation
from pointline.research.spines import get_builder, spine_config_from_dict

KEYS = ["symbol_id", "bar_index"]
BAR_COLUMNS = ["symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "is_complete"]


@dataclass
class EngineResult:
    """What one computation produced: the feature table and what the gates inspect."""

    features: pl.DataFrame
    spine: pl.DataFrame
    assign_stats: dict[str, AssignStats] = field(default_factory=dict)
    #: Per source: (symbol_id, bar_index, bucket_start, ts, event ts_local_us) of the rows used.
    used_rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def unassigned_ratio(self) -> float:
        n = sum(s.n_events for s in self.assign_stats.values())
        bad = sum(s.n_unassigned for s in self.assign_stats.values())
        return bad / n if n else 0.0


def compute(plan: Plan, inputs: dict[str, pl.DataFrame], *, symbol_id: int) -> EngineResult:
    """Compute the feature table of one symbol from its loaded inputs.

    Parameters
    ----------
    plan
        The normalised request.
    inputs
        Decoded events per source name, each in the total order (``query`` output).
    symbol_id
        The primary instrument; every output row carries it.

    Returns
    -------
    EngineResult
        ``features`` holds the bar columns (µs on the ts_local_us clock; ``ts`` = known-at) and one
        column per operator output, ordered by ``bar_index``. Labels are added by the runner.
    """
    timings: dict[str, float] = {}
    inputs = _per_event_stage(plan, inputs, timings)
    if plan.mode == "event_joined":
        return _event_joined(plan, inputs, symbol_id, timings)

    t0 = time.perf_counter()
    config = spine_config_from_dict(plan.spine_type, plan.spine_config)
    spine = get_builder(plan.spine_type).build_spine(
        symbol_id=symbol_id,
        start_ts_us=plan.start_us,
        end_ts_us=plan.end_us,
        config=config,
        trades=inputs[plan.primary],
    )
    timings["spine"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features, stats, used = features_on_spine(plan, spine, inputs, symbol_id)
    timings["aggregate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features = _derive(plan, features)
    timings["derive"] = time.perf_counter() - t0
    return EngineResult(
        features=features.sort("bar_index"), spine=spine, assign_stats=stats, used_rows=used, timings=timings
    )


def features_on_spine(
    plan: Plan, spine: pl.DataFrame, inputs: dict[str, pl.DataFrame], symbol_id: int
) -> tuple[pl.DataFrame, dict[str, AssignStats], dict[str, pl.DataFrame]]:
    """The bar columns of ``spine`` and every aggregate operator's outputs on it: each source's
    events assigned to the bars (``bucket``) or its state at each bar's ``ts`` (``asof_backward``).
    Also the assignment statistics and the rows used, per source (what the gates inspect). The
    online path calls it on the bars it closes, with the events it holds for them."""
    features = spine.select([c for c in BAR_COLUMNS if c in spine.columns])
    stats: dict[str, AssignStats] = {}
    used: dict[str, pl.DataFrame] = {}
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
                bucketed, stats[name], used[name] = bucket_events(plan, events, spine)
            else:
                bucketed, used[f"{name}:asof"] = asof_events(spine, events)
            features = aggregate_onto(plan, features, bucketed, chosen, spine)
    return features, stats, used


def bucket_events(
    plan: Plan, events: pl.DataFrame, spine: pl.DataFrame
) -> tuple[pl.DataFrame, AssignStats, pl.DataFrame]:
    """The timeline's ``events`` assigned to the bars of ``spine``; the assignment statistics; the
    rows used (what the gates inspect)."""
    # Only the timeline's events: the rows read before its start serve as-of state (the state
    # look-back) and are not events a bar could hold or miss.
    in_timeline = events.filter(pl.col("ts_local_us") >= plan.start_us)
    bucketed, stats = assign_with_stats(in_timeline, spine)
    assert isinstance(bucketed, pl.DataFrame)
    return bucketed, stats, bucketed.select("symbol_id", "bar_index", "bucket_start", "ts", "ts_local_us")


def asof_events(spine: pl.DataFrame, state: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per bar of ``spine`` with the ``state`` row known at its ``ts``; the rows used."""
    attached = _asof_frame(spine, state)
    used = attached.select("symbol_id", "bar_index", "bucket_start", "ts", "_state_ts_local_us").rename(
        {"_state_ts_local_us": "ts_local_us"}
    )
    return attached, used


def aggregate_onto(
    plan: Plan, features: pl.DataFrame, bucketed: pl.DataFrame, ops: list[Operator], spine: pl.DataFrame
) -> pl.DataFrame:
    """``features`` (bars of ``spine``) with the outputs of ``ops`` aggregated from ``bucketed``."""
    table = aggregate(bucketed, AggregateConfig(agg_specs=_agg_specs(ops), mode=plan.mode, spine=spine))
    return join_features(features, table.drop(_bar_only(table)), ops)


def join_features(features: pl.DataFrame, table: pl.DataFrame, ops: list[Operator]) -> pl.DataFrame:
    """``features`` with the columns of one aggregate call joined on the bar keys; a column another
    operator already produced is an error naming both (a join would rename it silently)."""
    clash = [c for c in table.columns if c in features.columns and c not in KEYS]
    if clash:
        named = [op for op in ops if op.output_name in clash] or ops  # renamed onto it, else any of them
        names = ", ".join(repr(op.name) for op in named)
        raise PointlineError(
            f"output column(s) {clash} of operator(s) {names} clash with columns another operator already "
            "produced; give one of them another 'output_name' (first output) or an 'output_prefix' (all outputs)"
        )
    return features.join(table, on=KEYS, how="left")


def _per_event_stage(
    plan: Plan, inputs: dict[str, pl.DataFrame], timings: dict[str, float]
) -> dict[str, pl.DataFrame]:
    per_event = [op for op in plan.operators if op.stage == "per_event"]
    if not per_event:
        return inputs
    t0 = time.perf_counter()
    out = dict(inputs)
    for name in plan.sources:
        ops = [op for op in per_event if op.source == name]
        if ops:
            out[name] = apply_per_event(out[name], ops)
    timings["per_event"] = time.perf_counter() - t0
    return out


def _as_symbol(events: pl.DataFrame, symbol_id: int) -> pl.DataFrame:
    # A reference instrument's state is attached to the primary symbol's bars.
    if events.height and "symbol_id" in events.columns and events["symbol_id"][0] != symbol_id:
        return events.with_columns(pl.lit(symbol_id, dtype=pl.Int64).alias("symbol_id"))
    return events


def _asof_frame(spine: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """One row per bar holding the state known at its ``ts`` (the as-of rule of docs/bars.md)."""
    state = events.with_columns(pl.col("ts_local_us").alias("_state_ts_local_us"))
    attached = attach_asof(spine, state)
    # Aggregations over state read the state row's own receive time as ``ts_local_us``.
    return attached.with_columns(pl.col("_state_ts_local_us").alias("ts_local_us"))


def _agg_specs(ops: list[Operator]) -> list[dict[str, Any]]:
    """The operators as aggregate specs. Config keys an aggregation declares it does not read are
    left out: the output's ``warnings`` already names them (:mod:`.notices`)."""
    specs = []
    for op in ops:
        accepted = get_aggregation(op.agg).config_keys
        config = op.config if accepted is None else {k: v for k, v in op.config.items() if k in accepted}
        spec: dict[str, Any] = {"agg": op.agg, "config": config, "name": op.name}
        if op.output_name:
            spec["output_name"] = op.output_name
        if op.output_prefix:
            spec["output_prefix"] = op.output_prefix
        specs.append(spec)
    return specs


def _bar_only(table: pl.DataFrame) -> list[str]:
    return [c for c in ("bucket_start", "bucket_end", "ts", "is_complete") if c in table.columns]


def _derive(plan: Plan, features: pl.DataFrame) -> pl.DataFrame:
    ops = plan.derive_operators
    if not ops:
        return features
    features = add_derived_features(features, [op.agg for op in ops])
    renames = {op.agg: op.output_name for op in ops if op.output_name and op.output_name != op.agg}
    return features.rename(renames) if renames else features


def _event_joined(
    plan: Plan, inputs: dict[str, pl.DataFrame], symbol_id: int, timings: dict[str, float]
) -> EngineResult:
    t0 = time.perf_counter()
    primary = inputs[plan.primary].filter(
        (pl.col("ts_local_us") >= plan.start_us) & (pl.col("ts_local_us") < plan.end_us)
    )
    rows = primary.with_row_index("bar_index").with_columns(
        pl.col("bar_index").cast(pl.Int64),
        pl.col("ts_local_us").alias("bucket_start"),
        pl.col("ts_local_us").alias("bucket_end"),
        pl.col("ts_local_us").alias("ts"),
        pl.lit(True).alias("is_complete"),
    )
    used: dict[str, pl.DataFrame] = {
        plan.primary: rows.select("symbol_id", "bar_index", "bucket_start", "ts", "ts_local_us")
    }
    for name, source in plan.sources.items():
        if name == plan.primary:
            continue
        state = _as_symbol(inputs[name], symbol_id)
        keep = [
            c
            for c in state.columns
            if c not in ("exchange", "symbol", "date", "ts_exch_us", "file_id", "file_line_number")
        ]
        state = state.select(keep).rename(
            {c: f"{name}.{c}" for c in keep if c not in ("symbol_id", "ts_local_us")}
        )
        state = state.with_columns(pl.col("ts_local_us").alias(f"{name}._ts")).sort("ts_local_us")
        rows = (
            rows.sort("ts")
            .join_asof(
                state.rename({"ts_local_us": "ts"}),
                on="ts",
                by="symbol_id",
                strategy="backward",
                check_sortedness=False,
            )
            .sort("bar_index")
        )
        used[f"{name}:asof"] = rows.select(
            "symbol_id", "bar_index", "bucket_start", "ts", pl.col(f"{name}._ts").alias("ts_local_us")
        )
        del source
    # Row-wise operators: state columns are addressed by their plain names when unambiguous.
    out = rows
    for op in plan.operators:
        if op.stage != "aggregate":
            continue
        out = _apply_rowwise(out, op, plan)
    timings["event_join"] = time.perf_counter() - t0
    out = _derive(plan, out)
    spine = out.select(
        *BAR_COLUMNS,
        pl.col("file_id").alias("close_file_id"),
        pl.col("file_line_number").alias("close_file_line_number"),
    )
    drop = [c for c in out.columns if c.endswith("._ts")]
    return EngineResult(features=out.drop(drop), spine=spine, used_rows=used, timings=timings)


def _apply_rowwise(frame: pl.DataFrame, op: Operator, plan: Plan) -> pl.DataFrame:
    """Evaluate one operator per row: every row is its own group, so bar aggregations and row-wise
    expressions both give the value at that event (``aggregate`` reduces a row-wise one). A state source's
    view carries the row's bar columns too (``spread_bps`` weighs the state up to the row's ``ts``)."""
    if op.source == plan.primary:
        view = frame.select(pl.exclude([c for c in frame.columns if "." in c]))
    else:
        prefix = f"{op.source}."
        own = [c for c in frame.columns if c.startswith(prefix)]
        view = frame.select(
            *BAR_COLUMNS,
            *[pl.col(c).alias("ts_local_us" if c == f"{prefix}_ts" else c.removeprefix(prefix)) for c in own],
        )
    table = aggregate(view, AggregateConfig(agg_specs=_agg_specs([op]), mode=plan.mode))
    table = table.drop(_bar_only(table))
    return frame.join(table, on=KEYS, how="left")


def order_columns() -> list[str]:
    """The event total-order columns (re-exported for the gates)."""
    return list(EVENT_ORDER)
