"""Per-event features (the first stage of ``tick_then_bar``) and the column aggregations that roll them up.

A per-event feature is a row-wise expression over one source's events in total order; it may look
at earlier events (``shift(1)``) but never at later ones. Register your own with
:func:`register_per_event`. The rolled-up aggregations ``column_sum``, ``column_mean``,
``column_last``, ``column_std`` take ``config={"column": name}``.

Built-in per-event features (output column = the feature name unless ``output_name`` is given):

- ``trade_sign`` (trades): +1 buyer-initiated, −1 seller-initiated, 0 unknown.
- ``signed_volume`` (trades): ``trade_sign × qty`` (base units).
- ``signed_notional`` (trades): ``trade_sign × px × qty`` (quote units).
- ``mid_px`` (quotes): ``(bid_px + ask_px) / 2``.
- ``microprice`` (quotes): ``(bid_px·ask_qty + ask_px·bid_qty) / (bid_qty + ask_qty)``.
- ``quote_spread_bps`` (quotes): ``(ask_px − bid_px) / mid × 10⁴``.
- ``cont_ofi`` (quotes): Cont, Kukanov & Stoikov (2014) order-flow imbalance of each quote update
  against the previous one:
  ``e_n = 1[b_n ≥ b_{n−1}]·qb_n − 1[b_n ≤ b_{n−1}]·qb_{n−1} − 1[a_n ≤ a_{n−1}]·qa_n + 1[a_n ≥ a_{n−1}]·qa_{n−1}``
  (base units; 0 for the first quote).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import polars as pl

from pointline.errors import PointlineError
from pointline.research.resample.registry import AggregationSpec, register_aggregation

PerEventFn = Callable[[dict[str, Any]], pl.Expr]


class _Op(Protocol):
    name: str
    agg: str
    config: dict[str, Any]
    output_name: str | None


_PER_EVENT: dict[str, tuple[PerEventFn, tuple[str, ...]]] = {}


def register_per_event(name: str, requires: tuple[str, ...]) -> Callable[[PerEventFn], PerEventFn]:
    """Register a per-event feature: ``fn(config) -> pl.Expr`` evaluated over events in total order."""

    def wrap(fn: PerEventFn) -> PerEventFn:
        _PER_EVENT[name] = (fn, requires)
        return fn

    return wrap


def list_per_event() -> list[str]:
    """Names of the registered per-event features."""
    return sorted(_PER_EVENT)


def per_event_inputs(name: str, config: dict[str, Any]) -> set[str] | None:
    """Columns a per-event feature reads (its declared inputs and its expression's roots), or
    ``None`` when that cannot be known (unknown name, bad config, wildcard expression)."""
    if name not in _PER_EVENT:
        return None
    fn, requires = _PER_EVENT[name]
    try:
        expr = fn(config or {})
    except Exception:  # reported with context when the feature is applied
        return None
    if expr.meta.has_multiple_outputs() or expr.meta.is_regex_projection():
        return None
    return set(requires) | set(expr.meta.root_names())


def apply_per_event(events: pl.DataFrame, ops: list[_Op]) -> pl.DataFrame:
    """Add the columns of ``ops`` (each with ``agg`` naming a per-event feature) to ``events``."""
    exprs = []
    for op in ops:
        if op.agg not in _PER_EVENT:
            known = ", ".join(list_per_event())
            raise PointlineError(
                f"operator {op.name!r}: unknown per-event feature {op.agg!r}; known: {known}"
            )
        fn, requires = _PER_EVENT[op.agg]
        missing = [c for c in requires if c not in events.columns]
        if missing:
            raise PointlineError(
                f"operator {op.name!r}: per-event feature {op.agg!r} needs column(s) {missing}"
            )
        exprs.append(fn(op.config).alias(op.output_name or op.agg))
    return events.with_columns(exprs)


_SIGN = pl.when(pl.col("side") == 0).then(1.0).when(pl.col("side") == 1).then(-1.0).otherwise(0.0)


@register_per_event("trade_sign", ("side",))
def _trade_sign(config: dict[str, Any]) -> pl.Expr:
    return _SIGN


@register_per_event("signed_volume", ("side", "qty"))
def _signed_volume(config: dict[str, Any]) -> pl.Expr:
    return _SIGN * pl.col("qty")


@register_per_event("signed_notional", ("side", "px", "qty"))
def _signed_notional(config: dict[str, Any]) -> pl.Expr:
    return _SIGN * pl.col("px") * pl.col("qty")


@register_per_event("mid_px", ("bid_px", "ask_px"))
def _mid(config: dict[str, Any]) -> pl.Expr:
    return (pl.col("bid_px") + pl.col("ask_px")) / 2


@register_per_event("microprice", ("bid_px", "ask_px", "bid_qty", "ask_qty"))
def _microprice(config: dict[str, Any]) -> pl.Expr:
    return (pl.col("bid_px") * pl.col("ask_qty") + pl.col("ask_px") * pl.col("bid_qty")) / (
        pl.col("bid_qty") + pl.col("ask_qty")
    )


@register_per_event("quote_spread_bps", ("bid_px", "ask_px"))
def _spread(config: dict[str, Any]) -> pl.Expr:
    mid = (pl.col("bid_px") + pl.col("ask_px")) / 2
    return (pl.col("ask_px") - pl.col("bid_px")) / mid * 1e4


@register_per_event("cont_ofi", ("bid_px", "ask_px", "bid_qty", "ask_qty"))
def _cont_ofi(config: dict[str, Any]) -> pl.Expr:
    b, a, qb, qa = pl.col("bid_px"), pl.col("ask_px"), pl.col("bid_qty"), pl.col("ask_qty")
    bp, ap, qbp, qap = b.shift(1), a.shift(1), qb.shift(1), qa.shift(1)
    e = (
        pl.when(b >= bp).then(qb).otherwise(0.0)
        - pl.when(b <= bp).then(qbp).otherwise(0.0)
        - pl.when(a <= ap).then(qa).otherwise(0.0)
        + pl.when(a >= ap).then(qap).otherwise(0.0)
    )
    return pl.when(bp.is_null()).then(0.0).otherwise(e).fill_null(0.0)


def _column(config: dict[str, Any], agg: str) -> pl.Expr:
    column = config.get("column")
    if not isinstance(column, str):
        raise PointlineError(f"aggregation {agg!r} needs config {{'column': <name>}}, got {config!r}")
    return pl.col(column)


class _ColumnAggregation(AggregationSpec):
    required_columns: list[str] = []  # noqa: RUF012 - the column comes from the config
    mode_allowlist = ["bar_then_feature", "tick_then_bar"]  # noqa: RUF012
    config_keys = ("column", "output")

    def _out(self, config: dict[str, Any]) -> str:
        return str(config.get("output") or f"{config.get('column')}_{self.name.removeprefix('column_')}")


@register_aggregation
class ColumnSum(_ColumnAggregation):
    """Sum of ``config['column']`` over the bar's events."""

    name = "column_sum"

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [_column(config, self.name).sum().alias(self._out(config))]


@register_aggregation
class ColumnMean(_ColumnAggregation):
    """Mean of ``config['column']`` over the bar's events."""

    name = "column_mean"

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [_column(config, self.name).mean().alias(self._out(config))]


@register_aggregation
class ColumnLast(_ColumnAggregation):
    """Value of ``config['column']`` on the bar's last event."""

    name = "column_last"

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [_column(config, self.name).last().alias(self._out(config))]


@register_aggregation
class ColumnStd(_ColumnAggregation):
    """Sample standard deviation of ``config['column']`` over the bar's events."""

    name = "column_std"

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [_column(config, self.name).std().alias(self._out(config))]
