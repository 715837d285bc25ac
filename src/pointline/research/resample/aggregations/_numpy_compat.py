"""Numba versions of the NumPy reductions the notebook uses, bit-compatible where NumPy is.

The notebook's features are defined by what NumPy computes, rounding included. NumPy sums float64
arrays with pairwise summation (blocks of 128 with 8 accumulators), ``std`` is
``sqrt(sum((x - sum(x)/n)**2) / n)`` with those sums, ``percentile(..., 90)`` interpolates linearly
between the order statistics around ``0.9 * (n - 1)`` with NumPy's two-sided lerp, and
``histogram`` counts with ``searchsorted`` (left) except the last edge (right-inclusive).
Reproducing them here keeps the fast path within rounding of the notebook, usually identical.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_BLOCK = 128


@njit(cache=True, nogil=True)
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    # NumPy's leaf: plain loop below 8 elements, else 8 interleaved accumulators.
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    i = 8
    m = n - (n % 8)
    while i < m:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """NumPy's float64 pairwise sum of ``a[lo:lo+n]`` (same rounding as ``np.sum``).

    NumPy recurses (split at ``n // 2`` rounded down to a multiple of 8, leaves of <= 128); this
    walks the same tree with an explicit stack because Numba cannot cache recursive functions.
    """
    if n <= _BLOCK:
        return _block_sum(a, lo, n)
    node_lo = np.empty(128, dtype=np.int64)
    node_n = np.empty(128, dtype=np.int64)
    node_state = np.empty(128, dtype=np.int64)
    values = np.empty(128)
    top = 0
    nv = 0
    node_lo[0] = lo
    node_n[0] = n
    node_state[0] = 0
    while top >= 0:
        cur_lo = node_lo[top]
        cur_n = node_n[top]
        if cur_n <= _BLOCK:
            values[nv] = _block_sum(a, cur_lo, cur_n)
            nv += 1
            top -= 1
            continue
        half = cur_n // 2
        half -= half % 8
        state = node_state[top]
        if state == 0:
            node_state[top] = 1
            top += 1
            node_lo[top] = cur_lo
            node_n[top] = half
            node_state[top] = 0
        elif state == 1:
            node_state[top] = 2
            top += 1
            node_lo[top] = cur_lo + half
            node_n[top] = cur_n - half
            node_state[top] = 0
        else:
            values[nv - 2] = values[nv - 2] + values[nv - 1]
            nv -= 1
            top -= 1
    return values[0]


@njit(cache=True, nogil=True)
def std_ddof0(a: np.ndarray, lo: int, n: int, scratch: np.ndarray) -> float:
    """``np.std(a[lo:lo+n])`` (ddof=0) with NumPy's two-pass algorithm; uses ``scratch[:n]``."""
    mean = pairwise_sum(a, lo, n) / n
    for i in range(n):
        d = a[lo + i] - mean
        scratch[i] = d * d
    return math.sqrt(pairwise_sum(scratch, 0, n) / n)


@njit(cache=True, nogil=True)
def percentile_90(a: np.ndarray, lo: int, n: int, scratch: np.ndarray) -> float:
    """``np.percentile(a[lo:lo+n], 90)`` (method linear, NumPy's lerp); ``n >= 1``; uses ``scratch[:n]``.

    Only the two order statistics around ``0.9 * (n - 1)`` are needed, so a linear-time partition
    replaces the full sort.
    """
    virtual = (n - 1) * 0.9
    k = math.floor(virtual)
    for i in range(n):
        scratch[i] = a[lo + i]
    below = _select(scratch, n, k)
    if k + 1 >= n:
        return below
    above = scratch[k + 1]
    for i in range(k + 2, n):
        above = min(above, scratch[i])
    gamma = virtual - k
    diff = above - below
    if gamma >= 0.5:
        return above - diff * (1.0 - gamma)
    return below + diff * gamma


@njit(cache=True, nogil=True)
def _select(a: np.ndarray, n: int, k: int) -> float:
    # In-place Hoare quickselect (median-of-3 pivot): afterwards a[k] is the k-th smallest and
    # every element right of k is >= it. Handles many equal sizes without degrading.
    lo = 0
    hi = n - 1
    while hi > lo:
        x, y, z = a[lo], a[(lo + hi) // 2], a[hi]
        pivot = max(min(x, y), min(max(x, y), z))
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@njit(cache=True, nogil=True)
def linspace_edges(start: int, stop: int, num: int, out: np.ndarray) -> None:
    """``np.linspace(start, stop, num)`` for integer endpoints, written into ``out[:num]``."""
    fstart = float(start)
    delta = float(stop) - fstart
    div = num - 1
    step = delta / div
    for i in range(num):
        if step == 0.0:
            out[i] = (i / div) * delta + fstart
        else:
            out[i] = i * step + fstart
    out[num - 1] = float(stop)


@njit(cache=True, nogil=True)
def histogram_max_count(t: np.ndarray, lo: int, n: int, edges: np.ndarray, n_edges: int) -> int:
    """Largest bin count of ``np.histogram(t[lo:lo+n], bins=edges)``; ``t`` slice sorted ascending.

    NumPy's edge rule: bins are ``[e_i, e_{i+1})`` except the last, which is closed.
    """
    best = 0
    prev_cum = _count_below(t, lo, n, edges[0], False)
    for i in range(1, n_edges):
        cum = _count_below(t, lo, n, edges[i], i == n_edges - 1)
        c = cum - prev_cum
        if c > best:
            best = c
        prev_cum = cum
    return best


@njit(cache=True, nogil=True)
def _count_below(t: np.ndarray, lo: int, n: int, edge: float, inclusive: bool) -> int:
    # Binary search equivalent to searchsorted(side="right" if inclusive else "left").
    left = 0
    right = n
    while left < right:
        mid = (left + right) // 2
        v = float(t[lo + mid])
        if v < edge or (inclusive and v == edge):
            left = mid + 1
        else:
            right = mid
    return left
