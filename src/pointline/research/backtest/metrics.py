"""Summary statistics of a list of trades (PnL in basis points of one unit).

- ``max_drawdown_bps``: largest fall of cumulative net PnL from its running peak, the peak starting
  at 0 before the first trade (a first losing trade is a drawdown).
- ``covered_days``: the time the bars cover, in days, fractional. A bar covers its interval
  (``[ts - interval, ts)`` when ``ts`` labels the bar's end — the lake's known-at convention — or
  ``[ts, ts + interval)`` when it labels the start), so the bars cover the union of their intervals:
  a day missing from the frame, or rows a parity frame dropped, are not covered. Given a ``span``
  instead of the bars, the bars are taken to fill it (a complete grid: first bar's open to last
  bar's close). Reported even without trades (it describes the bars, not the trades).
- ``sharpe``: calendar Sharpe over the **whole UTC days** of the span the bars cover (first bar's
  open to last bar's close) on which there is data: a day no bar covers (missing from the frame) is
  left out, not counted as a flat day, since nothing could be traded on it. A trade's PnL is booked
  on the UTC day of its exit bar's interval (the day its exit price printed: the bar ending at 00:00
  belongs to the day before). Net PnL is summed per day (days with bars but without trades count
  as 0), then ``mean / std * sqrt(365)`` (crypto trades every day of the year). A partial first or
  last day (data starting at 13:00 or ending at 03:00) is left out, with its trades: its PnL comes
  from a fraction of a day, so counting it as a day drags the mean towards 0 and inflates the
  spread, by an amount that depends on the hour the data starts or ends. A day inside the span that
  bars cover in part (a few dropped rows, an outage) is kept: holes are a property of the data, not
  of where the backtest was cut. Those trades still count in every other metric. Fewer than two
  such days: 0.
- ``sharpe_per_trade``: the notebook's figure, ``mean / std`` of per-trade PnL times
  ``sqrt(252 * bars_per_day / holding_bars)``; kept for parity, it is not a calendar Sharpe.
- ``profit_factor``: gross gains over gross losses (``inf``-free: losses floored at 1e-10 bps).
- ``turnover_per_day``: notional traded per day as a multiple of the position size (one unit).
  Every trade buys and sells one unit, so a round trip is 2 units of turnover:
  ``2 * n_trades / covered_days``. Overlapping units are not netted against each other (each pays
  its own fee). A rate per day of data, so a partial day counts by its length and a missing day not
  at all. The fee charged per unit traded is half the round-trip fee, so **fee drag per day =
  turnover_per_day × fee_bps / 2** (bps of one unit per day; e.g. 24 round trips a day at 7 bps:
  48 × 3.5 = 168 bps a day): the gross edge must beat that to make money.

The clean study frame is on the full time grid (a missing bar is a null row, which still covers its
interval: the strategy was running, it just had no price), so there every day of the span is covered.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit

from pointline.errors import PointlineError

US_PER_DAY = 86_400_000_000

#: What a bar's ``ts`` labels: its ``"end"`` (the known-at instant, the lake's convention) or ``"start"``.
TsLabel = Literal["end", "start"]

METRIC_NAMES = (
    "n_trades",
    "total_pnl_bps",
    "avg_pnl_bps",
    "median_pnl_bps",
    "std_pnl_bps",
    "win_rate",
    "profit_factor",
    "max_drawdown_bps",
    "sharpe",
    "sharpe_per_trade",
    "turnover_per_day",
    "covered_days",
)

#: The headline metrics shown in tables and reports, in display order.
HEADLINE_METRICS = (
    "n_trades",
    "turnover_per_day",
    "avg_pnl_bps",
    "total_pnl_bps",
    "win_rate",
    "profit_factor",
    "max_drawdown_bps",
    "sharpe",
)


def _open_lag(interval_us: int, ts_label: TsLabel) -> int:
    """A bar's ``ts`` minus the start of its interval, µs."""
    return interval_us if ts_label == "end" else 0


def covered_period(span: tuple[int, int], interval_us: int, ts_label: TsLabel = "end") -> tuple[int, int]:
    """The time bars filling ``span`` (a complete grid) cover, ``[first bar's open, last bar's close)`` in µs.

    Parameters
    ----------
    span
        ``(first ts, last ts)`` of the bars, µs.
    interval_us
        Bar length, µs.
    ts_label
        ``"end"``: ``ts`` is the bar's end (known-at, the lake's convention); ``"start"``: its start.

    Returns
    -------
    tuple[int, int]
        Half-open ``[start, end)`` in µs.

    Example
    -------
    >>> covered_period((300_000_000, 86_400_000_000), 300_000_000)  # one UTC day of 5-minute bars
    (0, 86400000000)
    """
    lag = _open_lag(interval_us, ts_label)
    return span[0] - lag, span[1] - lag + interval_us


def covered_intervals(
    bar_ts: np.ndarray, interval_us: int, ts_label: TsLabel = "end"
) -> tuple[np.ndarray, np.ndarray]:
    """The time the bars cover, the union of their intervals, as disjoint runs ``[start, end)`` in µs.

    Parameters
    ----------
    bar_ts
        Every bar's ``ts`` (µs; any order, repeats allowed).
    interval_us
        Bar length, µs.
    ts_label
        ``"end"``: ``ts`` is the bar's end (known-at, the lake's convention); ``"start"``: its start.

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        Run starts and ends (Int64 µs, ascending). A run ends where the next bar opens after the
        previous one closed (a gap); both are empty without bars.

    Example
    -------
    >>> day = 86_400_000_000
    >>> starts, ends = covered_intervals(np.array([day, 3 * day]), day)  # daily bars; the one for day 1 missing
    >>> starts.tolist(), ends.tolist()
    ([0, 172800000000], [86400000000, 259200000000])
    """
    ts = np.asarray(bar_ts, dtype=np.int64)
    if not ts.size:
        return ts[:0], ts[:0]
    step = np.diff(ts)
    if (step <= 0).any():
        ts = np.unique(ts)
        step = np.diff(ts)
    gaps = np.flatnonzero(step > interval_us)  # the next bar opens after this one closed
    lag = _open_lag(interval_us, ts_label)
    return ts[np.r_[0, gaps + 1]] - lag, ts[np.r_[gaps, ts.size - 1]] - lag + interval_us


def _sharpe_days(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The UTC days (numbers since the epoch, ascending) of the calendar Sharpe: the whole days
    between the first run's start and the last run's end that some run covers, at least in part."""
    lo, hi = -(-int(starts[0]) // US_PER_DAY), int(ends[-1]) // US_PER_DAY  # the span's whole days
    if starts.size == 1:
        return np.arange(lo, max(hi, lo), dtype=np.int64)
    first = np.maximum(starts // US_PER_DAY, lo)
    stop = np.minimum((ends - 1) // US_PER_DAY + 1, hi)
    count = np.maximum(stop - first, 0)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return np.unique(np.repeat(first, count) + offset)  # two runs may share a day


@njit(cache=True, nogil=True)
def _metrics_kernel(
    net: np.ndarray, exit_ts: np.ndarray, lag: int, days: np.ndarray, per_trade_scale: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Every metric but the median in two passes (a sweep calls this once per configuration).

    ``days``: the days of the Sharpe (ascending day numbers since the epoch); a trade is booked on
    day ``(exit_ts - lag) // US_PER_DAY`` and left out of the Sharpe when that is not one of them.
    """
    n = net.shape[0]
    total = 0.0
    gains = 0.0
    losses = 0.0
    wins = 0
    cum = 0.0
    peak = 0.0
    drawdown = 0.0
    n_days = days.shape[0]
    daily = np.zeros(max(n_days, 1))
    for i in range(n):
        x = net[i]
        total += x
        if x > 0:
            gains += x
            wins += 1
        elif x < 0:
            losses -= x
        cum += x
        peak = max(peak, cum)
        drawdown = min(drawdown, cum - peak)
        day = (exit_ts[i] - lag) // US_PER_DAY
        k = np.searchsorted(days, day)
        if k < n_days and days[k] == day:
            daily[k] += x
    mean = total / n
    ss = 0.0
    for i in range(n):
        ss += (net[i] - mean) ** 2
    std = np.sqrt(ss / (n - 1)) if n > 1 else np.nan
    per_trade = mean / std * per_trade_scale if n > 1 and std > 0 else 0.0
    sharpe = 0.0
    if n_days >= 2:
        d_mean = daily.sum() / n_days
        d_ss = 0.0
        for k in range(n_days):
            d_ss += (daily[k] - d_mean) ** 2
        d_sd = np.sqrt(d_ss / (n_days - 1))
        sharpe = d_mean / d_sd * np.sqrt(365.0) if d_sd > 0 else 0.0
    return total, mean, std, wins / n, gains / max(losses, 1e-10), drawdown, sharpe, per_trade, float(n)


def trade_metrics(
    net_bps: np.ndarray,
    exit_ts: np.ndarray,
    *,
    span: tuple[int, int] | None = None,
    holding_bars: int,
    interval_us: int = 300_000_000,
    ts_label: TsLabel = "end",
    bar_ts: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of one backtest (definitions in the module docstring).

    Parameters
    ----------
    net_bps
        Net PnL per trade in bps, in entry order.
    exit_ts
        Exit bar's ``ts`` per trade, Int64 µs.
    span
        ``(first ts, last ts)`` of the backtested bars, µs, when they fill it (a complete grid) —
        with ``interval_us`` and ``ts_label``, the calendar of the daily Sharpe (:func:`covered_period`).
    holding_bars, interval_us
        Holding period and bar length (the notebook's per-trade Sharpe; the bars' intervals).
    ts_label
        ``"end"`` (default: ``ts`` is the bar's end, the known-at instant) or ``"start"``.
    bar_ts
        Every backtested bar's ``ts`` (µs) instead of ``span``: the calendar is then the time the
        bars cover (:func:`covered_intervals`), so a gap in the bars is no covered time.

    Returns
    -------
    dict[str, float]
        The keys of :data:`METRIC_NAMES`; all zeros when there are no trades (notebook convention)
        but ``covered_days``.

    Raises
    ------
    PointlineError
        Neither or both of ``span`` and ``bar_ts``; trades without bars; a bad ``ts_label``.

    Example
    -------
    >>> m = trade_metrics(np.array([10.0, -5.0]), np.array([300_000_000, 86_400_000_000]),
    ...                   span=(300_000_000, 86_400_000_000), holding_bars=3)
    >>> m["total_pnl_bps"], m["win_rate"], m["profit_factor"], m["max_drawdown_bps"]
    (5.0, 0.5, 2.0, -5.0)
    >>> m["covered_days"], m["turnover_per_day"]  # 2 round trips = 4 units in 1 day of 5-minute bars
    (1.0, 4.0)
    >>> bars = 300_000_000 * np.arange(1, 3 * 288 + 1)  # three days of 5-minute bars ...
    >>> bars = bars[(bars <= 86_400_000_000) | (bars > 2 * 86_400_000_000)]  # ... but for day 1
    >>> m = trade_metrics(np.array([10.0, -5.0]), np.array([300_000_000, 2 * 86_400_000_000 + 300_000_000]),
    ...                   bar_ts=bars, holding_bars=3)
    >>> m["covered_days"], m["turnover_per_day"]  # 4 units in the 2 days of data
    (2.0, 2.0)
    """
    if ts_label not in ("end", "start"):
        raise PointlineError(f"trade_metrics: ts_label must be 'end' or 'start', got {ts_label!r}")
    if span is not None and bar_ts is None:
        start, end = covered_period(span, interval_us, ts_label)
        starts, ends = np.array([start], dtype=np.int64), np.array([end], dtype=np.int64)
    elif bar_ts is not None and span is None:
        starts, ends = covered_intervals(bar_ts, interval_us, ts_label)
    else:
        raise PointlineError(
            "trade_metrics: pass either span (bars on a complete grid) or bar_ts (every bar)"
        )
    days = int((ends - starts).sum()) / US_PER_DAY
    n = int(net_bps.size)
    if n == 0:
        return {**dict.fromkeys(METRIC_NAMES, 0.0), "covered_days": days}
    if days == 0:
        raise PointlineError(f"trade_metrics: {n} trades but no bars (bar_ts is empty)")
    scale = float(np.sqrt(252 * (US_PER_DAY / interval_us) / max(holding_bars, 1)))
    net = np.ascontiguousarray(net_bps, dtype=np.float64)
    ts = np.ascontiguousarray(exit_ts, dtype=np.int64)
    lag = _open_lag(interval_us, ts_label)
    total, mean, std, win, pf, dd, sharpe, per_trade, count = _metrics_kernel(
        net, ts, lag, _sharpe_days(starts, ends), scale
    )
    return {
        "n_trades": count,
        "total_pnl_bps": total,
        "avg_pnl_bps": mean,
        "median_pnl_bps": float(np.median(net)),
        "std_pnl_bps": std,
        "win_rate": win,
        "profit_factor": pf,
        "max_drawdown_bps": dd,
        "sharpe": sharpe,
        "sharpe_per_trade": per_trade,
        "turnover_per_day": 2.0 * n / days,
        "covered_days": days,
    }
