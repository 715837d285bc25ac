"""Fixed-point encoding is exact: integers equal the decimal text, never rounded, never via float."""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.lake.encoding import (
    choose_exponent,
    decimal_profile,
    decimals_of_step,
    decode_expr,
    decode_list_expr,
    decode_value,
    encode_columns,
    encode_series,
    encode_text,
    parse_decimal,
    significant_decimals,
)


@pytest.mark.parametrize(
    ("text", "exp", "value"),
    [
        ("9682", 2, 968200),
        ("9682.19", 2, 968219),
        ("0.132", 5, 13200),
        ("-1.5", 1, -15),
        (".5", 1, 5),
        ("5.", 0, 5),
        ("1e-05", 5, 1),
        ("1.2E+3", 0, 1200),
        ("+2.50", 1, 25),
        ("9682.1900", 2, 968219),  # trailing zeros are not precision
    ],
)
def test_plain_and_scientific_decimals_encode_exactly(text: str, exp: int, value: int) -> None:
    result = encode_series(pl.Series([text]), exp)
    assert result.values.to_list() == [value]
    assert result.reasons.to_list() == [None]


@pytest.mark.parametrize(
    ("text", "exp", "reason"),
    [
        ("9682.195", 2, "precision"),
        ("1e-05", 4, "precision"),
        ("abc", 2, "unparseable"),
        ("1.2.3", 2, "unparseable"),
        ("nan", 2, "unparseable"),
        ("inf", 2, "unparseable"),
        ("99999999999999999999", 2, "overflow"),
    ],
)
def test_unrepresentable_text_is_reported_not_rounded(text: str, exp: int, reason: str) -> None:
    result = encode_series(pl.Series([text]), exp)
    assert result.values.to_list() == [None]
    assert result.reasons.to_list() == [reason]


def test_missing_values_are_null_without_reason() -> None:
    result = encode_series(pl.Series([None, ""], dtype=pl.Utf8), 2)
    assert result.values.to_list() == [None, None]
    assert result.reasons.to_list() == [None, None]


def _reference(text: str, exp: int) -> int | None:
    with localcontext(Context(prec=10_000, Emax=MAX_EMAX, Emin=MIN_EMIN)):  # exact: no rounding
        scaled = Decimal(text).scaleb(exp)
        return int(scaled) if scaled == scaled.to_integral_value() else None


decimal_text = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False, places=None
).map(lambda d: format(d, "f"))


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(decimal_text, min_size=1, max_size=20), exp=st.integers(0, 8))
def test_vectorised_encoding_matches_decimal_reference(texts: list[str], exp: int) -> None:
    result = encode_series(pl.Series(texts), exp)
    for text, got, reason in zip(texts, result.values.to_list(), result.reasons.to_list(), strict=True):
        expected = _reference(text, exp)
        if expected is None:
            assert (got, reason) == (None, "precision")
        elif abs(expected) < 2**62:
            assert got == expected
            assert decode_value(got, exp) == Decimal(text)


@settings(max_examples=40, deadline=None)
@given(value=st.integers(-(10**15), 10**15), exp=st.integers(0, 3))
def test_decode_equals_float_of_the_decimal_text(value: int, exp: int) -> None:
    text = str(decode_value(value, exp))
    got = pl.DataFrame({"v": [value]}).select(decode_expr("v", exp)).item()
    assert got == float(text)
    assert encode_text(text, exp) == (value, None)


def test_decode_is_correctly_rounded_on_arrays() -> None:
    # Reciprocal multiplication would give 60000.200000000004 here.
    values = [60000200, 59999900, None, 1]
    got = pl.DataFrame({"v": values * 3}).select(decode_expr("v", 3))["v"].to_list()
    assert got == [60000.2, 59999.9, None, 0.001] * 3


def test_decode_list_column() -> None:
    df = pl.DataFrame({"bids_px_int": [[100050, 100040]]}).select(decode_list_expr("bids_px_int", 2))
    assert df.item().to_list() == [1000.5, 1000.4]


def test_significant_decimals_ignore_trailing_zeros() -> None:
    assert significant_decimals(pl.Series(["9682.10", "0.132", "5"])) == 3
    assert significant_decimals(pl.Series(["1e-05"])) == 5


def test_exponent_has_headroom_and_respects_metadata_and_overflow_bound() -> None:
    assert choose_exponent(2, 5) == 4  # two observed decimals + 2
    assert choose_exponent(1, 5, step_decimals=decimals_of_step(0.001)) == 5  # tick 0.001 → 3 + 2
    assert choose_exponent(2, 16) == 2  # huge values: no headroom rather than overflow
    assert decimals_of_step("5") == 0


@settings(max_examples=40, deadline=None)
@given(
    px=st.lists(
        st.one_of(decimal_text, st.sampled_from(["1e-05", "x", "", " 7", "+2.50"])), min_size=1, max_size=15
    ),
    px_exp=st.integers(0, 8),
    qty_exp=st.integers(0, 8),
)
def test_encoding_several_columns_at_once_matches_one_at_a_time(
    px: list[str], px_exp: int, qty_exp: int
) -> None:
    frame = pl.DataFrame({"px": px, "qty": list(reversed(px))})
    both = encode_columns(frame, [("px", "px_int", px_exp), ("qty", "qty_int", qty_exp)])
    for text, name, exp in (("px", "px_int", px_exp), ("qty", "qty_int", qty_exp)):
        alone = encode_series(frame[text], exp)
        assert both[name].to_list() == alone.values.to_list()
        assert both[f"{name}_r"].to_list() == alone.reasons.to_list()


def _reference_profile(texts: list[str | None]) -> tuple[int, int]:
    """(significant decimals, integer digits) from Python decimals, value by value."""
    decimals, digits = 0, 1
    for text in texts:
        value = parse_decimal(text) if text is not None else None
        if value is None or value == 0:
            continue
        with localcontext(Context(prec=10_000, Emax=MAX_EMAX, Emin=MIN_EMIN)):
            decimals = max(decimals, max(0, -value.normalize().as_tuple().exponent))
        digits = max(digits, value.adjusted() + 1)
    return decimals, digits


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            decimal_text,
            st.none(),
            st.sampled_from(["1e-05", "x", "", " 7", "+2.50", "0.000", "100.00", "-0.5", "00012.3400"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_decimal_profile_matches_decimal_arithmetic(texts: list[str | None]) -> None:
    assert decimal_profile(pl.Series(texts, dtype=pl.Utf8)) == _reference_profile(texts)


_any_text = st.text(alphabet="0123456789.-+eE _", min_size=0, max_size=24)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(_any_text, decimal_text), min_size=1, max_size=20), exp=st.integers(0, 18))
def test_fast_encoding_agrees_with_python_decimals_on_any_text(texts: list[str], exp: int) -> None:
    """The compiled scan decides a value only where Python's decimals would decide it the same way:
    value, ``precision``, ``overflow`` and ``unparseable`` are exactly those of :func:`encode_text`."""
    result = encode_series(pl.Series(texts, dtype=pl.Utf8), exp)
    got = list(zip(result.values.to_list(), result.reasons.to_list(), strict=True))
    expected = [(None, None) if text == "" else encode_text(text, exp) for text in texts]
    assert got == expected


@pytest.mark.parametrize(
    ("text", "exp", "expected"),
    [
        ("999999999999999999", 0, (999999999999999999, None)),  # 18 digits: the scan's limit
        ("1000000000000000000", 0, (10**18, None)),  # 19 digits: exact path
        ("4611686018427387903", 0, (4611686018427387903, None)),  # 2^62 - 1
        ("4611686018427387904", 0, (None, "overflow")),  # 2^62
        ("461168601842738790.4", 1, (None, "overflow")),
        ("0.000000000000000000001", 18, (None, "precision")),
        ("0.000000000000000000000", 18, (0, None)),
        ("-0.10", 1, (-1, None)),
        ("00012.3400", 2, (1234, None)),
        # More digits than the decimal context's 28: never rounded into an exact-looking value.
        ("1953124.99999999999999999999950000113593692357919368222646626", 0, (None, "precision")),
        ("1953125.00000000000000000000000000000000000000000000000000000", 0, (1953125, None)),
    ],
)
def test_encoding_limits_are_exact(text: str, exp: int, expected: tuple[int | None, str | None]) -> None:
    result = encode_series(pl.Series([text]), exp)
    assert (result.values.item(), result.reasons.item()) == expected == encode_text(text, exp)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_any_text, decimal_text, st.none()), min_size=1, max_size=20))
def test_decimal_profile_matches_decimal_arithmetic_on_any_text(texts: list[str | None]) -> None:
    assert decimal_profile(pl.Series(texts, dtype=pl.Utf8)) == _reference_profile(texts)


def test_profile_counts_every_significant_decimal_of_long_values() -> None:
    # 29 decimals: more than the 28 digits of the default decimal context.
    assert decimal_profile(pl.Series(["1.00000000000000000000000000001"])) == (29, 1)
    assert decimal_profile(pl.Series(["1E1000000"])) == (0, 1_000_001)
