"""The registry of vendor formats and what a format hands to the ingest transaction.

A format turns one file into a :class:`Parsed`: the target table and a *staged* frame, one row per
data row of the file in file order, with the table's canonical columns where values are still
decimal **text** (exact encoding needs the instrument's exponents, which the transaction owns):

- every table: ``exchange``, ``symbol`` (Utf8), ``ts_local_us``, ``ts_exch_us`` (Int64 µs),
  ``file_line_number`` (Int32), ``_reason`` (Utf8: why the row is already known bad, else null);
- ``trades``: ``trade_id`` Utf8, ``side`` Int8 (null only when ``_reason`` is set), ``px``, ``qty`` text;
- ``quotes``: ``bid_px``, ``bid_qty``, ``ask_px``, ``ask_qty`` text (null = empty side);
- ``book_snapshot_25``: ``bid_px_{i}``, ``bid_qty_{i}``, ``ask_px_{i}``, ``ask_qty_{i}`` text for
  ``i < levels`` (level 0 = best).

``source`` keeps the file's own columns (same rows) to render the raw text of quarantined rows; a
reader that keeps no text (:mod:`pointline.ingest.fused_csv`) leaves it ``None`` and sets
``load_source`` to read them when a row is quarantined (:meth:`Parsed.source_rows`).
``malformed`` holds the lines that are not well-formed CSV rows (``file_line_number``, ``raw``):
they are quarantined as ``unparseable`` and the file's other rows still land.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pointline.errors import PointlineError

REASON_UNPARSEABLE = "unparseable"
REASON_UNKNOWN_SIDE = "unknown_side"
REASON_NON_POSITIVE = "non_positive"
REASON_CROSSED = "crossed"


class FileFormatError(PointlineError):
    """A file cannot be read as the format it was offered as (the file is reported ``failed``)."""


@dataclass(frozen=True)
class ReadOptions:
    """What the caller knows beyond the file: explicit exchange / symbol (for formats whose rows do not
    carry them, e.g. Binance Vision)."""

    exchange: str | None = None
    symbol: str | None = None
    #: The plain CSV a zip read in batches was unpacked to (:func:`unpack_zip`): Polars reads no
    #: zip, and a file read twice is unpacked once.
    unpacked: Path | None = None


@dataclass
class Parsed:
    """A file read by a format (see the module docstring for the staged columns)."""

    table: str
    frame: pl.DataFrame
    source: pl.DataFrame | None
    levels: int = 0
    notes: list[str] = field(default_factory=list)
    malformed: pl.DataFrame = field(default_factory=lambda: _no_malformed())
    #: Distinct ``(exchange, symbol)`` in first-seen order, once computed
    #: (:func:`pointline.ingest.canonical.instruments_in`); ``uniform`` when every row carries the one.
    instruments: list[tuple[str, str]] | None = None
    uniform: bool = False
    #: Reads ``source`` when it was left ``None`` (the same rows as ``frame``).
    load_source: Callable[[], pl.DataFrame] | None = None

    def source_rows(self, rows: pl.Series) -> pl.DataFrame:
        """The file's own columns of the staged ``rows`` (indices into ``frame``)."""
        if self.source is None:
            if self.load_source is None:
                raise ValueError("this staged file keeps no source columns")
            self.source = self.load_source()
        return self.source[rows]


class Format:
    """A vendor format: recognises its files and stages them. Subclasses set ``name``."""

    name: str = ""

    def sniff(self, path: Path, head: str) -> bool:
        """Whether ``path`` (whose first line of text is ``head``) is in this format."""
        raise NotImplementedError

    def read(self, path: Path, options: ReadOptions) -> Parsed:
        """Stage the file; raise :class:`FileFormatError` when it cannot be read."""
        raise NotImplementedError

    def read_batches(self, path: Path, options: ReadOptions, batch_cells: int) -> Iterator[Parsed] | None:
        """The file staged in consecutive parts of about ``batch_cells`` fields (rows × columns)
        each, so a file larger than memory can land; ``None`` when this format reads whole files
        only (the default).

        Each part is what :meth:`read` gives for those rows (line numbers of the whole file). A
        file the parts cannot represent exactly (malformed lines, values the typed reader rejects)
        makes the iterator raise: ingest then discards what it wrote and calls :meth:`read`, which
        decides row by row.
        """
        return None


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    """Add a format to the registry under ``fmt.name``."""
    FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> Format:
    """The registered format called ``name`` (``-`` and ``_`` are interchangeable)."""
    key = name.replace("_", "-").lower()
    if key not in FORMATS:
        raise PointlineError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}")
    return FORMATS[key]


def open_text_bytes(path: Path) -> bytes:
    """The decompressed bytes of a ``.csv``, ``.csv.gz`` or single-member ``.zip`` file."""
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return archive.read(_zip_member(archive, path))
        if name.endswith(".gz"):
            return gzip.decompress(path.read_bytes())
        return path.read_bytes()
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise _undecompressable(path, exc) from None


def _zip_member(archive: zipfile.ZipFile, path: Path) -> str:
    """The name of the one file inside ``archive`` (a Vision zip holds one CSV)."""
    members = [m for m in archive.namelist() if not m.endswith("/")]
    if len(members) != 1:
        raise FileFormatError(f"{path.name}: expected one CSV inside the zip, found {len(members)}")
    return members[0]


def _undecompressable(path: Path, exc: BaseException) -> FileFormatError:
    return FileFormatError(f"{path.name}: cannot decompress ({exc}); the file looks truncated or corrupt")


def read_head(path: Path, limit: int = 65536) -> str:
    """The first line of the (decompressed) file, or ``""`` if it has no readable text.

    Raises
    ------
    FileFormatError
        A ``.gz`` or ``.zip`` file that cannot be decompressed (truncated or corrupt).
    """
    name = path.name.lower()
    try:
        if name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(limit)
        elif name.endswith(".zip"):
            data = open_text_bytes(path)[:limit]
        else:
            with path.open("rb") as fh:
                data = fh.read(limit)
    except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as exc:
        raise FileFormatError(
            f"{path.name}: cannot decompress ({exc or type(exc).__name__}); the file looks truncated or corrupt"
        ) from None
    except (OSError, FileFormatError):
        return ""
    text = data.decode("utf-8", errors="replace")
    return text.splitlines()[0].strip().lstrip("\ufeff") if text else ""


def read_csv_text(
    path: Path,
    *,
    has_header: bool = True,
    new_columns: list[str] | None = None,
    int_columns: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Read a CSV with every column as Utf8 (exact decimals), except ``int_columns``.

    ``int_columns`` (header names) are parsed as Int64 by the CSV reader when every value in the file
    is an integer, which is much cheaper than reading text and casting; if any value is not, the
    whole file is read again as text and the caller's checks (:func:`int_or_bad`) decide row by
    row. Both ways give the same integers (see :func:`int_or_bad`).

    Polars inflates gzip itself (faster than Python's zlib, or ISA-L inflating the whole file first;
    the fused reader of plain Tardis files streams ISA-L instead, see
    :mod:`pointline.ingest.fused_csv`); a zip is opened first.
    A truncated or corrupt file raises :class:`FileFormatError`. Columns come back in one chunk each.
    """
    source: Path | io.BytesIO = path
    if path.name.lower().endswith(".zip"):
        source = io.BytesIO(open_text_bytes(path))
    if int_columns and has_header:
        try:
            typed = pl.read_csv(
                source, infer_schema=False, schema_overrides=dict.fromkeys(int_columns, pl.Int64)
            )
            return typed.rechunk()
        except (pl.exceptions.PolarsError, OSError, EOFError, UnicodeDecodeError):
            if isinstance(source, io.BytesIO):
                source.seek(0)
    try:
        df = pl.read_csv(source, has_header=has_header, infer_schema=False, new_columns=new_columns)
    except (pl.exceptions.PolarsError, OSError, EOFError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(f"{path.name}: not a readable CSV ({first})") from None
    # One chunk per column: the reader returns many, and every column added later (line numbers,
    # encoded values) would otherwise make each select, drop or write realign them.
    return df.rechunk()


def read_csv_rows(
    path: Path,
    *,
    has_header: bool = True,
    new_columns: list[str] | None = None,
    int_columns: tuple[str, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`read_csv_text` plus each row's physical line (``file_line_number``, the last column),
    and the lines that are not well-formed CSV rows (``file_line_number``, ``raw``).

    A file the CSV reader rejects because some lines are malformed (more fields than the header, an
    unterminated quote) is read again line by line: each line is parsed on its own (quote-aware),
    the malformed ones are set aside with their line numbers, and the rest is read as usual. So one
    bad line costs that line, not the file. A file that fails for another reason still raises
    :class:`FileFormatError`. (A quoted field spanning lines counts as malformed on this path.)
    """
    try:
        df = read_csv_text(path, has_header=has_header, new_columns=new_columns, int_columns=int_columns)
        return df.with_columns(line_numbers(df.height, has_header)), _no_malformed()
    except FileFormatError as exc:
        failure = exc
    kept, numbers, malformed = _split_malformed(open_text_bytes(path), has_header, len(new_columns or []))
    if malformed.height == 0:
        raise failure
    try:
        df = pl.read_csv(
            io.BytesIO(kept), has_header=has_header, infer_schema=False, new_columns=new_columns
        ).rechunk()
    except pl.exceptions.PolarsError:
        raise failure from None
    if df.height != len(numbers):  # the reader saw rows differently: do not guess line numbers
        raise failure
    return df.with_columns(pl.Series("file_line_number", numbers, dtype=pl.Int32)), malformed


def csv_batches(
    path: Path,
    *,
    has_header: bool = True,
    int_columns: tuple[str, ...] = (),
    batch_cells: int,
) -> Iterator[pl.DataFrame]:
    """A CSV (``.csv`` or ``.csv.gz``; a zip unpacked first, see :func:`unpack_zip`) in consecutive
    batches of about ``batch_cells`` fields, each as :func:`read_csv_rows` reads a well-formed file:
    text columns, ``int_columns`` as Int64, ``file_line_number`` last. Polars' streaming reader
    inflates and parses as the batches are taken, so memory holds about one batch whatever the
    file's size.

    Raises whatever the reader raises for a file it cannot read this way (malformed lines, a
    non-integer value in ``int_columns``, a truncated archive), possibly after some batches.
    """
    width = max(1, len(next(csv.reader([read_head(path)]), [])))
    scan = pl.scan_csv(
        path,
        has_header=has_header,
        infer_schema=False,
        schema_overrides=dict.fromkeys(int_columns, pl.Int64),
        row_index_name=_LINE_INDEX,
        row_index_offset=2 if has_header else 1,  # the header is line 1
    )
    for batch in scan.collect_batches(chunk_size=max(1, batch_cells // width)):
        yield batch.select(
            pl.exclude(_LINE_INDEX), pl.col(_LINE_INDEX).cast(pl.Int32).alias("file_line_number")
        ).rechunk()


@contextlib.contextmanager
def unpack_zip(path: Path, scratch_dir: Path | None = None) -> Iterator[Path]:
    """The one member of the zip ``path`` unpacked (streamed: constant memory) to a temporary file
    under ``scratch_dir`` (default: the system's temp dir), removed on leaving the block."""
    if scratch_dir is not None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="unzip-") as tmp:
        target = Path(tmp) / "member.csv"
        try:
            with (
                zipfile.ZipFile(path) as archive,
                archive.open(_zip_member(archive, path)) as source,
                target.open("wb") as out,
            ):
                shutil.copyfileobj(source, out, 1 << 20)
        except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
            raise _undecompressable(path, exc) from None
        yield target


_LINE_INDEX = "__pointline_line"


def _no_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema={"file_line_number": pl.Int32, "raw": pl.Utf8})


def _split_malformed(data: bytes, has_header: bool, width: int) -> tuple[bytes, list[int], pl.DataFrame]:
    """``(text of the well-formed lines, their line numbers, the malformed lines)``. Blank lines
    are neither. The expected field count is the header's (else ``width``, else the first line's)."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.split("\n")
    kept: list[str] = []
    numbers: list[int] = []
    bad_numbers: list[int] = []
    bad_raw: list[str] = []
    expected = width or None
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error:
            fields = None
        if number == 1 and has_header:
            kept.append(line)
            expected = len(fields) if fields is not None else expected
            continue
        if expected is None and fields is not None:
            expected = len(fields)
        if fields is None or len(fields) != expected:
            bad_numbers.append(number)
            bad_raw.append(line)
            continue
        kept.append(line)
        numbers.append(number)
    malformed = pl.DataFrame(
        {"file_line_number": bad_numbers, "raw": bad_raw},
        schema={"file_line_number": pl.Int32, "raw": pl.Utf8},
    )
    return ("\n".join(kept) + "\n").encode(), numbers, malformed


def drop_blank_lines(df: pl.DataFrame) -> pl.DataFrame:
    """Drop the all-null rows blank lines leave (not data). A blank line has a null first column, so
    a file whose first column has no null skips the row-wise check."""
    if df.width == 0 or not df[df.columns[0]].null_count():
        return df
    return df.filter(~pl.all_horizontal(pl.exclude("file_line_number").is_null()))


def line_numbers(height: int, has_header: bool) -> pl.Expr:
    """1-based physical line of each row: the header is line 1, so the first data row is line 2."""
    start = 2 if has_header else 1
    return pl.int_range(start, start + height, dtype=pl.Int32).alias("file_line_number")


def int_or_bad(
    text: pl.Expr, *, required: bool, dtype: pl.DataType | None = None
) -> tuple[pl.Expr, pl.Expr | None]:
    """Int64 from integer text and the condition that makes a row ``unparseable`` (present but not an
    int, or missing while ``required``); ``None`` when no row can be bad.

    Blanks around the digits are allowed, as the CSV reader's own Int64 parsing allows them; pass
    ``dtype=pl.Int64`` for a column that reader already parsed (only a missing value can be bad).
    """
    if dtype == pl.Int64:
        return text, text.is_null() if required else None
    value = text.str.strip_chars().cast(pl.Int64, strict=False)
    return value, value.is_null() if required else (value.is_null() & text.is_not_null())


def reason_column(frame: pl.DataFrame, checks: list[tuple[pl.Expr | None, str | pl.Expr]]) -> pl.Expr:
    """``_reason``: the reason of the first ``(condition, reason)`` check a row fails, else null.
    A reason is a literal or a Utf8 expression (e.g. the encoder's per-row reason column).

    Clean files (no row fails any check, one cheap boolean pass to prove it) get an all-null
    literal instead of a row-wise coalesce of strings.
    """
    live = [(cond.fill_null(False), reason) for cond, reason in checks if cond is not None]
    if not live or not frame.select(pl.any_horizontal([c for c, _ in live]).any()).item():
        return pl.lit(None, dtype=pl.Utf8).alias("_reason")
    reasons = [pl.when(c).then(pl.lit(r) if isinstance(r, str) else r) for c, r in live]
    return pl.coalesce(reasons).alias("_reason")


def raw_text(source: pl.DataFrame) -> pl.Series:
    """The row rendered back as comma-joined fields (nulls as empty fields)."""
    return source.select(
        pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in source.columns], separator=",")
    ).to_series()
