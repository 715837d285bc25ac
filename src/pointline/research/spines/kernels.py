"""Numba kernels for the sequential bar state machines (DESIGN.md §4).

A threshold bar (tick / volume / dollar / hybrid) needs a running total that resets at every close,
so it cannot be vectorised; these kernels do it in one pass over a chunk of events and return the
closes as compact *runs* instead of one row per bar, because one event may close many bars
(``split_trades``) and one quiet gap may hold many time closes (hybrid). The caller expands runs
into bars with ``numpy.repeat``.

A run ``j`` is described by:

- ``run_idx[j]``: index of the closing event in the chunk, ``-1`` for time closes;
- ``run_ts[j]``: ``ts_local_us`` (µs) of the first close of the run;
- ``run_count[j]``: number of bars the run closes;
- ``run_step[j]``: µs between consecutive closes of the run (0 for event runs);
- ``run_first[j]``: measure of the closing event that falls into the first bar of the run
  (whole event when not splitting), then ``threshold`` for each further bar of the run;
- ``run_carry[j]``: measure of the closing event left over for the bar after the run
  (always 0 when not splitting).

The kernels are generic over the measure dtype: ``int64`` for exact sums (trade counts,
``qty_int``) and ``float64`` (notional); ``tol`` is 0 for integers and a tiny relative slack for
floats so that e.g. a thousand trades of 0.1 close a 100.0 bar.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def threshold_runs(ts, measure, threshold, tol, max_time_us, split, open_ts, running):  # type: ignore[no-untyped-def]
    """Close threshold bars over one chunk; see the module docstring for the run encoding.

    Parameters
    ----------
    ts : int64[n]
        ``ts_local_us`` of the events, in the total order.
    measure : int64[n] or float64[n]
        Contribution of each event to the running total (1, qty_int, notional, ...).
    threshold, tol
        A bar closes when ``running >= threshold - tol`` (same dtype as ``measure``).
    max_time_us : int
        Hybrid time limit in µs; ``<= 0`` disables time closes.
    split : bool
        Split the closing event so each complete bar holds exactly ``threshold``.
    open_ts : int
        ``bucket_start`` (µs) of the bar open before the chunk.
    running
        Measure already accumulated in that bar.

    Returns
    -------
    tuple
        ``(run_idx, run_ts, run_count, run_step, run_first, run_carry, open_ts, running)`` with the
        run arrays trimmed to the number of runs and the state of the bar left open.
    """
    n = ts.shape[0]
    cap = 2 * n + 1
    run_idx = np.empty(cap, np.int64)
    run_ts = np.empty(cap, np.int64)
    run_count = np.empty(cap, np.int64)
    run_step = np.empty(cap, np.int64)
    run_first = np.zeros(cap, measure.dtype)
    run_carry = np.zeros(cap, measure.dtype)
    zero = threshold - threshold
    close_at = threshold - tol
    k = 0
    for i in range(n):
        t = ts[i]
        if max_time_us > 0 and t >= open_ts + max_time_us:
            # An event exactly at the deadline belongs to the next bar, hence ">=".
            r = (t - open_ts) // max_time_us
            run_idx[k] = -1
            run_ts[k] = open_ts + max_time_us
            run_count[k] = r
            run_step[k] = max_time_us
            k += 1
            open_ts += r * max_time_us
            running = zero
        m = measure[i]
        total = running + m
        if total < close_at:
            running = total
            continue
        run_idx[k] = i
        run_ts[k] = t
        run_step[k] = 0
        if not split:
            run_count[k] = 1
            run_first[k] = m
            running = zero
        else:
            first = threshold - running
            if first > m:
                first = m
            rest = m - first
            n_full = 0
            if rest >= close_at:
                n_full = np.int64(rest // threshold)
                rest = rest - n_full * threshold
                if rest >= close_at:
                    n_full += 1
                    rest = rest - threshold
                if rest < zero:
                    rest = zero
            if rest <= tol:
                rest = zero
            run_count[k] = 1 + n_full
            run_first[k] = first
            run_carry[k] = rest
            running = rest
        k += 1
        open_ts = t
    return (
        run_idx[:k],
        run_ts[:k],
        run_count[:k],
        run_step[:k],
        run_first[:k],
        run_carry[:k],
        open_ts,
        running,
    )
