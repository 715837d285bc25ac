"""Fixed-holding-period backtest of a thresholded signal (Numba kernel).

Rules (one unit per trade, PnL in basis points of the entry price):

- A bar ``i`` whose ``|signal| > threshold`` and whose regime passes the filter opens a trade with
  direction ``side * sign(signal)`` (``side = -1``: contrarian, the notebook's rule).
- Entry price: the open of bar ``i + 1`` (``entry="next_open"``, default: the signal is known at the
  close of bar ``i``, so that is the first price one can trade at), or the close of bar ``i``
  (``entry="signal_close"``, notebook parity; it assumes a fill at the very price that produced
  the signal).
- Exit at the close of bar ``i + holding_bars``. If that bar has no price (a gap on the grid), the
  exit is the next bar with a price. A trade without an entry price is not taken; a trade whose exit
  lies beyond the data is dropped (no open position is marked to market).
- One position at a time: a new signal is taken from the exit bar on (``overlapping=False``), or
  every qualifying bar opens its own unit (``overlapping=True``).
- Round-trip fee ``fee_bps`` is subtracted from every trade.

``parity=True`` reproduces the notebook's ``backtest_fixed_holding`` exactly: rows without a signal
are dropped first, bars are counted on the remaining rows, and the loop stops ``holding_bars`` rows
before the end (a trade whose exit falls in the last ``holding_bars`` rows is never closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numba as nb
import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.backtest.metrics import TsLabel, trade_metrics

EntryMode = Literal["next_open", "signal_close"]


@nb.njit(cache=True)
def fixed_holding_kernel(
    signal: np.ndarray,
    tradeable: np.ndarray,
    entry_px: np.ndarray,
    exit_px: np.ndarray,
    threshold: float,
    holding: int,
    side: int,
    entry_lag: int,
    overlapping: bool,
    parity: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the trading rule over one series.

    Returns
    -------
    signal_idx, exit_idx, direction, entry_idx
        One element per closed trade, in entry order (Int64 row indices, direction in {-1, +1}).
    """
    n = signal.shape[0]
    sig_out = np.empty(n, np.int64)
    exit_out = np.empty(n, np.int64)
    dir_out = np.empty(n, np.int64)
    entry_out = np.empty(n, np.int64)
    k = 0
    last = n - holding if parity else n
    free_from = 0
    for i in range(max(last, 0)):
        if not overlapping and i < free_from:
            continue
        s = signal[i]
        if not tradeable[i] or not np.isfinite(s):
            continue
        if s > threshold:
            d = side
        elif s < -threshold:
            d = -side
        else:
            continue
        e = i + entry_lag
        if e >= n or not np.isfinite(entry_px[e]):
            continue
        x = i + holding
        if parity:
            if x > last - 1:
                break
        else:
            while x < n and not np.isfinite(exit_px[x]):
                x += 1
            if x >= n:
                if overlapping:
                    continue
                break
        sig_out[k] = i
        exit_out[k] = x
        dir_out[k] = d
        entry_out[k] = e
        k += 1
        free_from = x
    return sig_out[:k], exit_out[:k], dir_out[:k], entry_out[:k]


@dataclass(frozen=True)
class BacktestResult:
    """Trades and summary metrics of one backtest.

    Attributes
    ----------
    trades
        One row per closed trade: ``signal_ts``, ``entry_ts``, ``exit_ts`` (Int64 µs, bar known-at
        clock), ``direction``, ``entry_price``, ``exit_price``, ``signal_value``, ``gross_bps``,
        ``net_bps``, ``cum_gross_bps``, ``cum_net_bps``.
    metrics
        See :func:`pointline.research.backtest.metrics.trade_metrics`.
    """

    trades: pl.DataFrame
    metrics: dict[str, float]


@dataclass(frozen=True)
class PreparedSeries:
    """Arrays the kernel needs, extracted once per frame (sweeps reuse them)."""

    ts: np.ndarray
    signal: np.ndarray
    regime: np.ndarray
    entry_px: np.ndarray
    exit_px: np.ndarray
    entry_lag: int
    parity: bool
    interval_us: int
    ts_label: TsLabel = "end"


def _floats(df: pl.DataFrame, col: str) -> np.ndarray:
    return df[col].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()


def prepare_series(
    df: pl.DataFrame,
    *,
    signal_col: str = "signal",
    close_col: str = "close",
    open_col: str | None = "open",
    regime_col: str | None = "vol_regime",
    ts_col: str = "ts",
    entry: EntryMode = "next_open",
    parity: bool = False,
    interval_us: int = 300_000_000,
    ts_label: TsLabel = "end",
) -> PreparedSeries:
    """Extract the arrays of a bar frame once; see :func:`backtest_fixed_holding` for the arguments."""
    needed = [signal_col, close_col, ts_col] + ([open_col] if entry == "next_open" and open_col else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise PointlineError(f"backtest: column(s) {missing} not in frame; available: {df.columns}")
    if entry not in ("next_open", "signal_close"):
        raise PointlineError(f"backtest: entry must be 'next_open' or 'signal_close', got {entry!r}")
    if entry == "next_open" and open_col is None:
        raise PointlineError("backtest: entry='next_open' needs an open price column (open_col)")
    if ts_label not in ("end", "start"):
        raise PointlineError(f"backtest: ts_label must be 'end' or 'start', got {ts_label!r}")
    if parity:
        df = df.filter(pl.col(signal_col).is_not_null() & pl.col(signal_col).is_not_nan())
    close = _floats(df, close_col)
    entry_px = _floats(df, open_col) if entry == "next_open" and open_col else close
    if regime_col is not None and regime_col in df.columns:
        regime = df[regime_col].cast(pl.Utf8).fill_null("").to_numpy().astype(str)
    else:
        regime = np.full(df.height, "", dtype=str)
    return PreparedSeries(
        ts=df[ts_col].to_numpy().astype(np.int64),
        signal=_floats(df, signal_col),
        regime=regime,
        entry_px=entry_px,
        exit_px=close,
        entry_lag=1 if entry == "next_open" else 0,
        parity=parity,
        interval_us=interval_us,
        ts_label=ts_label,
    )


def tradeable_mask(series: PreparedSeries, vol_filter: Sequence[str] | None) -> np.ndarray:
    """True where the signal bar's regime is in ``vol_filter`` (everywhere when it is None)."""
    if not vol_filter:
        return np.ones(series.signal.shape[0], dtype=np.bool_)
    return np.isin(series.regime, np.asarray(list(vol_filter), dtype=str))


def run_prepared(
    series: PreparedSeries,
    tradeable: np.ndarray,
    *,
    threshold: float,
    holding_bars: int,
    fee_bps: float,
    side: int = -1,
    overlapping: bool = False,
) -> dict[str, np.ndarray]:
    """Run the kernel on prepared arrays; returns the trade arrays (indices, prices, bps)."""
    if holding_bars < 1:
        raise PointlineError(f"backtest: holding_bars must be >= 1, got {holding_bars}")
    if side not in (-1, 1):
        raise PointlineError(f"backtest: side must be -1 (contrarian) or +1 (momentum), got {side}")
    sig_i, exit_i, direction, entry_i = fixed_holding_kernel(
        series.signal,
        tradeable,
        series.entry_px,
        series.exit_px,
        float(threshold),
        int(holding_bars),
        int(side),
        series.entry_lag,
        bool(overlapping),
        series.parity,
    )
    entry_price = series.entry_px[entry_i]
    exit_price = series.exit_px[exit_i]
    gross = (exit_price / entry_price - 1.0) * 10_000.0 * direction
    return {
        "signal_idx": sig_i,
        "entry_idx": entry_i,
        "exit_idx": exit_i,
        "direction": direction,
        "entry_price": entry_price,
        "exit_price": exit_price,
        "gross_bps": gross,
        "net_bps": gross - fee_bps,
    }


def trades_frame(series: PreparedSeries, arrays: dict[str, np.ndarray]) -> pl.DataFrame:
    """Turn kernel output into the documented trade list."""
    ts = series.ts
    return pl.DataFrame(
        {
            "signal_ts": ts[arrays["signal_idx"]],
            "entry_ts": ts[arrays["entry_idx"]],
            "exit_ts": ts[arrays["exit_idx"]],
            "direction": arrays["direction"].astype(np.int8),
            "entry_price": arrays["entry_price"],
            "exit_price": arrays["exit_price"],
            "signal_value": series.signal[arrays["signal_idx"]],
            "gross_bps": arrays["gross_bps"],
            "net_bps": arrays["net_bps"],
        },
        schema_overrides={"signal_ts": pl.Int64, "entry_ts": pl.Int64, "exit_ts": pl.Int64},
    ).with_columns(
        pl.col("gross_bps").cum_sum().alias("cum_gross_bps"),
        pl.col("net_bps").cum_sum().alias("cum_net_bps"),
    )


def series_metrics(
    series: PreparedSeries, arrays: dict[str, np.ndarray], holding_bars: int
) -> dict[str, float]:
    """:func:`pointline.research.backtest.metrics.trade_metrics` of :func:`run_prepared`'s trades.

    The calendar is the time the series' own bars cover (a row missing from the frame is no covered
    time), so a window's metrics never count time outside its data; a series without bars has
    all-zero metrics (``covered_days`` 0).

    Parameters
    ----------
    series
        The series the trades were run on.
    arrays
        :func:`run_prepared` output.
    holding_bars
        The configuration's holding period.

    Returns
    -------
    dict[str, float]
        The metrics of :data:`pointline.research.backtest.metrics.METRIC_NAMES`.

    Example
    -------
    >>> m = series_metrics(s, run_prepared(s, mask, threshold=1.5, holding_bars=6, fee_bps=7.0), 6)  # doctest: +SKIP
    """
    return trade_metrics(
        arrays["net_bps"],
        series.ts[arrays["exit_idx"]],
        bar_ts=series.ts,
        holding_bars=holding_bars,
        interval_us=series.interval_us,
        ts_label=series.ts_label,
    )


def flat_metrics(series: PreparedSeries) -> dict[str, float]:
    """The metrics of staying flat on ``series``: no trade, so zeros, over the days its bars cover.

    Example
    -------
    >>> s = prepare_series(pl.DataFrame({"ts": [300_000_000 * k for k in range(1, 289)], "signal": 0.0,
    ...                                  "close": 1.0}), entry="signal_close", regime_col=None)
    >>> m = flat_metrics(s)
    >>> m["covered_days"], m["n_trades"], m["turnover_per_day"], m["sharpe"]
    (1.0, 0.0, 0.0, 0.0)
    """
    none = {"net_bps": np.empty(0, dtype=np.float64), "exit_idx": np.empty(0, dtype=np.int64)}
    return series_metrics(series, none, holding_bars=1)


def backtest_fixed_holding(
    df: pl.DataFrame,
    *,
    threshold: float = 1.5,
    holding_bars: int = 6,
    fee_bps: float = 7.0,
    vol_filter: Sequence[str] | None = None,
    signal_col: str = "signal",
    close_col: str = "close",
    open_col: str | None = "open",
    regime_col: str | None = "vol_regime",
    ts_col: str = "ts",
    entry: EntryMode = "next_open",
    side: int = -1,
    overlapping: bool = False,
    parity: bool = False,
    interval_us: int = 300_000_000,
    ts_label: TsLabel = "end",
) -> BacktestResult:
    """Backtest the fixed-holding rule described in the module docstring.

    Parameters
    ----------
    df
        One row per bar in time order; ``ts_col`` is the bar's known-at instant (Int64 µs).
    threshold
        Entry when ``|signal| > threshold``.
    holding_bars
        Bars from the signal bar to the exit bar.
    fee_bps
        Round-trip fee in bps (e.g. taker 5 + maker 2 = 7).
    vol_filter
        Regimes in which a signal may open a trade (``None``: all bars, warm-up included).
    signal_col, close_col, open_col, regime_col, ts_col
        Column names.
    entry
        ``"next_open"`` (default) or ``"signal_close"`` (notebook parity).
    side
        ``-1`` contrarian (short a high signal), ``+1`` momentum.
    overlapping
        Allow several open positions (one per qualifying bar).
    parity
        Reproduce the notebook's loop exactly (see the module docstring).
    interval_us
        Bar length in µs (the bars' intervals: calendar Sharpe days, turnover per day).
    ts_label
        ``"end"`` (default): ``ts_col`` is the bar's end, its known-at instant (the lake's ``ts``);
        ``"start"``: the bar's start (e.g. the notebook's ``bucket_start``). Dates bars for the metrics.

    Returns
    -------
    BacktestResult
        Trade list and metrics.

    Example
    -------
    >>> bars = pl.DataFrame({"ts": [1, 2, 3, 4], "signal": [3.0, 0.0, 0.0, 0.0],
    ...                      "open": [100.0, 100.0, 99.0, 98.0], "close": [100.0, 99.0, 98.0, 97.0]})
    >>> res = backtest_fixed_holding(bars, threshold=1.0, holding_bars=2, fee_bps=0.0, regime_col=None)
    >>> round(res.trades["gross_bps"][0], 6)  # short at the open of bar 2 (100), cover at 98
    200.0
    """
    series = prepare_series(
        df,
        signal_col=signal_col,
        close_col=close_col,
        open_col=open_col,
        regime_col=regime_col,
        ts_col=ts_col,
        entry=entry,
        parity=parity,
        interval_us=interval_us,
        ts_label=ts_label,
    )
    arrays = run_prepared(
        series,
        tradeable_mask(series, vol_filter),
        threshold=threshold,
        holding_bars=holding_bars,
        fee_bps=fee_bps,
        side=side,
        overlapping=overlapping,
    )
    return BacktestResult(
        trades=trades_frame(series, arrays), metrics=series_metrics(series, arrays, holding_bars)
    )
