"""The online path fed the lake's events one at a time gives the pipeline's rows for the guide's
volume bars, exactly: trade features (OnlineBars) and the whole request (OnlinePipeline)."""

from __future__ import annotations

import copy
from typing import Any

import polars as pl

from pointline.lake import dim_symbol
from pointline.online import OnlineBars
from pointline.online.pipeline import replay
from pointline.research import query
from pointline.research.pipeline_v2 import pipeline
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.plan import build_plan
from pointline.research.pipeline_v2.runner import load_inputs
from pointline.research.spines import VolumeBarConfig
from pointline.research.timeline import to_us


def test_online_bars_equal_the_pipeline_s_trade_features(guide_request: dict[str, Any]) -> None:
    request = copy.deepcopy(guide_request)
    request["sources"] = request["sources"][:1]  # trades
    request["operators"] = [op for op in request["operators"] if op["source"] == "trades_src"]
    request["labels"] = []
    request["evaluation"] = {"metrics": [{"type": "row_count"}]}
    request["constraints"]["skip_reproducibility_check"] = True
    out = pipeline(request)
    batch = pl.read_parquet(out["artifacts"]["paths"][0])

    start, end = (to_us(request["timeline"][k]) for k in ("start", "end"))
    symbol_id = dim_symbol.resolve("binance-futures", "BTCUSDT").symbol_id
    threshold = request["spine"]["config"]["volume_threshold"]
    online = OnlineBars(
        "volume",
        VolumeBarConfig(volume_threshold=threshold),
        [{k: v for k, v in op.items() if k != "name"} for op in request["operators"]],
        anchor_ts_us=start,
        symbol_id=symbol_id,
    )
    trades = query.trades("binance-futures", "BTCUSDT", start, end, decoded=True)
    assert isinstance(trades, pl.DataFrame)
    rows = []
    for trade in trades.drop("symbol", "exchange", "date").iter_rows(named=True):
        rows += online.add_trade(trade)
    rows += online.finish(end)
    got = pl.DataFrame(rows)

    shared = [c for c in batch.columns if c in got.columns]
    assert {"vwap", "flow_imbalance", "trade_count", "close", "bucket_start", "ts"} <= set(shared), shared
    assert got.height == batch.height > 100
    assert got.select(shared).to_dicts() == batch.select(shared).to_dicts()


def test_online_pipeline_equals_the_pipeline_on_the_guide_request(guide_request: dict[str, Any]) -> None:
    """The guide's request (trades, quotes and book snapshots; bucket and as-of operators): every
    source's events merged in the order received and fed one at a time give the pipeline's rows."""
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    out = pipeline(request)
    batch = pl.read_parquet(out["artifacts"]["paths"][0])

    plan = build_plan(validate_quant_research_input_v2(request))
    inputs, _ = load_inputs(plan)
    symbol_id = dim_symbol.resolve("binance-futures", "BTCUSDT").symbol_id
    got = replay(request, inputs, symbol_id=symbol_id)

    labels = {label["name"] for label in request["labels"]}
    expected = batch.drop(*labels)
    assert got.columns == expected.columns
    assert got.height == expected.height > 100
    for a, b in zip(got.to_dicts(), expected.to_dicts(), strict=True):
        diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
        assert not diff, (a["bar_index"], diff)


def test_the_online_parity_gate_passes_the_guide_request_and_names_what_is_not_online(
    guide_request: dict[str, Any],
) -> None:
    request = copy.deepcopy(guide_request)
    request["constraints"].update(skip_reproducibility_check=True, check_online_parity=True)
    out = pipeline(request)
    gate = out["quality_gates"]["gate_results"]["online_parity_check"]
    assert gate["passed"] and gate["rows"] == gate["online_rows"] > 100, gate
    assert out["decision"]["status"] == "accept"

    request["mode"] = "tick_then_bar"
    request["operators"].append(
        {"name": "signed_volume", "stage": "per_event", "agg": "signed_volume", "source": "trades_src"}
    )
    out = pipeline(request)
    gate = out["quality_gates"]["gate_results"]["online_parity_check"]
    assert not gate["passed"] and out["decision"]["status"] == "reject"
    assert "only aggregate operators in mode bar_then_feature" in gate["reasons"][0]
