"""Per-bar features: the notebook's feature builder, derived features, cross-sectional joins.

``build_feature_frame`` / ``FeatureRunConfig`` (the guide's exploration entry point) run the
pipeline's engine and are loaded lazily from :mod:`pointline.research.pipeline_v2.frame`;
``notebook_features_from_lake`` (the notebook's features read from the lake in parallel day chunks)
from :mod:`pointline.research.features.from_lake`.
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
    "notebook_features_from_lake",
    "register_derived",
]


def __getattr__(name: str) -> Any:
    if name in ("build_feature_frame", "FeatureRunConfig", "feature_request"):
        from pointline.research.pipeline_v2 import frame

        return getattr(frame, name)
    if name == "notebook_features_from_lake":
        from pointline.research.features import from_lake

        return from_lake.notebook_features_from_lake
    raise AttributeError(f"module 'pointline.research.features' has no attribute {name!r}")
