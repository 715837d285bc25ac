"""``execution.executor: "local"``: one worker process per symbol, the same table, gates and decision
as ``threads`` and inline, and the caller's own registered operators available in the workers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research.pipeline_v2 import pipeline
from pointline.research.pipeline_v2.hashing import frame_hash
from pointline.research.resample import registry


def _both_symbols(request: dict[str, Any], execution: dict[str, Any], out: Path) -> dict[str, Any]:
    both = copy.deepcopy(request)
    for source in both["sources"]:
        source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    both["constraints"]["skip_reproducibility_check"] = True
    both["execution"] = execution
    both["artifacts"]["output_dir"] = str(out)
    return both


def _ran(out: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, Any]]:
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    return table, json.loads(Path(out["artifacts"]["paths"][1]).read_text())


def test_worker_processes_threads_and_inline_give_the_same_run(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    outs = {
        name: pipeline(_both_symbols(guide_request, execution, tmp_path / name))
        for name, execution in {
            "local": {"executor": "local", "max_workers": 2},
            "threads": {"executor": "threads", "max_workers": 2},
            "inline": {"max_workers": 1},
        }.items()
    }
    tables = {name: _ran(out)[0] for name, out in outs.items()}
    assert tables["local"]["symbol_id"].n_unique() == 2
    for name in ("threads", "inline"):
        assert tables[name].equals(tables["local"]), name
        assert frame_hash(tables[name]) == frame_hash(tables["local"])
        assert outs[name]["quality_gates"] == outs["local"]["quality_gates"]
        assert outs[name]["decision"] == outs["local"]["decision"]
        assert outs[name]["results"] == outs["local"]["results"]
    assert outs["local"]["decision"]["status"] == "accept", outs["local"]["decision"]
    executions = {name: _ran(out)[1]["execution"] for name, out in outs.items()}
    assert executions == {
        "local": {"requested": "local", "ran_on": "local processes", "workers": 2},
        "threads": {"requested": "threads", "ran_on": "local threads", "workers": 2},
        "inline": {"requested": "local", "ran_on": "inline", "workers": 1},
    }
    assert _ran(outs["local"])[1]["output_hash"] == frame_hash(tables["local"])


def test_an_aggregation_registered_in_this_session_runs_in_the_worker_processes(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    class LargestTrade(registry.AggregationSpec):  # defined here: the workers get it by value
        name = "test_local_largest_trade"
        required_columns = ["qty"]  # noqa: RUF012

        def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
            return [pl.col("qty").max().alias("largest_trade")]

    registry.register_aggregation(LargestTrade)
    try:
        request = _both_symbols(guide_request, {"executor": "local", "max_workers": 2}, tmp_path / "out")
        request["operators"].append(
            {"name": "largest", "stage": "aggregate", "agg": LargestTrade.name, "source": "trades_src"}
        )
        out = pipeline(request)
    finally:
        registry._REGISTRY.pop(LargestTrade.name)
    assert out["decision"]["status"] == "accept", out["decision"]
    table, lineage = _ran(out)
    assert lineage["execution"]["ran_on"] == "local processes"
    assert (table["largest_trade"] <= table["volume"]).all()
    assert table["largest_trade"].null_count() == table["volume"].null_count() < table.height


def test_a_symbol_s_error_reads_the_same_from_a_worker_process(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    errors = []
    for executor in ("local", "threads"):
        request = _both_symbols(guide_request, {"executor": executor, "max_workers": 2}, tmp_path / executor)
        for source in request["sources"]:
            source["filters"]["symbol"] = ["BTCUSDT", "DOGEUSDT"]  # not in the synthetic lake
        with pytest.raises(PointlineError) as raised:
            pipeline(request)
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1]
    assert "DOGEUSDT" in errors[0][1]
