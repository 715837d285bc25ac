"""The per-file ingest transaction.

For each file: hash its content (sha256, streamed) → if the ledger says the content already landed,
record ``skipped-duplicate`` and write nothing else → detect and parse (a file that cannot be read
is ``failed``, nothing written but the ledger row) → register new instruments in ``dim_symbol`` →
the good rows in ONE Delta commit → quarantined rows → the file's ledger row. A file of a size no
recorded content has is new whatever its hash, so it is hashed on a second thread while it is
parsed (the hash joined before anything lands).

Landing the parsed file (instruments, rows, quarantine) is :mod:`pointline.ingest.landing`'s: a file
larger than :data:`~pointline.ingest.landing.BATCH_ABOVE_BYTES` whose format reads in batches
(Tardis, Binance Vision) lands batch by batch in that one commit, so memory holds about a batch and
the outcome is exactly a whole read's.

Crash safety: a file's ledger row is recorded only after its rows landed, so rows whose ``file_id``
the ledger does not record as landed belong to a run that stopped in between. Every run first
removes them (:func:`sweep_unrecorded`): rows with a ``file_id`` above the ledger's largest, and
rows of a ``file_id`` whose content's latest row is ``failed`` (a retry that stopped) or an earlier
version's ``started``. A killed ingest plus a rerun therefore leaves exactly the rows of an
uninterrupted run. Ledger rows are recorded in batches (every :data:`LEDGER_BATCH_FILES` files or
:data:`LEDGER_BATCH_S` seconds, and when the run ends): one ledger commit per batch instead of per
file; a crash loses at most that batch's rows, whose files the next run ingests again. One ingest at
a time per lake: ``file_id`` assignment and the sweep are not safe against a concurrent writer.

Test hook: with ``POINTLINE_TEST_CRASH_AFTER_COMMIT=N`` in the environment the process exits
(``os._exit(17)``) right after its N-th data commit, imitating a kill mid-transaction.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from pointline.ingest import instruments, landing, overlap
from pointline.ingest.detect import detect_format, expand_paths
from pointline.ingest.registry import (
    FileFormatError,
    ReadOptions,
)
from pointline.ingest.report import FileResult, IngestReport
from pointline.lake import dim_symbol, manifest, quarantine, storage
from pointline.lake.manifest import LedgerEntry
from pointline.lake.schema import EVENT_TABLES

LakeArg = str | os.PathLike[str] | None


@dataclass
class IngestContext:
    """State shared by the files of one ingest call, so that a file costs the same whether the lake
    holds ten files or ten thousand: the ledger index (read once, kept current in memory), the
    current instruments, and one :class:`~pointline.lake.storage.LakeWriter` holding the tables open.
    """

    lake: LakeArg
    format: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)
    metadata: instruments.Metadata | None = None
    ledger: manifest.LedgerIndex = field(default_factory=manifest.LedgerIndex)
    current: dict[int, dim_symbol.SymbolInfo] = field(default_factory=dict)
    writer: storage.LakeWriter | None = None
    extents: overlap.Extents = field(default_factory=overlap.Extents)
    #: Fields per batch for formats that read in batches (``None``: every file is read whole), and
    #: the size on disk above which a file is read so.
    batch_cells: int | None = landing.BATCH_CELLS
    batch_above_bytes: int = landing.BATCH_ABOVE_BYTES
    #: Called after each batch of a file read in batches, with the file, its rows read so far and
    #: the pass: ``profile`` (a first read for the instruments it registers) or ``land``.
    on_batch: Callable[[Path, int, str], None] | None = None

    pending: list[LedgerEntry] = field(default_factory=list)
    pending_since: float = 0.0

    def load(self) -> IngestContext:
        self.ledger = manifest.LedgerIndex.read(self.lake)
        dims = dim_symbol.read_dim_symbol(self.lake, current_only=True)
        self.current = {row["symbol_id"]: dim_symbol.SymbolInfo(**row) for row in dims.iter_rows(named=True)}
        self.writer = storage.LakeWriter(self.lake)
        self.extents = overlap.Extents()
        sweep_unrecorded(self.ledger, self.writer)
        return self

    def close(self) -> None:
        """Record the pending ledger rows, release the tables (and run the deferred log cleanup);
        the context can be loaded again."""
        if self.writer is not None:
            try:
                self.flush()
            finally:
                self.writer.close()
                self.writer = None

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        """Account for a file's ledger row now; write it with the next batch (see the module docstring)."""
        entry = manifest.stamp(entry)  # the time the file finished, not the batch's
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.append(entry)
        self.ledger.add(entry)
        if len(self.pending) >= LEDGER_BATCH_FILES or time.monotonic() - self.pending_since >= LEDGER_BATCH_S:
            self.flush()
        return entry

    def flush(self) -> None:
        """Write the pending ledger rows in one commit."""
        if self.pending:
            manifest.record_many(self.pending, self.lake, writer=self.writer)
            self.pending = []


#: A run writes its pending ledger rows after this many files or seconds (and when it ends).
LEDGER_BATCH_FILES = 64
LEDGER_BATCH_S = 5.0


def sweep_unrecorded(ledger: manifest.LedgerIndex, writer: storage.LakeWriter) -> None:
    """Delete the rows the ledger does not record as landed (a crashed run's, see the module
    docstring) from the event tables and ``_quarantine``. The tables' file statistics decide
    whether any such row can exist, so a clean lake costs no commit."""
    top, unfinished = ledger.top_file_id, ledger.unfinished_ids()
    for table in (*EVENT_TABLES, quarantine.TABLE):
        above = unknown = False
        hit: set[int] = set()
        for low, high in storage.value_ranges(table, "file_id", writer=writer):
            if low is None or high is None:
                unknown = True
                continue
            above = above or high > top
            first = bisect.bisect_left(unfinished, low)
            hit.update(itertools.takewhile(lambda f, high=high: f <= high, unfinished[first:]))
        ids = unfinished if unknown else sorted(hit)
        clauses = [f"file_id > {int(top)}"] if above or unknown else []
        if ids:
            clauses.append(f"file_id IN ({', '.join(str(int(f)) for f in ids)})")
        if clauses:
            writer.delete_where(table, " OR ".join(clauses))


def run(
    paths: Iterable[str | Path],
    context: IngestContext,
    on_file: Callable[[Path, FileResult | None], None] | None = None,
) -> IngestReport:
    """Ingest every file under ``paths`` (directories walked recursively); never raises for bad files.

    ``on_file(path, None)`` is called before and ``on_file(path, result)`` after each file (progress).
    """
    context.load()
    report = IngestReport()
    try:
        for path in expand_paths(paths):
            if on_file:
                on_file(path, None)
            result = ingest_file(path, context)
            report.files.append(result)
            if on_file:
                on_file(path, result)
    finally:
        context.close()
    return report


def ingest_file(path: Path, context: IngestContext) -> FileResult:
    """Run the transaction for one file (see the module docstring)."""
    shown = str(path)
    if not path.is_file():
        return FileResult(
            path=shown, status=manifest.FAILED, reason=f"{path} does not exist or is not a file"
        )
    hashing: Future[str] | None = None
    try:
        size = path.stat().st_size
        if context.ledger.may_hold(size) or size > context.batch_above_bytes:
            sha: str | None = sha256_of(path)
        else:  # no recorded content has its size, so it is new: hashed while it is read
            sha, hashing = None, _hasher().submit(sha256_of, path)
    except OSError as exc:
        return FileResult(path=shown, status=manifest.FAILED, reason=f"cannot read {path.name}: {exc}")
    previous = context.ledger.latest(sha) if sha is not None else None
    if previous is not None and previous.status in manifest.DONE:
        context.record(
            LedgerEntry(
                file_id=previous.file_id,
                path=shown,
                size_bytes=size,
                sha256=sha,
                format=previous.format,
                table=previous.table,
                status=manifest.SKIPPED,
                reason=f"same content as {previous.path}",
                delta_version=previous.delta_version,
            )
        )
        return FileResult(
            path=shown,
            status=manifest.SKIPPED,
            file_id=previous.file_id,
            format=previous.format,
            table=previous.table,
            reason=f"same content as {previous.path}",
            sha256=sha,
        )
    file_id = previous.file_id if previous is not None else context.ledger.next_file_id()
    assert file_id is not None
    base = LedgerEntry(
        file_id=file_id, path=shown, size_bytes=size, sha256=sha, format=None, table=None, status=""
    )

    fmt_name = None
    try:
        fmt = detect_format(path, context.format)
        fmt_name = fmt.name
        landed = landing.land_in_batches(path, fmt, context, file_id) if hashing is None else None
        if landed is None:
            parsed = fmt.read(path, context.options)
            base = _hashed(base, hashing)  # before anything lands
            landed = landing.land_whole(parsed, context, file_id, shown)
    except FileFormatError as exc:
        return _failed(context, _hashed(base, hashing, strict=False), fmt_name, str(exc))
    except Exception as exc:  # a vendor file can break a parser in ways we cannot list; report, don't raise
        reason = f"{path.name}: cannot read ({type(exc).__name__}: {exc})"
        return _failed(context, _hashed(base, hashing, strict=False), fmt_name, reason)
    assert base.sha256 is not None
    return _finish(context, base, fmt_name, landed, base.sha256)


_hashing_thread: ThreadPoolExecutor | None = None


def _hasher() -> ThreadPoolExecutor:
    """The thread hashing new files while they are read (a read leaves a core partly idle)."""
    global _hashing_thread
    if _hashing_thread is None:
        _hashing_thread = ThreadPoolExecutor(1, thread_name_prefix="ingest-hash")
    return _hashing_thread


def _forget_hasher() -> None:
    """In a forked child the parent's thread does not exist: start its own at its first use."""
    global _hashing_thread
    _hashing_thread = None


os.register_at_fork(after_in_child=_forget_hasher)


def _hashed(base: LedgerEntry, hashing: Future[str] | None, *, strict: bool = True) -> LedgerEntry:
    """``base`` with the hash taken beside the read (``strict``: its error raised; else a failed
    file's row is recorded without a hash)."""
    if hashing is None:
        return base
    try:
        return replace(base, sha256=hashing.result())
    except OSError:
        if strict:
            raise
        return base


def _finish(
    context: IngestContext, base: LedgerEntry, fmt_name: str, landed: landing.Landed, sha: str
) -> FileResult:
    """Record the file's ledger row; its result."""
    quarantined = landed.rows_quarantined
    status = manifest.QUARANTINED if quarantined else manifest.INGESTED
    summary = ", ".join(f"{n} {reason}" for reason, n in landed.reasons.items())
    notes = ([summary] if quarantined else []) + landed.notes
    reason = "; ".join(notes) or None
    final = LedgerEntry(
        **{
            **base.__dict__,
            "format": fmt_name,
            "table": landed.table,
            "status": status,
            "rows_read": landed.rows_read,
            "rows_written": landed.rows_written,
            "rows_quarantined": quarantined,
            "reason": reason,
            "delta_version": landed.version if landed.rows_written else None,
            "ingested_at_us": 0,
        }
    )
    context.record(final)
    return FileResult(
        path=base.path,
        status=status,
        file_id=base.file_id,
        format=fmt_name,
        table=landed.table,
        rows_read=landed.rows_read,
        rows_written=landed.rows_written,
        rows_quarantined=quarantined,
        reason=reason,
        delta_version=final.delta_version,
        sha256=sha,
    )


def sha256_of(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _failed(context: IngestContext, base: LedgerEntry, fmt_name: str | None, reason: str) -> FileResult:
    entry = context.record(
        LedgerEntry(**{**base.__dict__, "format": fmt_name, "status": manifest.FAILED, "reason": reason})
    )
    return FileResult(
        path=entry.path,
        status=manifest.FAILED,
        file_id=entry.file_id,
        format=fmt_name,
        reason=reason,
        sha256=entry.sha256,
    )
