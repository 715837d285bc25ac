"""Exact decimal text ↔ fixed-point Int64 (DESIGN.md §3 Encoding).

A price ``p`` with exponent ``e`` is stored as the integer ``p × 10^e``; the same for sizes. The
integer is computed from the vendor's decimal *text*, never through a float, so every stored value
equals the vendor's decimal exactly. A value the exponent cannot represent exactly is reported with
reason ``precision`` (never rounded); text that is not a decimal number is ``unparseable``; a value
whose integer would come near the Int64 limit is ``overflow``.

The fast path is vectorised in Polars: drop the decimal point, cast the digits to Int64 and rescale
by a power of ten. Only rows the fast path cannot read (scientific notation such as ``1e-05``, a
leading ``+``, surrounding blanks) go through Python's :class:`decimal.Decimal`.

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


def encode_columns(frame: pl.DataFrame, specs: list[tuple[str, str, int]]) -> pl.DataFrame:
    """Encode several text columns of ``frame`` at once (Polars runs the columns in parallel).

    Parameters
    ----------
    frame
        Holds the Utf8 decimal columns.
    specs
        ``(text_column, out_name, exp)`` triples; each adds Int64 ``out_name`` and Utf8
        ``{out_name}_r`` with exactly the values and reasons of :func:`encode_series`.

    Returns
    -------
    ``frame`` with the encoded columns added.

    Example
    -------
    >>> df = pl.DataFrame({"px": ["1.5"], "qty": ["2"]})
    >>> encode_columns(df, [("px", "px_int", 1), ("qty", "qty_int", 0)]).row(0)
    ('1.5', '2', 15, None, 2, None)
    """
    for _, _, exp in specs:
        if not 0 <= exp <= MAX_EXPONENT:
            raise ValueError(f"exponent must be in [0, {MAX_EXPONENT}], got {exp}")
    texts = list(dict.fromkeys(text for text, _, _ in specs))
    missing = [t for t in texts if f"{t}{RAW_SUFFIX}" not in frame.columns]
    staged = stage_decimals(frame.select(missing), missing) if missing else None

    def part(text: str, suffix: str) -> pl.Series:
        name = f"{text}{suffix}"
        return staged[name] if staged is not None and name in staged.columns else frame[name]

    work = pl.DataFrame(
        [part(text, RAW_SUFFIX).alias(f"{out}__raw") for text, out, _ in specs]
        + [(exp - part(text, DEC_SUFFIX)).alias(f"{out}__up") for text, out, exp in specs]
    )
    coarse = work.select([(pl.col(f"{out}__up") >= 0).all().alias(out) for _, out, _ in specs]).row(0)
    columns = []
    for (_, out, _), plain in zip(specs, coarse, strict=True):
        raw, up = pl.col(f"{out}__raw"), pl.col(f"{out}__up")
        value, reason = _scale_up(raw, up) if plain else _scale_any(raw, up)
        columns += [value.alias(out), reason.alias(f"{out}_r")]
    out_frame = frame.hstack(work.select(columns).get_columns())
    slow_needed = out_frame.select(
        [
            _needs_slow(pl.col(text), pl.col(out), pl.col(f"{out}_r")).any().alias(out)
            for text, out, _ in specs
        ]
    ).row(0)
    for (text, out, exp), needed in zip(specs, slow_needed, strict=True):
        if not needed:
            continue
        t, v, r = pl.col(text), pl.col(out), pl.col(f"{out}_r")
        needs_slow = out_frame.select(_needs_slow(t, v, r)).to_series()
        slow = _slow_encode(
            out_frame.select(t.cast(pl.Utf8).alias("t"), v.alias("v"), r.alias("r")), needs_slow, exp
        )
        out_frame = out_frame.with_columns(slow["v"].alias(out), slow["r"].alias(f"{out}_r"))
    return out_frame


#: Suffixes of the columns :func:`stage_decimals` adds (digits without the point; decimals written).
RAW_SUFFIX = "__raw"
DEC_SUFFIX = "__dec"


def stage_decimals(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Add the parts both :func:`staged_profile` and :func:`encode_columns` start from.

    For each text column ``c``: ``c__raw`` (Int64, the digits with the point removed; null when the
    text is not a plain decimal, which then takes the slow path) and ``c__dec`` (Int64, digits after
    the point as written, 0 without a point). Staging once lets ingestion profile a new instrument
    and encode its values from one pass over the text.

    Example
    -------
    >>> stage_decimals(pl.DataFrame({"px": ["12.50", "7", "1e-5"]}), ["px"]).row(0)
    ('12.50', 1250, 2)
    """
    return frame.with_columns(
        *[_raw_digits(pl.col(c)).alias(f"{c}{RAW_SUFFIX}") for c in columns],
        *[
            (pl.col(c).str.len_bytes().cast(pl.Int64) - pl.col(c).str.find(".", literal=True) - 1)
            .fill_null(0)
            .alias(f"{c}{DEC_SUFFIX}")
            for c in columns
        ],
    )


def _needs_slow(t: pl.Expr, v: pl.Expr, r: pl.Expr) -> pl.Expr:
    return v.is_null() & t.is_not_null() & (t != "") & r.is_null()


def _raw_digits(t: pl.Expr) -> pl.Expr:
    # Polars' string → Int64 cast accepts exactly an optional sign and ASCII digits; anything else
    # (blanks, exponents, a second point, too many digits) comes out null and goes to the slow path.
    return t.str.replace(".", "", literal=True, n=1).cast(pl.Int64, strict=False)


def _scale_up(raw: pl.Expr, up: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Value and reason when no value has more decimals than the exponent (the common case)."""
    scale = pl.lit(10, dtype=pl.Int64).pow(up.clip(0, 18))
    fits = (raw.cast(pl.Float64).abs() * scale.cast(pl.Float64)) < float(MAX_ABS_INT)
    return pl.when(fits).then(raw * scale), pl.when(raw.is_not_null() & ~fits).then(pl.lit(REASON_OVERFLOW))


def _scale_any(raw: pl.Expr, up: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Value and reason when some values carry more decimals than the exponent (maybe ``precision``)."""
    scale_up = pl.lit(10, dtype=pl.Int64).pow(up.clip(0, 18))
    scale_down = pl.lit(10, dtype=pl.Int64).pow((-up).clip(0, 18))
    too_many = (-up) > 18
    exact_down = pl.when(too_many).then(raw == 0).otherwise((raw % scale_down) == 0)
    # Float magnitude check is conservative and cheap: anything near 2^62 is rejected.
    fits = (raw.cast(pl.Float64).abs() * scale_up.cast(pl.Float64)) < float(MAX_ABS_INT)
    value = (
        pl.when(raw.is_null())
        .then(None)
        .when(up >= 0)
        .then(pl.when(fits).then(raw * scale_up))
        .when(exact_down)
        .then(pl.when(too_many).then(0).otherwise(raw // scale_down))
    )
    reason = (
        pl.when(raw.is_null())
        .then(pl.lit(None, dtype=pl.Utf8))
        .when((up >= 0) & ~fits)
        .then(pl.lit(REASON_OVERFLOW))
        .when((up < 0) & ~exact_down)
        .then(pl.lit(REASON_PRECISION))
    )
    return value.cast(pl.Int64), reason


def _slow_encode(frame: pl.DataFrame, mask: pl.Series, exp: int) -> pl.DataFrame:
    idx = frame.with_row_index("_i").filter(mask)["_i"].to_list()
    texts = frame["t"].gather(idx).to_list()
    values: list[int | None] = []
    reasons: list[str | None] = []
    for text in texts:
        value, reason = encode_text(text, exp)
        values.append(value)
        reasons.append(reason)
    v = frame["v"].scatter(idx, pl.Series(values, dtype=pl.Int64))
    r = frame["r"].scatter(idx, pl.Series(reasons, dtype=pl.Utf8))
    return frame.with_columns(v=v, r=r)


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
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        return None, REASON_PRECISION
    as_int = int(scaled)
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
    pow10 = pl.lit(10, dtype=pl.Int64)
    for c in columns:
        raw, dec = pl.col(f"{c}{RAW_SUFFIX}"), pl.col(f"{c}{DEC_SUFFIX}")
        plain = raw.is_not_null() & (raw != 0)
        top = frame.select(
            dec.filter(plain).max().alias("dec"),
            pl.when(dec > 18).then(0).otherwise(raw.abs() // pow10.pow(dec.clip(0, 18))).max().alias("int"),
        ).row(0)
        if top[1] is not None:
            digits = max(digits, len(str(int(top[1]))))
        # Largest d with a value whose last significant decimal is the d-th: usually the first try.
        for d in range(int(top[0] or 0), decimals, -1):
            k = dec - d + 1  # the value has >= d significant decimals iff raw is not a multiple of 10^k
            hit = pl.when(k > 18).then(raw != 0).otherwise(raw % pow10.pow(k.clip(0, 18)) != 0)
            if frame.select((plain & (dec >= d) & hit).any()).item():
                decimals = d
                break
        others = frame.filter(pl.col(f"{c}{RAW_SUFFIX}").is_null() & pl.col(c).is_not_null())[c].unique()
        for other in others.to_list():
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
    return pl.Series(series.name, values / scale, dtype=pl.Float64, nan_to_null=True)


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
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)
