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

Clock bars need no running total, only the intervals that hold events (``occupied_intervals``),
found with one comparison per event instead of a division and a sort.
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
    # Runs are few (about one per bar), so capacity starts small and doubles when needed: sizing
    # for the worst case (two runs per event) would allocate and fault in ~100 bytes per event.
    ints = np.empty((4, 4096), np.int64)  # run_idx, run_ts, run_count, run_step
    vals = np.empty((2, 4096), measure.dtype)  # run_first, run_carry
    k = 0
    i = 0
    while i < n:
        if ints.shape[1] - k < 2:
            ints, vals = _grow(ints, vals, k)
        # One event adds at most two runs (a time run, an event run), so this stretch fits.
        stop = min(n, i + (ints.shape[1] - k) // 2)
        k, open_ts, running = _fold(
            ts, measure, threshold, tol, max_time_us, split, open_ts, running, i, stop, ints, vals, k
        )
        i = stop
    return (
        ints[0, :k],
        ints[1, :k],
        ints[2, :k],
        ints[3, :k],
        vals[0, :k],
        vals[1, :k],
        open_ts,
        running,
    )


@njit(cache=True)
def _fold(ts, measure, threshold, tol, max_time_us, split, open_ts, running, lo, hi, ints, vals, k):  # type: ignore[no-untyped-def]
    # Events [lo, hi) into runs from index k; returns (k, open_ts, running) after them.
    zero = threshold - threshold
    close_at = threshold - tol
    for i in range(lo, hi):
        t = ts[i]
        if max_time_us > 0 and t >= open_ts + max_time_us:
            # An event exactly at the deadline belongs to the next bar, hence ">=".
            r = (t - open_ts) // max_time_us
            _put(ints, vals, k, -1, open_ts + max_time_us, r, max_time_us, zero, zero)
            k += 1
            open_ts += r * max_time_us
            running = zero
        m = measure[i]
        total = running + m
        if total < close_at:
            running = total
            continue
        if not split:
            _put(ints, vals, k, i, t, 1, 0, m, zero)
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
            _put(ints, vals, k, i, t, 1 + n_full, 0, first, rest)
            running = rest
        k += 1
        open_ts = t
    return k, open_ts, running


@njit(cache=True, inline="always")
def _put(ints, vals, k, idx, ts, count, step, first, carry):  # type: ignore[no-untyped-def]
    ints[0, k] = idx
    ints[1, k] = ts
    ints[2, k] = count
    ints[3, k] = step
    vals[0, k] = first
    vals[1, k] = carry


@njit(cache=True)
def _grow(ints, vals, k):  # type: ignore[no-untyped-def]
    # Double the run capacity, keeping the first k runs.
    cap = 2 * ints.shape[1]
    new_ints = np.empty((4, cap), np.int64)
    new_vals = np.empty((2, cap), vals.dtype)
    new_ints[:, :k] = ints[:, :k]
    new_vals[:, :k] = vals[:, :k]
    return new_ints, new_vals


@njit(cache=True)
def occupied_intervals(ts, anchor_us, step_us, first_k):  # type: ignore[no-untyped-def]
    """Clock intervals ``k = (ts - anchor) // step`` holding events, for ``k >= first_k``.

    Parameters
    ----------
    ts : int64[n]
        ``ts_local_us`` of the events, ascending.
    anchor_us, step_us : int
        Grid of the clock bars (µs).
    first_k : int
        Events in earlier intervals are ignored.

    Returns
    -------
    tuple
        ``(ks, n_in_last)``: the distinct occupied interval numbers in ascending order and the
        number of events in the last one. One comparison per event, a division per interval.
    """
    n = ts.shape[0]
    end = anchor_us + first_k * step_us  # events before this are in ignored intervals
    if n == 0 or ts[n - 1] < end:
        return np.empty(0, np.int64), 0
    # No more intervals than events, nor than the span holds.
    ks = np.empty(min(n, (ts[n - 1] - max(ts[0], end)) // step_us + 2), np.int64)
    count = 0
    n_in_last = 0
    for i in range(n):
        t = ts[i]
        if t < end:
            n_in_last += 1
            continue
        k = (t - anchor_us) // step_us
        ks[count] = k
        count += 1
        n_in_last = 1
        end = anchor_us + (k + 1) * step_us
    return ks[:count], n_in_last
