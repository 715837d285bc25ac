"""The request examples printed in docs/pipeline.md validate and, moved onto the synthetic lake's
days, run to an accepted decision: a reader copying one gets a working request."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pointline.research import pipeline
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"


def _requests() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return [r for r in map(json.loads, blocks) if r.get("schema_version") == "2.0"]


REQUESTS = _requests()


def test_the_docs_print_request_examples() -> None:
    assert {r["request_id"] for r in REQUESTS} >= {"btc_5m_vwap", "majors_hybrid_v1"}


@pytest.mark.parametrize("request_", REQUESTS, ids=[r["request_id"] for r in REQUESTS])
def test_each_docs_request_validates_and_runs_on_the_synthetic_lake(
    request_: dict[str, Any], on_synth_lake: Path, tmp_path: Path
) -> None:
    validate_quant_research_input_v2(copy.deepcopy(request_))
    request = copy.deepcopy(request_)
    request["timeline"] = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-03T00:00:00Z"}
    request.setdefault("artifacts", {})["output_dir"] = str(tmp_path / "out")
    request.pop("execution", None)  # the Ray executor has its own test
    if "volume_threshold" in request["spine"]["config"]:
        request["spine"]["config"]["volume_threshold"] = 5.0  # the synthetic volumes are small
    out = pipeline(request)
    assert out["decision"] == {"status": "accept", "reasons": []}, out["decision"]
    assert out["results"]["row_count"] > 50
