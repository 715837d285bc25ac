"""The per-file ingest transaction.

For each file: hash its content (sha256, streamed) → if the ledger says the content already landed,
record ``skipped-duplicate`` and write nothing else → detect and parse (a file that cannot be read is
``failed``, nothing written but the ledger row) → register new instruments in ``dim_symbol`` → the
good rows in ONE Delta commit → quarantined rows → the file's ledger row.

A file larger than :data:`BATCH_ABOVE_BYTES` whose format reads in batches (Tardis, Binance Vision)
goes through the same steps batch by batch (:func:`_land_in_batches`): each batch's Parquet files
are written as it is read and all of them land in that one commit, so memory holds about a batch
and the outcome is exactly a whole read's.

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
import contextlib
import dataclasses
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pointline.ingest import canonical, instruments, overlap
from pointline.ingest.detect import detect_format, expand_paths
from pointline.ingest.registry import (
    REASON_UNPARSEABLE,
    FileFormatError,
    Format,
    Parsed,
    ReadOptions,
    raw_text,
    unpack_zip,
)
from pointline.ingest.report import FileResult, IngestReport
from pointline.lake import dim_symbol, manifest, quarantine, storage
from pointline.lake.manifest import LedgerEntry
from pointline.lake.schema import EVENT_TABLES, PARTITION_COLUMNS

CRASH_HOOK_ENV = "POINTLINE_TEST_CRASH_AFTER_COMMIT"
LakeArg = str | os.PathLike[str] | None


#: Files larger than this on disk (about 2.5M trades gzipped) are read in batches, when their format
#: can (Tardis CSV), so a file of any size lands in bounded memory; smaller ones are read whole,
#: which is faster for them (one read, and a new instrument's file is not read twice).
BATCH_ABOVE_BYTES = 64 << 20
#: Folder under the lake where a zip read in batches is unpacked for the while (hidden: no table).
SCRATCH_DIR = ".scratch"
#: Fields (rows × columns) per batch: about 500k trades or quotes, 40k 25-level book snapshots;
#: an ingest then peaks at 1–2 GB whatever the file's size (Polars' reader runs a few batches ahead).
BATCH_CELLS = 4_000_000


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
    batch_cells: int | None = BATCH_CELLS
    batch_above_bytes: int = BATCH_ABOVE_BYTES
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
    try:
        size, sha = path.stat().st_size, sha256_of(path)
    except OSError as exc:
        return FileResult(path=shown, status=manifest.FAILED, reason=f"cannot read {path.name}: {exc}")
    previous = context.ledger.latest(sha)
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
        landed = _land_in_batches(path, fmt, context, file_id)
        if landed is None:
            landed = _land_whole(fmt.read(path, context.options), context, file_id, shown)
    except FileFormatError as exc:
        return _failed(context, base, fmt_name, str(exc))
    except Exception as exc:  # a vendor file can break a parser in ways we cannot list; report, don't raise
        return _failed(context, base, fmt_name, f"{path.name}: cannot read ({type(exc).__name__}: {exc})")
    return _finish(context, base, fmt_name, landed, sha)


@dataclass
class _Landed:
    """What a file's commit landed: its rows, its quarantine rows and the notes for its report."""

    table: str
    rows_read: int
    rows_written: int
    quarantined: pl.DataFrame
    version: int
    notes: list[str]
    #: How many of ``notes`` (the last ones) flag possible duplicate data.
    duplicate_notes: int = 0


def _land_whole(parsed: Parsed, context: IngestContext, file_id: int, shown: str) -> _Landed:
    """Land a file read whole: register its new instruments, commit its rows, quarantine the rest."""
    parsed = canonical.stage(parsed)
    registered = _register(context, canonical.propose_symbols(parsed, set(context.current), context.metadata))
    good, bad = canonical.to_lake_rows(parsed, _infos(parsed, context), file_id)
    assert context.writer is not None
    spans = overlap.spans_of(good)
    notes = _duplicate_notes(context, parsed.table, spans, file_id)
    version = storage.append(
        parsed.table, good, lake=context.lake, partition_by=PARTITION_COLUMNS, writer=context.writer
    )
    bad = _with_malformed(bad, parsed.malformed)
    quarantined = _quarantine_rows(parsed, bad, file_id, shown)
    _after_commit(context, parsed.table, spans, file_id, quarantined)
    return _Landed(
        table=parsed.table,
        rows_read=parsed.frame.height + parsed.malformed.height,
        rows_written=good.height,
        quarantined=quarantined,
        version=version,
        notes=[*parsed.notes, *registered, *notes],
        duplicate_notes=len(notes),
    )


def _register(context: IngestContext, candidates: list[dim_symbol.SymbolInfo]) -> list[str]:
    """Write the ``dim_symbol`` candidates; the notes the new instruments call for."""
    if not candidates:
        return []
    new = [c for c in candidates if c.symbol_id not in context.current]
    context.current.update(dim_symbol.upsert(candidates, lake=context.lake, writer=context.writer))
    return [note for c in new if (note := instruments.contract_size_note(c)) is not None]


class _NeedsProfile(Exception):
    """A batch holds an instrument to propose (new, or named by the symbols file): its exponents
    must come from the whole file, so the file is profiled first."""


class _ReaderFailed(Exception):
    """The batch reader raised (the file needs the whole-file path)."""


def _land_in_batches(path: Path, fmt: Format, context: IngestContext, file_id: int) -> _Landed | None:
    """Land a file batch by batch in ONE commit (see :data:`BATCH_CELLS`); ``None`` (nothing
    written) when the format or the lake cannot take a file that way, or the file needs the
    whole-file path (see :meth:`~pointline.ingest.registry.Format.read_batches`).

    Exactly the rows, quarantine and instruments of the whole-file path: a file that names
    instruments to propose is first read once to profile them over all its rows (as the whole-file
    path does), then read again to land.
    """
    if context.batch_cells is None or "://" in storage.table_uri("trades", context.lake):
        return None
    if path.stat().st_size <= context.batch_above_bytes:
        return None
    # A zip is unpacked once, beside the lake (room for the data is needed there anyway; the
    # system's temp dir may be memory), for both reads of a file that names new instruments.
    scratch = Path(storage.table_uri(SCRATCH_DIR, context.lake))
    try:
        with contextlib.ExitStack() as unpacked:
            options = dataclasses.replace(context.options, scratch_dir=scratch)
            if path.name.lower().endswith(".zip"):
                plain = unpacked.enter_context(unpack_zip(path, scratch))
                options = dataclasses.replace(options, unpacked=plain)
            return _land_twice_if_new(path, fmt, options, context, file_id)
    finally:
        with contextlib.suppress(OSError):
            scratch.rmdir()  # when empty


def _land_twice_if_new(
    path: Path, fmt: Format, options: ReadOptions, context: IngestContext, file_id: int
) -> _Landed | None:
    try:
        return _batches_landed(path, fmt, options, context, file_id, profiled=False)
    except _NeedsProfile:
        pass
    except _ReaderFailed:
        return None
    profiles: dict[tuple[str, str], canonical.Profile] = {}
    rows_read = 0
    try:
        for parsed in _reading(fmt.read_batches(path, options, context.batch_cells or 1)):
            rows_read += parsed.frame.height
            if context.on_batch is not None:
                context.on_batch(path, rows_read, "profile")
            for key, profile in canonical.profile_instruments(
                parsed, set(context.current), context.metadata
            ).items():
                profiles[key] = profile if key not in profiles else profiles[key].merge(profile)
    except _ReaderFailed:
        return None
    registered = _register(context, canonical.proposals(profiles, context.metadata))
    try:
        landed = _batches_landed(path, fmt, options, context, file_id, profiled=True)
    except _ReaderFailed:
        return None
    if landed is not None and registered:  # after the format's notes, as a whole read orders them
        at = len(landed.notes) - landed.duplicate_notes
        landed.notes[at:at] = registered
    return landed


def _batches_landed(
    path: Path, fmt: Format, options: ReadOptions, context: IngestContext, file_id: int, *, profiled: bool
) -> _Landed | None:
    assert context.writer is not None and context.batch_cells is not None
    batches = fmt.read_batches(path, options, context.batch_cells)
    if batches is None:
        return None
    shown = str(path)
    staged: storage.StagedAppend | None = None
    first: Parsed | None = None
    spans: list[overlap.Span] = []
    quarantined: list[pl.DataFrame] = []
    rows_read = rows_written = 0
    try:
        for parsed in _reading(batches):
            parsed = canonical.stage(parsed)
            if first is None:
                first, staged = parsed, context.writer.stage(parsed.table, PARTITION_COLUMNS)
            assert staged is not None
            if not profiled and canonical.instruments_to_propose(
                parsed, set(context.current), context.metadata
            ):
                raise _NeedsProfile
            good, bad = canonical.to_lake_rows(parsed, _infos(parsed, context), file_id)
            if not staged.add(good):
                raise _ReaderFailed("the lake cannot take this file in parts")
            spans += overlap.spans_of(good)
            if bad.height:
                quarantined.append(_quarantine_rows(parsed, bad, file_id, shown))
            rows_read += parsed.frame.height
            rows_written += good.height
            if context.on_batch is not None:
                context.on_batch(path, rows_read, "land")
        if first is None or staged is None:
            return None  # no batch at all (e.g. a header-only file): the whole-file path reports it
        spans = overlap.merge_spans(spans)
        notes = _duplicate_notes(context, first.table, spans, file_id)
        version = staged.commit()
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    rows = (
        pl.concat(quarantined)
        if quarantined
        else _quarantine_rows(first, canonical.no_bad_rows(), file_id, shown)
    )
    _after_commit(context, first.table, spans, file_id, rows)
    return _Landed(
        table=first.table,
        rows_read=rows_read,
        rows_written=rows_written,
        quarantined=rows,
        version=version,
        notes=[*first.notes, *notes],
        duplicate_notes=len(notes),
    )


def _reading(batches: Iterator[Parsed] | None) -> Iterator[Parsed]:
    """``batches`` with whatever the reader raises turned into :class:`_ReaderFailed`."""
    if batches is None:
        raise _ReaderFailed("the format reads whole files only")
    while True:
        try:
            parsed = next(batches)
        except StopIteration:
            return
        except FileFormatError:
            raise
        except Exception as exc:
            raise _ReaderFailed(f"{type(exc).__name__}: {exc}") from exc
        yield parsed


def _infos(parsed: Parsed, context: IngestContext) -> dict[int, dim_symbol.SymbolInfo]:
    """The current ``dim_symbol`` version of each instrument of ``parsed`` that has one."""
    wanted = {dim_symbol.symbol_id_for(e, s) for e, s in canonical.instruments_in(parsed)}
    return {sid: context.current[sid] for sid in wanted if sid in context.current}


def _duplicate_notes(
    context: IngestContext, table: str, spans: list[overlap.Span], file_id: int
) -> list[str]:
    assert context.writer is not None
    duplicates = context.extents.overlapping(table, spans, file_id, context.writer)
    if not duplicates:
        return []
    return [
        f"possible duplicate data: its time range overlaps rows already landed from file_id "
        f"{', '.join(map(str, duplicates))} ({_paths_of(context, duplicates)})"
    ]


def _after_commit(
    context: IngestContext, table: str, spans: list[overlap.Span], file_id: int, quarantined: pl.DataFrame
) -> None:
    """After a file's data commit: index its spans, land its quarantine rows."""
    _crash_hook()
    context.extents.add(table, spans, file_id)
    if quarantined.height:
        quarantine.append_rows(quarantined, context.lake, context.writer)


def _finish(
    context: IngestContext, base: LedgerEntry, fmt_name: str, landed: _Landed, sha: str
) -> FileResult:
    """Record the file's ledger row; its result."""
    bad = landed.quarantined
    status = manifest.QUARANTINED if bad.height else manifest.INGESTED
    notes = ([_reason_summary(bad)] if bad.height else []) + landed.notes
    reason = "; ".join(notes) or None
    final = LedgerEntry(
        **{
            **base.__dict__,
            "format": fmt_name,
            "table": landed.table,
            "status": status,
            "rows_read": landed.rows_read,
            "rows_written": landed.rows_written,
            "rows_quarantined": bad.height,
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
        rows_quarantined=bad.height,
        reason=reason,
        delta_version=final.delta_version,
        sha256=sha,
    )


_data_commits = 0


def _crash_hook() -> None:
    """Test hook: exit like a kill right after the N-th data commit of this process when the
    environment sets ``POINTLINE_TEST_CRASH_AFTER_COMMIT=N``."""
    global _data_commits
    after = os.environ.get(CRASH_HOOK_ENV)
    if after is None:
        return
    _data_commits += 1
    if _data_commits == int(after):
        os._exit(17)


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


def _with_malformed(bad: pl.DataFrame, malformed: pl.DataFrame) -> pl.DataFrame:
    """The rows that failed a check and the lines that were no CSV row (``unparseable``, their own
    text in ``raw``), in line order."""
    if malformed.height == 0:
        return bad
    return pl.concat(
        [
            bad.select("_row", "file_line_number", "reason", pl.lit(None, dtype=pl.Utf8).alias("raw")),
            malformed.select(
                pl.lit(None, dtype=bad.schema["_row"]).alias("_row"),
                pl.col("file_line_number").cast(bad.schema["file_line_number"]),
                pl.lit(REASON_UNPARSEABLE).alias("reason"),
                "raw",
            ),
        ]
    ).sort("file_line_number")


def _quarantine_rows(parsed: Parsed, bad: pl.DataFrame, file_id: int, path: str) -> pl.DataFrame:
    """Quarantine rows of ``bad``: a staged row (``_row``) rendered back as text, or a malformed
    line's own text (``raw``)."""
    raw = raw_text(parsed.source[bad["_row"].drop_nulls()])
    if "raw" in bad.columns:
        rendered = iter(raw.to_list())
        raw = pl.Series([r if r is not None else next(rendered) for r in bad["raw"].to_list()], dtype=pl.Utf8)
    return pl.DataFrame(
        {
            "file_id": pl.Series([file_id] * bad.height, dtype=pl.Int32),
            "path": [path] * bad.height,
            "file_line_number": bad["file_line_number"],
            "table": [parsed.table] * bad.height,
            "reason": bad["reason"],
            "raw": raw,
        }
    )


def _paths_of(context: IngestContext, file_ids: list[int]) -> str:
    names = [context.ledger.path_of(f) for f in file_ids[:3]]
    more = f" and {len(file_ids) - 3} more" if len(file_ids) > 3 else ""
    return ", ".join(Path(n).name if n else "?" for n in names) + more


def _reason_summary(bad: pl.DataFrame) -> str:
    counts = bad.group_by("reason").len().sort("len", "reason", descending=[True, False])
    return ", ".join(f"{n} {r}" for r, n in counts.iter_rows())
