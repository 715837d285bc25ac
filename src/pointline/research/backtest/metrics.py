"""Summary statistics of a list of trades (PnL in basis points of one unit).

- ``max_drawdown_bps``: largest fall of cumulative net PnL from its running peak, the peak starting
  at 0 before the first trade (a first losing trade is a drawdown).
- ``sharpe``: calendar Sharpe. Net PnL is summed per UTC day of the trade's exit over every day of the
  backtest span (days without trades count as 0), then ``mean / std * sqrt(365)`` (crypto trades
  every day of the year).
- ``sharpe_per_trade``: the notebook's figure, ``mean / std`` of per-trade PnL times
  ``sqrt(252 * bars_per_day / holding_bars)``; kept for parity, it is not a calendar Sharpe.
- ``profit_factor``: gross gains over gross losses (``inf``-free: losses floored at 1e-10 bps).
"""

from __future__ import annotations

import numpy as np
from numba import njit

US_PER_DAY = 86_400_000_000

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
)

#: The headline metrics shown in tables and reports, in display order.
HEADLINE_METRICS = (
    "n_trades",
    "avg_pnl_bps",
    "total_pnl_bps",
    "win_rate",
    "profit_factor",
    "max_drawdown_bps",
    "sharpe",
)


@njit(cache=True, nogil=True)
def _metrics_kernel(
    net: np.ndarray, exit_ts: np.ndarray, first_day: int, n_days: int, per_trade_scale: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Every metric but the median in two passes (a sweep calls this once per configuration)."""
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
        if n_days >= 2:
            day = exit_ts[i] // US_PER_DAY - first_day
            daily[min(max(day, 0), n_days - 1)] += x
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
) -> dict[str, float]:
    """Metrics of one backtest.

    Parameters
    ----------
    net_bps
        Net PnL per trade in bps, in entry order.
    exit_ts
        Exit bar known-at instant per trade, Int64 µs.
    span
        ``(first ts, last ts)`` of the backtested bars, µs — the calendar of the daily Sharpe.
    holding_bars, interval_us
        Holding period and bar length (for the notebook's per-trade Sharpe).

    Returns
    -------
    dict[str, float]
        The keys of :data:`METRIC_NAMES`; all zeros when there are no trades (notebook convention).

    Example
    -------
    >>> m = trade_metrics(np.array([10.0, -5.0]), np.array([0, 86_400_000_000]),
    ...                   span=(0, 86_400_000_000), holding_bars=3)
    >>> m["total_pnl_bps"], m["win_rate"], m["profit_factor"], m["max_drawdown_bps"]
    (5.0, 0.5, 2.0, -5.0)
    """
    n = int(net_bps.size)
    if n == 0:
        return dict.fromkeys(METRIC_NAMES, 0.0)
    first_day = span[0] // US_PER_DAY
    n_days = span[1] // US_PER_DAY - first_day + 1
    scale = float(np.sqrt(252 * (US_PER_DAY / interval_us) / max(holding_bars, 1)))
    net = np.ascontiguousarray(net_bps, dtype=np.float64)
    ts = np.ascontiguousarray(exit_ts, dtype=np.int64)
    total, mean, std, win, pf, dd, sharpe, per_trade, count = _metrics_kernel(
        net, ts, first_day, n_days, scale
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
    }
