"""Landing a staged file: its instruments, its rows in ONE Delta commit, its quarantine.

:func:`land_whole` lands a file read whole; :func:`land_in_batches` lands a file larger than
:data:`BATCH_ABOVE_BYTES` batch by batch (each batch's Parquet files written as it is read, all of
them in that one commit), with exactly a whole read's outcome. :mod:`pointline.ingest.runner` owns
the transaction around them (hash, ledger, failures).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pointline.ingest import canonical, instruments, overlap
from pointline.ingest.registry import (
    REASON_UNPARSEABLE,
    FileFormatError,
    Format,
    Parsed,
    ReadOptions,
    raw_text,
    unpack_zip,
)
from pointline.lake import dim_symbol, quarantine, storage
from pointline.lake.schema import PARTITION_COLUMNS

if TYPE_CHECKING:
    from pointline.ingest.runner import IngestContext

CRASH_HOOK_ENV = "POINTLINE_TEST_CRASH_AFTER_COMMIT"

#: Files larger than this on disk (about 2.5M trades gzipped) are read in batches, when their format
#: can (Tardis, Binance Vision), so a file of any size lands in bounded memory; smaller ones are read whole,
#: which is faster for them (one read, and a new instrument's file is not read twice).
BATCH_ABOVE_BYTES = 64 << 20
#: Folder under the lake where a zip read in batches is unpacked for the while (hidden: no table).
SCRATCH_DIR = ".scratch"
#: Fields (rows × columns) per batch: about 500k trades or quotes, 40k 25-level book snapshots;
#: an ingest then peaks at 1–2 GB whatever the file's size (Polars' reader runs a few batches ahead).
BATCH_CELLS = 4_000_000


#: Quarantine rows a file read in batches holds in memory; more are set aside in Parquet files under
#: :data:`SCRATCH_DIR` until the file's data commit (a file of bad rows lands in bounded memory too).
QUARANTINE_HELD_ROWS = 250_000


@dataclass
class Landed:
    """What a file's commit landed: its rows, how many were quarantined and why (reason → rows,
    most frequent first), and the notes for its report."""

    table: str
    rows_read: int
    rows_written: int
    rows_quarantined: int
    reasons: dict[str, int]
    version: int
    notes: list[str]


class _Quarantine:
    """A file's quarantine rows as its batches find them: held in memory up to
    :data:`QUARANTINE_HELD_ROWS`, then written to Parquet files in ``scratch``; landed after the
    file's data commit (:meth:`parts`), deleted if it never comes (:meth:`discard`)."""

    def __init__(self, scratch: Path, file_id: int) -> None:
        self.scratch, self.file_id = scratch, file_id
        self.frames: list[pl.DataFrame] = []
        self.held = 0  # rows in ``frames``
        self.files: list[Path] = []
        self.rows = 0
        self.counts: dict[str, int] = {}

    def add(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        self.rows += rows.height
        for reason, n in rows.group_by("reason").len().iter_rows():
            self.counts[reason] = self.counts.get(reason, 0) + n
        self.frames.append(rows)
        self.held += rows.height
        if self.held >= QUARANTINE_HELD_ROWS:
            self.scratch.mkdir(parents=True, exist_ok=True)
            path = (
                self.scratch / f"quarantine-{self.file_id}-{len(self.files):05d}-{uuid.uuid4().hex}.parquet"
            )
            pl.concat(self.frames).write_parquet(path)
            self.files.append(path)
            self.frames, self.held = [], 0

    def parts(self) -> Iterator[pl.DataFrame]:
        for path in self.files:
            yield pl.read_parquet(path)
        if self.frames:
            yield pl.concat(self.frames)

    def discard(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files, self.frames, self.held = [], [], 0

    def reasons(self) -> dict[str, int]:
        return _most_frequent_first(self.counts)


def _most_frequent_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def land_whole(parsed: Parsed, context: IngestContext, file_id: int, shown: str) -> Landed:
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
    _after_commit(context, parsed.table, spans, file_id, [quarantined])
    counts = dict(quarantined.group_by("reason").len().iter_rows())
    return Landed(
        table=parsed.table,
        rows_read=parsed.frame.height + parsed.malformed.height,
        rows_written=good.height,
        rows_quarantined=quarantined.height,
        reasons=_most_frequent_first(counts),
        version=version,
        notes=[*parsed.notes, *registered, *notes],
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


def land_in_batches(path: Path, fmt: Format, context: IngestContext, file_id: int) -> Landed | None:
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
            options = context.options
            if path.name.lower().endswith(".zip"):
                plain = unpacked.enter_context(unpack_zip(path, scratch))
                options = dataclasses.replace(options, unpacked=plain)
            return _land_twice_if_new(path, fmt, options, context, file_id)
    finally:
        with contextlib.suppress(OSError):
            scratch.rmdir()  # when empty


def _land_twice_if_new(
    path: Path, fmt: Format, options: ReadOptions, context: IngestContext, file_id: int
) -> Landed | None:
    assert context.batch_cells is not None
    try:
        return _batches_landed(path, fmt, options, context, file_id, registered=None)
    except _NeedsProfile:
        pass
    except _ReaderFailed:
        return None
    profiles: dict[tuple[str, str], canonical.Profile] = {}
    rows_read = 0
    try:
        for parsed in _reading(fmt.read_batches(path, options, context.batch_cells)):
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
        return _batches_landed(path, fmt, options, context, file_id, registered=registered)
    except _ReaderFailed:
        return None


def _batches_landed(
    path: Path,
    fmt: Format,
    options: ReadOptions,
    context: IngestContext,
    file_id: int,
    *,
    registered: list[str] | None,
) -> Landed | None:
    """Read and land the batches; ``registered``: the notes of the instruments a profiling read
    registered (``None``: none was made, and a batch naming an instrument to propose raises
    :class:`_NeedsProfile`)."""
    assert context.writer is not None and context.batch_cells is not None
    batches = fmt.read_batches(path, options, context.batch_cells)
    if batches is None:
        return None
    shown = str(path)
    staged: storage.StagedAppend | None = None
    first: Parsed | None = None
    spans: list[overlap.Span] = []
    quarantined = _Quarantine(Path(storage.table_uri(SCRATCH_DIR, context.lake)), file_id)
    rows_read = rows_written = 0
    try:
        for parsed in _reading(batches):
            parsed = canonical.stage(parsed)
            if first is None:
                first, staged = parsed, context.writer.stage(parsed.table, PARTITION_COLUMNS)
            assert staged is not None
            if registered is None and canonical.instruments_to_propose(
                parsed, set(context.current), context.metadata
            ):
                raise _NeedsProfile
            good, bad = canonical.to_lake_rows(parsed, _infos(parsed, context), file_id)
            if not staged.add(good):
                raise _ReaderFailed("the lake cannot take this file in parts")
            spans += overlap.spans_of(good)
            if bad.height:
                quarantined.add(_quarantine_rows(parsed, bad, file_id, shown))
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
        quarantined.discard()
        raise
    try:
        _after_commit(context, first.table, spans, file_id, quarantined.parts())
    finally:
        quarantined.discard()
    return Landed(
        table=first.table,
        rows_read=rows_read,
        rows_written=rows_written,
        rows_quarantined=quarantined.rows,
        reasons=quarantined.reasons(),
        version=version,
        notes=[*first.notes, *(registered or []), *notes],
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
    context: IngestContext,
    table: str,
    spans: list[overlap.Span],
    file_id: int,
    quarantined: Iterable[pl.DataFrame],
) -> None:
    """After a file's data commit: index its spans, land its quarantine rows (a commit per part: a
    crash between them is recovered like one before them, see :mod:`pointline.ingest.runner`)."""
    _crash_hook()
    context.extents.add(table, spans, file_id)
    for part in quarantined:
        if part.height:
            quarantine.append_rows(part, context.lake, context.writer)


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
    rows = bad["_row"].drop_nulls()
    raw = raw_text(parsed.source_rows(rows)) if rows.len() else pl.Series("raw", [], dtype=pl.Utf8)
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
