"""Rows that may already be in the lake under another file.

Ingest recognises a file it has seen by its bytes (sha256), so the same trades in another container
(a gzipped copy, a subset, a re-export) land again. This index says when a file's rows of an
instrument cover a time range the lake already holds from another file, so the report can flag
*possible duplicate data*. The rows still land (a vendor's corrected re-issue is legitimate); the
flag is the file's ``reason`` in the report and the ledger.

An overlap counts when it is at least :data:`MIN_OVERLAP_US` long or covers at least half the new
file's range for that instrument: consecutive daily files, whose receive times spill a little past
midnight, do not. The index is read once per ingest run from the tables' Delta statistics (one
entry per data file of one instrument) and kept current as files land, so checking costs the same
whatever the lake's size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from pointline.lake import storage

#: An overlap this long (µs) is flagged whatever the files' lengths.
MIN_OVERLAP_US = 60_000_000

Key = tuple[str, str, int]  # (table, exchange, symbol_id)
Span = tuple[str, int, int, int]  # (exchange, symbol_id, first, last receive time)


@dataclass
class Extents:
    """Per table, exchange and instrument: the ``(first, last)`` receive times of each file's rows."""

    spans: dict[Key, list[tuple[int, int, int]]] = field(default_factory=lambda: defaultdict(list))
    loaded: set[str] = field(default_factory=set)

    def overlapping(
        self, table: str, spans: list[Span], file_id: int, writer: storage.LakeWriter
    ) -> list[int]:
        """The other files whose rows overlap ``spans`` (of the lake rows of ``file_id``, see
        :func:`spans_of`), sorted."""
        if table not in self.loaded:
            self._load(table, writer)
        hits: set[int] = set()
        for exchange, symbol_id, lo, hi in spans:
            for first, last, other in self.spans.get((table, exchange, symbol_id), ()):
                if other != file_id and _substantial(lo, hi, first, last):
                    hits.add(other)
        return sorted(hits)

    def add(self, table: str, spans: list[Span], file_id: int) -> None:
        """Index the rows of ``file_id`` just landed (their :func:`spans_of`)."""
        for exchange, symbol_id, lo, hi in spans:
            self.spans[(table, exchange, symbol_id)].append((lo, hi, file_id))

    def _load(self, table: str, writer: storage.LakeWriter) -> None:
        self.loaded.add(table)
        actions = storage.file_stats(table, writer=writer)
        if actions is None:
            return
        needed = [
            "partition.exchange",
            "min.symbol_id",
            "max.symbol_id",
            "min.ts_local_us",
            "max.ts_local_us",
            "min.file_id",
        ]
        if not set(needed) <= set(actions.column_names):
            return
        rows = pl.from_arrow(actions.select(needed))
        assert isinstance(rows, pl.DataFrame)
        single = rows.drop_nulls().filter(pl.col("min.symbol_id") == pl.col("max.symbol_id"))
        for exchange, symbol_id, _, lo, hi, file_id in single.iter_rows():
            self.spans[(table, str(exchange), int(symbol_id))].append((int(lo), int(hi), int(file_id)))


def spans_of(good: pl.DataFrame) -> list[Span]:
    """``(exchange, symbol_id, first, last)`` receive time per instrument of lake rows (in storage
    order: one instrument's rows are contiguous and in time order)."""
    if good.height == 0:
        return []
    # Expressions, not columns: a file's exchange and symbol_id are constants in its frame, which
    # taking them as Series would write out row by row.
    exchange, first_id, last_id, first_ts, last_ts = good.select(
        pl.col("exchange").first(),
        pl.col("symbol_id").first(),
        pl.col("symbol_id").last().alias("last_id"),
        pl.col("ts_local_us").first(),
        pl.col("ts_local_us").last().alias("last_ts"),
    ).row(0)
    if first_id == last_id:  # one instrument (the usual file): its first and last rows
        return [(str(exchange), int(first_id), int(first_ts), int(last_ts))]
    spans = good.group_by("exchange", "symbol_id").agg(
        pl.col("ts_local_us").min().alias("lo"), pl.col("ts_local_us").max().alias("hi")
    )
    return [(str(e), int(s), int(lo), int(hi)) for e, s, lo, hi in spans.iter_rows()]


def merge_spans(spans: list[Span]) -> list[Span]:
    """One span per instrument covering all of ``spans`` (a file landed in several batches), in
    first-seen order."""
    merged: dict[tuple[str, int], tuple[int, int]] = {}
    for exchange, symbol_id, lo, hi in spans:
        old = merged.get((exchange, symbol_id))
        merged[(exchange, symbol_id)] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    return [(e, s, lo, hi) for (e, s), (lo, hi) in merged.items()]


def _substantial(lo: int, hi: int, first: int, last: int) -> bool:
    if lo > last or first > hi:
        return False
    overlap = min(hi, last) - max(lo, first)
    return overlap >= MIN_OVERLAP_US or overlap >= (hi - lo) / 2
