"""pipeline(request): the guide's request end to end, and every gate passing and failing for its reason."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pointline.cli import app
from pointline.errors import DataNotFoundError, PointlineError
from pointline.research import pipeline
from pointline.research.features.derived import register_derived
from pointline.research.pipeline_v2 import validate_output_v2
from pointline.research.pipeline_v2.chunked import compute_chunked
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.engine import compute
from pointline.research.pipeline_v2.gates import GateContext, pit_ordering_check
from pointline.research.pipeline_v2.plan import build_plan
from pointline.research.pipeline_v2.runner import load_inputs
from pointline.research.resample.per_event import register_per_event
from pointline.research.spines import register_spine
from pointline.research.spines import registry as spine_registry
from pointline.research.spines.tick import TickBarBuilder

GUIDE_COLUMNS = [
    "vwap",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "flow_imbalance",
    "trade_count",
    "avg_trade_size",
    "spread_bps",
    "book_imbalance_top5",
    "realized_vol",
    "forward_return_5bar",
    "forward_return_10bar",
]


def test_guide_request_is_accepted_with_the_guide_columns(guide_request: dict[str, Any]) -> None:
    out = pipeline(guide_request)
    assert out["decision"] == {"status": "accept", "reasons": []}
    assert set(GUIDE_COLUMNS) <= set(out["results"]["columns"])
    assert out["quality_gates"]["failed_gates"] == []
    assert set(out["quality_gates"]["passed_gates"]) == {
        "pit_ordering_check",
        "lookahead_check",
        "reproducibility_check",
        "partition_safety_check",
        "max_unassigned_ratio",
    }
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    assert table.height == out["results"]["row_count"] > 200
    assert table["ts"].is_sorted() and table.filter(~pl.col("is_complete")).height == 1
    lineage = json.loads(Path(out["artifacts"]["paths"][1]).read_text())
    assert len(lineage["request_hash"]) == 64
    assert {i["table"] for i in lineage["inputs"]} == {"trades", "quotes", "book_snapshot_25"}
    assert all(i["delta_version"] is not None and i["files"] for i in lineage["inputs"])
    assert "compute" in lineage["timings_s"]["per_symbol"]["BTCUSDT"]
    assert lineage["execution"]["ran_on"] == "inline"


def test_metrics_know_the_request_s_labels_and_their_horizons(guide_request: dict[str, Any]) -> None:
    """rank_ic of a 10-bar label corrects for 9 overlapping bars; label_distribution without a
    column describes every declared label."""
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    request["evaluation"]["metrics"] = [
        {"type": "rank_ic", "feature": "flow_imbalance", "label": "forward_return_10bar"},
        {"type": "label_distribution"},
    ]
    out = pipeline(request)
    assert out["decision"]["status"] == "accept", out["decision"]
    ic = out["results"]["metrics"]["rank_ic"]["flow_imbalance"]["forward_return_10bar"]
    assert (ic["horizon"], ic["hac_lags"]) == (10, 9)
    assert set(out["results"]["metrics"]["label_distribution"]) == {
        "forward_return_5bar",
        "forward_return_10bar",
    }


def test_a_timeline_without_trades_is_a_clear_error_naming_what_the_lake_holds(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    request = copy.deepcopy(guide_request)
    request["timeline"] = {"start": "2024-06-01", "end": "2024-06-02"}
    with pytest.raises(
        DataNotFoundError, match=r"no BTCUSDT trades on binance-futures in \[2024-06-01, 2024-06-02\)"
    ):
        pipeline(request)
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(request))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "the lake holds them from 2024-05-01" in " ".join(result.output.split())


def test_a_source_without_events_in_the_timeline_gives_null_features_in_one_pass_and_by_day(
    guide_request: dict[str, Any],
) -> None:
    plan = build_plan(validate_quant_research_input_v2(guide_request))
    inputs, _ = load_inputs(plan)
    inputs["quotes_src"] = inputs["quotes_src"].head(0)
    symbol_id = int(inputs["trades_src"]["symbol_id"][0])
    whole = compute(plan, inputs, symbol_id=symbol_id).features
    by_day = compute_chunked(plan, inputs, symbol_id=symbol_id).features
    assert whole.height > 100 and whole["spread_bps"].null_count() == whole.height
    assert_frame_equal(whole, by_day)


def test_warnings_name_ignored_config_reference_sources_and_a_timeline_beyond_the_data(
    guide_request: dict[str, Any],
) -> None:
    """The guide's operator with ``config: {window: 5}`` and its per-symbol loop (which changes only
    the trades source's symbol) run, and the output says what they actually do."""
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    request["operators"][2]["config"] = {"window": 5}  # flow_imbalance, as the guide prints it
    request["sources"][0]["filters"]["symbol"] = "ETHUSDT"  # the guide's loop body
    request["timeline"]["end"] = "2024-05-31T00:00:00Z"
    out = pipeline(request)
    assert out["decision"]["status"] == "accept"
    assert validate_output_v2(out) == out
    warnings = out["warnings"]
    assert any("'flow_imbalance' takes no config; got ['window']; ignored" in w for w in warnings)
    reference = [w for w in warnings if "reference instrument" in w]
    assert {w.split("'")[1] for w in reference} == {"quotes_src", "book_src"}
    assert all("reads BTCUSDT on binance-futures, not the bars' instrument (ETHUSDT" in w for w in reference)
    assert any("ETHUSDT on binance-futures: the timeline is" in w for w in warnings)
    # The last bar stays open to May 31: the state the quotes and books attach to it is weeks old.
    stale = [w for w in warnings if "older than 5 minutes" in w]
    assert {w.split("'")[1] for w in stale} == {"quotes_src", "book_src"}
    oldest = [float(re.search(r"the oldest ([0-9.]+) minutes", w).group(1)) for w in stale]  # type: ignore[union-attr]
    assert all(w.startswith("ETHUSDT: source") for w in stale) and min(oldest) > 40_000  # ~4 weeks
    assert len(warnings) == 6


def test_a_plain_request_has_no_warnings(guide_request: dict[str, Any]) -> None:
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    assert pipeline(request)["warnings"] == []


def test_an_output_dir_that_is_a_file_is_an_error_before_the_run(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    request = copy.deepcopy(guide_request)
    request["artifacts"]["output_dir"] = str(tmp_path / "taken")
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(PointlineError, match=r"output_dir .*taken is a file; expected a directory"):
        pipeline(request)


def test_two_operators_writing_one_column_is_an_error_naming_both(guide_request: dict[str, Any]) -> None:
    same_source = _with_operator(
        guide_request, {"name": "vwap_again", "agg": "trade_vwap", "source": "trades_src"}
    )
    with pytest.raises(
        PointlineError, match="output column 'vwap' of operator 'vwap_again' clashes with operator 'vwap'"
    ):
        pipeline(same_source)
    # Across sources the tables are joined: the clash used to come out as a silent 'vwap_right'.
    other_source = _with_operator(
        guide_request, {"name": "mid", "agg": "mid_px", "source": "quotes_src", "output_name": "vwap"}
    )
    with pytest.raises(PointlineError, match=r"output column\(s\) \['vwap'\] of operator\(s\) 'mid' clash"):
        pipeline(other_source)
    # The same aggregation twice (as-of and over the bar): a prefix tells all its outputs apart.
    twice = _with_operator(
        guide_request,
        {
            "name": "bar_spread",
            "agg": "spread_bps",
            "source": "quotes_src",
            "join_strategy": "bucket",
            "output_prefix": "bar_",
        },
    )
    out = pipeline(twice)
    assert out["decision"]["status"] == "accept"
    assert {"spread_bps", "spread_bps_last", "bar_spread_bps", "bar_spread_bps_last"} <= set(
        out["results"]["columns"]
    )


def test_the_guide_s_symbol_loop_keeps_each_symbol_s_table(guide_request: dict[str, Any]) -> None:
    """The guide runs one request_id per symbol in a loop and keeps each output: each output's
    artifact must still hold its own symbol's table afterwards."""
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    results = {}
    for symbol in ["BTCUSDT", "ETHUSDT"]:
        for source in request["sources"]:
            source["filters"]["symbol"] = symbol
        results[symbol] = pipeline(request)
    paths = {s: out["artifacts"]["paths"][0] for s, out in results.items()}
    assert len(set(paths.values())) == 2
    for symbol, out in results.items():
        table = pl.read_parquet(paths[symbol])
        assert table.height == out["results"]["row_count"]
        assert table["symbol_id"].unique().to_list() == [
            next(i["symbol_id"] for i in json.loads(Path(out["artifacts"]["paths"][1]).read_text())["inputs"])
        ]
    assert pipeline(request)["artifacts"]["paths"] == results["ETHUSDT"]["artifacts"]["paths"]  # a rerun


def test_a_volume_threshold_per_symbol_gives_each_symbol_its_own_bars(guide_request: dict[str, Any]) -> None:
    """BTC and ETH trade very different volumes: one request, a threshold each, identical to running
    each symbol alone with its threshold."""
    request = copy.deepcopy(guide_request)
    request["constraints"]["skip_reproducibility_check"] = True
    btc = request["spine"]["config"]["volume_threshold"]
    thresholds = {"BTCUSDT": btc, "ETHUSDT": btc * 20}
    for source in request["sources"]:
        source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    request["spine"]["config"]["volume_threshold"] = thresholds
    both = pl.read_parquet(pipeline(request)["artifacts"]["paths"][0])
    for symbol, threshold in thresholds.items():
        single = copy.deepcopy(request)
        for source in single["sources"]:
            source["filters"]["symbol"] = symbol
        single["spine"]["config"]["volume_threshold"] = threshold
        alone = pl.read_parquet(pipeline(single)["artifacts"]["paths"][0])
        assert both.filter(pl.col("symbol_id") == alone["symbol_id"][0]).equals(alone)
    request["spine"]["config"]["volume_threshold"] = {"BTCUSDT": btc}
    with pytest.raises(PointlineError, match=r"\$\.spine\.config\.volume_threshold: no value for ETHUSDT"):
        pipeline(request)


def test_output_validates_against_the_output_schema(guide_request: dict[str, Any]) -> None:
    out = pipeline(guide_request)
    assert validate_output_v2(out) == out


def test_rerun_gives_the_same_table(guide_request: dict[str, Any]) -> None:
    first = pl.read_parquet(pipeline(guide_request)["artifacts"]["paths"][0])
    second = pl.read_parquet(pipeline(copy.deepcopy(guide_request))["artifacts"]["paths"][0])
    assert first.equals(second)


def _with_operator(request: dict[str, Any], *ops: dict[str, Any], mode: str | None = None) -> dict[str, Any]:
    request = copy.deepcopy(request)
    request["operators"].extend(ops)
    request["constraints"]["skip_reproducibility_check"] = True
    if mode:
        request["mode"] = mode
    return request


# Ten operators that each use information from after a bar's ts. Derived features see later bars;
# per-event features see later events.
PLANTED_DERIVED = {
    "peek_next_close": (lambda: pl.col("close").shift(-1), ["close"]),
    "future_ret_5bar": (lambda: pl.col("close").shift(-5) / pl.col("close") - 1, ["close"]),
    "full_sample_zscore": (
        lambda: (pl.col("flow_imbalance") - pl.col("flow_imbalance").mean()) / pl.col("flow_imbalance").std(),
        ["flow_imbalance"],
    ),
    "full_sample_rank": (lambda: pl.col("flow_imbalance").rank() / pl.len(), ["flow_imbalance"]),
    "centered_close_mean": (lambda: pl.col("close").rolling_mean(5, center=True), ["close"]),
    "backfilled_flow": (
        lambda: (
            pl.when(pl.col("bar_index") % 7 == 0)
            .then(pl.col("flow_imbalance"))
            .otherwise(None)
            .backward_fill()
        ),
        ["flow_imbalance", "bar_index"],
    ),
    "remaining_volume": (lambda: pl.col("volume").reverse().cum_sum().reverse(), ["volume"]),
    "session_high": (lambda: pl.col("high").max(), ["high"]),
}
PLANTED_PER_EVENT = {
    "next_trade_px": (lambda config: pl.col("px").shift(-1), ("px",)),
    "remaining_event_qty": (lambda config: pl.col("qty").reverse().cum_sum().reverse(), ("qty",)),
}


@pytest.mark.parametrize("name", sorted(PLANTED_DERIVED))
def test_planted_lookahead_in_a_derived_feature_is_rejected(guide_request: dict[str, Any], name: str) -> None:
    fn, requires = PLANTED_DERIVED[name]
    register_derived(name, fn, requires)
    out = pipeline(_with_operator(guide_request, {"name": name, "stage": "derive", "agg": name}))
    assert out["decision"]["status"] == "reject"
    assert "lookahead_check" in out["quality_gates"]["failed_gates"]
    assert any(name in reason for reason in out["decision"]["reasons"])


@pytest.mark.parametrize("streaming", ["never", "always"])
@pytest.mark.parametrize("name", sorted(PLANTED_PER_EVENT))
def test_planted_lookahead_in_a_per_event_feature_is_rejected(
    guide_request: dict[str, Any], name: str, streaming: str
) -> None:
    # Streamed runs (docs/pipeline.md) recompute chunk by chunk from the lake: the gate bites there too.
    fn, requires = PLANTED_PER_EVENT[name]
    register_per_event(name, requires)(fn)
    request = _with_operator(
        guide_request,
        {"name": name, "stage": "per_event", "agg": name, "source": "trades_src"},
        {
            "name": f"{name}_last",
            "stage": "aggregate",
            "agg": "column_last",
            "source": "trades_src",
            "config": {"column": name, "output": f"{name}_last"},
        },
        mode="tick_then_bar",
    )
    request["execution"] = {"streaming": streaming}
    out = pipeline(request)
    assert out["decision"]["status"] == "reject"
    assert "lookahead_check" in out["quality_gates"]["failed_gates"]
    assert any(f"{name}_last" in reason for reason in out["decision"]["reasons"])


def test_guide_derived_features_pass_the_lookahead_gate(guide_request: dict[str, Any]) -> None:
    derived = [
        "vwap_reversion",
        "ret_1bar",
        "ret_5bar",
        "trade_count_accel",
        "spread_deviation",
        "flow_persistence",
        "book_flow_divergence",
        "vol_zscore",
        "size_ratio",
        "hl_range_pct",
        "hour",
    ]
    out = pipeline(
        _with_operator(guide_request, *({"name": d, "stage": "derive", "agg": d} for d in derived))
    )
    assert out["decision"]["status"] == "accept", out["decision"]["reasons"]
    assert set(derived) <= set(out["results"]["columns"])


def test_pit_ordering_gate_counts_rows_used_outside_their_bar(guide_request: dict[str, Any]) -> None:
    plan = build_plan(
        json.loads(json.dumps(pipeline.__globals__["validate_quant_research_input_v2"](guide_request)))
    )
    inputs, described = load_inputs(plan)
    result = compute(plan, inputs, symbol_id=described[0]["symbol_id"])
    ctx = GateContext(
        plan=plan, symbol_id=described[0]["symbol_id"], inputs=inputs, result=result, reload=lambda: inputs
    )
    assert pit_ordering_check(ctx).passed
    used = result.used_rows["trades_src"]
    # A bar that read one event from after its close.
    result.used_rows["trades_src"] = used.with_columns(
        pl.when(pl.int_range(pl.len()) == 10)
        .then(pl.col("ts") + 1)
        .otherwise(pl.col("ts_local_us"))
        .alias("ts_local_us")
    )
    outcome = pit_ordering_check(ctx)
    assert not outcome.passed and outcome.details["violations"] == 1
    assert "trades_src" in outcome.reasons[0]


def test_reproducibility_gate_rejects_a_nondeterministic_operator(guide_request: dict[str, Any]) -> None:
    rng = np.random.default_rng()
    register_derived("noisy_close", lambda: pl.col("close") * float(1 + rng.random()), ["close"])
    request = _with_operator(guide_request, {"name": "noisy_close", "stage": "derive", "agg": "noisy_close"})
    request["constraints"]["skip_reproducibility_check"] = False
    request["constraints"].pop("check_reproducibility", None)
    out = pipeline(request)
    assert "reproducibility_check" in out["quality_gates"]["failed_gates"]
    assert (
        out["quality_gates"]["gate_results"]["reproducibility_check"]["hash"]
        != (out["quality_gates"]["gate_results"]["reproducibility_check"]["rerun_hash"])
    )


class ForgetfulTickBuilder(TickBarBuilder):
    """A user spine that drops its running count at every chunk: fine in one pass, wrong when chunked."""

    name = "forgetful_tick"

    def advance(self, state, trades, *, lake=None):  # type: ignore[no-untyped-def]
        return super().advance(state.replace(running=0, n_events=0), trades, lake=lake)


def test_partition_safety_gate_catches_state_lost_at_midnight(guide_request: dict[str, Any]) -> None:
    assert pipeline(guide_request)["quality_gates"]["gate_results"]["partition_safety_check"]["passed"]
    register_spine(ForgetfulTickBuilder)
    try:
        request = copy.deepcopy(guide_request)
        request["spine"] = {"type": "forgetful_tick", "config": {"n_trades": 997}}
        out = pipeline(request)
    finally:
        spine_registry._BUILDERS.pop("forgetful_tick")
    assert out["decision"]["status"] == "reject"
    assert "partition_safety_check" in out["quality_gates"]["failed_gates"]


def _bucketed_quotes(guide_request: dict[str, Any]) -> dict[str, Any]:
    request = copy.deepcopy(guide_request)
    request["operators"].append(
        {
            "name": "quote_mid",
            "stage": "aggregate",
            "agg": "mid_px",
            "source": "quotes_src",
            "join_strategy": "bucket",
        }
    )
    request["timeline"]["start"] = "2024-05-01T12:00:00Z"
    return request


def test_quotes_read_for_state_before_the_timeline_are_not_unassigned(guide_request: dict[str, Any]) -> None:
    # The pipeline reads an hour of state sources before the timeline start (as-of look-back); a
    # bucketed quotes operator must not count those rows as events that found no bar.
    out = pipeline(_bucketed_quotes(guide_request))
    gate = out["quality_gates"]["gate_results"]["max_unassigned_ratio"]
    assert gate["passed"] and gate["unassigned_ratio"] == 0.0, gate


def test_max_unassigned_ratio_gate(guide_request: dict[str, Any]) -> None:
    # Clock bars without empty intervals: quotes in a second without trades find no bar.
    request = _bucketed_quotes(guide_request)
    request["spine"] = {"type": "clock", "config": {"step": "1s", "emit_empty": False}}
    out = pipeline(request)
    gate = out["quality_gates"]["gate_results"]["max_unassigned_ratio"]
    assert not gate["passed"] and gate["unassigned_ratio"] > 0.01
    assert any("max_unassigned_ratio" in r for r in out["decision"]["reasons"])


def test_multi_symbol_request_in_parallel_equals_sequential_runs(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    both = copy.deepcopy(guide_request)
    for source in both["sources"]:
        source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    both["constraints"]["skip_reproducibility_check"] = True
    both["execution"] = {"max_workers": 2}
    combined = pl.read_parquet(pipeline(both)["artifacts"]["paths"][0])
    singles = []
    for symbol in ("BTCUSDT", "ETHUSDT"):
        one = copy.deepcopy(both)
        one.pop("execution")
        for source in one["sources"]:
            source["filters"]["symbol"] = symbol
        one["artifacts"]["output_dir"] = str(tmp_path / symbol)
        singles.append(pl.read_parquet(pipeline(one)["artifacts"]["paths"][0]))
    assert combined.equals(pl.concat(singles))
    assert combined["symbol_id"].n_unique() == 2


def test_multi_symbol_run_sees_aggregations_registered_in_this_session(
    guide_request: dict[str, Any],
) -> None:
    from pointline.research.resample import registry

    class MaxQty(registry.AggregationSpec):
        name = "test_session_max_qty"
        required_columns = ["qty"]  # noqa: RUF012

        def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
            return [pl.col("qty").max().alias("max_qty")]

    registry.register_aggregation(MaxQty)
    try:
        request = _with_operator(
            guide_request,
            {"name": "max_qty", "stage": "aggregate", "agg": MaxQty.name, "source": "trades_src"},
        )
        for source in request["sources"]:
            source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
        request["execution"] = {"max_workers": 2}
        out = pipeline(request)
    finally:
        registry._REGISTRY.pop(MaxQty.name)
    assert out["decision"]["status"] == "accept", out["decision"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    assert table["max_qty"].null_count() < table.height and table["symbol_id"].n_unique() == 2


def test_tick_then_bar_rolls_per_event_features_up(guide_request: dict[str, Any]) -> None:
    request = copy.deepcopy(guide_request)
    request["mode"] = "tick_then_bar"
    request["operators"] = [
        {"name": "signed_volume", "stage": "per_event", "agg": "signed_volume", "source": "trades_src"},
        {
            "name": "net_flow",
            "stage": "aggregate",
            "agg": "column_sum",
            "source": "trades_src",
            "config": {"column": "signed_volume", "output": "net_flow"},
        },
        {"name": "ofi", "stage": "per_event", "agg": "cont_ofi", "source": "quotes_src"},
        {
            "name": "ofi_sum",
            "stage": "aggregate",
            "agg": "column_sum",
            "source": "quotes_src",
            "join_strategy": "bucket",
            "config": {"column": "cont_ofi", "output": "ofi_sum"},
        },
        {"name": "vwap", "stage": "aggregate", "agg": "trade_vwap", "source": "trades_src"},
    ]
    request["constraints"]["max_unassigned_ratio"] = 1.0
    request["evaluation"] = {
        "metrics": [
            {"type": "row_count"},
            {"type": "rank_ic", "feature": "net_flow", "label": "forward_return_5bar"},
        ]
    }
    out = pipeline(request)
    assert out["decision"]["status"] == "accept", out["decision"]["reasons"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    assert {"net_flow", "ofi_sum", "vwap"} <= set(table.columns)
    assert table["net_flow"].abs().sum() > 0


def _event_joined_hour(
    guide_request: dict[str, Any], operator: dict[str, Any], labels: list[dict[str, Any]]
) -> dict[str, Any]:
    """The guide's request in event_joined mode over 10:00-11:00 with one operator."""
    request = copy.deepcopy(guide_request)
    request["mode"] = "event_joined"
    request["timeline"] = {
        "start": "2024-05-01T10:00:00Z",
        "end": "2024-05-01T11:00:00Z",
        "ts_col": "ts_local_us",
    }
    request["operators"] = [operator]
    request["labels"] = labels
    request["evaluation"] = {"metrics": [{"type": "row_count"}]}
    return request


def test_event_joined_gives_one_row_per_trade_with_asof_book(guide_request: dict[str, Any]) -> None:
    operator = {
        "name": "book_imbalance",
        "stage": "aggregate",
        "agg": "book_imbalance_top5",
        "source": "book_src",
    }
    label = {
        "name": "fwd_20",
        "type": "forward_return",
        "window": 20,
        "column": "px",
        "normalization": "none",
    }
    out = pipeline(_event_joined_hour(guide_request, operator, [label]))
    assert out["decision"]["status"] == "accept", out["decision"]["reasons"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    from pointline.research import query

    trades = query.trades("binance-futures", "BTCUSDT", "2024-05-01T10:00:00", "2024-05-01T11:00:00")
    assert table.height == trades.height
    assert table["book_imbalance_top5"].drop_nulls().is_between(-1, 1).all()


def test_event_joined_spread_is_the_asof_quote_s_spread(guide_request: dict[str, Any]) -> None:
    # spread_bps allows event_joined; the quotes' view of each trade row must carry the row's ts.
    operator = {"name": "spread", "stage": "aggregate", "agg": "spread_bps", "source": "quotes_src"}
    out = pipeline(_event_joined_hour(guide_request, operator, []))
    assert out["decision"]["status"] == "accept", out["decision"]["reasons"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    from pointline.research import query

    quotes = query.quotes("binance-futures", "BTCUSDT", "2024-05-01T09:00:00", "2024-05-01T11:00:00")
    bid, ask = pl.col("bid_px_int"), pl.col("ask_px_int")
    quotes = quotes.select("ts_local_us", ((ask - bid) / ((ask + bid) / 2) * 1e4).alias("want"))
    want = table.select("ts", "spread_bps").join_asof(quotes, left_on="ts", right_on="ts_local_us")
    assert want["want"].null_count() < want.height
    np.testing.assert_allclose(
        want["spread_bps"].to_numpy(), want["want"].to_numpy(), rtol=1e-12, equal_nan=True
    )


def test_a_list_valued_feature_keeps_its_list(guide_request: dict[str, Any]) -> None:
    # column_last of a book column is the last snapshot's levels, as aggregate() gives it; the
    # engine used to cut every list column down to its last element (the deepest level's size).
    request = copy.deepcopy(guide_request)
    request["operators"] = [
        {
            "name": "bids",
            "stage": "aggregate",
            "agg": "column_last",
            "source": "book_src",
            "config": {"column": "bids_qty_int"},
        }
    ]
    request["labels"] = []
    request["evaluation"] = {"metrics": [{"type": "row_count"}]}
    out = pipeline(request)
    assert out["decision"]["status"] == "accept", out["decision"]["reasons"]
    table = pl.read_parquet(out["artifacts"]["paths"][0]).filter(pl.col("is_complete"))
    from pointline.research import query

    books = query.book_snapshot_25("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-03")
    want = table.select("ts").join_asof(
        books.select("ts_local_us", "bids_qty_int"), left_on="ts", right_on="ts_local_us"
    )
    assert table.schema["bids_qty_int_last"] == pl.List(pl.Int64)
    assert table["bids_qty_int_last"].to_list() == want["bids_qty_int"].to_list()


def test_cli_run_exit_codes(guide_request: dict[str, Any], tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(guide_request))
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(good)])
    assert result.exit_code == 0, result.output
    register_derived("peek_next_close", lambda: pl.col("close").shift(-1), ["close"])
    bad = tmp_path / "lookahead.json"
    bad.write_text(
        json.dumps(
            _with_operator(guide_request, {"name": "peek", "stage": "derive", "agg": "peek_next_close"})
        )
    )
    assert runner.invoke(app, ["run", str(bad)]).exit_code == 1
    as_json = runner.invoke(app, ["run", str(good), "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["decision"]["status"] == "accept"
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({**guide_request, "mode": "sideways"}))
    result = runner.invoke(app, ["run", str(invalid)])
    assert result.exit_code == 2 and "$.mode" in result.output and "Traceback" not in result.output
