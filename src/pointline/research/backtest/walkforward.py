"""Walk-forward validation: the configuration is chosen on the training window only.

For each fold the whole sweep runs on the bars of ``[train_start, train_end)`` alone (a trade whose
exit would fall after ``train_end`` is never closed, so no test price reaches the choice); the chosen
configuration is then run on ``[test_start, test_end)`` and reported out of sample. A fold in which
no configuration is chosen (none has enough training trades) is **flat** out of sample: it trades
nothing, so its test window counts as 0 trades and 0 PnL over the days its bars cover. Folds are
``rolling`` (fixed-length training window) or ``anchored`` (training always starts at the first bar).
All bounds are µs on the bars' ``ts`` (known-at) clock, half-open. :func:`make_folds` puts every bar
after the first training window in exactly one test window when the step equals the test length,
the last bar included; the last test window ends one µs past the last bar, never beyond.

The signal and regime columns of the frame must themselves be point-in-time (trailing windows,
causal thresholds); then nothing computed for a training bar depends on a test bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.research.backtest.fixed_holding import (
    PreparedSeries,
    flat_metrics,
    prepare_series,
    run_prepared,
    series_metrics,
    tradeable_mask,
    trades_frame,
)
from pointline.research.backtest.metrics import METRIC_NAMES
from pointline.research.backtest.sweep import best_config, sweep


@dataclass(frozen=True)
class Fold:
    """One train/test split; all bounds Int64 µs on the ``ts`` clock, half-open ``[start, end)``."""

    train_start: int
    train_end: int
    test_start: int
    test_end: int


def make_folds(
    ts_min: int,
    ts_max: int,
    *,
    train_us: int,
    test_us: int,
    step_us: int | None = None,
    anchored: bool = False,
) -> list[Fold]:
    """Consecutive folds over the bars whose ``ts`` lies in ``[ts_min, ts_max]``.

    Windows are half-open ``[start, end)`` on the ``ts`` (known-at) clock, like every window of the
    walk-forward. The first training window starts at ``ts_min``; fold ``k`` splits at
    ``ts_min + train_us + k * step_us``: training is ``[split - train_us, split)`` (``[ts_min, split)``
    when anchored), test ``[split, split + test_us)``. A fold is made for every split at or before
    ``ts_max``, and the last test window is clipped to ``ts_max + 1`` (one µs past the last bar), so:

    - with ``step_us == test_us`` every bar with ``ts >= ts_min + train_us`` — the last one included —
      lies in exactly one test window, and no bar before that in any;
    - test windows never overlap (``step_us >= test_us``) and never reach past the data: the last one
      may be shorter than ``test_us`` (down to the last bar alone) and its metrics cover only its bars;
    - a training window ends where its test window starts: nothing at or after ``test_start`` is
      training data.

    To tile whole UTC days of bars labelled by their end (the lake's ``ts = bucket_end``), pass the
    first bar's ``ts``: a day window then runs from 00:05 to 00:05 on 5-minute bars and holds the
    bars that open from 00:00 to 23:55 (this is what the study does).

    Parameters
    ----------
    ts_min, ts_max
        First and last bar ``ts`` (µs), both included.
    train_us, test_us
        Training and test window lengths (µs, > 0).
    step_us
        Shift between folds (µs, > 0; default ``test_us``: test windows tile time without overlap).
    anchored
        Training windows all start at ``ts_min`` (and grow) instead of rolling.

    Returns
    -------
    list[Fold]
        The folds in time order.

    Raises
    ------
    PointlineError
        A length is not positive, or ``ts_max - ts_min < train_us`` (no bar after the first training window).

    Example
    -------
    >>> [(f.test_start, f.test_end) for f in make_folds(0, 100, train_us=40, test_us=30)]
    [(40, 70), (70, 100), (100, 101)]
    """
    if train_us <= 0 or test_us <= 0:
        raise PointlineError(f"make_folds: train and test lengths must be > 0 µs, got {train_us}, {test_us}")
    if step_us is not None and step_us <= 0:
        raise PointlineError(f"make_folds: step_us must be > 0 µs, got {step_us}")
    step = test_us if step_us is None else step_us
    folds = []
    start = ts_min
    while start + train_us <= ts_max:
        split = start + train_us
        folds.append(
            Fold(
                train_start=ts_min if anchored else start,
                train_end=split,
                test_start=split,
                test_end=min(split + test_us, ts_max + 1),
            )
        )
        start += step
    if not folds:
        raise PointlineError(
            f"make_folds: the data span ({ts_max - ts_min} µs) is shorter than one training window ({train_us} µs)"
        )
    return folds


@dataclass(frozen=True)
class WalkForwardResult:
    """Per-fold choice with in-sample and out-of-sample metrics, plus the trades of both sides."""

    folds: pl.DataFrame
    is_trades: pl.DataFrame
    oos_trades: pl.DataFrame


def _window(df: pl.DataFrame, ts_col: str, start: int, end: int) -> pl.DataFrame:
    return df.filter((pl.col(ts_col) >= start) & (pl.col(ts_col) < end))


def _run_config(
    series: PreparedSeries,
    config: Mapping[str, Any],
    vol_filters: Mapping[str, Sequence[str] | None],
    **kw: Any,
) -> tuple[pl.DataFrame, dict[str, float]]:
    arrays = run_prepared(
        series,
        tradeable_mask(series, vol_filters[config["vol_filter"]]),
        threshold=config["threshold"],
        holding_bars=config["holding_bars"],
        **kw,
    )
    return trades_frame(series, arrays), series_metrics(series, arrays, config["holding_bars"])


def walk_forward(
    df: pl.DataFrame,
    folds: Sequence[Fold],
    *,
    thresholds: Sequence[float],
    holdings: Mapping[str, int],
    vol_filters: Mapping[str, Sequence[str] | None],
    fee_bps: float = 7.0,
    side: int = -1,
    overlapping: bool = False,
    objective: str = "total_pnl_bps",
    min_trades: int = 50,
    prepare_kwargs: Mapping[str, Any] | None = None,
) -> WalkForwardResult:
    """Choose on each training window, evaluate on the following test window.

    Parameters
    ----------
    df
        Bar frame with signal, prices, regime and ``ts`` (see ``prepare_kwargs``).
    folds
        From :func:`make_folds` (or hand-made).
    thresholds, holdings, vol_filters, fee_bps, side, overlapping
        The sweep grid and trading rule (see :func:`pointline.research.backtest.sweep.sweep`).
    objective, min_trades
        Selection rule on the training sweep (highest objective with more than ``min_trades``).
    prepare_kwargs
        Column names and entry mode passed to ``prepare_series``.

    Returns
    -------
    WalkForwardResult
        ``folds``: one row per fold with the bounds, the chosen ``vol_filter``/``threshold``/
        ``holding``, and ``is_<metric>`` / ``oos_<metric>`` columns; trades carry a ``fold`` column.
        A fold that chose no configuration has null choice and ``is_`` columns (nothing was run in
        sample) and the flat strategy's ``oos_`` metrics: zeros, and ``oos_covered_days`` of its
        test window, so out-of-sample totals (:func:`oos_summary`) span every test window.

    Example
    -------
    >>> wf = walk_forward(bars, make_folds(t0, t1, train_us=..., test_us=...),  # doctest: +SKIP
    ...                   thresholds=[1.5], holdings={"30m": 6}, vol_filters={"all": None})
    """
    prep = dict(prepare_kwargs or {})
    ts_col = prep.get("ts_col", "ts")
    kw = {"fee_bps": fee_bps, "side": side, "overlapping": overlapping}
    rows, is_parts, oos_parts = [], [], []
    for i, fold in enumerate(folds):
        train = prepare_series(_window(df, ts_col, fold.train_start, fold.train_end), **prep)
        test = prepare_series(_window(df, ts_col, fold.test_start, fold.test_end), **prep)
        grid = sweep(train, thresholds=thresholds, holdings=holdings, vol_filters=vol_filters, **kw)
        chosen = best_config(grid, objective=objective, min_trades=min_trades)
        row: dict[str, Any] = {"fold": i, **fold.__dict__}
        if chosen is None:
            row.update(vol_filter=None, threshold=None, holding=None, holding_bars=None)
            row.update({f"is_{k}": None for k in METRIC_NAMES})
            row.update({f"oos_{k}": v for k, v in flat_metrics(test).items()})
            rows.append(row)
            continue
        row.update({k: chosen[k] for k in ("vol_filter", "threshold", "holding", "holding_bars")})
        for name, series, parts in (("is", train, is_parts), ("oos", test, oos_parts)):
            trades, metrics = _run_config(series, chosen, vol_filters, **kw)
            row.update({f"{name}_{k}": v for k, v in metrics.items()})
            parts.append(trades.with_columns(pl.lit(i).alias("fold")))
        rows.append(row)
    metric_cols = {f"{side}_{k}": pl.Float64 for side in ("is", "oos") for k in METRIC_NAMES}
    folds_df = pl.DataFrame(rows, infer_schema_length=None, schema_overrides=metric_cols)
    empty = pl.DataFrame(schema={"fold": pl.Int32})
    return WalkForwardResult(
        folds=folds_df,
        is_trades=pl.concat(is_parts) if is_parts else empty,
        oos_trades=pl.concat(oos_parts) if oos_parts else empty,
    )


def oos_summary(folds: pl.DataFrame) -> dict[str, float]:
    """Out-of-sample totals of a walk-forward over all its test windows, flat folds included.

    A fold that chose no configuration trades nothing in its test window, so it adds 0 trades and
    0 PnL and its covered days (:func:`walk_forward` gives it the flat strategy's ``oos_`` metrics).
    The per-trade figures are over all folds' trades, not an average of per-fold averages (which
    would weight a fold of 5 trades like one of 500 and count a fold without trades as 0 bps, 0 %
    wins); the per-day figure is over all test days, the flat ones included.

    Parameters
    ----------
    folds
        :attr:`WalkForwardResult.folds` (or the notebook-parity walk-forward's).

    Returns
    -------
    dict[str, float]
        ``oos_n_trades`` and ``oos_total_pnl_bps`` (sums); ``oos_avg_pnl_bps`` and ``oos_win_rate``
        (per out-of-sample trade, 0 without trades); ``is_avg_pnl_bps`` (per in-sample trade of the
        folds that chose a configuration); ``oos_covered_days`` (days the test windows' bars cover);
        ``oos_turnover_per_day`` (``2 × oos_n_trades / oos_covered_days``, 0 without covered days).
        All 0 without folds.

    Example
    -------
    >>> folds = pl.DataFrame({"oos_n_trades": [30.0, 0.0], "oos_total_pnl_bps": [60.0, 0.0],
    ...                       "oos_win_rate": [0.5, 0.0], "is_n_trades": [80.0, None],
    ...                       "is_total_pnl_bps": [40.0, None], "oos_covered_days": [2.0, 1.0]})
    >>> s = oos_summary(folds)  # the second fold chose nothing: flat over its 1 day
    >>> s["oos_avg_pnl_bps"], s["oos_covered_days"], s["oos_turnover_per_day"]
    (2.0, 3.0, 20.0)
    """
    if "oos_n_trades" not in folds.columns:
        return dict.fromkeys(_OOS_SUMMARY, 0.0)
    oos_n, is_n, days = pl.col("oos_n_trades"), pl.col("is_n_trades"), pl.col("oos_covered_days")
    return folds.select(
        oos_n.sum(),
        pl.col("oos_total_pnl_bps").sum(),
        _per_trade(pl.col("oos_total_pnl_bps"), oos_n).alias("oos_avg_pnl_bps"),
        _per_trade(pl.col("oos_win_rate") * oos_n, oos_n).alias("oos_win_rate"),
        _per_trade(pl.col("is_total_pnl_bps"), is_n).alias("is_avg_pnl_bps"),
        days.sum(),
        pl.when(days.sum() > 0)
        .then(2 * oos_n.sum() / days.sum())
        .otherwise(0.0)
        .alias("oos_turnover_per_day"),
    ).row(0, named=True)


_OOS_SUMMARY = (
    "oos_n_trades",
    "oos_total_pnl_bps",
    "oos_avg_pnl_bps",
    "oos_win_rate",
    "is_avg_pnl_bps",
    "oos_covered_days",
    "oos_turnover_per_day",
)


def _per_trade(total: pl.Expr, n: pl.Expr) -> pl.Expr:
    """``total / n`` over all folds' trades, 0 without trades (the metrics' no-trade convention)."""
    return pl.when(n.sum() > 0).then(total.sum() / n.sum()).otherwise(0.0)
