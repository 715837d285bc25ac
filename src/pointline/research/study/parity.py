"""The notebook's walk-forward, reproduced for parity runs (it leaks; the report says where).

- The composite is z-scored with the mean and std of the *training* composite (frozen) — fine.
- The regime labels come from a full-sample ``qcut`` — a leak (built in the parity study frame).
- The whole sweep is run on the *test* window and the best test configuration is reported as
  "out of sample" — selection on the test data, the leak that matters most.
- In-sample figures are that same configuration run on the training window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from pointline.research.backtest.fixed_holding import (
    flat_metrics,
    prepare_series,
    run_prepared,
    series_metrics,
    tradeable_mask,
    trades_frame,
)
from pointline.research.backtest.metrics import METRIC_NAMES
from pointline.research.backtest.sweep import best_config, sweep
from pointline.research.backtest.walkforward import WalkForwardResult
from pointline.research.composite import frozen_zscore

LEAKS: tuple[tuple[str, str, str, bool], ...] = (
    (
        "bar timestamp",
        "bucket start (features labelled 5 min before they are known)",
        "bucket end = known-at instant (ts)",
        True,
    ),
    ("volatility regime", "pd.qcut over the full sample", "expanding quantiles known at each bar", True),
    ("entry price", "close of the signal bar", "open of the next bar", True),
    (
        "walk-forward choice",
        "best configuration picked on the test window",
        "picked on the training window",
        True,
    ),
    (
        "forward returns",
        "pct_change over rows (gaps stretch the horizon)",
        "exact time grid, null across gaps",
        False,
    ),
    ("walk-forward z-score", "frozen train mean/std", "trailing mean/std (both causal)", False),
)


def notebook_walk_forward(
    frame: pl.DataFrame,
    split_us: int,
    *,
    thresholds: Sequence[float],
    holdings: Mapping[str, int],
    vol_filters: Mapping[str, Sequence[str] | None],
    fee_bps: float,
    side: int = -1,
    overlapping: bool = False,
    prepare_kwargs: Mapping[str, Any],
    min_trades: int = 20,
) -> WalkForwardResult:
    """The notebook's section 6–7 on a parity study frame.

    Parameters
    ----------
    frame
        Parity study frame (``composite``, ``vol_regime``, prices).
    split_us
        First test instant on the ``prepare_kwargs["ts_col"]`` clock (bucket start in parity).
    thresholds, holdings, vol_filters, fee_bps, side, overlapping
        The sweep grid and trading rule.
    prepare_kwargs
        Column names, entry mode and parity flag for ``prepare_series``.
    min_trades
        The notebook keeps test configurations with more than 20 trades.

    Returns
    -------
    WalkForwardResult
        One fold row (the chosen configuration, ``is_*`` and ``oos_*`` metrics) and the trades;
        without a choice, null ``is_*`` and the flat strategy's ``oos_*`` metrics, as in ``walk_forward``.
    """
    ts_col = prepare_kwargs.get("ts_col", "ts")
    comp = frame["composite"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    train_mask = frame[ts_col].to_numpy() < split_us
    wf = frame.with_columns(pl.Series("signal", frozen_zscore(comp, train_mask)).fill_nan(None))
    train = prepare_series(wf.filter(pl.Series(train_mask)), **prepare_kwargs)
    test = prepare_series(wf.filter(pl.Series(~train_mask)), **prepare_kwargs)
    kw = {"fee_bps": fee_bps, "side": side, "overlapping": overlapping}
    grid = sweep(test, thresholds=thresholds, holdings=holdings, vol_filters=vol_filters, **kw)
    chosen = best_config(grid, min_trades=min_trades)
    row: dict[str, Any] = {
        "fold": 0,
        "train_start": int(frame[ts_col].min()),
        "train_end": split_us,
        "test_start": split_us,
        "test_end": int(frame[ts_col].max()) + 1,
        "chosen_on": "test (leak)",
    }
    empty = pl.DataFrame(schema={"fold": pl.Int32})
    if chosen is None:  # flat on the test window, as in walk_forward
        row.update({f"is_{k}": None for k in METRIC_NAMES})
        row.update({f"oos_{k}": v for k, v in flat_metrics(test).items()})
        return WalkForwardResult(folds=pl.DataFrame([row]), is_trades=empty, oos_trades=empty)
    row.update({k: chosen[k] for k in ("vol_filter", "threshold", "holding", "holding_bars")})
    parts = {}
    for name, series in (("is", train), ("oos", test)):
        arrays = run_prepared(
            series,
            tradeable_mask(series, vol_filters[chosen["vol_filter"]]),
            threshold=chosen["threshold"],
            holding_bars=chosen["holding_bars"],
            **kw,
        )
        metrics = series_metrics(series, arrays, chosen["holding_bars"])
        row.update({f"{name}_{k}": v for k, v in metrics.items()})
        parts[name] = trades_frame(series, arrays).with_columns(pl.lit(0).alias("fold"))
    return WalkForwardResult(folds=pl.DataFrame([row]), is_trades=parts["is"], oos_trades=parts["oos"])
