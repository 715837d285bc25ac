"""The shipped examples (used by `make demo` and the README) stay valid as the contracts evolve."""

from __future__ import annotations

import json
from pathlib import Path

from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.study import StudyConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_guide_request_example_is_a_valid_request() -> None:
    request = json.loads((EXAMPLES / "guide_request.json").read_text())
    validate_quant_research_input_v2(request)
    assert [op["agg"] for op in request["operators"]][:2] == ["trade_vwap", "ohlcv"]


def test_study_example_is_a_valid_config() -> None:
    cfg = StudyConfig.from_file(EXAMPLES / "study.yaml")
    assert cfg.exchanges == ["binance-futures", "bybit", "okex-swap"]
    assert cfg.walk_forward["split"] == "2024-05-03"
