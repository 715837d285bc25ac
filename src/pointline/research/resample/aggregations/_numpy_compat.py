"""Numba versions of the NumPy reductions the notebook uses, bit-compatible where NumPy is.

The notebook's features are defined by what NumPy computes, rounding included. NumPy sums float64
arrays with pairwise summation (blocks of 128 with 8 accumulators), ``std`` is
``sqrt(sum((x - sum(x)/n)**2) / n)`` with those sums, ``percentile(..., 90)`` interpolates linearly
between the order statistics around ``0.9 * (n - 1)`` with NumPy's two-sided lerp, and
``histogram`` counts with ``searchsorted`` (left) except the last edge (right-inclusive).
Reproducing them here keeps the fast path within rounding of the notebook, usually identical.

They are also written for speed, because a 10-second bucket holds only ~100 trades: the eight
accumulators run as the lanes of one vector, the percentile is a selection of branch-free passes
(the first one fusable into the caller's own pass), and the sums are inlined into their callers
(a Numba call costs more than summing a small bucket; inlining more only lengthens compilation).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_BLOCK = 128


@njit(cache=True, nogil=True, inline="always")
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    # NumPy's leaf: plain loop below 8 elements, else 8 interleaved accumulators, combined as
    # ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest added one by one.
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    m = n - (n % 8)
    res = _lanes8_sum(a, lo, m)  # type: ignore[call-arg]
    for i in range(lo + m, lo + n):
        res += a[i]
    return res


@intrinsic
def _lanes8_sum(typingctx, a, lo, m):  # type: ignore[no-untyped-def]
    """NumPy's 8-accumulator loop over ``a[lo:lo+m]`` (``m`` a multiple of 8, ``>= 8``).

    The eight accumulators are the lanes of one 8-wide vector: lane ``k`` adds ``a[lo+k]``,
    ``a[lo+k+8]``, ... in order, exactly as NumPy's scalar ``r[k]`` does (lane-wise IEEE adds,
    no reassociation), so the result is bit-identical at about three times the speed. Numba does
    not vectorise the scalar form itself. ``a`` must be a C-contiguous float64 vector.
    """
    if not (isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" and a.dtype == types.float64):
        return None
    sig = types.float64(a, types.intp, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        array, start, count = args
        data = context.make_array(signature.args[0])(context, builder, array).data
        vector = ir.VectorType(ir.DoubleType(), 8)
        chunks = builder.bitcast(builder.gep(data, [start]), vector.as_pointer())
        acc = cgutils.alloca_once(builder, vector)
        builder.store(builder.load(chunks, align=8), acc)
        one = ir.Constant(count.type, 1)
        n_chunks = builder.udiv(count, ir.Constant(count.type, 8))
        with cgutils.for_range_slice(builder, one, n_chunks, one, inc=True) as (i, _):
            builder.store(
                builder.fadd(builder.load(acc), builder.load(builder.gep(chunks, [i]), align=8)), acc
            )
        lanes = builder.load(acc)
        r = [builder.extract_element(lanes, ir.Constant(ir.IntType(32), k)) for k in range(8)]
        low = builder.fadd(builder.fadd(r[0], r[1]), builder.fadd(r[2], r[3]))
        high = builder.fadd(builder.fadd(r[4], r[5]), builder.fadd(r[6], r[7]))
        return builder.fadd(low, high)

    return sig, codegen


#: Depth of the explicit stack ``pairwise_sum`` needs: log2(n / 128) + 2 nodes, so 64 is ample.
STACK_DEPTH = 64


@njit(cache=True, nogil=True)
def pairwise_workspace() -> tuple[np.ndarray, np.ndarray]:
    """The ``(nodes, values)`` stack ``pairwise_sum`` works in, allocated once per kernel call."""
    return np.empty((STACK_DEPTH, 3), dtype=np.int64), np.empty(STACK_DEPTH)


@njit(cache=True, nogil=True, inline="always")
def pairwise_sum(a: np.ndarray, lo: int, n: int, nodes: np.ndarray, values: np.ndarray) -> float:
    """NumPy's float64 pairwise sum of ``a[lo:lo+n]`` (same rounding as ``np.sum``).

    ``nodes`` and ``values`` are a caller-owned stack (``pairwise_workspace()``), so the sum never
    allocates. Kept small so the compiler inlines it: most bars need only one leaf.
    """
    if n <= _BLOCK:
        return _block_sum(a, lo, n)
    return _pairwise_tree(a, lo, n, nodes, values)


@njit(cache=True, nogil=True)
def _pairwise_tree(a: np.ndarray, lo: int, n: int, nodes: np.ndarray, values: np.ndarray) -> float:
    # NumPy recurses (split at n // 2 rounded down to a multiple of 8, leaves of <= 128); this
    # walks the same tree with an explicit stack because Numba cannot cache recursive functions.
    top = 0
    nv = 0
    nodes[0, 0] = lo
    nodes[0, 1] = n
    nodes[0, 2] = 0
    while top >= 0:
        cur_lo = nodes[top, 0]
        cur_n = nodes[top, 1]
        if cur_n <= _BLOCK:
            values[nv] = _block_sum(a, cur_lo, cur_n)
            nv += 1
            top -= 1
            continue
        half = cur_n // 2
        half -= half % 8
        state = nodes[top, 2]
        if state == 0:
            nodes[top, 2] = 1
            top += 1
            nodes[top, 0] = cur_lo
            nodes[top, 1] = half
            nodes[top, 2] = 0
        elif state == 1:
            nodes[top, 2] = 2
            top += 1
            nodes[top, 0] = cur_lo + half
            nodes[top, 1] = cur_n - half
            nodes[top, 2] = 0
        else:
            values[nv - 2] = values[nv - 2] + values[nv - 1]
            nv -= 1
            top -= 1
    return values[0]


#: Selection ranks sets of at most this many values directly, and pivots on a sample this big.
_DIRECT = 16
_SAMPLE = 16
#: Rank in the sample of ``pivot_below_90th``: about 2.5 standard errors below the 90% point,
#: so the pivot is below the 90th percentile in all but rare cases (which stay exact, only slower).
_PIVOT_RANK = 10


@njit(cache=True, nogil=True)
def percentile_90(a: np.ndarray, lo: int, n: int, scratch: np.ndarray) -> float:
    """``np.percentile(a[lo:lo+n], 90)`` (method linear, NumPy's lerp); ``n >= 1``.

    ``scratch`` holds at least ``3 * n + 16`` float64. NaN anywhere gives NaN, as in NumPy.
    This is the composition a caller can fuse into its own pass over ``a``: pick
    ``pivot_below_90th``, count the values below it and copy those above, then
    ``percentile_90_split``.
    """
    a = a[lo : lo + n]
    pivot = pivot_below_90th(a, n, scratch)
    above = scratch[:n]
    n_low = 0
    n_above = 0
    has_nan = False
    for i in range(n):
        x = a[i]
        above[n_above] = x
        n_above += x > pivot
        n_low += x < pivot
        has_nan |= x != x
    return percentile_90_split(a, n, pivot, n_low, above, n_above, has_nan, scratch[n:])


@njit(cache=True, nogil=True)
def pivot_below_90th(a: np.ndarray, n: int, sample: np.ndarray) -> float:
    """A value of ``a[:n]`` a little below its 90th percentile, from a strided sample of 16.

    ``-inf`` for ``n <= 16`` (every value is then "above"). Uses ``sample[:16]``.
    """
    if n <= _DIRECT:
        return -np.inf
    stride = n // _SAMPLE
    for i in range(_SAMPLE):
        sample[i] = a[i * stride]
    return _rank_value(sample, _SAMPLE, _PIVOT_RANK)


@njit(cache=True, nogil=True)
def percentile_90_split(
    a: np.ndarray,
    n: int,
    pivot: float,
    n_low: int,
    above: np.ndarray,
    n_above: int,
    has_nan: bool,
    scratch: np.ndarray,
) -> float:
    """``np.percentile(a[:n], 90)`` after one pass split ``a`` around ``pivot``.

    Parameters
    ----------
    a, n:
        The values (only read again if the pivot turns out to be above the 90th percentile).
    pivot, n_low, above, n_above, has_nan:
        ``n_low`` values are ``< pivot``; the ``n_above`` values ``> pivot`` are in
        ``above[:n_above]`` (any order); ``has_nan`` says whether any value is NaN.
    scratch:
        At least ``2 * n + 16`` float64.
    """
    if has_nan:
        return np.nan
    virtual = (n - 1) * 0.9
    k = math.floor(virtual)
    n_le = n - n_above
    if n_low <= k < n_le:
        below = pivot
        upper = pivot
        if k + 1 >= n_le and n_above:
            upper = above[0]
            for i in range(1, n_above):
                upper = min(upper, above[i])
    elif k >= n_le:
        m = n_above
        below, upper = order_statistics(
            above, 0, m, k - n_le, scratch[:m], scratch[m : 2 * m], scratch[2 * m :]
        )
    else:
        below, upper = order_statistics(a, 0, n, k, scratch[:n], scratch[n : 2 * n], scratch[2 * n :])
    gamma = virtual - k
    diff = upper - below
    if gamma >= 0.5:
        return upper - diff * (1.0 - gamma)
    return below + diff * gamma


@njit(cache=True, nogil=True)
def order_statistics(
    a: np.ndarray, lo: int, n: int, k: int, low: np.ndarray, high: np.ndarray, sample: np.ndarray
) -> tuple[float, float]:
    """The k-th and (k+1)-th smallest of ``a[lo:lo+n]`` (0-based; the (k+1)-th is the k-th if k = n-1).

    A selection built from branch-free passes: each pass splits the candidates around a pivot
    sampled near the target rank into ``low`` (< pivot) and ``high`` (> pivot), then keeps the side
    holding the target; data-dependent branches (what makes quickselect slow on random data) stay
    out of the loops. The (k+1)-th comes for free: it is the pivot, the smallest value above it in
    the last pass, or the lowest pivot already passed on the way down. ``sample`` holds 16 values.
    Returns ``(nan, nan)`` if any value is NaN.
    """
    src = a[lo : lo + n]
    m = n
    kk = k
    dropped = False  # were values above the candidates discarded? The smallest is a former pivot.
    dropped_above = 0.0
    first = True
    while m > _DIRECT:
        stride = m // _SAMPLE
        for i in range(_SAMPLE):
            sample[i] = src[i * stride]
        pivot = _rank_value(sample, _SAMPLE, (kk * (_SAMPLE - 1) + (m - 1) // 2) // (m - 1))
        n_low = 0
        n_high = 0
        above_min = np.inf
        has_nan = False
        for i in range(m):
            x = src[i]
            low[n_low] = x
            n_low += x < pivot
            high[n_high] = x
            n_high += x > pivot
            above_min = min(above_min, x if x > pivot else np.inf)
            has_nan |= x != x
        if first and has_nan:
            return np.nan, np.nan
        first = False
        n_le = m - n_high
        if n_low <= kk < n_le:
            if kk + 1 < n_le:
                return pivot, pivot
            if n_high:
                return pivot, above_min
            return pivot, dropped_above if dropped else pivot
        if kk < n_low:
            dropped = True
            dropped_above = pivot
            src = low
            m = n_low
        else:
            src = high
            kk -= n_le
            m = n_high
    for i in range(m):
        x = src[i]
        if x != x:
            return np.nan, np.nan
        low[i] = x
    value = _rank_value(low, m, kk)
    if kk + 1 < m:
        return value, _rank_value(low, m, kk + 1)
    return value, dropped_above if dropped else value


@njit(cache=True, nogil=True)
def _rank_value(a: np.ndarray, m: int, k: int) -> float:
    # The k-th smallest of a[:m] by counting ranks (m * m branch-free comparisons): small m only.
    for i in range(m):
        x = a[i]
        lt = 0
        le = 0
        for j in range(m):
            lt += a[j] < x
            le += a[j] <= x
        if lt <= k < le:
            return x
    return np.nan


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
    prev_cum = count_below(t, lo, n, edges[0], False)
    for i in range(1, n_edges):
        cum = count_below(t, lo, n, edges[i], i == n_edges - 1)
        c = cum - prev_cum
        if c > best:
            best = c
        prev_cum = cum
    return best


@njit(cache=True, nogil=True)
def count_below(t: np.ndarray, lo: int, n: int, edge: float, inclusive: bool) -> int:
    """``#{t < edge}`` (``<=`` if ``inclusive``) in the ascending slice ``t[lo:lo+n]``, compared as float64.

    A binary search, equivalent to ``searchsorted(side="right" if inclusive else "left")``.
    """
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
