"""Numba kernel for the notebook's per-bucket microstructure features (one pass over sorted bars).

The formulas are the notebook's ``compute_microstructure_features`` (composite-signal notebook),
reproduced with NumPy's rounding (see ``_numpy_compat``). Inputs are contiguous groups
``[starts[g], starts[g+1])`` of trades in total order; ``side`` is the notebook's ±1 (0 = unknown).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from pointline.research.resample.aggregations._numpy_compat import (
    histogram_max_count,
    linspace_edges,
    pairwise_sum,
    percentile_90,
    std_ddof0,
)

#: Output columns in the notebook's order (``trade_count`` is produced separately as an integer).
FEATURES: tuple[str, ...] = (
    "vol_imbalance",
    "dollar_imbalance",
    "large_imbalance",
    "large_vol_pct",
    "count_imbalance",
    "arrival_rate",
    "iti_cv",
    "burstiness",
    "trade_acceleration",
    "price_range",
    "close_vs_vwap",
    "kyle_lambda",
    "vol_profile_skew",
    "open",
    "close",
    "high",
    "low",
    "volume",
    "buy_volume",
    "sell_volume",
    "quote_volume",
)

_GUARD = 1e-10


@njit(cache=True, nogil=True)
def microstructure_kernel(
    starts: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    qq: np.ndarray,
    s: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """Notebook features per group; rows of groups with fewer than 2 trades are NaN.

    Parameters
    ----------
    starts:
        int64 group offsets, length ``n_groups + 1``.
    p, q, qq:
        float64 price, quantity, quote quantity.
    s:
        float64 side, +1 buy aggressor, -1 sell aggressor, 0 unknown.
    t:
        int64 timestamps (µs), ascending within each group.

    Returns
    -------
    ``(n_groups, len(FEATURES))`` float64 array.
    """
    n_groups = len(starts) - 1
    out = np.full((n_groups, len(FEATURES)), np.nan)
    for g in range(n_groups):
        lo = starts[g]
        n = starts[g + 1] - lo
        if n >= 2:
            _group_features(p, q, qq, s, t, lo, n, out[g])
    return out


@njit(cache=True, nogil=True)
def _group_features(
    p: np.ndarray,
    q: np.ndarray,
    qq: np.ndarray,
    s: np.ndarray,
    t: np.ndarray,
    lo: int,
    n: int,
    row: np.ndarray,
) -> None:
    # NumPy sums ``q[mask]`` (the compacted array), so masked values are compacted into buffers
    # before each pairwise sum; several compactions share one pass over the bar.
    buf = np.empty((4, n))
    scratch = np.empty(n)
    nb = 0
    ns = 0
    pmax = p[lo]
    pmin = p[lo]
    for i in range(n):
        # Branch-free compaction: write every value, advance the cursor only when it belongs.
        j = lo + i
        side = s[j]
        buf[0, nb] = q[j]
        buf[1, nb] = qq[j]
        nb += side == 1.0
        buf[2, ns] = q[j]
        buf[3, ns] = qq[j]
        ns += side == -1.0
        pmax = max(pmax, p[j])
        pmin = min(pmin, p[j])
    buy_vol = pairwise_sum(buf[0], 0, nb)
    buy_quote = pairwise_sum(buf[1], 0, nb)
    sell_vol = pairwise_sum(buf[2], 0, ns)
    sell_quote = pairwise_sum(buf[3], 0, ns)
    total_vol = pairwise_sum(q, lo, n)
    vol_den = max(total_vol, _GUARD)
    row[0] = (buy_vol - sell_vol) / vol_den
    row[1] = (buy_quote - sell_quote) / max(buy_quote + sell_quote, _GUARD)

    q90 = percentile_90(q, lo, n, scratch)
    kb = 0
    ks = 0
    ka = 0
    for i in range(n):
        j = lo + i
        large = q[j] >= q90
        buf[2, ka] = q[j]
        ka += large
        buf[0, kb] = q[j]
        kb += large and s[j] == 1.0
        buf[1, ks] = q[j]
        ks += large and s[j] == -1.0
    large_buy = pairwise_sum(buf[0], 0, kb)
    large_sell = pairwise_sum(buf[1], 0, ks)
    row[2] = (large_buy - large_sell) / max(large_buy + large_sell, _GUARD)
    row[3] = pairwise_sum(buf[2], 0, ka) / vol_den
    row[4] = (nb - ns) / n

    t0 = t[lo]
    tl = t[lo + n - 1]
    row[5] = n / max((tl - t0) / 1e6, 0.001)
    if n > 2:
        for i in range(n - 1):
            buf[0, i] = float(t[lo + i + 1] - t[lo + i])
        iti_mean = pairwise_sum(buf[0], 0, n - 1) / (n - 1)
        row[6] = std_ddof0(buf[0], 0, n - 1, scratch) / max(iti_mean, 1.0)
        edges = np.empty(6)
        linspace_edges(t0, tl, 6, edges)
        row[7] = histogram_max_count(t, lo, n, edges, 6) / n
    else:
        row[6] = 0.0
        row[7] = 1.0
    mid_t = (t0 + tl) / 2
    first_half = 0
    for i in range(n):
        if t[lo + i] < mid_t:
            first_half += 1
    row[8] = (n - first_half - first_half) / n

    vwap = pairwise_sum(qq, lo, n) / vol_den
    vwap_den = max(vwap, _GUARD)
    row[9] = (pmax - pmin) / vwap_den
    row[10] = (p[lo + n - 1] - vwap) / vwap_den
    row[11] = _kyle_lambda(p, q, s, lo, n, buf[0], buf[1]) if n > 10 else 0.0

    price_mid = (pmax + pmin) / 2
    na = 0
    nbl = 0
    for i in range(n):
        j = lo + i
        buf[0, na] = q[j]
        na += p[j] >= price_mid
        buf[1, nbl] = q[j]
        nbl += p[j] < price_mid
    row[12] = (pairwise_sum(buf[0], 0, na) - pairwise_sum(buf[1], 0, nbl)) / vol_den

    row[13] = p[lo]
    row[14] = p[lo + n - 1]
    row[15] = pmax
    row[16] = pmin
    row[17] = total_vol
    row[18] = buy_vol
    row[19] = sell_vol
    row[20] = buy_quote + sell_quote


@njit(cache=True, nogil=True)
def _kyle_lambda(
    p: np.ndarray,
    q: np.ndarray,
    s: np.ndarray,
    lo: int,
    n: int,
    x: np.ndarray,
    y: np.ndarray,
) -> float:
    # corrcoef(signed_vol[1:], diff(p)) as np.cov/np.corrcoef compute it; 0 when signed volume
    # is constant (the notebook's std > 0 guard). Constant prices give NaN, as in NumPy.
    m = n - 1
    for i in range(m):
        x[i] = q[lo + i + 1] * s[lo + i + 1]
        y[i] = p[lo + i + 1] - p[lo + i]
    mx = pairwise_sum(x, 0, m) / m
    my = pairwise_sum(y, 0, m) / m
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(m):
        dx = x[i] - mx
        dy = y[i] - my
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    # A sum of squares is 0 exactly when every deviation is 0, in any summation order, so this
    # is the notebook's ``std > 0`` guard.
    if sxx == 0.0:
        return 0.0
    inv = 1.0 / (m - 1)
    cxy = sxy * inv
    sdx = math.sqrt(sxx * inv)
    sdy = math.sqrt(syy * inv)
    if sdy == 0.0:
        return np.nan
    r = cxy / sdx / sdy
    return min(max(r, -1.0), 1.0)
