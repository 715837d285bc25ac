"""The v2 request contract: the guide's request validates as printed, every problem is named by its
JSON path, defaults are filled without touching the input, and no input crashes the validator."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from pointline.cli import app
from pointline.cli.pipeline import render_summary
from pointline.errors import ValidationError
from pointline.research.pipeline_v2.contract import (
    load_output_schema,
    load_request_schema,
    validate_output_v2,
    validate_quant_research_input_v2,
)
from pointline.research.pipeline_v2.metrics import BUILTIN_METRICS, list_metrics

# The "Pipeline v2 Request (JSON)" of volume-bar-features-guide.md, copied as printed.
GUIDE_REQUEST_JSON = r"""
{
  "schema_version": "2.0",
  "request_id": "btc_mft_volbar_features_v1",
  "mode": "bar_then_feature",

  "timeline": {
    "start": "2024-05-01T00:00:00Z",
    "end": "2024-05-31T23:59:59Z",
    "ts_col": "ts_local_us"
  },

  "sources": [
    {
      "name": "trades_src",
      "table": "trades",
      "filters": {
        "exchange": "binance-futures",
        "symbol": "BTCUSDT"
      }
    },
    {
      "name": "quotes_src",
      "table": "quotes",
      "filters": {
        "exchange": "binance-futures",
        "symbol": "BTCUSDT"
      }
    },
    {
      "name": "book_src",
      "table": "book_snapshot_25",
      "filters": {
        "exchange": "binance-futures",
        "symbol": "BTCUSDT"
      }
    }
  ],

  "spine": {
    "type": "volume",
    "config": {
      "volume_threshold": 100.0,
      "use_absolute_volume": true
    }
  },

  "operators": [
    {
      "name": "vwap",
      "stage": "aggregate",
      "agg": "trade_vwap",
      "source": "trades_src"
    },
    {
      "name": "ohlcv",
      "stage": "aggregate",
      "agg": "ohlcv",
      "source": "trades_src"
    },
    {
      "name": "flow_imbalance",
      "stage": "aggregate",
      "agg": "flow_imbalance",
      "source": "trades_src"
    },
    {
      "name": "trade_count",
      "stage": "aggregate",
      "agg": "trade_count",
      "source": "trades_src"
    },
    {
      "name": "avg_trade_size",
      "stage": "aggregate",
      "agg": "avg_trade_size",
      "source": "trades_src"
    },
    {
      "name": "spread",
      "stage": "aggregate",
      "agg": "spread_bps",
      "source": "quotes_src"
    },
    {
      "name": "book_imbalance",
      "stage": "aggregate",
      "agg": "book_imbalance_top5",
      "source": "book_src"
    },
    {
      "name": "realized_vol",
      "stage": "aggregate",
      "agg": "realized_volatility",
      "source": "trades_src"
    }
  ],

  "labels": [
    {
      "name": "forward_return_5bar",
      "type": "forward_return",
      "window": 5,
      "column": "vwap_px",
      "normalization": "standardized"
    },
    {
      "name": "forward_return_10bar",
      "type": "forward_return",
      "window": 10,
      "column": "vwap_px",
      "normalization": "standardized"
    }
  ],

  "evaluation": {
    "metrics": [
      {"type": "row_count"},
      {"type": "null_ratio", "columns": ["flow_imbalance", "spread_bps"]},
      {"type": "label_distribution", "column": "forward_return_5bar"}
    ]
  },

  "constraints": {
    "forbid_lookahead": true,
    "require_pit_ordering": true,
    "max_unassigned_ratio": 0.01
  },

  "artifacts": {
    "emit_lineage": true,
    "output_dir": "/data/research_outputs/btc_mft_volbar"
  }
}
"""


def guide_request() -> dict[str, Any]:
    return json.loads(GUIDE_REQUEST_JSON)


def problems_of(request: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        validate_quant_research_input_v2(request)
    assert info.value.problems, "a ValidationError must list its problems"
    return info.value.problems


def paths_of(request: Any) -> list[str]:
    return [path for path, _ in problems_of(request)]


# --- the guide's request ------------------------------------------------------------------------


def test_guide_request_validates_as_printed() -> None:
    out = validate_quant_research_input_v2(guide_request())
    assert out["request_id"] == "btc_mft_volbar_features_v1"
    assert [op["name"] for op in out["operators"]][:2] == ["vwap", "ohlcv"]


def test_validation_fills_defaults_in_a_copy_and_leaves_the_input_alone() -> None:
    request = guide_request()
    before = copy.deepcopy(request)
    out = validate_quant_research_input_v2(request)
    assert request == before
    assert out["timeline"]["ts_col"] == "ts_local_us"
    assert out["spine"]["config"] == {
        "volume_threshold": 100.0,
        "use_absolute_volume": True,
        "split_trades": False,
    }
    spread = next(op for op in out["operators"] if op["name"] == "spread")
    assert spread["join_strategy"] == "asof_backward" and spread["config"] == {}
    vwap = next(op for op in out["operators"] if op["name"] == "vwap")
    assert vwap["join_strategy"] == "bucket"
    assert out["labels"][0]["min_periods"] == 20
    assert out["constraints"] == {
        "forbid_lookahead": True,
        "require_pit_ordering": True,
        "max_unassigned_ratio": 0.01,
        "partition_safety": True,
        "check_online_parity": False,
        "skip_reproducibility_check": False,
        "check_reproducibility": True,
    }
    assert out["artifacts"]["output_dir"] == "/data/research_outputs/btc_mft_volbar"
    assert out["execution"] == {"executor": "local", "streaming": "auto"}


def test_minimal_request_gets_every_documented_default() -> None:
    request = {
        "schema_version": "2.0",
        "request_id": "r1",
        "timeline": {"start": "2024-05-01", "end": "2024-05-02"},
        "sources": [
            {"name": "t", "table": "trades", "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"}}
        ],
        "spine": {"type": "clock", "config": {"step": "5m"}},
        "operators": [{"name": "trade_vwap", "source": "t"}],
        "labels": [{"name": "fwd", "window": 3, "column": "vwap"}],
    }
    out = validate_quant_research_input_v2(request)
    assert out["mode"] == "bar_then_feature"
    assert out["spine"]["config"] == {"step": "5m", "emit_empty": True}
    assert out["operators"][0] == {
        "name": "trade_vwap",
        "source": "t",
        "stage": "aggregate",
        "agg": "trade_vwap",
        "config": {},
        "join_strategy": "bucket",
    }
    assert out["labels"][0] == {
        "name": "fwd",
        "window": 3,
        "column": "vwap",
        "type": "forward_return",
        "normalization": "none",
        "min_periods": 20,
    }
    assert out["evaluation"] == {"metrics": []}
    assert out["artifacts"] == {"emit_lineage": True, "output_dir": "pointline_runs/r1"}


def test_normalised_request_is_itself_valid_and_a_fixed_point() -> None:
    once = validate_quant_research_input_v2(guide_request())
    assert validate_quant_research_input_v2(once) == once


@pytest.mark.parametrize(
    ("given", "skip", "check"),
    [
        ({"check_reproducibility": False}, True, False),
        ({"check_reproducibility": True}, False, True),
        ({"skip_reproducibility_check": True}, True, False),
        ({}, False, True),
    ],
)
def test_reproducibility_flag_alias_of_the_guide_is_normalised(given: dict, skip: bool, check: bool) -> None:
    request = guide_request()
    request["constraints"] = given
    out = validate_quant_research_input_v2(request)["constraints"]
    assert (out["skip_reproducibility_check"], out["check_reproducibility"]) == (skip, check)


def test_contradictory_reproducibility_flags_are_rejected() -> None:
    request = guide_request()
    request["constraints"] = {"skip_reproducibility_check": True, "check_reproducibility": True}
    assert paths_of(request) == ["$.constraints.check_reproducibility"]


# --- error messages ------------------------------------------------------------------------------


def test_negative_volume_threshold_names_path_and_expectation() -> None:
    request = guide_request()
    request["spine"]["config"]["volume_threshold"] = -5
    assert problems_of(request) == [("$.spine.config.volume_threshold", "expected a number > 0, got -5")]


def test_a_per_symbol_threshold_names_the_bad_symbol_and_the_missing_ones() -> None:
    request = guide_request()
    for source in request["sources"]:
        source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    request["spine"]["config"]["volume_threshold"] = {"BTCUSDT": -1.0, "ETHUSDT": 2000.0}
    assert problems_of(request) == [
        ("$.spine.config.volume_threshold.BTCUSDT", "expected a number > 0, got -1.0")
    ]
    request["spine"]["config"]["volume_threshold"] = {"BTCUSDT": 100.0, "SOLUSDT": 5.0}
    assert problems_of(request) == [
        (
            "$.spine.config.volume_threshold",
            "no value for ETHUSDT; SOLUSDT not among the request's symbols (BTCUSDT, ETHUSDT)",
        )
    ]


def test_error_message_lists_every_problem_as_path_colon_expectation() -> None:
    request = guide_request()
    request["spine"]["config"]["volume_threshold"] = -5
    request["labels"][0]["window"] = 0
    with pytest.raises(ValidationError) as info:
        validate_quant_research_input_v2(request)
    text = str(info.value)
    assert "$.spine.config.volume_threshold: expected a number > 0, got -5" in text
    assert "$.labels[0].window: expected a whole number of bars >= 1, got 0" in text
    assert "2 problems" in text


def test_typo_in_a_key_is_caught_with_a_did_you_mean_hint() -> None:
    request = guide_request()
    request["constraints"]["forbid_lookahed"] = True
    request["spine"]["config"]["volume_treshold"] = request["spine"]["config"].pop("volume_threshold")
    found = dict(problems_of(request))
    assert "did you mean 'forbid_lookahead'?" in found["$.constraints.forbid_lookahed"]
    assert "did you mean 'volume_threshold'?" in found["$.spine.config.volume_treshold"]
    assert found["$.spine.config.volume_threshold"].startswith("required field is missing")


def test_unknown_top_level_key_is_rejected() -> None:
    request = guide_request()
    request["operator"] = []
    found = dict(problems_of(request))
    assert "did you mean 'operators'?" in found["$.operator"]


def test_misspelt_enum_value_gets_a_suggestion() -> None:
    request = guide_request()
    request["sources"][1]["table"] = "quote"
    (path, message), *_ = problems_of(request)
    assert path == "$.sources[1].table"
    assert "did you mean 'quotes'?" in message


def test_unknown_metric_type_is_a_validation_error() -> None:
    request = guide_request()
    request["evaluation"]["metrics"].append({"type": "sharpe"})
    assert paths_of(request) == ["$.evaluation.metrics[3].type"]


def test_metric_fields_are_checked_per_type() -> None:
    request = guide_request()
    request["evaluation"]["metrics"] = [
        {"type": "row_count", "column": "x"},
        {"type": "rank_ic", "feature": "flow_imbalance"},
        {"type": "null_ratio", "columns": "flow_imbalance"},
    ]
    assert paths_of(request) == [
        "$.evaluation.metrics[0].column",
        "$.evaluation.metrics[1].label",
        "$.evaluation.metrics[2].columns",
    ]


def test_rank_ic_label_must_be_a_declared_label_or_carry_a_horizon() -> None:
    request = guide_request()
    request["evaluation"]["metrics"] = [
        {"type": "rank_ic", "feature": "flow_imbalance", "label": "forward_return_5"}
    ]
    ((path, message),) = problems_of(request)
    assert path == "$.evaluation.metrics[0].label" and "did you mean 'forward_return_5bar'?" in message
    request["evaluation"]["metrics"][0]["horizon"] = 5
    validate_quant_research_input_v2(request)


@pytest.mark.parametrize("value", [None, [], "request.json", 3, [guide_request()]])
def test_non_object_request_is_a_validation_error(value: Any) -> None:
    assert paths_of(value) == ["$"]


# --- semantic checks -----------------------------------------------------------------------------


def test_operator_source_must_name_a_declared_source() -> None:
    request = guide_request()
    request["operators"][5]["source"] = "quote_src"
    ((path, message),) = problems_of(request)
    assert path == "$.operators[5].source" and "did you mean 'quotes_src'?" in message


def test_source_names_must_be_unique() -> None:
    request = guide_request()
    request["sources"][1]["name"] = "trades_src"
    assert "$.sources[1].name" in paths_of(request)


def test_operator_and_label_names_must_be_unique() -> None:
    request = guide_request()
    request["operators"][1]["name"] = "vwap"
    request["labels"][1]["name"] = "forward_return_5bar"
    assert paths_of(request) == ["$.labels[1].name", "$.operators[1].name"]


def test_aggregation_reading_quote_columns_cannot_use_a_trades_source() -> None:
    request = guide_request()
    request["operators"][5]["source"] = "trades_src"  # spread_bps needs bid/ask columns
    ((path, message),) = problems_of(request)
    assert path == "$.operators[5].source"
    assert "bid_px_int" in message and "'quotes'" in message


def test_unknown_aggregation_is_left_to_the_runner() -> None:
    request = guide_request()
    request["operators"].append({"name": "my_custom", "agg": "not_registered_yet", "source": "book_src"})
    validate_quant_research_input_v2(request)


def test_aggregation_outside_its_mode_allowlist_is_rejected() -> None:
    request = guide_request()
    request["mode"] = "event_joined"
    paths = paths_of(request)
    assert "$.operators[0].agg" in paths  # trade_vwap does not run in event_joined mode


def test_timeline_start_must_precede_end() -> None:
    request = guide_request()
    request["timeline"]["end"] = "2024-05-01T00:00:00Z"
    assert paths_of(request) == ["$.timeline.end"]


@pytest.mark.parametrize("bad", ["2024-02-30", "2024-13-01T00:00:00Z", "May 1st", "2024-05-01T25:00:00"])
def test_timeline_bounds_must_be_real_iso_times(bad: str) -> None:
    request = guide_request()
    request["timeline"]["start"] = bad
    assert paths_of(request) == ["$.timeline.start"]


@pytest.mark.parametrize(
    "good", ["2024-05-01", "2024-05-01T00:00:00Z", "2024-05-01T02:00:00+02:00", "2024-05-01 00:00"]
)
def test_timeline_accepts_dates_and_datetimes(good: str) -> None:
    request = guide_request()
    request["timeline"]["start"] = good
    validate_quant_research_input_v2(request)


def test_requests_need_a_trades_source_to_build_bars() -> None:
    request = guide_request()
    request["sources"] = request["sources"][1:]
    request["operators"] = [op for op in request["operators"] if op["source"] != "trades_src"]
    assert paths_of(request) == ["$.sources"]


def test_symbol_lists_fan_out_consistently() -> None:
    request = guide_request()
    request["sources"][0]["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    validate_quant_research_input_v2(request)
    request["sources"][1]["filters"]["symbol"] = ["BTCUSDT"]
    assert paths_of(request) == ["$.sources[1].filters.symbol"]
    request["sources"][1]["filters"]["symbol"] = []
    assert "$.sources[1].filters.symbol" in paths_of(request)


def test_non_finite_numbers_are_rejected() -> None:
    request = guide_request()
    request["spine"]["config"]["volume_threshold"] = float("inf")
    assert paths_of(request) == ["$.spine.config.volume_threshold"]


@pytest.mark.parametrize(
    "spine",
    [
        {"type": "clock", "config": {"step_seconds": 300}},
        {"type": "clock", "config": {"step": "5m", "emit_empty": False}},
        {"type": "tick", "config": {"n_trades": 100}},
        {"type": "volume", "config": {"volume_threshold": 1.5, "split_trades": True}},
        {"type": "dollar", "config": {"notional_threshold": 1e6}},
        {"type": "hybrid_volume_time", "config": {"volume_threshold": 100.0, "max_time_seconds": 300}},
    ],
)
def test_every_spine_type_accepts_its_config(spine: dict) -> None:
    request = guide_request()
    request["spine"] = spine
    validate_quant_research_input_v2(request)


@pytest.mark.parametrize(
    ("spine", "path"),
    [
        ({"type": "clock", "config": {}}, "$.spine.config"),
        ({"type": "clock", "config": {"step": "5m", "step_seconds": 300}}, "$.spine.config"),
        ({"type": "clock", "config": {"step": "5 minutes"}}, "$.spine.config.step"),
        ({"type": "tick", "config": {"n_trades": 0}}, "$.spine.config.n_trades"),
        ({"type": "tick", "config": {"n_trades": 2.5}}, "$.spine.config.n_trades"),
        ({"type": "volume", "config": {}}, "$.spine.config.volume_threshold"),
        ({"type": "dollar", "config": {"volume_threshold": 5}}, "$.spine.config.notional_threshold"),
        (
            {"type": "hybrid_volume_time", "config": {"volume_threshold": 5}},
            "$.spine.config.max_time_seconds",
        ),
        ({"type": "renko", "config": {}}, "$.spine.type"),
        ({"type": "volume"}, "$.spine.config"),
    ],
)
def test_spine_config_errors_name_the_field(spine: dict, path: str) -> None:
    request = guide_request()
    request["spine"] = spine
    assert path in paths_of(request)


# --- the schemas themselves -----------------------------------------------------------------------


def test_shipped_schemas_are_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(load_request_schema())
    Draft202012Validator.check_schema(load_output_schema())


def test_schema_metric_types_match_the_metric_registry() -> None:
    enum = load_request_schema()["$defs"]["metric"]["properties"]["type"]["enum"]
    assert sorted(enum) == sorted(BUILTIN_METRICS)
    assert set(BUILTIN_METRICS) <= set(list_metrics())


def test_loaded_schema_is_a_fresh_copy() -> None:
    load_request_schema()["properties"].clear()
    assert "spine" in load_request_schema()["properties"]


def sample_output() -> dict[str, Any]:
    return {
        "decision": {"status": "reject", "reasons": ["lookahead_check failed: 3 bars differ"]},
        "results": {"row_count": 10, "columns": ["ts", "vwap"], "metrics": {"row_count": 10}},
        "quality_gates": {
            "passed_gates": ["pit_ordering_check"],
            "failed_gates": ["lookahead_check"],
            "gate_results": {
                "pit_ordering_check": {"passed": True, "violations": 0},
                "lookahead_check": {"passed": False},
            },
        },
        "artifacts": {"paths": ["/tmp/out/features.parquet", "/tmp/out/lineage.json"]},
        "lineage": {"request_hash": "abc"},
    }


def test_output_contract_accepts_a_complete_output() -> None:
    output = sample_output()
    assert validate_output_v2(output) is output


def test_output_contract_names_every_problem() -> None:
    output = sample_output()
    output["decision"]["status"] = "maybe"
    del output["results"]["row_count"]
    output["quality_gates"]["passed_gates"].append("lookahead_check")
    with pytest.raises(ValidationError) as info:
        validate_output_v2(output)
    assert [p for p, _ in info.value.problems] == [
        "$.decision.status",
        "$.quality_gates",
        "$.results.row_count",
    ]


# --- never any other exception ------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _containers(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every dict / list inside ``value`` (including the root)."""
    out = [path] if isinstance(value, dict | list) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        out += _containers(child, (*path, key))
    return out


def _at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_requests(draw: st.DrawFn) -> Any:
    request = guide_request()
    for _ in range(draw(st.integers(1, 3))):
        containers = _containers(request)
        if not containers:
            break
        parent = _at(request, draw(st.sampled_from(containers)))
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        action = draw(st.sampled_from(["delete", "replace", "add_key", "out_of_range", "retype"]))
        if action == "add_key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        elif not keys:
            continue
        else:
            key = draw(st.sampled_from(keys))
            if action == "delete":
                del parent[key]
            elif action == "replace":
                parent[key] = draw(json_values)
            elif action == "out_of_range":
                parent[key] = draw(st.sampled_from([-1, 0, -5.5, 1e308, 2, "", [], {}]))
            else:
                current = parent[key]
                parent[key] = [current] if not isinstance(current, list) else json.dumps(current)
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    return request


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_requests())
def test_mutated_requests_are_valid_or_raise_one_validation_error_naming_paths(request: Any) -> None:
    try:
        out = validate_quant_research_input_v2(request)
    except ValidationError as exc:
        assert exc.problems
        for path, message in exc.problems:
            assert path.startswith("$") and message
            assert f"{path}: {message}" in str(exc)
    else:
        assert isinstance(out, dict) and out["schema_version"] == "2.0"


# --- command line --------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_validate_prints_valid_for_the_guide_request(tmp_path) -> None:
    path = tmp_path / "request.json"
    path.write_text(GUIDE_REQUEST_JSON)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "valid"


def test_cli_validate_lists_every_problem_and_exits_2(tmp_path) -> None:
    request = guide_request()
    request["spine"]["config"]["volume_threshold"] = -5
    request["labels"][0]["window"] = 0
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "$.spine.config.volume_threshold: expected a number > 0, got -5" in result.output
    assert "$.labels[0].window: expected a whole number of bars >= 1, got 0" in result.output


def test_cli_validate_reports_unreadable_json_and_exits_2(tmp_path) -> None:
    path = tmp_path / "request.json"
    path.write_text("{ not json")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 2
    assert runner.invoke(app, ["validate", str(tmp_path / "missing.json")]).exit_code == 2


def test_cli_run_rejects_an_invalid_request_with_exit_2_before_running(tmp_path) -> None:
    request = guide_request()
    request["mode"] = "bars_first"
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "$.mode" in result.output


def test_run_summary_shows_decision_rows_gates_and_artifacts() -> None:
    from rich.console import Console

    console = Console(record=True, width=200)
    render_summary(sample_output(), console)
    text = console.export_text()
    for expected in (
        "reject",
        "lookahead_check failed",
        "10",
        "pit_ordering_check",
        "/tmp/out/features.parquet",
    ):
        assert expected in text
