"""What one exchange shows: its view of the efficient price, top-of-book quotes, trade prices and
25-level book snapshots, all on the instrument's tick and lot grids (integers).

Exchange ``j`` observes ``m_j(t) = p(t - lag_j) + u_j(t)``: the efficient log-price delayed by
``lag_j`` (0 for the first exchange, ``lead_lag_ms`` for the others) plus an Ornstein-Uhlenbeck
venue noise ``u_j`` (std ``venue_noise_bps``, time scale :data:`VENUE_NOISE_TAU_S`). The touch only
changes at quote updates; at an update the spread is ``1 + Geometric`` ticks with mean extra
``SPREAD_EXTRA_TICKS × (1 + 0.4 j) × vol_rel(t)`` (wider when volatile), the bid is
``floor(mid - spread / 2 + 1/2)`` ticks and the ask is ``bid + spread``, so a quote is never crossed.
Trades execute at the touch in force at their exchange time: buys at the ask, sells at the bid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from pointline.synth.arrivals import SECONDS_PER_DAY, poisson_times
from pointline.synth.config import Instrument
from pointline.synth.price import GRID_S, N_GRID, AssetDay

VENUE_NOISE_TAU_S = 5.0
SPREAD_EXTRA_TICKS = 0.5
TOP_SIZE_MEDIAN_MULT = 6.0
DEPTH_LEVELS = 25
DEPTH_GAP_EXTRA_TICKS = 0.6
#: Share of quote updates that react to a trade (1 ms after it); the rest arrive on their own.
REACTIVE_SHARE = 0.6
#: A trade after a pause longer than this (ms) first gets a fresh touch.
REFRESH_GAP_MS = 1_000
MS_PER_DAY = SECONDS_PER_DAY * 1000


@dataclass(frozen=True)
class Touch:
    """Top of book after each quote update (exchange time ``ms`` after midnight, integer units)."""

    ms: np.ndarray
    bid_px: np.ndarray
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_qty: np.ndarray


def venue_log_mid(
    rng: np.random.Generator, asset: AssetDay, lag_s: float, noise_bps: float, t_s: np.ndarray
) -> np.ndarray:
    """The exchange's log mid at ``t_s`` (seconds after midnight, exchange clock)."""
    phi = np.exp(-GRID_S / VENUE_NOISE_TAU_S)
    sd = noise_bps * 1e-4
    shocks = rng.standard_normal(N_GRID + 1) * sd * np.sqrt(1.0 - phi**2)
    shocks[0] = rng.standard_normal() * sd
    noise = lfilter([1.0], [1.0, -phi], shocks)
    grid = np.arange(N_GRID + 1) * GRID_S
    return asset.log_price_at(t_s - lag_s) + np.interp(t_s, grid, noise)


def quote_update_ms(
    rng: np.random.Generator, trade_ms: np.ndarray, rate_per_s: np.ndarray, quotes_per_trade: float
) -> np.ndarray:
    """Exchange times (ms after midnight, unique, sorted, starting at 0) of touch updates.

    Three kinds: a refresh 1 ms before every trade that follows a pause of more than
    :data:`REFRESH_GAP_MS` (the book moved while nobody traded), a reaction 1 ms after a share of
    trades, and a Poisson background with the trade rate's seasonal shape; reaction and
    background shares are set so the total is about ``quotes_per_trade × trades``. No update
    shares a millisecond with a trade (trades keep ms ≥ 1), so the touch in force at a trade is
    always strictly earlier on both clocks.
    """
    gaps = np.diff(trade_ms, prepend=-REFRESH_GAP_MS - 1)
    refresh = trade_ms[gaps > REFRESH_GAP_MS] - 1
    budget = max(0.0, quotes_per_trade * trade_ms.size - refresh.size)
    n_trades = max(trade_ms.size, 1)
    react_p = min(1.0, REACTIVE_SHARE * budget / n_trades)
    reactive = trade_ms[rng.uniform(size=trade_ms.size) < react_p] + 1
    background_rate = rate_per_s * (1.0 - REACTIVE_SHARE) * budget / n_trades
    background = np.floor(poisson_times(rng, background_rate) * 1000.0).astype(np.int64)
    times = np.unique(np.concatenate(([0], refresh, reactive, background)))
    times = times[(times < MS_PER_DAY) & (times >= 0)]
    return times[~np.isin(times, trade_ms)]


def touch_at(
    rng: np.random.Generator,
    ms: np.ndarray,
    log_mid: np.ndarray,
    vol_rel_minute: np.ndarray,
    venue_index: int,
    inst: Instrument,
) -> Touch:
    """Top of book at each update time ``ms`` from the exchange's log mid there."""
    mid_ticks = np.exp(log_mid) * 10**inst.price_exp / inst.tick_int
    extra_mean = SPREAD_EXTRA_TICKS * (1.0 + 0.4 * venue_index) * vol_rel_minute[ms // 60_000]
    spread = rng.geometric(1.0 / (1.0 + extra_mean)).astype(np.int64)
    bid_ticks = np.floor(mid_ticks - spread / 2.0 + 0.5).astype(np.int64)
    median = TOP_SIZE_MEDIAN_MULT * inst.median_lots
    sizes = np.maximum(1, np.rint(median * np.exp(rng.standard_normal((2, ms.size))))).astype(np.int64)
    return Touch(
        ms=ms,
        bid_px=bid_ticks * inst.tick_int,
        bid_qty=sizes[0] * inst.lot_int,
        ask_px=(bid_ticks + spread) * inst.tick_int,
        ask_qty=sizes[1] * inst.lot_int,
    )


def in_force(touch: Touch, ms: np.ndarray) -> np.ndarray:
    """Index of the touch update in force at each exchange time ``ms`` (updates apply at their ms)."""
    return np.searchsorted(touch.ms, ms, side="right") - 1


def trade_prices(touch: Touch, trade_ms: np.ndarray, is_buy: np.ndarray) -> np.ndarray:
    """Trade prices (integer units): the ask in force for buys, the bid for sells."""
    idx = in_force(touch, trade_ms)
    return np.where(is_buy, touch.ask_px[idx], touch.bid_px[idx])


def book_levels(
    rng: np.random.Generator, touch: Touch, snap_ms: np.ndarray, inst: Instrument
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """25-level books at ``snap_ms``: ``(ask_px, ask_qty, bid_px, bid_qty)``, each ``(n, 25)``.

    Level 0 is the touch in force; deeper levels are ``1 + Geometric`` ticks apart (strictly
    monotone) with log-normal sizes that grow with depth.
    """
    idx = in_force(touch, snap_ms)
    n = snap_ms.size
    p = 1.0 / (1.0 + DEPTH_GAP_EXTRA_TICKS)
    gaps = rng.geometric(p, size=(2, n, DEPTH_LEVELS - 1)).astype(np.int64) * inst.tick_int
    ask_px = touch.ask_px[idx, None] + np.concatenate((np.zeros((n, 1), np.int64), gaps[0].cumsum(1)), 1)
    bid_px = touch.bid_px[idx, None] - np.concatenate((np.zeros((n, 1), np.int64), gaps[1].cumsum(1)), 1)
    depth_median = TOP_SIZE_MEDIAN_MULT * inst.median_lots * (1.0 + 0.3 * np.arange(DEPTH_LEVELS))
    lots = np.rint(depth_median * np.exp(0.9 * rng.standard_normal((2, n, DEPTH_LEVELS))))
    qty = np.maximum(1, lots).astype(np.int64) * inst.lot_int
    qty[0, :, 0] = touch.ask_qty[idx]
    qty[1, :, 0] = touch.bid_qty[idx]
    return ask_px, qty[0], bid_px, qty[1]


def latency_us(rng: np.random.Generator, venue_index: int, exch_ms: np.ndarray) -> np.ndarray:
    """Receive latency (µs, ≥ 1 ms) at exchange times ``exch_ms``.

    A per-exchange base (20 + 15 j ms) plus a slow random wander (1-minute knots, linear in
    between) so ``local = exchange + latency`` stays non-decreasing in exchange time and the
    trade, quote and book streams of one exchange keep their relative order.
    """
    knots = 20.0 + 15.0 * venue_index + np.cumsum(rng.standard_normal(24 * 60 + 1)) * 0.5
    knots = np.clip(knots, 1.0, None)
    lat_ms = np.interp(exch_ms / 60_000.0, np.arange(knots.size), knots)
    return np.rint(lat_ms * 1000.0).astype(np.int64)
