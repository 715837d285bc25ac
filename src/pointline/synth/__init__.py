"""Synthetic market generator: writes Tardis.dev-format files with known, documented structure.

See ``docs/synthetic-market.md`` for the model, its equations and the planted contrarian effect.
"""

from pointline.synth.config import SynthConfig
from pointline.synth.effect import expected_flow_ic, measure_flow_ic
from pointline.synth.market import generate_market

__all__ = ["SynthConfig", "expected_flow_ic", "generate_market", "measure_flow_ic"]
