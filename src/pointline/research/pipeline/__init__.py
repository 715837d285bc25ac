"""The contract-first pipeline: ``pipeline(request)`` and the request validator.

Example
-------
>>> from pointline.research import pipeline, validate_quant_research_input_v2
>>> validate_quant_research_input_v2(request)  # doctest: +SKIP
>>> output = pipeline(request)  # doctest: +SKIP
"""

from pointline.research.pipeline.contract import validate_output_v2, validate_quant_research_input_v2
from pointline.research.pipeline.runner import pipeline, run_request

__all__ = ["pipeline", "run_request", "validate_output_v2", "validate_quant_research_input_v2"]
