"""Per-bar features: the notebook's feature builder, derived features, cross-sectional joins.

``build_feature_frame`` / ``FeatureRunConfig`` (the guide's exploration entry point) run the
pipeline's engine and are loaded lazily from :mod:`pointline.research.pipeline_v2.frame`.
"""

from typing import Any

from pointline.research.features.cross_section import add_spreads, align_cross_section, consensus_mean
from pointline.research.features.derived import (
    add_derived_features,
    list_derived,
    register_derived,
)
from pointline.research.features.notebook import notebook_features

__all__ = [
    "FeatureRunConfig",
    "add_derived_features",
    "add_spreads",
    "align_cross_section",
    "build_feature_frame",
    "consensus_mean",
    "list_derived",
    "notebook_features",
    "register_derived",
]


def __getattr__(name: str) -> Any:
    if name in ("build_feature_frame", "FeatureRunConfig", "feature_request"):
        from pointline.research.pipeline_v2 import frame

        return getattr(frame, name)
    raise AttributeError(f"module 'pointline.research.features' has no attribute {name!r}")
