"""Summary statistics of a list of trades (PnL in basis points of one unit).

- ``max_drawdown_bps``: largest fall of cumulative net PnL from its running peak, the peak starting
  at 0 before the first trade (a first losing trade is a drawdown).
- ``sharpe``: calendar Sharpe over the **whole UTC days** the backtested bars cover. A bar covers
  its interval (``[ts - interval, ts)`` when ``ts`` labels the bar's end — the lake's known-at
  convention — or ``[ts, ts + interval)`` when it labels the start); the bars cover the first bar's
  interval start to the last bar's interval end. A trade's PnL is booked on the UTC day of its exit
  bar's interval (the day its exit price printed: the bar ending at 00:00 belongs to the day before).
  Net PnL is summed per whole day (days without trades count as 0), then
  ``mean / std * sqrt(365)`` (crypto trades every day of the year). A partial first or last day
  (data starting at 13:00 or ending at 03:00) is left out, with its trades: its PnL comes from a
  fraction of a day, so counting it as a day drags the mean towards 0 and inflates the spread.
  Those trades still count in every other metric. Fewer than two whole days: 0.
- ``sharpe_per_trade``: the notebook's figure, ``mean / std`` of per-trade PnL times
  ``sqrt(252 * bars_per_day / holding_bars)``; kept for parity, it is not a calendar Sharpe.
- ``profit_factor``: gross gains over gross losses (``inf``-free: losses floored at 1e-10 bps).
- ``covered_days``: length of the time the bars cover (first bar's open to last bar's close) in
  days, fractional; reported even without trades (it describes the bars, not the trades).
- ``turnover_per_day``: notional traded per day as a multiple of the position size (one unit).
  Every trade buys and sells one unit, so a round trip is 2 units of turnover:
  ``2 * n_trades / covered_days``. Overlapping units are not netted against each other (each pays
  its own fee). A rate, so a partial day counts by its length. The fee charged per unit traded is
  half the round-trip fee, so **fee drag per day = turnover_per_day × fee_bps / 2** (bps of one
  unit per day; e.g. 24 round trips a day at 7 bps: 48 × 3.5 = 168 bps a day): the gross edge must
  beat that to make money.

Gaps inside the span (missing bars) are not detected: the clean study frame is on the full time grid.
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


def covered_period(span: tuple[int, int], interval_us: int, ts_label: TsLabel = "end") -> tuple[int, int]:
    """The time the bars of ``span`` cover, ``[first bar's open, last bar's close)`` in µs.

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
    lag = interval_us if ts_label == "end" else 0
    return span[0] - lag, span[1] - lag + interval_us


@njit(cache=True, nogil=True)
def _metrics_kernel(
    net: np.ndarray, exit_ts: np.ndarray, lag: int, first_day: int, n_days: int, per_trade_scale: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Every metric but the median in two passes (a sweep calls this once per configuration).

    ``first_day`` / ``n_days``: the whole UTC days of the span (day numbers since the epoch); a trade
    is booked on day ``(exit_ts - lag) // US_PER_DAY`` and left out of the Sharpe outside them.
    """
    n = net.shape[0]
    total = 0.0
    gains = 0.0
    losses = 0.0
    wins = 0
    cum = 0.0
    peak = 0.0
    drawdown = 0.0
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
        day = (exit_ts[i] - lag) // US_PER_DAY - first_day
        if 0 <= day < n_days:
            daily[day] += x
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
    span: tuple[int, int],
    holding_bars: int,
    interval_us: int = 300_000_000,
    ts_label: TsLabel = "end",
) -> dict[str, float]:
    """Metrics of one backtest (definitions in the module docstring).

    Parameters
    ----------
    net_bps
        Net PnL per trade in bps, in entry order.
    exit_ts
        Exit bar's ``ts`` per trade, Int64 µs.
    span
        ``(first ts, last ts)`` of the backtested bars, µs — with ``interval_us`` and ``ts_label``, the
        calendar of the daily Sharpe (:func:`covered_period`).
    holding_bars, interval_us
        Holding period and bar length (the notebook's per-trade Sharpe; the bars' intervals).
    ts_label
        ``"end"`` (default: ``ts`` is the bar's end, the known-at instant) or ``"start"``.

    Returns
    -------
    dict[str, float]
        The keys of :data:`METRIC_NAMES`; all zeros when there are no trades (notebook convention)
        but ``covered_days``.

    Example
    -------
    >>> m = trade_metrics(np.array([10.0, -5.0]), np.array([300_000_000, 86_400_000_000]),
    ...                   span=(300_000_000, 86_400_000_000), holding_bars=3)
    >>> m["total_pnl_bps"], m["win_rate"], m["profit_factor"], m["max_drawdown_bps"]
    (5.0, 0.5, 2.0, -5.0)
    >>> m["covered_days"], m["turnover_per_day"]  # 2 round trips = 4 units in 1 day of 5-minute bars
    (1.0, 4.0)
    """
    if ts_label not in ("end", "start"):
        raise PointlineError(f"trade_metrics: ts_label must be 'end' or 'start', got {ts_label!r}")
    start, end = covered_period(span, interval_us, ts_label)
    days = (end - start) / US_PER_DAY
    n = int(net_bps.size)
    if n == 0:
        return {**dict.fromkeys(METRIC_NAMES, 0.0), "covered_days": days}
    first_day = -(-start // US_PER_DAY)  # the first UTC midnight at or after the first bar's open
    n_days = max(end // US_PER_DAY - first_day, 0)
    scale = float(np.sqrt(252 * (US_PER_DAY / interval_us) / max(holding_bars, 1)))
    net = np.ascontiguousarray(net_bps, dtype=np.float64)
    ts = np.ascontiguousarray(exit_ts, dtype=np.int64)
    lag = span[0] - start  # a bar's ts minus its interval's start
    total, mean, std, win, pf, dd, sharpe, per_trade, count = _metrics_kernel(
        net, ts, lag, first_day, n_days, scale
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
