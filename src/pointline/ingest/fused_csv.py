"""A fused reader for plain Tardis CSV: inflate and parse in one pass, straight to staged columns.

The general reader (Polars' CSV reader, then a scan of the decimal text, see
:mod:`pointline.ingest.tardis`) holds the whole inflated file and makes a string of every price
and size before reading its digits. A *plain* file, the shape Tardis ships, needs neither: this
reader inflates the file in chunks (ISA-L, on a second thread) while a compiled kernel turns each
line into the staged columns directly: timestamps as Int64, prices and sizes as digits and
decimals exactly as :func:`pointline.lake.decimal_scan.scan_text` reads their text, trade sides as
codes, trade ids as text. About 40% of a 1M-trade ingest goes away (see ``benchmarks/bench_ingest.py``).

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
import queue
import re
import threading
from collections.abc import Iterator
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
        return _parse_file(chunks, path.stat().st_size, INFLATE_STEP if gz else READ_STEP)
    except _READ_ERRORS:
        return None  # truncated, corrupt or not text: the general reader names the failure
    finally:
        chunks.close()


_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError) + (
    (isal_zlib.error,) if isal_zlib is not None else ()
)


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


class _Outputs:
    """The kernel's output columns, grown as rows come."""

    def __init__(self, layout: Layout, capacity: int) -> None:
        self.layout = layout
        self.n = 0
        self.text_used = 0
        self.names = np.zeros((2, _MAX_NAME), dtype=np.uint8)
        self.name_lengths = np.full(2, -1, dtype=np.int64)
        self._allocate(max(capacity, 1024), max(capacity, 1024) * 12)

    def _allocate(self, rows: int, text_bytes: int) -> None:
        ndec = len(self.layout.decimals)
        old = getattr(self, "ints", None)
        ints = np.empty((2, rows), dtype=np.int64)
        sides = np.empty(rows, dtype=np.int8)
        raws = np.empty((ndec, rows), dtype=np.int64)
        decs = np.empty((ndec, rows), dtype=np.int32)
        offsets = np.zeros(rows + 1, dtype=np.int64)
        text = np.empty(text_bytes, dtype=np.uint8)
        if old is not None:
            n, used = self.n, self.text_used
            ints[:, :n], sides[:n], raws[:, :n], decs[:, :n] = (
                self.ints[:, :n],
                self.sides[:n],
                self.raws[:, :n],
                self.decs[:, :n],
            )
            offsets[: n + 1], text[:used] = self.offsets[: n + 1], self.text[:used]
        self.ints, self.sides, self.raws, self.decs, self.offsets, self.text = (
            ints,
            sides,
            raws,
            decs,
            offsets,
            text,
        )

    def grow(self) -> None:
        """Room for more rows (when they ran out) or more trade id text."""
        rows, text = self.sides.shape[0], self.text.shape[0]
        if self.n >= rows:
            self._allocate(rows * 2, text + rows * 12)
        else:
            self._allocate(rows, text * 2 + 4096)

    def parse(self, data: np.ndarray, start: int, final: bool) -> tuple[int, int]:
        """Run the kernel over ``data[start:]`` (growing as needed); ``(outcome, position)``."""
        while True:
            outcome, pos, self.n, self.text_used = _parse(
                data,
                start,
                data.shape[0],
                final,
                self.layout.kinds,
                self.layout.args,
                self.names,
                self.name_lengths,
                self.ints,
                self.sides,
                self.raws,
                self.decs,
                self.offsets,
                self.text,
                self.n,
                self.text_used,
            )
            if outcome != _FULL:
                return outcome, pos
            self.grow()
            start = pos


def _parse_file(chunks: Iterator[bytes], size_on_disk: int, step: int) -> Parsed | None:
    """The staged rows of the file whose text comes in ``chunks`` (each from about ``step`` bytes
    of the file's ``size_on_disk``); ``None`` when it is not plain."""
    pending = b""
    out: _Outputs | None = None
    for chunk in chunks:
        start = 0
        if out is None:  # the header, then outputs sized from the first chunk's density
            pending += chunk
            end = pending.find(b"\n")
            if end < 0:
                if len(pending) > 1 << 20:
                    return None
                continue
            layout = layout_of(pending[:end].decode("ascii"))
            if layout is None:
                return None
            lines = pending.count(b"\n")
            estimate = int(lines * max(1.0, size_on_disk / step) * 1.1)
            out = _Outputs(layout, estimate)
            chunk, pending, start = pending, b"", end + 1
        elif pending:  # a line cut by the chunk's start: parse it on its own
            cut = chunk.find(b"\n")
            if cut < 0:
                pending += chunk
                continue
            line = pending + chunk[: cut + 1]
            outcome, pos = out.parse(np.frombuffer(line, dtype=np.uint8), 0, final=False)
            if outcome == _NOT_PLAIN or pos != len(line):
                return None
            start = cut + 1
        outcome, pos = out.parse(np.frombuffer(chunk, dtype=np.uint8), start, final=False)
        if outcome == _NOT_PLAIN:
            return None
        pending = chunk[pos:]
    if out is None:
        return None
    if pending:
        outcome, pos = out.parse(np.frombuffer(pending, dtype=np.uint8), 0, final=True)
        if outcome == _NOT_PLAIN:
            return None
    if out.n == 0:
        return None  # a header-only file: the general reader reports it
    return _staged(out)


def _staged(out: _Outputs) -> Parsed:
    layout, n = out.layout, out.n
    exchange, symbol = (bytes(out.names[k, : out.name_lengths[k]]).decode("ascii") for k in (0, 1))
    columns = [
        pl.Series(_INT_NAMES[0], out.ints[0, :n]),
        pl.Series(_INT_NAMES[1], out.ints[1, :n]),
    ]
    if layout.table == "trades":
        ids = pa.LargeStringArray.from_buffers(
            n, pa.py_buffer(out.offsets[: n + 1]), pa.py_buffer(out.text[: out.text_used])
        )
        columns += [pl.Series("trade_id", ids, dtype=pl.Utf8), pl.Series("side", out.sides[:n])]
    for j, name in enumerate(layout.decimals):
        columns += [
            pl.Series(f"{name}{encoding.RAW_SUFFIX}", out.raws[j, :n]),
            pl.Series(f"{name}{encoding.DEC_SUFFIX}", out.decs[j, :n]),
        ]
    # The names and the (absent) reasons as constants: Polars materialises them only where used.
    frame = pl.DataFrame(columns).with_columns(
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


@njit(cache=True, nogil=True)
def _parse(
    data,
    start,
    stop,
    final,
    kinds,
    args,
    names,
    name_lengths,
    ints,
    sides,
    raws,
    decs,
    offsets,
    text,
    n,
    text_used,
):  # pragma: no cover - compiled; its behaviour is tested through read()
    """Parse the lines of ``data[start:stop]`` into row ``n`` on; ``(outcome, position, n,
    text_used)``. A line cut by ``stop`` is left for the next call (position = its start) unless
    ``final``. ``_FULL``: the outputs have no room for the next line (position = its start)."""
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
            if kind == _DECIMAL:
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
                    if point_at < 0:
                        value, ok = _digits(data, digits_at, q)
                        decimals = 0
                    else:
                        whole, ok_whole = _digits(data, digits_at, point_at)
                        part, ok_part = _digits(data, point_at + 1, q)
                        decimals = q - point_at - 1
                        value = whole * _POW10[decimals] + part
                        ok = ok_whole and ok_part
                    raws[arg, n] = -value if data[p] == 45 else value
                    decs[arg, n] = decimals
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
            elif kind == _SIDE:
                while q < stop and data[q] != 44 and data[q] != 10:
                    q += 1
                length = q - p
                if length == 3 and data[p] == 98 and data[p + 1] == 117 and data[p + 2] == 121:
                    sides[n] = 0
                elif (
                    length == 4
                    and data[p] == 115
                    and data[p + 1] == 101
                    and data[p + 2] == 108
                    and data[p + 3] == 108
                ):
                    sides[n] = 1
                elif (
                    length == 7
                    and data[p] == 117
                    and data[p + 1] == 110
                    and data[p + 2] == 107
                    and data[p + 3] == 110
                    and data[p + 4] == 111
                    and data[p + 5] == 119
                    and data[p + 6] == 110
                ):
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
                    if used + length > text_capacity:
                        return _FULL, line_start, n, text_used
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
        offsets[n + 1] = used
        text_used = used
        n += 1
        pos = p
    return _DONE, pos, n, text_used


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
