"""Research API: discovery, query, spines, features, the pipeline and signal research.

Names are loaded lazily so ``from pointline.research import query`` stays cheap.

Example
-------
>>> from pointline import research
>>> research.data_coverage("binance-futures", "BTCUSDT")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "data_coverage": ("pointline.research.discovery", "data_coverage"),
    "list_symbols": ("pointline.research.discovery", "list_symbols"),
    "pipeline": ("pointline.research.pipeline_v2", "pipeline"),
    "validate_quant_research_input_v2": (
        "pointline.research.pipeline_v2",
        "validate_quant_research_input_v2",
    ),
}

__all__ = ["data_coverage", "list_symbols", "pipeline", "query", "sql", "validate_quant_research_input_v2"]


def __getattr__(name: str) -> Any:
    if name in ("query", "sql"):
        return importlib.import_module(f"pointline.research.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'pointline.research' has no attribute {name!r}")
