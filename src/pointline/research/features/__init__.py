"""Per-bar features: the notebook's feature builder, derived features, cross-sectional joins."""

from pointline.research.features.cross_section import add_spreads, align_cross_section, consensus_mean
from pointline.research.features.derived import (
    add_derived_features,
    list_derived,
    register_derived,
)
from pointline.research.features.notebook import notebook_features

__all__ = [
    "add_derived_features",
    "add_spreads",
    "align_cross_section",
    "consensus_mean",
    "list_derived",
    "notebook_features",
    "register_derived",
]
