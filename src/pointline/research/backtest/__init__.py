"""Backtests of thresholded signals: fixed holding period, parameter sweeps, walk-forward."""

from pointline.research.backtest.fixed_holding import BacktestResult, backtest_fixed_holding, prepare_series
from pointline.research.backtest.metrics import trade_metrics
from pointline.research.backtest.sweep import best_config, sweep
from pointline.research.backtest.walkforward import (
    Fold,
    WalkForwardResult,
    make_folds,
    oos_summary,
    walk_forward,
)

__all__ = [
    "BacktestResult",
    "Fold",
    "WalkForwardResult",
    "backtest_fixed_holding",
    "best_config",
    "make_folds",
    "oos_summary",
    "prepare_series",
    "sweep",
    "trade_metrics",
    "walk_forward",
]
