"""Numba kernel for the notebook's per-bucket microstructure features (one pass over sorted bars).

The formulas are the notebook's ``compute_microstructure_features`` (composite-signal notebook),
reproduced with NumPy's rounding (see ``_numpy_compat``). Inputs are the lake's own arrays (decoded
``px``, ``qty``, side codes, ``ts_local_us``) split into contiguous groups ``[starts[g], starts[g+1])``
of trades in total order; the mapping to the notebook's columns happens inside the kernel so no
intermediate columns are materialised.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from pointline.research.resample.aggregations._numpy_compat import (
    count_below,
    histogram_max_count,
    linspace_edges,
    pairwise_sum,
    pairwise_workspace,
    percentile_90_split,
    pivot_below_90th,
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
_EXACT_INT = 2**53
# Rows of the per-call work buffer, each as long as the largest group. Pass 2 reuses the pass-1
# rows whose sums have been taken.
_QQ, _BUY_Q, _BUY_QQ, _SELL_Q, _SELL_QQ, _ITI, _SV, _DP, _ABOVE_PIVOT = range(9)
_N_ROWS = 9


@njit(cache=True, nogil=True)
def microstructure_kernel(
    starts: np.ndarray,
    px: np.ndarray,
    qty: np.ndarray,
    side: np.ndarray,
    ts: np.ndarray,
    contract_size: float,
    is_inverse: bool,
) -> np.ndarray:
    """Notebook features per group; columns of groups with fewer than 2 trades are NaN.

    Parameters
    ----------
    starts:
        int64 group offsets, length ``n_groups + 1``.
    px, qty:
        float64 decoded price and quantity (the notebook's ``price`` and ``quantity``).
    side:
        Lake side codes: 0 buyer aggressor (notebook +1), 1 seller aggressor (-1), other unknown (0).
    ts:
        int64 ``ts_local_us`` (µs), ascending within each group.
    contract_size, is_inverse:
        Quote quantity is ``px * qty`` (times ``contract_size`` unless it is 1) for linear
        contracts and ``qty * contract_size`` for inverse ones.

    Returns
    -------
    ``(len(FEATURES), n_groups)`` float64 array: one contiguous row per feature.
    """
    n_groups = len(starts) - 1
    out = np.full((len(FEATURES), n_groups), np.nan)
    longest = 0
    for g in range(n_groups):
        longest = max(longest, starts[g + 1] - starts[g])
    work = np.empty((_N_ROWS, longest))
    scratch = np.empty(2 * longest + 16)
    nodes, values = pairwise_workspace()
    edges = np.empty(6)
    for g in range(n_groups):
        lo = starts[g]
        hi = starts[g + 1]
        if hi - lo >= 2:
            # Slices indexed from 0 let the compiler drop Numba's negative-index handling.
            _group_features(
                px[lo:hi],
                qty[lo:hi],
                side[lo:hi],
                ts[lo:hi],
                contract_size,
                is_inverse,
                out[:, g],
                work,
                scratch,
                nodes,
                values,
                edges,
            )
    return out


@njit(cache=True, nogil=True)
def _group_features(
    p: np.ndarray,
    q: np.ndarray,
    side: np.ndarray,
    t: np.ndarray,
    contract_size: float,
    is_inverse: bool,
    row: np.ndarray,
    work: np.ndarray,
    scratch: np.ndarray,
    nodes: np.ndarray,
    values: np.ndarray,
    edges: np.ndarray,
) -> None:
    # NumPy sums ``q[mask]``, the compacted array, so each masked sum needs its values compacted
    # in order. Compaction is branch-free: write every value, advance the cursor only when it
    # belongs (data-dependent branches on random sides and sizes would mispredict constantly).
    n = p.shape[0]
    qq_all = work[_QQ]
    buy_q = work[_BUY_Q]
    buy_qq = work[_BUY_QQ]
    sell_q = work[_SELL_Q]
    sell_qq = work[_SELL_QQ]
    iti = work[_ITI]
    sv = work[_SV]
    dp = work[_DP]
    above_pivot = work[_ABOVE_PIVOT]

    # Pass 1: quote quantity, buy/sell compaction, extremes, inter-trade times, the kyle inputs
    # and the first split of the size percentile's selection.
    pivot = pivot_below_90th(q, n, scratch)
    n_below_pivot = 0
    n_above_pivot = 0
    has_nan = False
    nb = 0
    ns = 0
    pmax = p[0]
    pmin = p[0]
    for i in range(n):
        pj = p[i]
        qj = q[i]
        code = side[i]
        if is_inverse:
            qqj = qj * contract_size
        elif contract_size == 1.0:
            qqj = pj * qj
        else:
            qqj = (pj * qj) * contract_size
        qq_all[i] = qqj
        is_buy = int(code == 0)
        is_sell = int(code == 1)
        buy_q[nb] = qj
        buy_qq[nb] = qqj
        nb += is_buy
        sell_q[ns] = qj
        sell_qq[ns] = qqj
        ns += is_sell
        pmax = max(pmax, pj)
        pmin = min(pmin, pj)
        above_pivot[n_above_pivot] = qj
        n_above_pivot += qj > pivot
        n_below_pivot += qj < pivot
        has_nan |= qj != qj
        if i > 0:
            iti[i - 1] = float(t[i] - t[i - 1])
            sv[i - 1] = qj * (is_buy - is_sell)  # the notebook's q * s, s = +1 / -1 / 0
            dp[i - 1] = pj - p[i - 1]
    buy_vol = pairwise_sum(buy_q, 0, nb, nodes, values)
    buy_quote = pairwise_sum(buy_qq, 0, nb, nodes, values)
    sell_vol = pairwise_sum(sell_q, 0, ns, nodes, values)
    sell_quote = pairwise_sum(sell_qq, 0, ns, nodes, values)
    total_vol = pairwise_sum(q, 0, n, nodes, values)
    vwap = pairwise_sum(qq_all, 0, n, nodes, values) / max(total_vol, _GUARD)
    q90 = percentile_90_split(q, n, pivot, n_below_pivot, above_pivot, n_above_pivot, has_nan, scratch)
    price_mid = (pmax + pmin) / 2

    # Pass 2: the masks that need pass-1 results (large trades, price above/below mid).
    large_q = buy_q
    large_buy_q = buy_qq
    large_sell_q = sell_q
    above_q = sell_qq
    below_q = qq_all
    n_large = 0
    lb = 0
    ls = 0
    na = 0
    nl = 0
    for i in range(n):
        qj = q[i]
        code = side[i]
        large = int(qj >= q90)
        large_q[n_large] = qj
        n_large += large
        large_buy_q[lb] = qj
        lb += large & (code == 0)
        large_sell_q[ls] = qj
        ls += large & (code == 1)
        above_q[na] = qj
        na += p[i] >= price_mid
        below_q[nl] = qj
        nl += p[i] < price_mid
    large_buy = pairwise_sum(large_buy_q, 0, lb, nodes, values)
    large_sell = pairwise_sum(large_sell_q, 0, ls, nodes, values)

    vol_den = max(total_vol, _GUARD)
    vwap_den = max(vwap, _GUARD)
    t0 = t[0]
    tl = t[n - 1]
    row[0] = (buy_vol - sell_vol) / vol_den
    row[1] = (buy_quote - sell_quote) / max(buy_quote + sell_quote, _GUARD)
    row[2] = (large_buy - large_sell) / max(large_buy + large_sell, _GUARD)
    row[3] = pairwise_sum(large_q, 0, n_large, nodes, values) / vol_den
    row[4] = (nb - ns) / n
    row[5] = n / max((tl - t0) / 1e6, 0.001)
    if n > 2:
        row[6] = _iti_cv(iti, n - 1, tl - t0, nodes, values)
        linspace_edges(t0, tl, 6, edges)
        row[7] = histogram_max_count(t, 0, n, edges, 6) / n
    else:
        row[6] = 0.0
        row[7] = 1.0
    first_half = count_below(t, 0, n, (t0 + tl) / 2, False)
    row[8] = (n - first_half - first_half) / n
    row[9] = (pmax - pmin) / vwap_den
    row[10] = (p[n - 1] - vwap) / vwap_den
    row[11] = _kyle_lambda(sv, dp, n - 1, nodes, values) if n > 10 else 0.0
    row[12] = (
        pairwise_sum(above_q, 0, na, nodes, values) - pairwise_sum(below_q, 0, nl, nodes, values)
    ) / vol_den
    row[13] = p[0]
    row[14] = p[n - 1]
    row[15] = pmax
    row[16] = pmin
    row[17] = total_vol
    row[18] = buy_vol
    row[19] = sell_vol
    row[20] = buy_quote + sell_quote


@njit(cache=True, nogil=True)
def _iti_cv(iti: np.ndarray, m: int, span: int, nodes: np.ndarray, values: np.ndarray) -> float:
    # iti.std() / max(iti.mean(), 1) with NumPy's two-pass std; squares overwrite ``iti``.
    # The gaps are whole µs, so while their total ``span`` (= t_last - t_first) is below 2**53
    # every partial sum is an exact integer and any summation order gives float(span).
    total = float(span) if span < _EXACT_INT else pairwise_sum(iti, 0, m, nodes, values)
    mean = total / m
    for i in range(m):
        d = iti[i] - mean
        iti[i] = d * d
    std = math.sqrt(pairwise_sum(iti, 0, m, nodes, values) / m)
    return std / max(mean, 1.0)


@njit(cache=True, nogil=True)
def _kyle_lambda(x: np.ndarray, y: np.ndarray, m: int, nodes: np.ndarray, values: np.ndarray) -> float:
    # corrcoef(signed_vol[1:], diff(p)) as np.cov/np.corrcoef compute it; 0 when signed volume
    # is constant (the notebook's std > 0 guard). Constant prices give NaN, as in NumPy.
    mx = pairwise_sum(x, 0, m, nodes, values) / m
    my = pairwise_sum(y, 0, m, nodes, values) / m
    sxx, syy, sxy = _co_moments(x, y, m, mx, my)
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


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _co_moments(x: np.ndarray, y: np.ndarray, m: int, mx: float, my: float) -> tuple[float, float, float]:
    # Sums of dx*dx, dy*dy, dx*dy. NumPy takes these from BLAS (summation order unspecified), so
    # any order is as faithful; allowing reassociation lets the compiler vectorise the loop.
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(m):
        dx = x[i] - mx
        dy = y[i] - my
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    return sxx, syy, sxy
