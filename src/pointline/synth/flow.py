"""Order flow: aggressor sides carrying the latent flow factor, and heavy-tailed trade sizes.

Side probabilities (exchange ``j``, 5-minute window ``w``):
``P(buy) = (1 + tanh(a F_w + b e_{j,w})) / 2`` with the shared flow factor ``F_w`` (the one that
moves the efficient price, see :mod:`pointline.synth.price`), an exchange-specific factor
``e_{j,w} ~ N(0, 1)``, ``a = flow_loading`` and ``b = venue_flow_loading``. A Hawkes child copies its
parent's side with probability :data:`SIDE_COPY_PROB` (meta-orders sliced into bursts), otherwise
draws afresh.

Sizes, in lots: log-normal body (median ``median_lots``, log-sd :data:`BODY_SIGMA`) and, with
probability :data:`WHALE_PROB`, a Pareto whale (tail index :data:`WHALE_ALPHA`, scale
``WHALE_SCALE × median``), capped at ``MAX_SIZE_MULT × median``.
"""

from __future__ import annotations

import numpy as np

SIDE_COPY_PROB = 0.5
BODY_SIGMA = 1.1
WHALE_PROB = 0.02
WHALE_ALPHA = 1.3
WHALE_SCALE = 20.0
MAX_SIZE_MULT = 20_000.0


def buy_probability(flow: np.ndarray, venue_flow: np.ndarray, a: float, b: float) -> np.ndarray:
    """``P(buy)`` per window from the shared and the exchange-specific flow factors.

    Example
    -------
    >>> float(buy_probability(np.array([0.0]), np.array([0.0]), 0.6, 0.3)[0])
    0.5
    """
    return 0.5 * (1.0 + np.tanh(a * flow + b * venue_flow))


def trade_sides(
    rng: np.random.Generator,
    window: np.ndarray,
    parent: np.ndarray,
    generation: np.ndarray,
    p_buy_window: np.ndarray,
) -> np.ndarray:
    """Aggressor side of each event (``True`` = buyer), events in generation order.

    Parameters
    ----------
    window:
        5-minute window index of each event.
    parent, generation:
        Hawkes cluster structure from :func:`pointline.synth.arrivals.hawkes_cluster_times`
        (parents always precede their children).
    p_buy_window:
        ``P(buy)`` of each window.
    """
    n = window.size
    fresh = rng.uniform(size=n) < p_buy_window[window]
    copy = rng.uniform(size=n) < SIDE_COPY_PROB
    sides = fresh.copy()
    for gen in range(1, int(generation.max(initial=0)) + 1):
        idx = np.flatnonzero(generation == gen)
        inherit = copy[idx]
        sides[idx[inherit]] = sides[parent[idx[inherit]]]
    return sides


def trade_sizes(rng: np.random.Generator, n: int, median_lots: float) -> np.ndarray:
    """Trade sizes in lots (int64, ≥ 1): log-normal body with Pareto whales.

    Example
    -------
    >>> sizes = trade_sizes(np.random.default_rng(0), 1000, 8.0)
    >>> bool(sizes.min() >= 1)
    True
    """
    body = median_lots * np.exp(BODY_SIGMA * rng.standard_normal(n))
    whale = median_lots * WHALE_SCALE * rng.uniform(size=n) ** (-1.0 / WHALE_ALPHA)
    is_whale = rng.uniform(size=n) < WHALE_PROB
    size = np.where(is_whale, whale, body)
    size = np.minimum(size, MAX_SIZE_MULT * median_lots)
    return np.maximum(1, np.rint(size)).astype(np.int64)
