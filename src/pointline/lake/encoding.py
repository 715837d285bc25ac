"""Exact decimal text ↔ fixed-point Int64 (DESIGN.md §3 Encoding).

A price ``p`` with exponent ``e`` is stored as the integer ``p × 10^e``; the same for sizes. The
integer is computed from the vendor's decimal *text*, never through a float, so every stored value
equals the vendor's decimal exactly. A value the exponent cannot represent exactly is reported with
reason ``precision`` (never rounded); text that is not a decimal number is ``unparseable``; a value
whose integer would come near the Int64 limit is ``overflow``.

The fast path is one compiled scan of the text bytes (:mod:`pointline.lake.decimal_scan`): the
digits without the point as an Int64, rescaled by a power of ten with exact divisibility and overflow
checks. Only values it does not read (scientific notation such as ``1e-05``, surrounding blanks,
more than 18 digits) go through Python's :class:`decimal.Decimal`, which defines the result.

Example
-------
>>> import polars as pl
>>> encode_series(pl.Series(["9682.19", "1e-05", "0.001"]), 4).values.to_list()
[96821900, None, 10]
>>> encode_series(pl.Series(["9682.19", "1e-05", "0.001"]), 4).reasons.to_list()
[None, 'precision', None]
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl
import pyarrow as pa

from pointline.lake import decimal_scan

#: Reasons a text value cannot be encoded (also quarantine reasons).
REASON_UNPARSEABLE = "unparseable"
REASON_PRECISION = "precision"
REASON_OVERFLOW = "overflow"

#: Largest magnitude an encoded value may take: 2^62, far enough from the Int64 limit that sums
#: of a few values never wrap.
MAX_ABS_INT = 2**62
#: Exponents are bounded so that a value with this many integer digits still fits (see choose_exponent).
MAX_TOTAL_DIGITS = 17
#: Extra decimals granted beyond what the first file / the metadata needs (tick sizes get finer).
HEADROOM_DECIMALS = 2
MAX_EXPONENT = 18

_POW10 = [10**k for k in range(19)]


@dataclass(frozen=True)
class Encoded:
    """Result of :func:`encode_series`: Int64 ``values`` (null where not encodable) and Utf8
    ``reasons`` (null where encoded or where the input was null/empty)."""

    values: pl.Series
    reasons: pl.Series


def encode_series(text: pl.Series, exp: int) -> Encoded:
    """Encode decimal text as ``value × 10^exp`` integers, exactly.

    Parameters
    ----------
    text
        Utf8 series of decimal numbers (``"9682"``, ``"-1.5"``, ``".5"``, ``"1.2E+3"``).
        Null or empty text gives a null value with a null reason (callers decide whether a
        missing value is allowed).
    exp
        Decimal exponent, ``0 <= exp <= 18``.

    Returns
    -------
    Encoded
        ``values`` Int64 and ``reasons`` Utf8 (``unparseable`` / ``precision`` / ``overflow``).

    Example
    -------
    >>> encode_series(pl.Series(["1.5", "x"]), 2).values.to_list()
    [150, None]
    """
    if not 0 <= exp <= MAX_EXPONENT:
        raise ValueError(f"exponent must be in [0, {MAX_EXPONENT}], got {exp}")
    name = text.name
    frame = encode_columns(pl.DataFrame({"t": text.cast(pl.Utf8)}), [("t", "v", exp)])
    return Encoded(values=frame["v"].alias(name), reasons=frame["v_r"].alias(name))


def encode_columns(frame: pl.DataFrame, specs: list[tuple[str, str, int | np.ndarray]]) -> pl.DataFrame:
    """Encode several text columns of ``frame`` at once.

    Parameters
    ----------
    frame
        Holds the Utf8 decimal columns (staged by :func:`stage_decimals` or not).
    specs
        ``(text_column, out_name, exp)`` triples; each adds Int64 ``out_name`` and Utf8
        ``{out_name}_r`` with exactly the values and reasons of :func:`encode_series`. ``exp`` is
        one exponent, or an integer array with one per row (a file of several instruments).

    Returns
    -------
    ``frame`` with the encoded columns added.

    Example
    -------
    >>> df = pl.DataFrame({"px": ["1.5"], "qty": ["2"]})
    >>> encode_columns(df, [("px", "px_int", 1), ("qty", "qty_int", 0)]).row(0)
    ('1.5', '2', 15, None, 2, None)
    """
    exps = {out: np.atleast_1d(np.asarray(exp, dtype=np.int64)) for _, out, exp in specs}
    for exp in exps.values():
        if exp.size and (exp.min() < 0 or exp.max() > MAX_EXPONENT):
            bad = exp.min() if exp.min() < 0 else exp.max()
            raise ValueError(f"exponent must be in [0, {MAX_EXPONENT}], got {bad}")
    scans = {text: _scanned(frame, text) for text in dict.fromkeys(text for text, _, _ in specs)}
    columns = []
    for text, out, _ in specs:
        value, code = decimal_scan.scale_to_exponent(*scans[text], exps[out], MAX_ABS_INT)
        slow = np.flatnonzero(code == decimal_scan.NOT_PLAIN)
        if slow.size:
            _slow_encode(frame[text], slow, exps[out], value, code)
        invalid = code != decimal_scan.OK
        values = pa.array(value, mask=invalid) if invalid.any() else value
        columns += [pl.Series(out, values, dtype=pl.Int64), _reasons(f"{out}_r", code)]
    return frame.hstack(columns)


#: Suffixes of the columns :func:`stage_decimals` adds (digits without the point; decimals written).
RAW_SUFFIX = "__raw"
DEC_SUFFIX = "__dec"

_REASON_CODES = {
    decimal_scan.PRECISION: REASON_PRECISION,
    decimal_scan.OVERFLOW: REASON_OVERFLOW,
    decimal_scan.UNPARSEABLE: REASON_UNPARSEABLE,
}


def stage_decimals(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Add the parts both :func:`staged_profile` and :func:`encode_columns` start from.

    For each text column ``c``: ``c__raw`` (Int64, the digits with the point removed) and ``c__dec``
    (Int32, digits after the point as written; -1 when the text is not a plain decimal and takes the
    exact :class:`~decimal.Decimal` path, -2 when it is null or empty). One scan of the text serves
    both profiling a new instrument and encoding its values (see :mod:`pointline.lake.decimal_scan`).

    Example
    -------
    >>> stage_decimals(pl.DataFrame({"px": ["12.50", "7", "1e-5"]}), ["px"]).rows()
    [('12.50', 1250, 2), ('7', 7, 0), ('1e-5', 0, -1)]
    """
    staged = []
    for c, (raw, dec) in zip(columns, decimal_scan.scan_many([frame[c] for c in columns]), strict=True):
        staged += [pl.Series(f"{c}{RAW_SUFFIX}", raw), pl.Series(f"{c}{DEC_SUFFIX}", dec)]
    return frame.hstack(staged)


def _scanned(frame: pl.DataFrame, text: str) -> tuple[np.ndarray, np.ndarray]:
    raw, dec = f"{text}{RAW_SUFFIX}", f"{text}{DEC_SUFFIX}"
    if raw in frame.columns and dec in frame.columns:
        return frame[raw].to_numpy(), frame[dec].to_numpy()
    return decimal_scan.scan_text(frame[text])


def _reasons(name: str, code: np.ndarray) -> pl.Series:
    codes = pl.Series(name, code)
    if not (code > 0).any():
        return pl.repeat(None, len(code), dtype=pl.Utf8, eager=True).alias(name)
    return codes.replace_strict(_REASON_CODES, default=None, return_dtype=pl.Utf8)


def _slow_encode(
    text: pl.Series, rows: np.ndarray, exps: np.ndarray, value: np.ndarray, code: np.ndarray
) -> None:
    """Encode the ``rows`` the scan could not read (scientific notation, blanks…) with
    :func:`encode_text`, in place (``exps``: one exponent, or one per row)."""
    per_row = exps.size == len(text) and exps.size > 1
    for i, t in zip(rows.tolist(), text.gather(rows).to_list(), strict=True):
        v, reason = encode_text(t, int(exps[i] if per_row else exps[0]))
        value[i] = 0 if v is None else v
        code[i] = decimal_scan.OK if reason is None else _CODE_OF_REASON[reason]


_CODE_OF_REASON = {reason: c for c, reason in _REASON_CODES.items()}


def parse_decimal(text: str) -> Decimal | None:
    """Parse one decimal string (plain or scientific); ``None`` when it is not a finite number.

    Example
    -------
    >>> parse_decimal("1.2E+3")
    Decimal('1.2E+3')
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def encode_text(text: str, exp: int) -> tuple[int | None, str | None]:
    """Encode one decimal string; returns ``(value, None)`` or ``(None, reason)``.

    Example
    -------
    >>> encode_text("1e-05", 6)
    (10, None)
    """
    value = parse_decimal(text)
    if value is None:
        return None, REASON_UNPARSEABLE
    if value == 0:
        return 0, None
    # Decide huge exponents (``1E1000000``) before scaling, which would overflow the decimal context.
    magnitude = value.adjusted() + exp  # the scaled value is in [10^magnitude, 10^(magnitude+1))
    if magnitude >= 19:
        return None, REASON_OVERFLOW
    if magnitude < 0:
        return None, REASON_PRECISION
    # Integer arithmetic on the digits: decimal arithmetic (``scaleb``) would round to the context's
    # 28 digits, so a long value such as 1953124.999999999999999999999500001 would pass as exact.
    negative, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient, shift = int("".join(map(str, digits))), exponent + exp
    if shift >= 0:
        as_int = coefficient * 10**shift
    else:
        as_int, rest = divmod(coefficient, 10**-shift)
        if rest:
            return None, REASON_PRECISION
    as_int = -as_int if negative else as_int
    if abs(as_int) >= MAX_ABS_INT:
        return None, REASON_OVERFLOW
    return as_int, None


def significant_decimals(text: pl.Series) -> int:
    """Largest number of significant decimals (trailing zeros ignored) among parseable values.

    Example
    -------
    >>> significant_decimals(pl.Series(["9682.10", "0.132", "1e-05"]))
    5
    """
    return decimal_profile(text)[0]


def integer_digits(text: pl.Series) -> int:
    """Number of digits before the decimal point of the largest-magnitude parseable value (at least 1)."""
    return decimal_profile(text)[1]


def decimal_profile(text: pl.Series) -> tuple[int, int]:
    """``(significant decimals, integer digits)`` maxima over the parseable values of ``text``."""
    frame = stage_decimals(pl.DataFrame({"t": text.cast(pl.Utf8)}), ["t"])
    return staged_profile(frame, ["t"])


def staged_profile(frame: pl.DataFrame, columns: list[str]) -> tuple[int, int]:
    """``(significant decimals, integer digits)`` maxima over the parseable values of the text
    ``columns`` of a frame staged by :func:`stage_decimals` (trailing zeros are not significant;
    at least one integer digit).

    Example
    -------
    >>> df = stage_decimals(pl.DataFrame({"a": ["9682.10", "0.132"], "b": ["1e-05", None]}), ["a", "b"])
    >>> staged_profile(df, ["a", "b"])
    (5, 4)
    """
    decimals, digits = 0, 1
    for c in columns:
        raw, dec = _scanned(frame, c)
        d, w = decimal_scan.profile(raw, dec)
        decimals, digits = max(decimals, d), max(digits, w)
        slow = np.flatnonzero(dec == decimal_scan.NOT_PLAIN)
        if not slow.size:
            continue
        for other in frame[c].gather(slow).unique().to_list():
            value = parse_decimal(other)
            if value is not None and value != 0:
                decimals = max(decimals, _decimals_of(value))
                digits = max(digits, value.adjusted() + 1)
    return decimals, max(1, digits)


def decimals_of_step(step: float | str | Decimal | None) -> int | None:
    """Decimals needed to write a tick or lot size exactly (``0.01`` → 2, ``5`` → 0); ``None`` passes.

    Floats are read through their shortest round-trip text (``repr``), so ``0.1`` means ``"0.1"``.
    """
    if step is None:
        return None
    value = parse_decimal(repr(step) if isinstance(step, float) else str(step))
    return None if value is None else _decimals_of(value)


def choose_exponent(observed_decimals: int, integer_digits: int = 1, step_decimals: int | None = None) -> int:
    """Exponent for a new symbol: the decimals needed plus headroom, bounded against overflow.

    Parameters
    ----------
    observed_decimals
        Significant decimals seen in the first file (see :func:`significant_decimals`).
    integer_digits
        Digits before the point of the largest value seen; the exponent keeps
        ``integer_digits + exp <= 17`` when it can, i.e. values stay ~100x below ``2^62``.
    step_decimals
        Decimals of the tick/lot size from instrument metadata; used instead of the observation when given
        (but never below what was observed, so the first file always encodes).

    Returns
    -------
    int in ``[0, 18]``.

    Example
    -------
    >>> choose_exponent(2, 5)
    4
    """
    need = observed_decimals if step_decimals is None else max(step_decimals, observed_decimals)
    room = MAX_TOTAL_DIGITS - integer_digits
    return max(0, min(MAX_EXPONENT, max(need, min(need + HEADROOM_DECIMALS, room))))


def decode_expr(column: str | pl.Expr, exp: int) -> pl.Expr:
    """Float64 from fixed point: ``int / 10^exp`` (the double nearest the stored decimal).

    Polars rewrites division by a constant as multiplication by its reciprocal, which is off by one
    ulp for values such as 60000.2; the division is therefore done in NumPy, where it is a true
    IEEE division and so gives exactly ``float(vendor_text)``.

    Example
    -------
    >>> pl.DataFrame({"px_int": [600002, 600002]}).select(decode_expr("px_int", 1)).to_series().to_list()
    [60000.2, 60000.2]
    """
    expr = pl.col(column) if isinstance(column, str) else column
    scale = float(_POW10[exp])
    return expr.map_batches(lambda s: _divide(s, scale), return_dtype=pl.Float64)


def decode_list_expr(column: str | pl.Expr, exp: int) -> pl.Expr:
    """List(Float64) from a List(Int64) fixed-point column (book levels), exactly as :func:`decode_expr`."""
    expr = pl.col(column) if isinstance(column, str) else column
    scale = float(_POW10[exp])
    return expr.map_batches(lambda s: _divide_list(s, scale), return_dtype=pl.List(pl.Float64))


def _divide(series: pl.Series, scale: float) -> pl.Series:
    values = series.cast(pl.Float64).to_numpy()
    # Nulls come back from NumPy as NaN; only a column that had nulls pays for turning them back.
    return pl.Series(series.name, values / scale, dtype=pl.Float64, nan_to_null=series.null_count() > 0)


def _divide_list(series: pl.Series, scale: float) -> pl.Series:
    arr = series.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = arr.offsets.to_numpy()
    values = arr.values.to_numpy(zero_copy_only=False).astype(np.float64)[offsets[0] : offsets[-1]] / scale
    rebuilt = pa.LargeListArray.from_arrays(
        pa.array(offsets - offsets[0], type=pa.int64()),
        pa.array(values, type=pa.float64()),
        mask=arr.is_null(),
    )
    return pl.Series(series.name, rebuilt)


def decode_value(value: int, exp: int) -> Decimal:
    """Exact decimal of one stored integer.

    Example
    -------
    >>> decode_value(96821900, 4) == Decimal("9682.19")
    True
    """
    return Decimal(value).scaleb(-exp)


def _decimals_of(value: Decimal) -> int:
    """Significant decimals of a finite value, from its digits (``normalize`` would round to the
    context's 28 digits and overflow on exponents such as ``1E1000000``)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))
