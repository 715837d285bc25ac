"""Streamed execution (a UTC day at a time, bounded memory) gives the one-pass table, and its gates bite."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_run import PLANTED_DERIVED, _with_operator

import pointline
from pointline.errors import DataNotFoundError
from pointline.lake import dim_symbol
from pointline.research import pipeline
from pointline.research.features.derived import register_derived
from pointline.research.pipeline_v2 import streamed as streamed_module
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.engine import compute
from pointline.research.pipeline_v2.plan import build_plan
from pointline.research.pipeline_v2.runner import LakeReader, load_inputs
from pointline.research.pipeline_v2.sizing import estimated_input_bytes
from pointline.research.pipeline_v2.streamed import ChunkTally, chunk_bounds, compute_streamed
from pointline.research.resample.per_event import register_per_event

HOUR_US = 3_600_000_000

SPINES = {
    "volume": None,  # the guide's, as the fixture scales it
    "tick": {"type": "tick", "config": {"n_trades": 97}},
    "clock": {"type": "clock", "config": {"step": "5m"}},
    "dollar": {"type": "dollar", "config": {"notional_threshold": 150_000.0}},
    "dollar_split": {"type": "dollar", "config": {"notional_threshold": 150_000.0, "split_trades": True}},
    "hybrid": {"type": "hybrid_volume_time", "config": {"volume_threshold": 20.0, "max_time_seconds": 900}},
}


def _request(guide_request: dict[str, Any], spine: str, mode: str = "bar_then_feature") -> dict[str, Any]:
    request = copy.deepcopy(guide_request)
    if SPINES[spine] is not None:
        request["spine"] = copy.deepcopy(SPINES[spine])
    if mode == "tick_then_bar":
        request["mode"] = mode
        request["operators"] += [
            {"name": "cont_ofi", "stage": "per_event", "agg": "cont_ofi", "source": "quotes_src"},
            {"name": "signed_volume", "stage": "per_event", "agg": "signed_volume", "source": "trades_src"},
            {
                "name": "ofi_sum",
                "stage": "aggregate",
                "agg": "column_sum",
                "source": "quotes_src",
                "config": {"column": "cont_ofi"},
                "output_name": "ofi_sum",
            },
            {
                "name": "signed_sum",
                "stage": "aggregate",
                "agg": "column_sum",
                "source": "trades_src",
                "config": {"column": "signed_volume"},
                "output_name": "signed_sum",
            },
        ]
    return request


def _one_pass_and_streamed(
    request: dict[str, Any], chunks_of: Any
) -> tuple[pl.DataFrame, pl.DataFrame, ChunkTally]:
    plan = build_plan(validate_quant_research_input_v2(request))
    source = plan.sources[plan.primary]
    symbol_id = dim_symbol.resolve(source.exchange, source.symbol).symbol_id
    inputs, _ = load_inputs(plan)
    one = compute(plan, inputs, symbol_id=symbol_id)
    tally = ChunkTally()
    streamed = compute_streamed(
        plan, LakeReader(plan, None), symbol_id=symbol_id, chunks=chunks_of(plan), tally=tally
    )
    assert streamed.unassigned_ratio == one.unassigned_ratio
    assert_frame_equal(streamed.spine, one.spine)
    return one.features, streamed.features, tally


@pytest.mark.parametrize("spine", sorted(SPINES))
@pytest.mark.parametrize("chunk_hours", [24, 3])
def test_streamed_table_is_the_one_pass_table(
    guide_request: dict[str, Any], spine: str, chunk_hours: int
) -> None:
    one, streamed, _ = _one_pass_and_streamed(
        _request(guide_request, spine), lambda plan: chunk_bounds(plan, chunk_hours * HOUR_US)
    )
    assert one.height > 20
    assert_frame_equal(streamed, one)


def test_streamed_per_event_features_carry_across_chunks(guide_request: dict[str, Any]) -> None:
    # cont_ofi reads the quote before: a chunk's first quote needs the previous chunk's last.
    one, streamed, _ = _one_pass_and_streamed(
        _request(guide_request, "volume", "tick_then_bar"), lambda plan: chunk_bounds(plan, 2 * HOUR_US)
    )
    assert one["ofi_sum"].abs().sum() > 0
    assert_frame_equal(streamed, one)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunk_minutes=st.integers(min_value=40, max_value=36 * 60),
    offset_minutes=st.integers(min_value=0, max_value=600),
)
def test_any_chunking_gives_the_one_pass_table(
    guide_request: dict[str, Any], chunk_minutes: int, offset_minutes: int
) -> None:
    chunk_us = chunk_minutes * 60_000_000
    one, streamed, _ = _one_pass_and_streamed(
        _request(guide_request, "volume", "tick_then_bar"),
        lambda plan: chunk_bounds(plan, chunk_us, offset_us=(offset_minutes * 60_000_000) % chunk_us),
    )
    assert_frame_equal(streamed, one)


def _run(request: dict[str, Any], streaming: str, out: Path) -> tuple[dict[str, Any], pl.DataFrame, dict]:
    request = copy.deepcopy(request)
    request["execution"] = {"streaming": streaming, "executor": "threads"}
    request["artifacts"]["output_dir"] = str(out)
    output = pipeline(request)
    paths = output["artifacts"]["paths"]
    lineage = json.loads(Path(paths[1]).read_text())
    return output, pl.read_parquet(paths[0]), lineage


def test_streamed_run_gives_the_one_pass_output(guide_request: dict[str, Any], tmp_path: Path) -> None:
    request = copy.deepcopy(guide_request)
    request["constraints"]["check_online_parity"] = True
    one, one_table, one_lineage = _run(request, "never", tmp_path / "one")
    streamed, table, lineage = _run(request, "always", tmp_path / "streamed")
    assert streamed["decision"] == one["decision"] == {"status": "accept", "reasons": []}
    assert streamed["quality_gates"]["passed_gates"] == one["quality_gates"]["passed_gates"]
    assert "online_parity_check" in streamed["quality_gates"]["passed_gates"]
    assert_frame_equal(table, one_table)
    assert streamed["results"] == one["results"]
    assert streamed["warnings"] == one["warnings"]
    assert lineage["inputs"] == one_lineage["inputs"]
    assert lineage["output_hash"] == one_lineage["output_hash"]
    gates = streamed["quality_gates"]["gate_results"]
    assert gates["pit_ordering_check"] == one["quality_gates"]["gate_results"]["pit_ordering_check"]
    assert gates["lookahead_check"]["n_cuts"] >= 2
    assert lineage["timings_s"]["per_symbol"]["BTCUSDT"]["streamed_chunks"] == 2  # UTC days
    assert "streamed_chunks" not in one_lineage["timings_s"]["per_symbol"]["BTCUSDT"]


@pytest.mark.parametrize("name", ["peek_next_close", "full_sample_zscore"])
def test_streamed_run_rejects_planted_lookahead_in_a_derived_feature(
    guide_request: dict[str, Any], name: str
) -> None:
    fn, requires = PLANTED_DERIVED[name]
    register_derived(name, fn, requires)
    request = _with_operator(guide_request, {"name": name, "stage": "derive", "agg": name})
    request["execution"] = {"streaming": "always"}
    out = pipeline(request)
    assert out["decision"]["status"] == "reject"
    assert "lookahead_check" in out["quality_gates"]["failed_gates"]


def test_a_per_event_feature_looking_back_past_the_carry_is_rejected_when_streamed(
    guide_request: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A running total over every earlier event is causal, but a chunk sees only the last
    # PER_EVENT_CARRY events of the one before (fewer here than a day's trades): the two chunkings
    # of the partition-safety gate disagree, and say why.
    monkeypatch.setattr(streamed_module, "PER_EVENT_CARRY", 64)
    register_per_event("running_qty", ("qty",))(lambda config: pl.col("qty").cum_sum())
    request = _with_operator(
        guide_request,
        {"name": "running_qty", "stage": "per_event", "agg": "running_qty", "source": "trades_src"},
        {
            "name": "running_qty_last",
            "stage": "aggregate",
            "agg": "column_last",
            "source": "trades_src",
            "config": {"column": "running_qty"},
            "output_name": "running_qty_last",
        },
        mode="tick_then_bar",
    )
    assert pipeline(request)["decision"]["status"] == "accept"  # one pass
    request["execution"] = {"streaming": "always"}
    out = pipeline(request)
    assert out["quality_gates"]["failed_gates"] == ["partition_safety_check"]
    assert any("events of the chunk before" in r for r in out["decision"]["reasons"])


def test_auto_streams_above_the_size_threshold_in_chunks_that_fit(
    guide_request: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, lineage = _run(guide_request, "auto", tmp_path / "small")
    assert "streamed_chunks" not in lineage["timings_s"]["per_symbol"]["BTCUSDT"]
    plan = build_plan(validate_quant_research_input_v2(guide_request))
    estimate = estimated_input_bytes(plan, pointline.get_lake())
    # Above the threshold: streamed, in chunks of 12 h (a day's share, half the estimate, exceeds
    # half the threshold; 12 h's, a quarter, does not).
    monkeypatch.setenv("POINTLINE_STREAM_ABOVE_BYTES", str(int(estimate * 0.6)))
    out, table, lineage = _run(guide_request, "auto", tmp_path / "large")
    timings = lineage["timings_s"]["per_symbol"]["BTCUSDT"]
    assert (timings["streamed_chunks"], timings["streamed_chunk_hours"]) == (4, 12)
    assert out["decision"]["status"] == "accept", out["decision"]
    _, one_table, _ = _run(guide_request, "never", tmp_path / "one")
    assert_frame_equal(table, one_table)
    # One of the two days: half the estimate, under the threshold: one pass.
    one_day = copy.deepcopy(guide_request)
    one_day["timeline"]["end"] = "2024-05-02T00:00:00Z"
    _, _, lineage = _run(one_day, "auto", tmp_path / "one_day")
    assert "streamed_chunks" not in lineage["timings_s"]["per_symbol"]["BTCUSDT"]


def test_size_estimate_is_near_the_decoded_inputs(guide_request: dict[str, Any]) -> None:
    plan = build_plan(validate_quant_research_input_v2(guide_request))
    inputs, _ = load_inputs(plan)
    held = sum(df.estimated_size() for df in inputs.values())
    estimate = estimated_input_bytes(plan, pointline.get_lake())
    assert 0.5 * held < estimate < 3 * held, (estimate, held)


def test_streamed_run_without_trades_says_so(guide_request: dict[str, Any]) -> None:
    request = copy.deepcopy(guide_request)
    request["timeline"] = {"start": "2024-06-01T00:00:00Z", "end": "2024-06-03T00:00:00Z"}
    request["execution"] = {"streaming": "always"}
    with pytest.raises(DataNotFoundError, match="there are none"):
        pipeline(request)


def test_real_tardis_data_streamed_in_short_chunks_gives_the_one_pass_table(
    lake: Path, tardis_dir: Path
) -> None:
    # Real trades and quotes: rows of one message share a receive time, quotes burst, and the
    # chunk edges (every 7 minutes) fall inside bars and between same-µs rows.
    from pointline.ingest import ingest

    assert not ingest([tardis_dir / "trades.csv", tardis_dir / "quotes.csv"], lake=lake).failed
    request = {
        "schema_version": "2.0",
        "request_id": "real_streamed",
        "mode": "tick_then_bar",
        "timeline": {"start": "2020-02-22T00:00:00Z", "end": "2020-02-22T02:10:00Z"},
        "sources": [
            {"name": "t", "table": "trades", "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"}},
            {"name": "q", "table": "quotes", "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"}},
        ],
        "spine": {"type": "volume", "config": {"volume_threshold": 25.0}},
        "operators": [
            {"name": "vwap", "agg": "trade_vwap", "source": "t"},
            {"name": "ohlcv", "agg": "ohlcv", "source": "t"},
            {"name": "flow_imbalance", "agg": "flow_imbalance", "source": "t"},
            {"name": "spread", "agg": "spread_bps", "source": "q"},
            {"name": "cont_ofi", "stage": "per_event", "agg": "cont_ofi", "source": "q"},
            {
                "name": "ofi",
                "agg": "column_sum",
                "source": "q",
                "config": {"column": "cont_ofi"},
                "join_strategy": "bucket",
                "output_name": "ofi",
            },
        ],
    }
    one, streamed, tally = _one_pass_and_streamed(request, lambda plan: chunk_bounds(plan, 7 * 60_000_000))
    assert one.height > 50 and one["ofi"].drop_nulls().len() > 5
    assert tally.stats["q"].n_events > 9_000
    assert_frame_equal(streamed, one)


def test_the_threshold_is_at_most_an_eighth_of_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from pointline.research.pipeline_v2 import sizing

    monkeypatch.delenv("POINTLINE_STREAM_ABOVE_BYTES", raising=False)
    pages = {"SC_PHYS_PAGES": 2 << 20, "SC_PAGE_SIZE": 4096}  # an 8 GiB machine
    monkeypatch.setattr(sizing.os, "sysconf", lambda name: pages[name])
    assert sizing.stream_threshold() == 1 << 30
    pages["SC_PHYS_PAGES"] = 64 << 20  # 256 GiB
    assert sizing.stream_threshold() == sizing.STREAM_ABOVE_BYTES
    monkeypatch.setenv("POINTLINE_STREAM_ABOVE_BYTES", "12345")
    assert sizing.stream_threshold() == 12345


def test_a_streamed_run_reports_each_chunk_and_pass(
    guide_request: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    request = copy.deepcopy(guide_request)
    request["execution"] = {"streaming": "always", "executor": "threads"}
    with caplog.at_level(logging.INFO, logger="pointline.pipeline"):
        pipeline(request)
    messages = [r.getMessage() for r in caplog.records if r.name == "pointline.pipeline.streamed"]
    assert "BTCUSDT: bars, chunk 1 of 2 (2024-05-01T00:00 to 2024-05-02T00:00)" in messages
    assert any(m.startswith("BTCUSDT: features, chunk 2 of 2") for m in messages)
    for gate in ("lookahead_check", "reproducibility_check", "partition_safety_check"):
        assert any(m.startswith(f"BTCUSDT {gate}: ") for m in messages), gate
