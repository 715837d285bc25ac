"""The pipeline reads only the columns its operators reference, and never computes a different result
because of it: an operator that reaches for an unnamed column makes the runner read everything."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import polars as pl

from pointline.research import pipeline
from pointline.research.pipeline_v2.columns import source_columns
from pointline.research.pipeline_v2.plan import build_plan
from pointline.research.resample import registry
from pointline.research.resample.registry import AggregationSpec, KernelAggregationSpec


def _with(request: dict[str, Any], *ops: dict[str, Any]) -> dict[str, Any]:
    request = copy.deepcopy(request)
    request["operators"].extend(ops)
    request["constraints"]["skip_reproducibility_check"] = True
    return request


def test_guide_request_reads_neither_trade_ids_nor_unused_book_lists(guide_request: dict[str, Any]) -> None:
    columns = source_columns(build_plan(guide_request))
    trades, book = columns["trades_src"], columns["book_src"]
    assert trades is not None and book is not None
    assert "trade_id" not in trades and "exchange" not in trades
    assert {"px", "qty", "side", "ts_local_us", "file_id", "file_line_number"} <= set(trades)
    # book_imbalance_top5 reads the stored integer levels; the decoded float lists are skipped.
    assert "bids_qty" not in book and "bids_qty_int" in book


def test_event_joined_reads_every_column(guide_request: dict[str, Any]) -> None:
    request = copy.deepcopy(guide_request)
    request["mode"] = "event_joined"
    assert all(v is None for v in source_columns(build_plan(request)).values())


class _DistinctTradeIds(AggregationSpec):
    name = "test_distinct_trade_ids"
    required_columns: ClassVar[list[str]] = []  # not declared: the expression names it
    mode_allowlist: ClassVar[list[str]] = ["bar_then_feature"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [pl.col("trade_id").n_unique().alias("distinct_trade_ids")]


def _count_ids(frame: pl.DataFrame, config: dict[str, Any]) -> pl.DataFrame:
    return frame.group_by("symbol_id", "bar_index").agg(pl.col("trade_id").n_unique().alias("ids_seen"))


class _UndeclaredKernel(KernelAggregationSpec):
    name = "test_undeclared_kernel"
    required_columns: ClassVar[list[str]] = ["qty"]  # wrong on purpose: the kernel reads trade_id
    mode_allowlist: ClassVar[list[str]] = ["bar_then_feature"]
    kernel = staticmethod(_count_ids)
    outputs: ClassVar[list[str]] = ["ids_seen"]


def test_columns_named_by_an_aggregation_are_read(guide_request: dict[str, Any]) -> None:
    registry.register_aggregation(_DistinctTradeIds)
    try:
        request = _with(
            guide_request,
            {"name": "ids", "stage": "aggregate", "agg": _DistinctTradeIds.name, "source": "trades_src"},
        )
        out = pipeline(request)
    finally:
        registry._REGISTRY.pop(_DistinctTradeIds.name)
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    # Synthetic trade ids are unique, so every bar sees as many ids as trades.
    assert (table["distinct_trade_ids"] == table["trade_count"]).all()


def test_a_column_read_without_being_named_falls_back_to_a_whole_read(guide_request: dict[str, Any]) -> None:
    registry.register_aggregation(_UndeclaredKernel)
    try:
        request = _with(
            guide_request,
            {"name": "seen", "stage": "aggregate", "agg": _UndeclaredKernel.name, "source": "trades_src"},
        )
        out = pipeline(request)
    finally:
        registry._REGISTRY.pop(_UndeclaredKernel.name)
    assert out["decision"]["status"] == "accept", out["decision"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    assert (table["ids_seen"] == table["trade_count"]).all()
