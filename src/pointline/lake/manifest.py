"""The ingest ledger ``_ingest_manifest`` (DESIGN.md §3 Ingestion).

An append-only Delta table with one row per ingest event of a file. The latest row per ``sha256``
(by ``ingested_at_us``, then append order) states where the file stands:

- ``ingested``: all rows landed; ``quarantined``: the file landed but some rows were quarantined;
- ``skipped-duplicate``: the content was already in the lake when this path was offered;
- ``failed``: the file could not be read; nothing of it is in the lake;
- ``started``: written by earlier versions before a file's data commit; a ledger may still hold it.

A file's row is recorded only after its data landed, so rows in the lake whose ``file_id`` the ledger
does not record as landed are a crashed run's, and the next run removes them first (see
:mod:`pointline.ingest.runner`). A run records its rows in batches (:func:`record_many`).

``file_id`` (Int32) is assigned sequentially at the first sight of a content hash and reused by
every later row of that hash. Timestamps: ``ingested_at_us`` is wall-clock µs since the epoch (UTC).

Each commit writes its rows as one small file; every :data:`COMPACT_EVERY` commits the
files are compacted into one (a commit that changes no data), because reading and committing cost
grows with the number of files, not rows. An ingest run reads the ledger once into a
:class:`LedgerIndex` and keeps it current as it records rows.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import polars as pl

from pointline.lake import storage

TABLE = "_ingest_manifest"
LakeArg = str | os.PathLike[str] | None

STARTED = "started"
INGESTED = "ingested"
QUARANTINED = "quarantined"
SKIPPED = "skipped-duplicate"
FAILED = "failed"
#: Statuses meaning the file's rows are in the lake.
DONE = (INGESTED, QUARANTINED, SKIPPED)

#: Ledger commits between compactions. 2,000 one-row files read in about 3 s, one file of
#: 2,000 rows in milliseconds.
COMPACT_EVERY = 256

SCHEMA: dict[str, pl.DataType] = {
    "file_id": pl.Int32(),
    "path": pl.Utf8(),
    "size_bytes": pl.Int64(),
    "sha256": pl.Utf8(),
    "format": pl.Utf8(),
    "table": pl.Utf8(),
    "status": pl.Utf8(),
    "rows_read": pl.Int64(),
    "rows_written": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "reason": pl.Utf8(),
    "delta_version": pl.Int64(),
    "ingested_at_us": pl.Int64(),
}


_LAST_STAMP_US = 0


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row. ``delta_version`` is the event table's version after the data commit."""

    file_id: int | None
    path: str
    size_bytes: int | None
    sha256: str | None
    format: str | None
    table: str | None
    status: str
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    delta_version: int | None = None
    ingested_at_us: int = 0


def read_manifest(lake: LakeArg = None) -> pl.DataFrame:
    """The whole ledger in append order (an empty frame with the schema if nothing was ingested).

    Example
    -------
    >>> read_manifest().filter(pl.col("status") == "failed")  # doctest: +SKIP
    """
    df = storage.read_all(TABLE, lake=lake)
    if df is None:
        return pl.DataFrame(schema=SCHEMA)
    return df.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort(
        "ingested_at_us", maintain_order=True
    )


def latest(sha256: str, lake: LakeArg = None, ledger: pl.DataFrame | None = None) -> LedgerEntry | None:
    """The latest ledger row of a content hash, or ``None`` if the content was never seen."""
    df = read_manifest(lake) if ledger is None else ledger
    rows = df.filter(pl.col("sha256") == sha256)
    if rows.height == 0:
        return None
    return LedgerEntry(**rows.row(rows.height - 1, named=True))


def next_file_id(lake: LakeArg = None, ledger: pl.DataFrame | None = None) -> int:
    """The next unused ``file_id`` (1 for an empty ledger)."""
    df = read_manifest(lake) if ledger is None else ledger
    top = df["file_id"].max()
    return 1 if top is None else int(top) + 1  # type: ignore[arg-type]


def record(entry: LedgerEntry, lake: LakeArg = None, writer: storage.LakeWriter | None = None) -> LedgerEntry:
    """Append one row to the ledger (one Delta commit); stamps ``ingested_at_us`` if unset.

    Stamps are strictly increasing within a process so "latest row" is never ambiguous. With
    ``writer`` the commit goes through that open :class:`~pointline.lake.storage.LakeWriter`.
    """
    return record_many([entry], lake, writer)[0]


def record_many(
    entries: list[LedgerEntry], lake: LakeArg = None, writer: storage.LakeWriter | None = None
) -> list[LedgerEntry]:
    """Append rows to the ledger in one Delta commit, in order (stamped as :func:`record` does);
    the rows as written."""
    stamped = [stamp(entry) for entry in entries]
    if not stamped:
        return []
    rows = pl.DataFrame([asdict(e) for e in stamped], schema=SCHEMA)
    if writer is None:
        with storage.LakeWriter(lake) as own:
            _append_row(rows, own)
    else:
        _append_row(rows, writer)
    return stamped


def stamp(entry: LedgerEntry) -> LedgerEntry:
    """``entry`` with ``ingested_at_us`` set to now if unset; stamps strictly increase in a process."""
    global _LAST_STAMP_US
    if entry.ingested_at_us:
        return entry
    _LAST_STAMP_US = max(time.time_ns() // 1000, _LAST_STAMP_US + 1)
    return LedgerEntry(**{**asdict(entry), "ingested_at_us": _LAST_STAMP_US})


def _append_row(row: pl.DataFrame, writer: storage.LakeWriter) -> None:
    before = writer.version(TABLE)
    version = writer.append(TABLE, row)
    if before is not None and version // COMPACT_EVERY > before // COMPACT_EVERY:
        writer.compact(TABLE)


class LedgerIndex:
    """What an ingest run asks of the ledger: the latest row per content hash, the next ``file_id``.

    Read from disk once (:meth:`read`) and kept current with :meth:`add` as the run records rows, so
    each file is decided in O(1) rather than by a scan of the whole ledger. The on-disk ledger stays
    the source of truth: add only rows that :func:`record` has written. Answers equal
    :func:`latest` and :func:`next_file_id` on the ledger as it stands on disk.

    Example
    -------
    >>> index = LedgerIndex.read()  # doctest: +SKIP
    >>> index.latest(sha) is None or index.latest(sha).status  # doctest: +SKIP
    'ingested'
    """

    def __init__(self, ledger: pl.DataFrame | None = None) -> None:
        self._latest: dict[str, LedgerEntry] = {}
        self._sizes: set[int | None] = set()
        self._top_file_id = 0
        if ledger is None or ledger.height == 0:
            return
        last = ledger.filter(pl.col("sha256").is_not_null()).unique(
            "sha256", keep="last", maintain_order=True
        )
        self._latest = {row["sha256"]: LedgerEntry(**row) for row in last.iter_rows(named=True)}
        self._sizes = {entry.size_bytes for entry in self._latest.values()}
        top = ledger["file_id"].max()
        self._top_file_id = 0 if top is None else int(top)  # type: ignore[arg-type]

    @classmethod
    def read(cls, lake: LakeArg = None) -> LedgerIndex:
        """The index of the ledger as it stands on disk."""
        return cls(read_manifest(lake))

    def add(self, entry: LedgerEntry) -> None:
        """Account for a row just recorded (it becomes the latest of its hash)."""
        if entry.sha256 is not None:
            self._latest[entry.sha256] = entry
            self._sizes.add(entry.size_bytes)
        if entry.file_id is not None:
            self._top_file_id = max(self._top_file_id, entry.file_id)

    def latest(self, sha256: str) -> LedgerEntry | None:
        """The latest row of a content hash, or ``None`` if the content was never seen."""
        return self._latest.get(sha256)

    def may_hold(self, size_bytes: int) -> bool:
        """Whether some recorded content has ``size_bytes`` (or an unknown size): only then can a
        file of that size have a recorded hash."""
        return size_bytes in self._sizes or None in self._sizes

    def path_of(self, file_id: int) -> str | None:
        """The path a ``file_id``'s content was last recorded under (``None`` if unknown)."""
        for entry in self._latest.values():
            if entry.file_id == file_id:
                return entry.path
        return None

    def next_file_id(self) -> int:
        """The next unused ``file_id`` (1 for an empty ledger)."""
        return self._top_file_id + 1

    @property
    def top_file_id(self) -> int:
        """The largest ``file_id`` recorded (0 for an empty ledger)."""
        return self._top_file_id

    def unfinished_ids(self) -> list[int]:
        """Sorted ``file_id`` s whose content's latest row says its rows are not in the lake
        (``failed``, or an earlier version's ``started``)."""
        return sorted(
            {
                e.file_id
                for e in self._latest.values()
                if e.file_id is not None and e.status in (STARTED, FAILED)
            }
        )
