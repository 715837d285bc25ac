"""Trade arrival times: intraday seasonality and a self-exciting (Hawkes) cluster process.

The target intensity of one exchange-symbol-day is
``λ(t) = trades_per_day / 86400 s × season(t) × regime_intensity(t)``, where ``season`` has mean 1
over the day and peaks at 15:00 UTC (US session) with a ``contrast``× ratio to its 03:00 UTC trough
(Asian night). Arrivals are a Hawkes process in its cluster form: immigrants arrive as an
inhomogeneous Poisson process with rate ``(1 - η) λ(t)``; every event has ``Poisson(η)`` children at
exponentially distributed delays (a mix of a 50 ms and a 3 s time scale), so the mean rate is ``λ(t)``
and trades come in bursts.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_DAY = 86_400
#: UTC hour of the seasonal intensity peak (the trough is 12 hours away).
PEAK_HOUR_UTC = 15.0
#: Child-delay kernel: (probability, mean delay in seconds) of each exponential component.
KERNEL_MIX: tuple[tuple[float, float], ...] = ((0.6, 0.05), (0.4, 3.0))


def seasonality(t_s: np.ndarray, contrast: float) -> np.ndarray:
    """Relative trade intensity at seconds-of-day ``t_s`` (mean 1 over a day).

    ``season(t) ∝ exp(b cos(2π (hour - 15) / 24))`` with ``b = ln(contrast) / 2``, so the 15:00 UTC
    peak is ``contrast`` times the 03:00 UTC trough.

    Example
    -------
    >>> s = seasonality(np.array([3 * 3600.0, 15 * 3600.0]), 20.0)
    >>> round(float(s[1] / s[0]), 6)
    20.0
    """
    b = np.log(contrast) / 2.0
    hours = np.asarray(t_s, dtype=np.float64) / 3600.0
    raw = np.exp(b * np.cos(2.0 * np.pi * (hours - PEAK_HOUR_UTC) / 24.0))
    return raw / np.i0(b)


def hawkes_cluster_times(
    rng: np.random.Generator, rate_per_s: np.ndarray, branching: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event times of one day of a Hawkes process with mean intensity ``rate_per_s``.

    Parameters
    ----------
    rng:
        Random stream of this exchange-symbol-day.
    rate_per_s:
        Target mean intensity (events per second) on a 1-second grid covering the day
        (``rate_per_s[i]`` holds on ``[i, i + 1)`` seconds after midnight UTC).
    branching:
        Branching ratio ``η`` in ``[0, 1)``: expected children per event.

    Returns
    -------
    (times_s, parent, generation):
        Event times in seconds after midnight (exchange clock, unsorted: immigrants first, then each
        generation of children), the index of each event's parent (``-1`` for immigrants), and its
        generation. Children falling after midnight are dropped, so a day never depends on the next.
    """
    horizon = float(len(rate_per_s))
    cumulative = np.concatenate(([0.0], np.cumsum(rate_per_s * (1.0 - branching))))
    n_imm = rng.poisson(cumulative[-1])
    levels = np.sort(rng.uniform(0.0, cumulative[-1], n_imm))
    grid = np.arange(len(cumulative), dtype=np.float64)
    times = [np.interp(levels, cumulative, grid)]
    parents = [np.full(n_imm, -1, dtype=np.int64)]
    gens = [np.zeros(n_imm, dtype=np.int64)]
    offset = 0
    current = times[0]
    gen = 0
    probs = np.array([p for p, _ in KERNEL_MIX])
    means = np.array([m for _, m in KERNEL_MIX])
    while current.size and branching > 0:
        gen += 1
        counts = rng.poisson(branching, current.size)
        parent_idx = np.repeat(np.arange(current.size), counts)
        component = rng.choice(len(probs), size=parent_idx.size, p=probs)
        child = current[parent_idx] + rng.exponential(means[component])
        keep = child < horizon
        parents.append(parent_idx[keep] + offset)
        offset += current.size
        current = child[keep]
        times.append(current)
        gens.append(np.full(current.size, gen, dtype=np.int64))
    return np.concatenate(times), np.concatenate(parents), np.concatenate(gens)


def poisson_times(rng: np.random.Generator, rate_per_s: np.ndarray) -> np.ndarray:
    """Sorted event times (seconds after midnight) of an inhomogeneous Poisson process.

    ``rate_per_s`` is the intensity on a 1-second grid, as in :func:`hawkes_cluster_times`.
    """
    cumulative = np.concatenate(([0.0], np.cumsum(rate_per_s)))
    n = rng.poisson(cumulative[-1])
    levels = np.sort(rng.uniform(0.0, cumulative[-1], n))
    return np.interp(levels, cumulative, np.arange(len(cumulative), dtype=np.float64))
