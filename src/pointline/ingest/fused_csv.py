"""A fused reader for plain Tardis CSV: inflate and parse in one pass, straight to staged columns.

The general reader (Polars' CSV reader, then a scan of the decimal text, see
:mod:`pointline.ingest.tardis`) holds the whole inflated file and makes a string of every price
and size before reading its digits. A *plain* file, the shape Tardis ships, needs neither: this
reader inflates the file in chunks (ISA-L, on a second thread) and cuts the text into pieces of
whole lines; the lines of each piece are counted as it comes, which places its rows, and two
threads run a compiled kernel over pieces at once, each writing its rows of the staged columns
directly: timestamps as Int64, prices and sizes as digits and decimals exactly as
:func:`pointline.lake.decimal_scan.scan_text` reads their text, trade sides as codes, trade ids as
Arrow string views. The read of 1M trades takes less time than ``pl.read_csv`` of the same file
(see ``docs/architecture.md`` and ``benchmarks/bench_ingest.py``).

Plain means:

- the header is ``exchange,symbol,timestamp,local_timestamp`` and the columns of one data type
  (trades, quotes, book snapshots of at most 25 levels), each once, nothing else;
- every line holds exactly the header's fields, ends in ``\\n`` (the last may end the file) and
  holds no quote, carriage return, blank or non-ASCII byte;
- every row names the first row's exchange and symbol, both timestamps are 1–18 digits, a trade id
  is present, a side is ``buy``, ``sell`` or ``unknown``, and a price or size is a plain decimal
  (see :mod:`pointline.lake.decimal_scan`) or empty (a quote's or level's missing value; a trade
  needs both).

Any other file, or a ``.gz`` without ISA-L installed, gets ``None`` from :func:`read` and goes to the
general reader, which decides row by row; so a file's staged rows are the same whichever reader
took it (``tests/ingest/test_fused_csv.py`` holds the two to that). The general reader also names
the rows that fail the later checks (a zero price, a value the instrument's exponent cannot hold):
the fused read keeps no text, so rendering them for the quarantine reads the file's own columns
again (:attr:`~pointline.ingest.registry.Parsed.load_source`), a cost only such files pay.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit

from pointline.ingest.registry import Parsed
from pointline.lake import decimal_scan, encoding

try:  # ISA-L inflates about twice as fast as zlib and releases the GIL while it does
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; a platform without wheels falls back
    isal_zlib = None

#: Set to ``False`` to send every file to the general reader (a switch for comparisons and tests).
ENABLED = True
#: Compressed bytes inflated per step (about 1 MB of text), and plain bytes read per step.
INFLATE_STEP = 1 << 18
READ_STEP = 1 << 20
#: Threads parsing pieces of the text at once (beside the inflating thread), and the pieces handed
#: to them ahead of the parsed ones (bounds the inflated text held).
PARSE_THREADS = max(1, min(2, os.cpu_count() or 1))
PIECES_AHEAD = 8
#: The most text a byte of gzip is taken to inflate to when sizing the columns (CSV: about 5-12).
_MAX_RATIO = 32
#: The longest line a plain file has (a longer one is no Tardis row).
_MAX_LINE = 1 << 20

# Field kinds of the kernel, with the argument each takes (``args``).
_EXCHANGE, _SYMBOL, _INT, _TEXT, _SIDE, _DECIMAL = range(6)
# Kernel outcomes.
_DONE, _FULL, _NOT_PLAIN = range(3)

_COMMON = {
    "exchange": (_EXCHANGE, 0),
    "symbol": (_SYMBOL, 1),
    "local_timestamp": (_INT, 0),
    "timestamp": (_INT, 1),
}
_INT_NAMES = ("ts_local_us", "ts_exch_us")
_TRADES = {
    "id": (_TEXT, "trade_id"),
    "side": (_SIDE, "side"),
    "price": (_DECIMAL, "px"),
    "amount": (_DECIMAL, "qty"),
}
_QUOTES = {
    "bid_price": (_DECIMAL, "bid_px"),
    "bid_amount": (_DECIMAL, "bid_qty"),
    "ask_price": (_DECIMAL, "ask_px"),
    "ask_amount": (_DECIMAL, "ask_qty"),
}
_LEVEL = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")
_MAX_LEVELS = 25
_MAX_NAME = 256
_MISSING = decimal_scan.MISSING
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
# The side tokens, in the order of their codes (0, 1, 2).
_BUY, _SELL, _UNKNOWN = (np.array(list(word), dtype=np.uint8) for word in (b"buy", b"sell", b"unknown"))


@dataclass(frozen=True)
class Layout:
    """What a header asks of the kernel: the table, each field's kind and argument, and the staged
    names of the decimal columns (``args`` of a decimal field index them); ``levels`` for books."""

    table: str
    kinds: np.ndarray
    args: np.ndarray
    decimals: tuple[str, ...]
    levels: int = 0


def layout_of(header: str) -> Layout | None:
    """The kernel's layout for a Tardis header, or ``None`` when the fused reader does not take it."""
    names = header.split(",")
    if len(set(names)) != len(names) or not set(_COMMON) <= set(names):
        return None
    rest = [n for n in names if n not in _COMMON]
    if set(rest) == set(_TRADES):
        table, fields, decimals = "trades", _TRADES, ["px", "qty"]
    elif set(rest) == set(_QUOTES):
        table, fields, decimals = "quotes", _QUOTES, ["bid_px", "bid_qty", "ask_px", "ask_qty"]
    else:
        matches = [_LEVEL.match(n) for n in rest]
        if not rest or not all(matches):
            return None
        levels = 1 + max(int(m.group(2)) for m in matches if m)
        if levels > _MAX_LEVELS:
            return None
        table = "book_snapshot_25"
        fields = {
            f"{side}s[{i}].{field}": (_DECIMAL, f"{side}_{kind}_{i}")
            for i in range(levels)
            for side in ("bid", "ask")
            for field, kind in (("price", "px"), ("amount", "qty"))
        }
        decimals = [staged for _, staged in fields.values()]
    kinds, args = [], []
    for name in names:
        kind, arg = _COMMON[name] if name in _COMMON else fields[name]
        kinds.append(kind)
        args.append(decimals.index(arg) if kind == _DECIMAL else arg if isinstance(arg, int) else 0)
    return Layout(
        table=table,
        kinds=np.array(kinds, dtype=np.int8),
        args=np.array(args, dtype=np.int64),
        decimals=tuple(decimals),
        levels=levels if table == "book_snapshot_25" else 0,
    )


def read(path: Path) -> Parsed | None:
    """The staged file (as :mod:`pointline.ingest.tardis` stages it, with prices and sizes as
    ``__raw`` / ``__dec`` digits and no text, ``source`` and ``load_source`` unset), or ``None``
    when the file is not plain (see the module docstring) or cannot be read this way."""
    name = path.name.lower()
    if not ENABLED or name.endswith(".zip") or (name.endswith(".gz") and isal_zlib is None):
        return None
    gz = name.endswith(".gz")
    chunks = _inflated(path) if gz else _plain(path)
    try:
        return _parse_file(chunks, _text_size(path, gz))
    except _READ_ERRORS:
        return None  # truncated, corrupt or not text: the general reader names the failure
    finally:
        chunks.close()


_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError) + (
    (isal_zlib.error,) if isal_zlib is not None else ()
)


def _text_size(path: Path, gz: bool) -> int:
    """About how many bytes of text the file holds: its size, or for gzip the size its trailer
    records (exact for one member under 4 GiB; an estimate otherwise, which only sizes outputs)."""
    size = path.stat().st_size
    if not gz or size < 18:
        return size
    with path.open("rb") as fh:
        fh.seek(-4, os.SEEK_END)
        recorded = int.from_bytes(fh.read(4), "little")
    return min(recorded, size * _MAX_RATIO)  # (a damaged trailer cannot ask for gigabytes)


def _plain(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(READ_STEP):
            yield block


def _inflated(path: Path) -> Iterator[bytes]:
    """The inflated bytes of a gzip file in chunks, inflated on a second thread while the caller
    parses the chunks before (ISA-L releases the GIL, the kernel does not need it)."""
    out: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def inflate() -> None:
        try:
            assert isal_zlib is not None
            with path.open("rb") as fh:
                stream = isal_zlib.decompressobj(wbits=31)
                block = fh.read(INFLATE_STEP)
                while block and not stop.is_set():
                    text = stream.decompress(block)
                    if text:
                        out.put(text)
                    if not stream.eof:
                        block = fh.read(INFLATE_STEP)
                    elif block := stream.unused_data or fh.read(INFLATE_STEP):
                        stream = isal_zlib.decompressobj(wbits=31)  # another gzip member follows
                if not stream.eof and not stop.is_set():
                    raise EOFError("compressed file ended before the end-of-stream marker")
            out.put(None)
        except BaseException as exc:  # handed to the reader, which decides
            out.put(exc)

    worker = threading.Thread(target=inflate, name="fused-inflate", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                out.get_nowait()  # unblock a worker waiting to put
        worker.join()


class _Columns:
    """The staged columns of a file, which the pieces' kernels fill at once, each its own rows."""

    def __init__(self, layout: Layout, capacity: int) -> None:
        ndec = len(layout.decimals)
        self.layout = layout
        self.ints = np.empty((2, capacity), dtype=np.int64)
        self.sides = np.empty(capacity, dtype=np.int8)
        self.raws = np.empty((ndec, capacity), dtype=np.int64)
        self.decs = np.empty((ndec, capacity), dtype=np.int32)
        # Trade ids as Arrow string views (16 bytes: the length, then the text if at most 12 bytes,
        # else its first 4 bytes, its piece's buffer and its offset in that piece's text).
        self.views = np.empty((capacity if layout.table == "trades" else 0, 16), dtype=np.uint8)

    @property
    def capacity(self) -> int:
        return self.sides.shape[0]

    def grown(self, rows: int, filled: int) -> _Columns:
        """Columns with room for ``rows`` holding these columns' first ``filled`` rows (no kernel
        may be writing to these)."""
        more = _Columns(self.layout, max(rows, self.capacity * 3 // 2))
        more.ints[:, :filled], more.sides[:filled] = self.ints[:, :filled], self.sides[:filled]
        more.raws[:, :filled], more.decs[:, :filled] = self.raws[:, :filled], self.decs[:, :filled]
        more.views[:filled] = self.views[:filled]
        return more


@dataclass
class _Piece:
    """What a parsed piece leaves beside its rows: the instrument it names and its trade ids' text."""

    names: np.ndarray
    name_lengths: np.ndarray
    text: np.ndarray


_Segment = tuple[bytes, int, int, bool]


def _parse_file(chunks: Iterator[bytes], text_size: int) -> Parsed | None:
    """The staged rows of the file whose text (about ``text_size`` bytes) comes in ``chunks``;
    ``None`` when it is not plain.

    The text after the header is cut into pieces of whole lines (about a chunk each). Each piece's
    lines are counted as it comes, which places its rows; :data:`PARSE_THREADS` threads then parse
    pieces at once, each straight into its rows of the file's columns."""
    head = b""
    for chunk in chunks:
        head += chunk
        if (end := head.find(b"\n")) >= 0 or len(head) > _MAX_LINE:
            break
    else:
        return None
    if end < 0 or (layout := layout_of(head[:end].decode("ascii"))) is None:
        return None
    # Room for the rows the text holds at the first chunk's lines per byte (grown if it holds more).
    columns = _Columns(layout, int(text_size * head.count(b"\n") / len(head) * 1.05) + 1024)
    parsed: list[tuple[Future[_Piece | None], int]] = []  # each piece's and its row count
    rows = checked = 0
    try:
        for piece in _pieces(chunks, head, end + 1):
            count = sum(
                _count_lines(np.frombuffer(data, dtype=np.uint8), a, b) + final for data, a, b, final in piece
            )
            if rows + count > columns.capacity:  # more room once the pieces before are parsed
                if any(future.result() is None for future, _ in parsed[checked:]):
                    return None
                checked = len(parsed)
                columns = columns.grown(rows + count, rows)
            parsed.append((_pool().submit(_parse_piece, columns, piece, len(parsed), rows, count), count))
            rows += count
            while len(parsed) - checked > PIECES_AHEAD:  # bounded text waiting to be parsed
                if parsed[checked][0].result() is None:
                    return None
                checked += 1
        pieces = [piece for future, _ in parsed if (piece := future.result()) is not None]
    finally:
        for future, _ in parsed:
            future.cancel()
    if not pieces or len(pieces) < len(parsed):
        return None  # not plain, or a header-only file (the general reader reports it)
    first = pieces[0]
    if any(
        not np.array_equal(p.names, first.names) or not np.array_equal(p.name_lengths, first.name_lengths)
        for p in pieces
    ):
        return None  # a piece's rows name another instrument
    return _staged(columns, rows, first, [p.text for p in pieces])


def _pieces(chunks: Iterator[bytes], first: bytes, start: int) -> Iterator[list[_Segment]]:
    """The text from ``first[start:]`` on, then ``chunks``, in pieces of whole lines: each a list of
    ``(data, start, stop, final)`` segments (a line cut by a chunk's end joined in a small one of
    its own; no copy of the chunks themselves). ``final``: the file's last line, without ``\\n``."""
    pending = b""
    chunk: bytes | None = first
    while chunk is not None:
        piece: list[_Segment] = []
        if pending:
            cut = chunk.find(b"\n", start)
            if cut < 0:
                pending += chunk[start:]
                if len(pending) > _MAX_LINE:
                    raise ValueError("a line longer than any Tardis row")
                chunk, start = next(chunks, None), 0
                continue
            line = pending + chunk[start : cut + 1]
            piece.append((line, 0, len(line), False))
            start, pending = cut + 1, b""
        last = chunk.rfind(b"\n", start)
        if last >= 0:
            piece.append((chunk, start, last + 1, False))
            start = last + 1
        pending = chunk[start:]
        if piece:
            yield piece
        chunk, start = next(chunks, None), 0
    if pending:
        yield [(pending, 0, len(pending), True)]


def _parse_piece(columns: _Columns, piece: list[_Segment], index: int, row: int, count: int) -> _Piece | None:
    """Parse the ``index``-th piece's ``count`` lines into rows ``row`` on of ``columns``; ``None``
    when a line of it is not plain."""
    layout = columns.layout
    names = np.zeros((2, _MAX_NAME), dtype=np.uint8)
    name_lengths = np.full(2, -1, dtype=np.int64)
    # Room for every trade id (each is shorter than its line): the kernel never runs out.
    text = np.empty(sum(b - a for _, a, b, _ in piece) if layout.table == "trades" else 0, dtype=np.uint8)
    widths = np.full(layout.kinds.shape[0], -1, dtype=np.int64)
    points = np.full(layout.kinds.shape[0], -1, dtype=np.int64)
    n, used = row, 0
    for data, start, stop, final in piece:
        outcome, pos, n, used = _parse(
            np.frombuffer(data, dtype=np.uint8),
            start,
            stop,
            final,
            layout.kinds,
            layout.args,
            widths,
            points,
            names,
            name_lengths,
            columns.ints,
            columns.sides,
            columns.raws,
            columns.decs,
            columns.views,
            index,
            text,
            n,
            used,
        )
        if outcome != _DONE or pos < stop:  # (past it: the final line's missing newline)
            return None
    if n != row + count:
        return None
    return _Piece(names, name_lengths, text[:used])


_parsers: ThreadPoolExecutor | None = None
_parsers_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The parsing threads (started at the first use, shared by every read of the process)."""
    global _parsers
    with _parsers_lock:
        if _parsers is None:
            _parsers = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="fused-parse")
        return _parsers


def _forget_pool() -> None:
    """In a forked child the parent's threads do not exist: start its own at its first read."""
    global _parsers, _parsers_lock
    _parsers, _parsers_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _staged(columns: _Columns, n: int, first: _Piece, texts: list[np.ndarray]) -> Parsed:
    """The staged frame of the first ``n`` rows of ``columns`` (no copy); ``texts``: the pieces'
    trade id text, in order (the string views' buffers)."""
    layout = columns.layout
    exchange, symbol = (bytes(first.names[k, : first.name_lengths[k]]).decode("ascii") for k in (0, 1))
    frame_columns = [pl.Series(name, columns.ints[k, :n]) for k, name in enumerate(_INT_NAMES)]
    if layout.table == "trades":
        ids = pa.Array.from_buffers(
            pa.string_view(), n, [None, pa.py_buffer(columns.views[:n]), *map(pa.py_buffer, texts)]
        )
        frame_columns += [pl.Series("trade_id", ids, dtype=pl.Utf8), pl.Series("side", columns.sides[:n])]
    for j, name in enumerate(layout.decimals):
        frame_columns += [
            pl.Series(f"{name}{encoding.RAW_SUFFIX}", columns.raws[j, :n]),
            pl.Series(f"{name}{encoding.DEC_SUFFIX}", columns.decs[j, :n]),
        ]
    # The names and the (absent) reasons as constants: Polars materialises them only where used.
    frame = pl.DataFrame(frame_columns).with_columns(
        pl.lit(exchange, dtype=pl.Utf8).alias("exchange"),
        pl.lit(symbol, dtype=pl.Utf8).alias("symbol"),
        pl.int_range(2, n + 2, dtype=pl.Int32).alias("file_line_number"),
        pl.lit(None, dtype=pl.Utf8).alias("_reason"),
    )
    return Parsed(
        table=layout.table,
        frame=frame,
        source=None,
        levels=layout.levels,
        instruments=[(exchange, symbol)],
        uniform=True,
    )


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True)
def _count_lines(data, start, stop):  # pragma: no cover - compiled
    """The newlines in ``data[start:stop]``, eight bytes at a time: a newline byte XOR ``\\n`` is
    zero, and ``~(((x & 0x7F..) + 0x7F..) | x | 0x7F..)`` sets the high bit of exactly the zero
    bytes of ``x``; multiplying their bits by ``0x0101..`` sums them into the top byte."""
    count = 0
    i = start
    while i < stop and i % 8:
        count += data[i] == 10
        i += 1
    words = (stop - i) // 8
    if words:
        view = data[i : i + 8 * words].view(np.uint64)
        for k in range(words):
            x = view[k] ^ _NEWLINES
            zero = ~(((x & _LOW7) + _LOW7) | x | _LOW7)
            count += ((zero >> np.uint64(7)) * _ONES) >> np.uint64(56)
        i += 8 * words
    while i < stop:
        count += data[i] == 10
        i += 1
    return count


@njit(cache=True, nogil=True)
def _parse(
    data,
    start,
    stop,
    final,
    kinds,
    args,
    widths,
    points,
    names,
    name_lengths,
    ints,
    sides,
    raws,
    decs,
    views,
    buffer,
    text,
    n,
    text_used,
):  # pragma: no cover - compiled; its behaviour is tested through read()
    """Parse the lines of ``data[start:stop]`` into row ``n`` on; ``(outcome, position, n,
    text_used)``. A line cut by ``stop`` is left for the next call (position = its start) unless
    ``final``. ``_FULL``: the outputs have no room for the next line (position = its start).

    ``widths`` and ``points`` remember each number field's last width and point offset (``-1``:
    none yet, no point; only number fields get a width): a field of that shape, its end a
    delimiter and all else digits, is read without a scan for its end; a field of another shape
    takes the scan, which decides."""
    nfields = kinds.shape[0]
    capacity = sides.shape[0]
    text_capacity = text.shape[0]
    pos = start
    while pos < stop:
        if n >= capacity:
            return _FULL, pos, n, text_used
        line_start = pos
        used = text_used
        p = pos
        for f in range(nfields):
            kind = kinds[f]
            arg = args[f]
            q = p
            known = False
            width = widths[f]
            if width > 0 and p + width < stop and (data[p + width] == 44 or data[p + width] == 10):
                point = points[f]
                if point < 0 or data[p + point] == 46:
                    value, decimals, known = _number(data, p, p + point if point >= 0 else -1, p + width)
            if known:  # a number field of the shape before: read without scanning for its end
                q = p + width
                if kind == _INT:
                    ints[arg, n] = value
                else:
                    raws[arg, n] = value
                    decs[arg, n] = decimals
            elif kind == _DECIMAL:
                digits_at = p
                if q < stop and (data[q] == 45 or data[q] == 43):  # '-' or '+'
                    digits_at += 1
                    q += 1
                point_at = -1
                while q < stop:
                    b = data[q]
                    if b == 44 or b == 10:
                        break
                    if b == 46:
                        if point_at >= 0:
                            return _NOT_PLAIN, line_start, n, text_used
                        point_at = q
                    q += 1
                if q == stop and not final:
                    return _DONE, line_start, n, text_used
                count = q - digits_at - (1 if point_at >= 0 else 0)
                if q == p:
                    raws[arg, n] = 0
                    decs[arg, n] = _MISSING
                    ok = True
                elif count == 0:
                    ok = False
                elif count > 18:  # leading zeros may still make it plain: the scan decides
                    raw, dec = decimal_scan.scan_value(data, p, q)
                    raws[arg, n] = raw
                    decs[arg, n] = dec
                    ok = dec >= 0
                else:
                    value, decimals, ok = _number(data, digits_at, point_at, q)
                    raws[arg, n] = -value if data[p] == 45 else value
                    decs[arg, n] = decimals
                    if ok and digits_at == p:  # unsigned: the shape to try first next time
                        widths[f] = q - p
                        points[f] = point_at - p if point_at >= 0 else -1
                if not ok:
                    return _NOT_PLAIN, line_start, n, text_used
            elif kind == _INT:
                while q < stop and data[q] != 44 and data[q] != 10:
                    q += 1
                if q == stop and not final:
                    return _DONE, line_start, n, text_used
                if q == p or q - p > 18:
                    return _NOT_PLAIN, line_start, n, text_used
                value, ok = _digits(data, p, q)
                if not ok:
                    return _NOT_PLAIN, line_start, n, text_used
                ints[arg, n] = value
                widths[f] = q - p
            elif kind == _SIDE:
                while q < stop and data[q] != 44 and data[q] != 10:
                    q += 1
                length = q - p
                if _spells(data, p, length, _BUY):
                    sides[n] = 0
                elif _spells(data, p, length, _SELL):
                    sides[n] = 1
                elif _spells(data, p, length, _UNKNOWN):
                    sides[n] = 2
                elif q < stop or final:
                    return _NOT_PLAIN, line_start, n, text_used
            elif kind != _TEXT and name_lengths[arg] >= 0:  # a name: the first row's, byte for byte
                length = name_lengths[arg]
                if p + length > stop:
                    if not final:
                        return _DONE, line_start, n, text_used
                    return _NOT_PLAIN, line_start, n, text_used
                for k in range(length):
                    if data[p + k] != names[arg, k]:
                        return _NOT_PLAIN, line_start, n, text_used
                q = p + length
                if q < stop and data[q] != 44 and data[q] != 10:
                    return _NOT_PLAIN, line_start, n, text_used
            else:  # a trade id or the first row's names: printable ASCII other than quote and comma
                while q < stop:
                    b = data[q]
                    if b == 44 or b == 10:
                        break
                    if b < 33 or b > 126 or b == 34:
                        return _NOT_PLAIN, line_start, n, text_used
                    q += 1
                length = q - p
                if length == 0:
                    if q == stop and not final:
                        return _DONE, line_start, n, text_used
                    return _NOT_PLAIN, line_start, n, text_used
                if kind == _TEXT:
                    _put_int32(views, n, 0, length)
                    if length <= 12:  # inline, zero-padded
                        for k in range(12):
                            views[n, 4 + k] = data[p + k] if k < length else 0
                    else:  # a prefix, and where the text is
                        if used + length > text_capacity:
                            return _FULL, line_start, n, text_used
                        views[n, 4:8] = data[p : p + 4]
                        _put_int32(views, n, 8, buffer)
                        _put_int32(views, n, 12, used)
                        text[used : used + length] = data[p:q]
                        used += length
                elif q < stop or final:  # the first row's name (unless the data cut it)
                    if length > names.shape[1]:
                        return _NOT_PLAIN, line_start, n, text_used
                    names[arg, :length] = data[p:q]
                    name_lengths[arg] = length
            # The field's end: a comma before the last field, a newline (or the data's end) after it.
            if q == stop:
                if not final:
                    return _DONE, line_start, n, text_used
                if f != nfields - 1:
                    return _NOT_PLAIN, line_start, n, text_used
            elif data[q] == 44:
                if f == nfields - 1:
                    return _NOT_PLAIN, line_start, n, text_used
            elif f != nfields - 1:  # a newline before the last field
                return _NOT_PLAIN, line_start, n, text_used
            p = q + 1
        text_used = used
        n += 1
        pos = p
    return _DONE, pos, n, text_used


@njit(cache=True, nogil=True, inline="always")
def _number(data, start, point_at, end):  # pragma: no cover - compiled
    """``(value, decimals, ok)`` of the digits ``data[start:end]`` with a point at ``point_at``
    (``-1``: none) and at most 18 digits; ``ok``: all else digits."""
    if point_at < 0:
        value, ok = _digits(data, start, end)
        return value, 0, ok
    whole, ok_whole = _digits(data, start, point_at)
    part, ok_part = _digits(data, point_at + 1, end)
    decimals = end - point_at - 1
    return whole * _POW10[decimals] + part, decimals, ok_whole and ok_part


@njit(cache=True, nogil=True, inline="always")
def _spells(data, p, length, word):  # pragma: no cover - compiled
    """Whether the ``length`` bytes at ``data[p]`` are ``word``."""
    if length != word.shape[0]:
        return False
    for k in range(length):  # noqa: SIM110 (compiled: a loop, not a generator)
        if data[p + k] != word[k]:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _put_int32(views, row, at, value):  # pragma: no cover - compiled
    """Write ``value`` as a little-endian int32 at ``views[row, at:at + 4]``."""
    for k in range(4):
        views[row, at + k] = (value >> (8 * k)) & 255


@njit(cache=True, nogil=True, inline="always")
def _digits(data, p, q):  # pragma: no cover - compiled
    """The integer the ASCII digits ``data[p:q]`` write (at most 18) and whether all are digits.
    Eight at a time as a tree of independent products (no chain of ``acc * 10``); a non-digit
    makes some ``d`` or ``9 - d`` negative, which the OR of them all keeps."""
    acc = 0
    bad = 0
    while q - p >= 8:
        d0 = np.int64(data[p]) - 48
        d1 = np.int64(data[p + 1]) - 48
        d2 = np.int64(data[p + 2]) - 48
        d3 = np.int64(data[p + 3]) - 48
        d4 = np.int64(data[p + 4]) - 48
        d5 = np.int64(data[p + 5]) - 48
        d6 = np.int64(data[p + 6]) - 48
        d7 = np.int64(data[p + 7]) - 48
        bad |= d0 | d1 | d2 | d3 | d4 | d5 | d6 | d7
        bad |= (9 - d0) | (9 - d1) | (9 - d2) | (9 - d3) | (9 - d4) | (9 - d5) | (9 - d6) | (9 - d7)
        high = (d0 * 10 + d1) * 100 + (d2 * 10 + d3)
        low = (d4 * 10 + d5) * 100 + (d6 * 10 + d7)
        acc = acc * 100_000_000 + high * 10_000 + low
        p += 8
    while p < q:
        d = np.int64(data[p]) - 48
        bad |= d | (9 - d)
        acc = acc * 10 + d
        p += 1
    return acc, bad >= 0
