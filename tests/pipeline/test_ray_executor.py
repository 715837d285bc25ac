"""``execution.executor: "ray"``: one Ray task per symbol on a local Ray instance, the same table as
the local executor, and the caller's own registered operators available in the workers."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pointline.errors import SymbolNotFoundError
from pointline.research.pipeline_v2 import pipeline
from pointline.research.resample import registry
from pointline.scale.executors import map_items

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module (the executor starts it on first use), stopped after."""
    yield
    if ray.is_initialized():
        ray.shutdown()


def test_ray_tasks_return_in_item_order_and_raise_the_task_s_own_error() -> None:
    def lower(symbol: str) -> str:  # defined here, so it travels by value (as from a notebook)
        if symbol == "XXX":
            raise SymbolNotFoundError(f"no instrument {symbol!r}")
        return symbol.lower()

    results, ran = map_items(lower, ["A", "B", "C"], executor="ray", max_workers=2)
    assert results == ["a", "b", "c"]
    assert ran["ran_on"] == "ray" and ran["workers"] == 2
    assert ran["ray"]["nodes"] >= 1 and ran["ray"]["cpus"] >= 1
    with pytest.raises(SymbolNotFoundError) as raised:
        map_items(lower, ["A", "XXX"], executor="ray")
    assert type(raised.value) is SymbolNotFoundError and str(raised.value) == "no instrument 'XXX'"


def _both_symbols(request: dict[str, Any], executor: str, out: str) -> dict[str, Any]:
    both = copy.deepcopy(request)
    for source in both["sources"]:
        source["filters"]["symbol"] = ["BTCUSDT", "ETHUSDT"]
    both["constraints"]["skip_reproducibility_check"] = True
    both["execution"] = {"executor": executor, "max_workers": 2}
    both["artifacts"]["output_dir"] = out
    return both


def test_a_request_on_ray_gives_the_local_executor_s_table(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    local = pipeline(_both_symbols(guide_request, "local", str(tmp_path / "local")))
    on_ray = pipeline(_both_symbols(guide_request, "ray", str(tmp_path / "ray")))
    assert on_ray["decision"] == local["decision"]
    assert on_ray["quality_gates"] == local["quality_gates"]
    table = pl.read_parquet(on_ray["artifacts"]["paths"][0])
    assert table.equals(pl.read_parquet(local["artifacts"]["paths"][0]))
    assert table["symbol_id"].n_unique() == 2
    execution = json.loads(Path(on_ray["artifacts"]["paths"][1]).read_text())["execution"]
    assert execution["requested"] == "ray" and execution["ran_on"] == "ray"


def test_an_aggregation_registered_in_this_session_runs_in_the_ray_workers(
    guide_request: dict[str, Any], tmp_path: Path
) -> None:
    class LargestTrade(registry.AggregationSpec):  # defined here: workers cannot import it
        name = "test_ray_largest_trade"
        required_columns = ["qty"]  # noqa: RUF012

        def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
            return [pl.col("qty").max().alias("largest_trade")]

    registry.register_aggregation(LargestTrade)
    try:
        request = _both_symbols(guide_request, "ray", str(tmp_path / "ray"))
        request["operators"].append(
            {"name": "largest", "stage": "aggregate", "agg": LargestTrade.name, "source": "trades_src"}
        )
        out = pipeline(request)
    finally:
        registry._REGISTRY.pop(LargestTrade.name)
    assert out["decision"]["status"] == "accept", out["decision"]
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    assert (table["largest_trade"] <= table["volume"]).all()
    assert table["largest_trade"].null_count() == table["volume"].null_count() < table.height
