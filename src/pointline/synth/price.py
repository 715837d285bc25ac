"""The efficient log-price of one asset for one UTC day, shared by every exchange.

``p(t) = A_d + W(t) + I(t)`` on a 100 ms grid (see ``docs/synthetic-market.md`` for the equations):

- ``A_d``: the day's opening anchor, a stationary AR(1) in log-price around the instrument's
  reference level with daily innovations; it depends only on (seed, symbol, date).
- ``W``: diffusion with variance ``σ_day² × season(t) × v(regime(t))² dt / 86400`` plus the permanent
  impact of the latent flow factor, bridged so that ``W`` ends at ``A_{d+1} - A_d``.
- ``I``: the transient impact (the planted contrarian effect), an Ornstein-Uhlenbeck process
  driven by the flow factor of each 5-minute window and reverting with half-life
  ``impact_half_life_min``. Its value at midnight is carried from the previous day's flows.

A 3-state Markov regime (calm / normal / turbulent) scales volatility and trade intensity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from pointline.synth.arrivals import SECONDS_PER_DAY, hawkes_cluster_times, seasonality
from pointline.synth.config import SynthConfig, day_number, instrument_for, rng_for

GRID_S = 0.1
N_GRID = round(SECONDS_PER_DAY / GRID_S)
WINDOW_S = 300
N_WINDOWS = SECONDS_PER_DAY // WINDOW_S
STEPS_PER_WINDOW = round(WINDOW_S / GRID_S)
MINUTES = SECONDS_PER_DAY // 60

#: Regimes: calm, normal, turbulent.
REGIME_VOL = np.array([0.6, 1.0, 1.9])
REGIME_INTENSITY = np.array([0.8, 1.0, 1.5])
REGIME_MEAN_MINUTES = np.array([240.0, 180.0, 60.0])
REGIME_JUMPS = np.array([[0.0, 1.0, 0.0], [0.6, 0.0, 0.4], [0.2, 0.8, 0.0]])
#: AR(1) of the daily anchor: persistence per day and how many past days are summed.
ANCHOR_PHI = 0.5 ** (1.0 / 30.0)
ANCHOR_TERMS = 400


def _stationary_regime_share() -> np.ndarray:
    vals, vecs = np.linalg.eig(REGIME_JUMPS.T)
    nu = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    share = nu / nu.sum() * REGIME_MEAN_MINUTES
    return share / share.sum()


REGIME_SHARE = _stationary_regime_share()
# Normalised so the stationary mean variance and mean intensity multipliers are 1.
VOL_MULT = REGIME_VOL / np.sqrt(REGIME_SHARE @ REGIME_VOL**2)
INTENSITY_MULT = REGIME_INTENSITY / (REGIME_SHARE @ REGIME_INTENSITY)


@dataclass(frozen=True)
class FlowCore:
    """The cheap, per-window part of an asset-day: regimes, flow factors, 5-minute volatility."""

    regime: np.ndarray  # (1440,) regime per minute
    flow: np.ndarray  # (288,) latent flow factor F_w ~ N(0, 1)
    sigma5: np.ndarray  # (288,) diffusive std of the window's log return
    var_step: np.ndarray  # (N_GRID,) diffusive variance of each 100 ms step


@dataclass(frozen=True)
class AssetDay:
    """The efficient log-price of one symbol on one day (exchange clock, seconds after midnight UTC).

    ``grid_log_price[i]``: diffusion part at ``i × 0.1`` s (bridged, anchor included); the flow
    impulses at ``impulse_s`` add the transient level ``transient_after`` (decaying at rate
    ``kappa`` per s) and the cumulative permanent part ``permanent_after``. ``vol_rel[m]`` is the
    volatility of minute ``m`` relative to the day average, ``intensity[m]`` the relative trade
    intensity (seasonality × regime).
    """

    day: dt.date
    grid_log_price: np.ndarray
    impulse_s: np.ndarray
    transient_after: np.ndarray
    permanent_after: np.ndarray
    kappa: float
    vol_rel: np.ndarray
    intensity: np.ndarray
    core: FlowCore

    def log_price_at(self, t_s: np.ndarray) -> np.ndarray:
        """Efficient log-price at ``t_s`` (seconds after midnight, clipped to the day)."""
        t = np.clip(np.asarray(t_s, dtype=np.float64), 0.0, SECONDS_PER_DAY)
        base = np.interp(t, np.arange(N_GRID + 1) * GRID_S, self.grid_log_price)
        i = np.searchsorted(self.impulse_s, t, side="right") - 1
        transient = self.transient_after[i] * np.exp(-self.kappa * (t - self.impulse_s[i]))
        return base + transient + self.permanent_after[i]


def regime_path(rng: np.random.Generator) -> np.ndarray:
    """Regime of each minute of a day; the day opens in a draw from the stationary distribution."""
    out = np.empty(MINUTES, dtype=np.int64)
    state = int(rng.choice(3, p=REGIME_SHARE))
    pos = 0
    while pos < MINUTES:
        length = max(1, round(rng.exponential(REGIME_MEAN_MINUTES[state])))
        out[pos : pos + length] = state
        pos += length
        state = int(rng.choice(3, p=REGIME_JUMPS[state]))
    return out


def flow_core(config: SynthConfig, symbol: str, day: dt.date) -> FlowCore:
    """Regimes, flow factors and per-window volatility of ``symbol`` on ``day`` (seed-only)."""
    dn = day_number(day)
    inst = instrument_for(symbol)
    regime = regime_path(rng_for(config.seed, "regime", symbol, dn))
    flow = rng_for(config.seed, "flow", symbol, dn).standard_normal(N_WINDOWS)
    t_mid = (np.arange(N_GRID) + 0.5) * GRID_S
    season = seasonality(t_mid, config.seasonality_contrast)
    vol_mult = np.repeat(VOL_MULT[regime], round(60 / GRID_S))
    var_step = inst.daily_vol**2 * season * vol_mult**2 * (GRID_S / SECONDS_PER_DAY)
    sigma5 = np.sqrt(var_step.reshape(N_WINDOWS, STEPS_PER_WINDOW).sum(axis=1))
    return FlowCore(regime=regime, flow=flow, sigma5=sigma5, var_step=var_step)


def _kappa(config: SynthConfig) -> float:
    return float(np.log(2.0) / (config.impact_half_life_min * 60.0))


def leader_arrivals(config: SynthConfig, symbol: str, day: dt.date, core: FlowCore) -> np.ndarray:
    """Sorted trade times (s after midnight) of the leading exchange; they time the flow impulses.

    Drawn from the leader's own ``"arrivals"`` stream, so the leader's trade generation reproduces
    exactly these times.
    """
    intensity = seasonality((np.arange(MINUTES) + 0.5) * 60.0, config.seasonality_contrast)
    rate = np.repeat(intensity * INTENSITY_MULT[core.regime], 60) * (config.trades_per_day / 86_400.0)
    rng = rng_for(config.seed, "arrivals", config.exchanges[0], symbol, day_number(day))
    t_s, _, _ = hawkes_cluster_times(rng, rate, config.hawkes_branching)
    return np.sort(t_s)


def impulses(config: SynthConfig, core: FlowCore, leader_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and sizes (units of the window's flow factor × σ5) of the flow impulses.

    Window ``w``'s impulse ``σ5_w F_w`` is split equally over the leader's trades in that window,
    each applied 2 ms before its trade; a window without leader trades gets it at its end.
    """
    window = np.minimum((leader_t // WINDOW_S).astype(np.int64), N_WINDOWS - 1)
    counts = np.bincount(window, minlength=N_WINDOWS)
    empty = np.flatnonzero(counts == 0)
    times = np.concatenate((np.maximum(leader_t - 0.002, window * WINDOW_S), (empty + 1.0) * WINDOW_S - 1e-3))
    wins = np.concatenate((window, empty))
    size = core.sigma5 * core.flow / np.maximum(counts, 1)
    order = np.argsort(times, kind="stable")
    return times[order], size[wins][order]


def transient_after(config: SynthConfig, times: np.ndarray, sizes: np.ndarray, start: float) -> np.ndarray:
    """Transient impact just after each impulse (``start`` = its value at midnight)."""
    decay = np.exp(-_kappa(config) * np.diff(times, prepend=0.0))
    return _ou_jumps(decay, config.contrarian_strength * sizes, start)


@njit(cache=True)
def _ou_jumps(decay: np.ndarray, jumps: np.ndarray, start: float) -> np.ndarray:
    out = np.empty(jumps.size)
    level = start
    for i in range(jumps.size):
        level = level * decay[i] + jumps[i]
        out[i] = level
    return out


def _carry(config: SynthConfig, symbol: str, day: dt.date) -> float:
    prev_day = day - dt.timedelta(days=1)
    core = flow_core(config, symbol, prev_day)
    times, sizes = impulses(config, core, leader_arrivals(config, symbol, prev_day, core))
    after = transient_after(config, times, sizes, 0.0)
    if after.size == 0:
        return 0.0
    return float(after[-1] * np.exp(-_kappa(config) * (SECONDS_PER_DAY - times[-1])))


def anchor(config: SynthConfig, symbol: str, day: dt.date) -> float:
    """Log-price of the efficient price at midnight UTC opening ``day`` (seed-only)."""
    inst = instrument_for(symbol)
    dn = day_number(day)
    terms = np.array(
        [
            rng_for(config.seed, "anchor", symbol, dn - k).standard_normal() * ANCHOR_PHI**k
            for k in range(ANCHOR_TERMS)
        ]
    )
    return float(np.log(inst.start_price) + inst.daily_vol * terms.sum())


def asset_day(config: SynthConfig, symbol: str, day: dt.date) -> AssetDay:
    """Build the efficient log-price of ``symbol`` on ``day``.

    The result depends only on ``(config, symbol, day)``: the opening anchor and the transient
    impact carried over midnight are recomputed from the previous day's seeds, never from state
    left by generating that day.

    Example
    -------
    >>> a = asset_day(SynthConfig(trades_per_day=1_000), "BTCUSDT", dt.date(2024, 1, 1))
    >>> a.log_price_at(np.array([0.0, 3600.0])).shape
    (2,)
    """
    core = flow_core(config, symbol, day)
    times, sizes = impulses(config, core, leader_arrivals(config, symbol, day, core))
    # A zero impulse at midnight holds the level carried over from the previous day.
    times, sizes = np.concatenate(([0.0], times)), np.concatenate(([0.0], sizes))
    after = transient_after(config, times, sizes, _carry(config, symbol, day))
    perm_cum = np.cumsum(config.permanent_impact * sizes)

    rng = rng_for(config.seed, "diffusion", symbol, day_number(day))
    steps = rng.standard_normal(N_GRID) * np.sqrt(core.var_step)
    walk = np.concatenate(([0.0], np.cumsum(steps)))
    a0 = anchor(config, symbol, day)
    a1 = anchor(config, symbol, day + dt.timedelta(days=1))
    perm_total = perm_cum[-1]
    ramp = np.linspace(0.0, 1.0, N_GRID + 1)
    bridged = a0 + walk - ramp * (walk[-1] + perm_total - (a1 - a0))

    season_min = seasonality((np.arange(MINUTES) + 0.5) * 60.0, config.seasonality_contrast)
    return AssetDay(
        day=day,
        grid_log_price=bridged,
        impulse_s=times,
        transient_after=after,
        permanent_after=perm_cum,
        kappa=_kappa(config),
        vol_rel=np.sqrt(season_min) * VOL_MULT[core.regime],
        intensity=season_min * INTENSITY_MULT[core.regime],
        core=core,
    )
