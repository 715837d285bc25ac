"""How large a request's inputs are, and so whether it runs streamed.

``execution.streaming`` (``auto`` by default) decides between the one-pass engine, which holds every
input event of the timeline in memory, and the streamed one
(:mod:`pointline.research.pipeline_v2.streamed`), which reads a chunk of the timeline at a time.
``auto`` streams when the decoded inputs are estimated above :data:`STREAM_ABOVE_BYTES`: the row
counts in the Delta file statistics of the files that may hold the instrument within the time read
(their ``symbol_id`` and ``ts_local_us`` ranges), times the bytes of the columns read. Chunks are UTC
days, or hours (:data:`CHUNK_HOURS`) when a day's share of the estimate exceeds half the threshold.
``event_joined`` requests (one output row per event) always run in one pass.
"""

from __future__ import annotations

import os

import pyarrow.compute as pc

from pointline.lake import dim_symbol
from pointline.lake.storage import file_stats
from pointline.research.pipeline_v2.columns import source_columns, table_columns
from pointline.research.pipeline_v2.plan import Plan

#: Estimated decoded input (bytes) above which ``auto`` streams, at most: a one-pass run with its
#: gates peaks at about three times its inputs (31 days estimated at 2.9 GB peaked at 8.4 GB), so
#: the threshold is also at most an eighth of the machine's memory (:func:`stream_threshold`).
STREAM_ABOVE_BYTES = 2 << 30
#: Bytes a decoded value takes in memory: a scalar column, a list column of book levels.
_SCALAR_BYTES, _LIST_BYTES = 8, 8 * 25 + 8
_LIST_COLUMNS = ("bids_px", "bids_qty", "asks_px", "asks_qty")


def stream_threshold() -> int:
    """``POINTLINE_STREAM_ABOVE_BYTES`` when set, else :data:`STREAM_ABOVE_BYTES` or an eighth of
    the physical memory, whichever is smaller."""
    value = os.environ.get("POINTLINE_STREAM_ABOVE_BYTES")
    if value:
        return int(value)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not reported on this platform
        return STREAM_ABOVE_BYTES
    return min(STREAM_ABOVE_BYTES, memory // 8) if memory > 0 else STREAM_ABOVE_BYTES


#: Chunk lengths a streamed run chooses from (hours, each dividing a day): the longest whose share
#: of the estimated inputs stays under half the threshold.
CHUNK_HOURS = (24, 12, 6, 4, 3, 2, 1)
_HOUR_US = 3_600_000_000


def stream_chunk_us(plan: Plan, setting: str, lake: str) -> int | None:
    """The chunk length (µs) ``plan`` streams with under ``execution.streaming`` = ``setting``;
    ``None`` for one pass."""
    if plan.mode == "event_joined" or setting == "never":
        return None
    estimate = estimated_input_bytes(plan, lake)
    threshold = stream_threshold()
    if setting == "auto" and estimate <= threshold:
        return None
    per_hour = estimate / max(1.0, (plan.end_us - plan.start_us) / _HOUR_US)
    hours = next((h for h in CHUNK_HOURS if per_hour * h <= threshold / 2), CHUNK_HOURS[-1])
    return hours * _HOUR_US


def estimated_input_bytes(plan: Plan, lake: str) -> int:
    """The decoded size of ``plan``'s inputs, estimated from the Delta statistics (an upper bound
    when files hold several instruments)."""
    wanted = source_columns(plan)
    total = 0
    for name, source in plan.sources.items():
        columns = wanted.get(name) or table_columns(source.table)
        width = sum(_LIST_BYTES if c.startswith(_LIST_COLUMNS) else _SCALAR_BYTES for c in columns)
        symbol_id = dim_symbol.resolve(source.exchange, source.symbol, lake=lake).symbol_id
        total += width * _rows(
            source.table, source.exchange, symbol_id, plan.read_start_us(name), plan.end_us, lake
        )
    return total


def _rows(table: str, exchange: str, symbol_id: int, start_us: int, end_us: int, lake: str) -> int:
    """Rows of the files of ``exchange`` whose statistics say they may hold ``symbol_id`` between
    ``start_us`` and ``end_us`` (a file without statistics counts)."""
    stats = file_stats(table, lake=lake)
    if stats is None or "num_records" not in stats.column_names:
        return 0
    keep = pc.equal(stats.column("partition.exchange"), exchange)
    for column, test, value in (
        ("min.symbol_id", pc.less_equal, symbol_id),
        ("max.symbol_id", pc.greater_equal, symbol_id),
        ("min.ts_local_us", pc.less, end_us),
        ("max.ts_local_us", pc.greater_equal, start_us),
    ):
        if column in stats.column_names:
            keep = pc.and_(keep, pc.fill_null(test(stats.column(column), value), True))
    rows = stats.filter(pc.fill_null(keep, False)).column("num_records")
    return int(pc.sum(rows).as_py() or 0)
