"""Assigning events to bars: the boundary-key rule of docs/architecture.md, vectorised.

An event with order key ``k = (ts_local_us, file_id, file_line_number)`` belongs to the first bar
whose boundary ``(ts, close_file_id, close_file_line_number)`` is ``>= k``; a null close key (a bar
closed on time) means "strictly before ``ts``". Events before the bar's ``bucket_start`` (before
the first bar, or in an interval a clock spine skipped with ``emit_empty=False``) or after the last
boundary are unassigned and counted.

The rule is one compiled merge pass: events in total order against bars sorted by symbol and
boundary, with a pointer that only moves forward (both sequences are ordered, so the first bar whose
boundary is ``>=`` an event's key never moves back); bar columns are then gathered by position, so
the cost is a few linear passes plus a sort only when the input is not in order.

Splits: on a ``split_trades=True`` spine, a trade whose key is a bar's close key is emitted once per
bar it is split into, with ``split_fraction`` and prorated ``qty`` / ``qty_int`` (exact integer
portions summing to the trade's ``qty_int``). All other rows get ``split_fraction = 1.0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit

from pointline.errors import PointlineError
from pointline.lake.order import is_sorted_by

Frame = pl.DataFrame | pl.LazyFrame

BAR_COLUMNS = ("bar_index", "bucket_start", "bucket_end", "ts", "is_complete")
_SPLIT_COLUMNS = ("split_fraction", "split_qty_int", "carry_fraction", "carry_qty_int")
_NULL_KEY = -(2**63)


@dataclass(frozen=True)
class AssignStats:
    """How many events found a bar.

    Attributes
    ----------
    n_events
        Input events.
    n_assigned
        Events inside some bar (a split trade counts once).
    n_unassigned
        Events before the first bar, after the last boundary, or in a skipped interval.
    unassigned_ratio
        ``n_unassigned / n_events`` (0.0 when there are no events).
    """

    n_events: int
    n_assigned: int
    n_unassigned: int
    unassigned_ratio: float


def assign_with_stats(
    events: Frame, spine: pl.DataFrame, ts_col: str = "ts_local_us"
) -> tuple[Frame, AssignStats]:
    """Attach each event to its bar and count the events that have none.

    Parameters
    ----------
    events
        Trades, quotes or book snapshots with ``ts_col`` (µs); ``file_id`` and
        ``file_line_number`` are treated as 0 when absent; ``symbol_id`` is required when the
        spine holds several symbols.
    spine
        A spine frame (docs/architecture.md), one or several symbols.
    ts_col
        Event time column (µs on the same clock as the spine's ``ts``, normally ``ts_local_us``).

    Returns
    -------
    (bucketed, stats)
        ``bucketed`` is of the input's kind (a ``LazyFrame`` input is collected here and the
        result returned as a ``LazyFrame``): the assigned events with ``symbol_id``,
        ``bar_index``, ``bucket_start``, ``bucket_end``, ``ts``, ``is_complete`` (µs,
        ts_local_us clock) ordered by ``(symbol_id, ts_col, file_id, file_line_number)``;
        ``stats`` the counts.

    Example
    -------
    >>> bucketed, stats = assign_with_stats(trades, spine)  # doctest: +SKIP
    >>> stats.unassigned_ratio  # doctest: +SKIP
    0.0
    """
    lazy = isinstance(events, pl.LazyFrame)
    df = events.collect() if isinstance(events, pl.LazyFrame) else events
    out, stats = _assign(df, spine, ts_col)
    return (out.lazy() if lazy else out), stats


def assign_to_buckets(events: Frame, spine: pl.DataFrame, ts_col: str = "ts_local_us") -> Frame:
    """Attach each event to the bar containing it; events outside every bar are dropped.

    Same rule and output as :func:`assign_with_stats`, which it calls; use that function to
    learn how many events were dropped.

    Parameters
    ----------
    events
        Event frame (trades, quotes, book snapshots) with ``ts_col`` in µs.
    spine
        Spine frame of one or several symbols.
    ts_col
        Event time column, default ``ts_local_us``.

    Returns
    -------
    DataFrame or LazyFrame (as the input)
        Events with ``symbol_id``, ``bar_index``, ``bucket_start``, ``bucket_end``, ``ts``,
        ``is_complete`` attached (plus ``split_fraction`` on a ``split_trades`` spine).

    Example
    -------
    >>> bucketed = assign_to_buckets(trades, spine, ts_col="ts_local_us")  # doctest: +SKIP
    """
    return assign_with_stats(events, spine, ts_col)[0]


def _assign(df: pl.DataFrame, spine: pl.DataFrame, ts_col: str) -> tuple[pl.DataFrame, AssignStats]:
    _check_inputs(df.columns, spine, ts_col)
    columns = df.columns
    symbols = spine["symbol_id"].unique().sort()
    if "symbol_id" not in columns:
        if symbols.len() > 1:
            raise PointlineError(
                "events have no 'symbol_id' column but the spine holds several symbols "
                f"({symbols.to_list()}); add symbol_id to the events"
            )
        sid = symbols[0] if symbols.len() else 0
        df = df.select(pl.lit(sid, pl.Int64).alias("symbol_id"), pl.all())
    df = _in_total_order(df, ts_col)
    sym = df["symbol_id"].cast(pl.Int64).fill_null(-1).to_numpy()
    ts = df[ts_col].cast(pl.Int64).to_numpy()
    ekey = _packed_np(df, "file_id", "file_line_number")
    sp = spine.sort("symbol_id", "bar_index")
    sp_sym = sp["symbol_id"].to_numpy()
    bar_ts = sp["ts"].to_numpy()
    bkey = _packed_np(sp, "close_file_id", "close_file_line_number")
    bar_row, last = _merge(sym, ts, ekey, sp_sym, bar_ts, bkey, sp["bucket_start"].to_numpy())
    assigned = bar_row >= 0
    n_events, n_assigned = df.height, int(assigned.sum())
    stats = AssignStats(
        n_events=n_events,
        n_assigned=n_assigned,
        n_unassigned=n_events - n_assigned,
        unassigned_ratio=(n_events - n_assigned) / n_events if n_events else 0.0,
    )
    rows = np.flatnonzero(assigned)
    bar_rows = bar_row[rows]
    split = all(c in sp.columns for c in _SPLIT_COLUMNS) and ("qty" in columns or "qty_int" in columns)
    if not split:
        out = _take(df, rows).hstack(sp.select(BAR_COLUMNS)[bar_rows])
        return out.select(*_kept(out.columns, False)), stats
    out = _split_rows(df, sp, rows, bar_rows, last[rows], bkey, ekey, ts, bar_ts)
    return out.select(*_kept(out.columns, True)), stats


def _take(df: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """``df[rows]`` for sorted distinct ``rows``; a contiguous run (the usual case: only events
    before the first bar or after the last are left out) is a zero-copy slice."""
    if rows.size == 0 or rows[-1] - rows[0] + 1 == rows.size:
        return df.slice(int(rows[0]) if rows.size else 0, int(rows.size))
    return df[rows]


def _kept(columns: list[str], split: bool) -> list[str]:
    base = [c for c in columns if c not in (*BAR_COLUMNS, "split_fraction")]
    return [*base, *BAR_COLUMNS, *(["split_fraction"] if split else [])]


def _in_total_order(df: pl.DataFrame, ts_col: str) -> pl.DataFrame:
    """``df`` ordered by ``(symbol_id, ts_col, file_id, file_line_number)`` with null keys read as
    the merge reads them (``symbol_id`` -1, file keys 0), so the merge pass sees ascending keys."""
    keys = ["symbol_id", ts_col, *[c for c in ("file_id", "file_line_number") if c in df.columns]]
    if df.height < 2:
        return df
    if not any(df[c].null_count() for c in keys):
        return df if is_sorted_by(df, keys) else df.sort(keys, maintain_order=True)
    filled = [pl.col(c).cast(pl.Int64).fill_null(-1 if c == "symbol_id" else 0) for c in keys]
    key_cols = [df.select(f).to_series().to_numpy() for f in filled]
    order_ok = True
    equal = np.ones(df.height - 1, bool)
    for col in key_cols:
        d = np.diff(col)
        if ((d < 0) & equal).any():
            order_ok = False
            break
        equal &= d == 0
    return df if order_ok else df.sort(filled, maintain_order=True)


def _packed_np(df: pl.DataFrame, fid: str, line: str) -> np.ndarray:
    """``(file_id, file_line_number)`` packed in one Int64 with the same order; null/absent keys
    are 0 for events and the smallest Int64 for bar close keys (a time close precedes every event)."""
    if fid not in df.columns or line not in df.columns:
        return np.zeros(df.height, np.int64)
    f, ln = df[fid], df[line]
    packed = f.cast(pl.Int64).fill_null(0).to_numpy() * 4_294_967_296 + (
        ln.cast(pl.Int64).fill_null(0).to_numpy() + 2_147_483_648
    )
    if fid.startswith("close_"):
        packed = np.where((f.is_null() | ln.is_null()).to_numpy(), _NULL_KEY, packed)
    return packed


@njit(cache=True, nogil=True)
def _merge(
    sym: np.ndarray,
    ts: np.ndarray,
    ekey: np.ndarray,
    bar_sym: np.ndarray,
    bar_ts: np.ndarray,
    bkey: np.ndarray,
    bucket_start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One merge pass of events (in total order) against bars (by symbol, then boundary).

    Returns, per event, the bar row holding it (the first bar of its symbol whose boundary
    ``(ts, close key)`` is ``>=`` the event's key, provided the event is not before that bar's
    ``bucket_start``; -1 otherwise) and the last bar row with that same boundary (a trade that
    closes several bars at once; equals the first row otherwise).
    """
    n, m = ts.shape[0], bar_ts.shape[0]
    bar_row = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    j = 0
    end = 0
    for i in range(n):
        if i == 0 or sym[i] != sym[i - 1]:
            while j < m and bar_sym[j] < sym[i]:
                j += 1
            end = j
            while end < m and bar_sym[end] == sym[i]:
                end += 1
        t, k = ts[i], ekey[i]
        while j < end and (bar_ts[j] < t or (bar_ts[j] == t and bkey[j] < k)):
            j += 1
        if j >= end or t < bucket_start[j]:
            bar_row[i] = -1
            last[i] = -1
            continue
        bar_row[i] = j
        q = j
        if bar_ts[j] == t and bkey[j] == k:
            while q + 1 < end and bar_ts[q + 1] == t and bkey[q + 1] == k:
                q += 1
        last[i] = q
    return bar_row, last


def _split_rows(
    df: pl.DataFrame,
    sp: pl.DataFrame,
    rows: np.ndarray,
    bar_rows: np.ndarray,
    last_rows: np.ndarray,
    bkey: np.ndarray,
    ekey: np.ndarray,
    ts: np.ndarray,
    bar_ts: np.ndarray,
) -> pl.DataFrame:
    """One row per (trade, bar) portion: a trade that closes bars p..q (same close key) lies in
    each of them, plus in bar q+1 when it carries a leftover there."""
    rep, bar_out, is_carry, split, fraction = _portions(
        rows,
        bar_rows,
        last_rows,
        bkey,
        ekey,
        ts,
        bar_ts,
        sp["carry_fraction"].fill_null(0.0).to_numpy(),
        sp["split_fraction"].fill_null(1.0).to_numpy(),
        sp["symbol_id"].to_numpy(),
    )
    out = df[rows[rep]]
    updates = [pl.Series("split_fraction", fraction)]
    if "qty" in df.columns:
        updates.append(out["qty"] * updates[0])
    if "qty_int" in df.columns:
        updates.append(_qty_int_portions(out["qty_int"], sp, rep, bar_out, is_carry, split, fraction))
    out = out.with_columns(updates)
    return out.hstack(sp.select(BAR_COLUMNS)[bar_out])


@njit(cache=True, nogil=True)
def _portions(
    rows: np.ndarray,
    bar_rows: np.ndarray,
    last_rows: np.ndarray,
    bkey: np.ndarray,
    ekey: np.ndarray,
    ts: np.ndarray,
    bar_ts: np.ndarray,
    carry_fraction: np.ndarray,
    own_fraction: np.ndarray,
    bar_sym: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The output rows of a split assignment, in order: for each assigned event ``i``, one portion
    per bar ``bar_rows[i]..q`` it closes (``q = last_rows[i]`` when its key is that boundary) plus
    one in bar ``q + 1`` when that bar opens with a carried leftover of it; one portion otherwise.

    Returns ``(rep, bar_out, is_carry, split, fraction)`` per portion: the index into ``rows``, the
    bar row, whether it is the carried leftover, whether the event closes bars, and its fraction.
    """
    n, n_bars = rows.shape[0], bar_ts.shape[0]
    closes = np.zeros(n, np.bool_)
    carries = np.zeros(n, np.bool_)
    counts = np.ones(n, np.int64)
    total = 0
    for i in range(n):
        b, e = bar_rows[i], rows[i]
        if bkey[b] == ekey[e] and bar_ts[b] == ts[e] and last_rows[i] >= b:
            q = last_rows[i]
            closes[i] = True
            carries[i] = q + 1 < n_bars and carry_fraction[q + 1] > 0 and bar_sym[q + 1] == bar_sym[q]
            counts[i] = q - b + 1 + (1 if carries[i] else 0)
        total += counts[i]
    rep = np.empty(total, np.int64)
    bar_out = np.empty(total, np.int64)
    is_carry = np.zeros(total, np.bool_)
    split = np.zeros(total, np.bool_)
    fraction = np.ones(total, np.float64)
    k = 0
    for i in range(n):
        for w in range(counts[i]):
            rep[k] = i
            bar_out[k] = bar_rows[i] + w
            if closes[i]:
                split[k] = True
                if carries[i] and w == counts[i] - 1:
                    is_carry[k] = True
                    fraction[k] = carry_fraction[bar_out[k]]
                else:
                    fraction[k] = own_fraction[bar_out[k]]
            k += 1
    return rep, bar_out, is_carry, split, fraction


def _qty_int_portions(
    qty_int: pl.Series,
    sp: pl.DataFrame,
    rep: np.ndarray,
    bar_out: np.ndarray,
    is_carry: np.ndarray,
    split: np.ndarray,
    fraction: np.ndarray,
) -> pl.Series:
    """Integer portions of each split trade that add up to its ``qty_int`` exactly."""
    total = qty_int.cast(pl.Int64).fill_null(0).to_numpy()
    if rep.shape[0] == 0:
        return qty_int.cast(pl.Int64)
    exact_own = sp["split_qty_int"].to_numpy(allow_copy=True)
    exact_carry = sp["carry_qty_int"].to_numpy(allow_copy=True)
    given = np.where(is_carry, exact_carry[bar_out], exact_own[bar_out])
    known = sp["split_qty_int"].null_count() < sp.height
    if known:
        return pl.Series("qty_int", np.where(split, given, total).astype(np.int64))
    # Float measure (dollar bars): round the cumulative share, so the portions of one trade
    # telescope to exactly its qty_int (the last portion ends at a share of 1).
    starts = np.r_[0, np.flatnonzero(np.diff(rep)) + 1]
    sizes = np.diff(np.r_[starts, rep.shape[0]])
    cum = np.cumsum(fraction)
    cum = cum - np.repeat(cum[starts] - fraction[starts], sizes)
    is_last = np.r_[np.diff(rep) != 0, True]
    cum = np.where(is_last, 1.0, cum)
    prev = np.r_[0.0, cum[:-1]]
    prev[starts] = 0.0
    portion = np.rint(total * cum) - np.rint(total * prev)
    return pl.Series("qty_int", np.where(split, portion, total).astype(np.int64))


def _check_inputs(columns: list[str], spine: pl.DataFrame, ts_col: str) -> None:
    if ts_col not in columns:
        raise PointlineError(f"events have no time column {ts_col!r}; got columns {columns}")
    needed = ["symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "close_file_id",
              "close_file_line_number", "is_complete"]  # fmt: skip
    missing = [c for c in needed if c not in spine.columns]
    if missing:
        raise PointlineError(f"spine is missing column(s) {missing}; build it with a spine builder")
    clash = [c for c in BAR_COLUMNS if c in columns]
    if clash:
        raise PointlineError(f"events already have bar column(s) {clash}; drop them before assigning")
