"""One pass over decimal text in Arrow's string buffers: digits, decimals, exponent profile, scaling.

The kernels behind :mod:`pointline.lake.encoding`. They read the UTF-8 bytes of a string column in
place (no per-value Python objects, no intermediate strings) and recognise *plain* decimals only:
an optional sign, ASCII digits, at most one point, at least one digit and at most 18 digits from the
first non-zero one (so the digits fit an Int64 exactly). Everything else (scientific notation,
blanks, underscores, very long values) is marked for the exact :class:`decimal.Decimal` path, so
the kernels never decide a value that Python's decimal arithmetic would decide differently.

Status codes (``dec`` of :func:`scan_text`): ``>= 0`` decimals as written, :data:`NOT_PLAIN`,
:data:`MISSING` (null or empty text). Codes of :func:`scale_to_exponent`: :data:`OK`,
:data:`MISSING`, :data:`NOT_PLAIN`, :data:`PRECISION`, :data:`OVERFLOW` (and :data:`UNPARSEABLE`,
which the exact path sets for text that is no number at all).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit

OK = 0
MISSING = -2
NOT_PLAIN = -1
PRECISION = 3
OVERFLOW = 4
UNPARSEABLE = 5

_MAX_DIGITS = 18
#: Threads :func:`scan_many` uses (columns are independent).
SCAN_THREADS = min(4, os.cpu_count() or 1)
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)


def text_buffers(text: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(offsets, data, valid)`` of a Utf8 series: Int64 offsets (``n + 1``), UTF-8 bytes, and a
    bool validity array (``None`` without nulls): views of one contiguous Arrow ``large_string``
    array (Polars' string views are copied into it once)."""
    arr = text.cast(pl.Utf8).to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    valid = None if arr.null_count == 0 else ~arr.is_null().to_numpy(zero_copy_only=False)
    return offsets, data, valid


def scan_text(text: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(raw, dec)`` per value: Int64 digits without the point and Int32 decimals as written
    (or a status code, see the module docstring; ``raw`` is 0 then).

    Example
    -------
    >>> raw, dec = scan_text(pl.Series(["12.50", "-7", "1e-5", None]))
    >>> raw.tolist(), dec.tolist()
    ([1250, -7, 0, 0], [2, 0, -1, -2])
    """
    offsets, data, valid = text_buffers(text)
    has_valid = valid is not None
    return _scan(offsets, data, valid if has_valid else np.ones(1, np.bool_), has_valid)


def scan_many(texts: list[pl.Series]) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`scan_text` of each series, on up to :data:`SCAN_THREADS` threads (the kernel releases
    the GIL, so columns scan in parallel)."""
    if len(texts) < 2 or SCAN_THREADS < 2:
        return [scan_text(t) for t in texts]
    return list(_pool().map(scan_text, texts))


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    # One pool per process (starting threads per file would cost more than the scan saves), keyed by
    # pid: a forked child inherits the parent's pool object but not its threads.
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS.clear()
        _POOLS[pid] = ThreadPoolExecutor(max_workers=SCAN_THREADS, thread_name_prefix="decimal-scan")
    return _POOLS[pid]


@njit(cache=True, nogil=True)
def _scan(
    offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, has_valid: bool
) -> tuple[np.ndarray, np.ndarray]:
    n = offsets.shape[0] - 1
    raw = np.zeros(n, dtype=np.int64)
    dec = np.empty(n, dtype=np.int32)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        if (has_valid and not valid[i]) or start == end:
            dec[i] = MISSING
            continue
        raw[i], dec[i] = scan_value(data, start, end)
    return raw, dec


@njit(cache=True, nogil=True, inline="always")
def scan_value(data: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """``(raw, decimals)`` of the non-empty text ``data[start:end]`` (``(0, NOT_PLAIN)`` when it is
    not a plain decimal): the rule of :func:`scan_text`, for one value (also the fused reader's,
    :mod:`pointline.ingest.fused_csv`)."""
    pos = start
    negative = False
    first = data[pos]
    if first == 45 or first == 43:  # '-' or '+'
        negative = first == 45
        pos += 1
    acc = 0
    digits = 0  # from the first non-zero digit
    any_digit = False
    point = False
    decimals = 0
    while pos < end:
        b = data[pos]
        if 48 <= b <= 57:
            any_digit = True
            if acc != 0 or b != 48:
                digits += 1
                if digits > _MAX_DIGITS:
                    return 0, NOT_PLAIN
                acc = acc * 10 + (b - 48)
            if point:
                decimals += 1
        elif b == 46 and not point:  # '.'
            point = True
        else:
            return 0, NOT_PLAIN
        pos += 1
    if not any_digit:
        return 0, NOT_PLAIN
    return (-acc if negative else acc), decimals


@njit(cache=True, nogil=True)
def profile(raw: np.ndarray, dec: np.ndarray) -> tuple[int, int]:
    """``(significant decimals, integer digits)`` maxima over the plain non-zero values of a
    :func:`scan_text` result (trailing zeros are not significant; at least one integer digit).

    Divisions only where they can change the answer: trailing zeros are counted for a value with
    more decimals than the best so far, and the integer part is taken once per decimal count, from
    the largest magnitude written with that many decimals.

    Example
    -------
    >>> profile(*scan_text(pl.Series(["9682.10", "0.132", "x"])))
    (3, 4)
    """
    decimals = 0
    largest = np.zeros(_MAX_DIGITS + 1, dtype=np.int64)  # by decimals as written
    for i in range(raw.shape[0]):
        d = dec[i]
        v = raw[i]
        if d < 0 or v == 0:
            continue
        if v < 0:
            v = -v
        if d <= _MAX_DIGITS and v > largest[d]:
            largest[d] = v
        if d > decimals:
            trailing = 0
            while trailing < d and v % 10 == 0:
                v //= 10
                trailing += 1
            if d - trailing > decimals:
                decimals = d - trailing
    digits = 1
    for d in range(_MAX_DIGITS + 1):
        whole = largest[d] // _POW10[d]
        width = 0
        while whole > 0:
            whole //= 10
            width += 1
        if width > digits:
            digits = width
    return decimals, digits


@njit(cache=True, nogil=True)
def scale_to_exponent(
    raw: np.ndarray, dec: np.ndarray, exps: np.ndarray, max_abs: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(value, code)``: ``raw × 10^(exp - dec)`` where that is an exact integer of magnitude below
    ``max_abs``; otherwise a code (:data:`PRECISION`, :data:`OVERFLOW`, or the scan's
    :data:`MISSING` / :data:`NOT_PLAIN`) and a value of 0. ``exps`` holds one exponent for every
    row, or a single one for all of them.

    Example
    -------
    >>> one = np.array([1])
    >>> value, code = scale_to_exponent(*scan_text(pl.Series(["1.5", "1.25", "9"])), one, 2**62)
    >>> value.tolist(), code.tolist()
    ([15, 0, 90], [0, 3, 0])
    """
    n = raw.shape[0]
    per_row = exps.shape[0] == n and n > 1
    value = np.zeros(n, dtype=np.int64)
    code = np.zeros(n, dtype=np.int8)
    limit = _scale_limits(max_abs)
    for i in range(n):
        value[i], code[i] = _scale_one(raw[i], dec[i], exps[i] if per_row else exps[0], limit)
    return value, code


@njit(cache=True, nogil=True)
def scale_levels(raws: tuple, decs: tuple, exp: int, max_abs: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scale_to_exponent` of several equally long columns (one exponent), straight into
    ``rows x columns`` arrays: column ``j`` of ``value`` and ``code`` is the result for ``raws[j]``,
    ``decs[j]`` (the levels of a book side, each row one snapshot, without stacking the inputs).
    """
    width = len(raws)
    n = raws[0].shape[0]
    value = np.zeros((n, width), dtype=np.int64)
    code = np.zeros((n, width), dtype=np.int8)
    limit = _scale_limits(max_abs)
    # Blocks of rows, one column at a time: the column is picked once per block (a tuple indexed at
    # run time), and a block of the outputs stays in cache while its columns are filled.
    for start in range(0, n, 2048):
        stop = min(n, start + 2048)
        for j in range(width):
            raw, dec = raws[j], decs[j]
            for i in range(start, stop):
                value[i, j], code[i, j] = _scale_one(raw[i], dec[i], exp, limit)
    return value, code


@njit(cache=True, nogil=True)
def _scale_limits(max_abs: int) -> np.ndarray:
    """Largest magnitude that may be scaled up by ``10^k``, for each ``k``: a table looked up per
    value instead of a 64-bit division per value."""
    limit = np.empty(_MAX_DIGITS + 1, dtype=np.int64)
    for k in range(_MAX_DIGITS + 1):
        limit[k] = (max_abs - 1) // _POW10[k]
    return limit


@njit(cache=True, nogil=True, inline="always")
def _scale_one(v: int, d: int, exp: int, limit: np.ndarray) -> tuple[int, int]:
    if d < 0:
        return 0, d
    up = exp - d
    if up >= 0:  # up <= 18: exponents and decimals are never negative
        magnitude = -v if v < 0 else v
        if magnitude > limit[up]:
            return 0, OVERFLOW
        return v * _POW10[up], OK
    if -up > _MAX_DIGITS:
        return 0, (OK if v == 0 else PRECISION)
    p = _POW10[-up]
    if v % p == 0:
        return v // p, OK
    return 0, PRECISION
