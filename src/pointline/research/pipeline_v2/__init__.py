"""The contract-first pipeline: ``pipeline(request)`` and the request validator.

Example
-------
>>> from pointline.research import pipeline, validate_quant_research_input_v2
>>> validate_quant_research_input_v2(request)  # doctest: +SKIP
>>> output = pipeline(request)  # doctest: +SKIP
"""

from pointline.research.pipeline_v2.contract import (
    load_output_schema,
    load_request_schema,
    validate_output_v2,
    validate_quant_research_input_v2,
)
from pointline.research.pipeline_v2.metrics import compute_metrics, list_metrics, register_metric
from pointline.research.pipeline_v2.runner import pipeline, run_request

__all__ = [
    "compute_metrics",
    "list_metrics",
    "load_output_schema",
    "load_request_schema",
    "pipeline",
    "register_metric",
    "run_request",
    "validate_output_v2",
    "validate_quant_research_input_v2",
]
