"""Signal evaluation (numbers only; drawing lives in ``research.report``)."""

from pointline.research.evaluate.deciles import (
    decile_returns,
    decile_spreads,
    quantile_bins,
    regime_spreads,
    with_deciles,
)
from pointline.research.evaluate.ic import ic_one, rank_ic, regime_ic
from pointline.research.evaluate.quality import FeatureQuality, validate_features
from pointline.research.evaluate.quintiles import QuintileResult, quick_backtest

__all__ = [
    "FeatureQuality",
    "QuintileResult",
    "decile_returns",
    "decile_spreads",
    "ic_one",
    "quantile_bins",
    "quick_backtest",
    "rank_ic",
    "regime_ic",
    "regime_spreads",
    "validate_features",
    "with_deciles",
]
