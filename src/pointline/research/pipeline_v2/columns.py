"""Which event columns a plan reads, so the loader skips the rest (projection pushdown).

Reading a day of trades costs about twice as much with ``trade_id`` (a string per row) as without,
and decoding 25-level book lists nobody uses is most of a book read. The needed set of a source is
the union of what its operators reference: the root columns of every aggregation's expressions
(exact, whatever ``required_columns`` declares), kernel aggregations' ``required_columns``, per-event
features' inputs, plus the keys of the total order and, for the primary source, everything a spine
may measure. When a reference cannot be known (an expression over ``pl.all()`` or a regex, the
``event_joined`` mode that returns every column) the source is read whole; and if a computation
still asks for a column that was skipped, the runner reloads the sources whole and recomputes, so
pruning can cost time but never change a result.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pointline.lake.schema import decoded_name, event_table
from pointline.research.pipeline_v2.plan import Plan
from pointline.research.resample.per_event import per_event_inputs
from pointline.research.resample.registry import KernelAggregationSpec, get_aggregation

#: Columns every source keeps: the total order, both clocks and the lineage key.
ALWAYS = ("symbol_id", "ts_local_us", "ts_exch_us", "file_id", "file_line_number")
#: What a spine built from the primary source may measure (price, size, side; stored and decoded).
SPINE_INPUTS = ("px", "qty", "px_int", "qty_int", "side")


def source_columns(plan: Plan) -> dict[str, list[str] | None]:
    """For each source of ``plan``, the columns to read (stored and decoded names), or ``None``
    when every column must be read."""
    out: dict[str, list[str] | None] = {}
    for name, source in plan.sources.items():
        needed = _needed(plan, name)
        if needed is None:
            out[name] = None
            continue
        if name == plan.primary:
            needed |= set(SPINE_INPUTS)
        available = table_columns(source.table)
        out[name] = [c for c in available if c in needed or c in ALWAYS]
    return out


def table_columns(table: str) -> list[str]:
    """Stored then decoded column names of an event table, as a decoded query returns them."""
    spec = event_table(table)
    return [*spec.schema, *(decoded_name(c) for c in (*spec.price_columns, *spec.qty_columns))]


def _needed(plan: Plan, source: str) -> set[str] | None:
    if plan.mode == "event_joined":
        return None
    needed: set[str] = set()
    for op in plan.operators:
        if op.source != source:
            continue
        if op.stage == "per_event":
            inputs = per_event_inputs(op.agg, op.config)
            if inputs is None:
                return None
            needed |= inputs
        elif op.stage == "aggregate":
            cols = _aggregation_inputs(op.agg, op.config)
            if cols is None:
                return None
            needed |= cols
    return needed


def _aggregation_inputs(agg: str, config: dict[str, Any]) -> set[str] | None:
    try:
        cls = get_aggregation(agg)
    except Exception:  # unknown names are reported by the engine with the list of known ones
        return None
    needed = set(cls.required_columns)
    if issubclass(cls, KernelAggregationSpec):
        return needed
    try:
        exprs = cls().impl(config or {})
    except Exception:  # a bad config is reported by the engine, with its context
        return None
    return _roots(exprs, needed)


def _roots(exprs: list[pl.Expr], needed: set[str]) -> set[str] | None:
    for expr in exprs:
        if expr.meta.has_multiple_outputs() or expr.meta.is_regex_projection():
            return None
        needed |= set(expr.meta.root_names())
    return needed
