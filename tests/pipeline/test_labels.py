"""Forward-return labels: golden values, incomplete horizons, and normalisation that only uses
labels already realised at each bar."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import ValidationError
from pointline.research.labels import add_labels, forward_return


def bars(prices: list[float | None], symbol_id: int = 1) -> pl.DataFrame:
    n = len(prices)
    return pl.DataFrame(
        {
            "symbol_id": [symbol_id] * n,
            "bar_index": list(range(n)),
            "ts": [1_000_000 * (i + 1) for i in range(n)],
            "vwap": prices,
        },
        schema_overrides={"vwap": pl.Float64},
    )


def reference_raw(prices: list[float | None], window: int) -> list[float | None]:
    out: list[float | None] = []
    for t, p in enumerate(prices):
        ahead = prices[t + window] if t + window < len(prices) else None
        out.append(None if p is None or ahead is None else ahead / p - 1.0)
    return out


def reference_normalised(
    raw: list[float | None], window: int, kind: str, min_periods: int
) -> list[float | None]:
    """Slow, obvious version: at bar t use the labels of bars s with s + window <= t."""
    out: list[float | None] = []
    for t, value in enumerate(raw):
        realised = [raw[s] for s in range(0, t - window + 1) if raw[s] is not None]
        if value is None or len(realised) < min_periods:
            out.append(None)
        elif kind == "standardized":
            std = float(np.std(realised, ddof=1))
            out.append(None if std == 0 else (value - float(np.mean(realised))) / std)
        else:
            less = sum(r < value for r in realised)
            equal = sum(r == value for r in realised)
            out.append((less + 0.5 * equal) / len(realised))
    return out


def assert_close(actual: list, expected: list) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        if e is None:
            assert a is None
        else:
            assert a is not None and math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12)


def test_forward_return_golden_values() -> None:
    df = forward_return(bars([100.0, 110.0, 99.0, 99.0]), window=1, column="vwap", name="r1")
    assert_close(df["r1"].to_list(), [0.10, -0.10, 0.0, None])
    df = forward_return(bars([100.0, 110.0, 99.0, 99.0]), window=2, column="vwap", name="r2")
    assert_close(df["r2"].to_list(), [-0.01, -0.10, None, None])


def test_last_window_bars_have_null_labels() -> None:
    df = forward_return(bars([float(p) for p in range(1, 11)]), window=3, column="vwap", name="r")
    assert df["r"].is_null().to_list() == [False] * 7 + [True] * 3


def test_label_is_null_when_either_price_is_missing() -> None:
    df = forward_return(bars([100.0, None, 102.0, 103.0, float("nan")]), window=1, column="vwap", name="r")
    assert_close(df["r"].to_list(), [None, None, 103 / 102 - 1, None, None])


def test_unfinished_last_bar_neither_starts_nor_ends_a_horizon() -> None:
    df = bars([100.0, 101.0, 102.0]).with_columns(is_complete=pl.Series([True, True, False]))
    out = forward_return(df, window=1, column="vwap", name="r")
    assert_close(out["r"].to_list(), [0.01, None, None])


def test_labels_are_computed_per_symbol_and_keep_the_input_row_order() -> None:
    both = pl.concat([bars([100.0, 110.0, 121.0], symbol_id=1), bars([50.0, 25.0, 50.0], symbol_id=2)])
    shuffled = both.sample(fraction=1.0, shuffle=True, seed=3)
    out = forward_return(shuffled, window=1, column="vwap", name="r")
    assert out.drop("r").equals(shuffled)
    by_key = {(s, b): r for s, b, r in out.select("symbol_id", "bar_index", "r").iter_rows()}
    assert_close([by_key[(1, i)] for i in range(3)], [0.1, 0.1, None])
    assert_close([by_key[(2, i)] for i in range(3)], [-0.5, 1.0, None])


def test_bars_with_equal_ts_are_ordered_by_bar_index() -> None:
    df = pl.DataFrame(
        {"symbol_id": [1] * 3, "bar_index": [2, 0, 1], "ts": [5, 5, 5], "vwap": [4.0, 1.0, 2.0]}
    )
    out = forward_return(df, window=1, column="vwap", name="r")
    assert_close(out["r"].to_list(), [None, 1.0, 1.0])


def test_vwap_px_falls_back_to_vwap() -> None:
    out = add_labels(bars([100.0, 101.0]), [{"name": "fwd", "window": 1, "column": "vwap_px"}])
    assert_close(out["fwd"].to_list(), [0.01, None])


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="did you mean 'vwap'"):
        forward_return(bars([1.0]), window=1, column="vwapp", name="r")


@pytest.mark.parametrize(
    "kwargs", [{"window": 0}, {"window": 1.5}, {"normalization": "zscore"}, {"min_periods": 1}]
)
def test_bad_arguments_raise_validation_errors(kwargs: dict) -> None:
    args = {"window": 1, "column": "vwap", "name": "r", "normalization": "none"} | kwargs
    with pytest.raises(ValidationError):
        forward_return(bars([1.0, 2.0]), **args)


def test_single_series_without_symbol_column() -> None:
    df = pl.DataFrame({"ts": [1, 2, 3], "close": [10.0, 11.0, 12.1]})
    out = forward_return(df, window=1, column="close", name="r", by="symbol_id")
    assert_close(out["r"].to_list(), [0.1, 0.1, None])


def random_walk(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n))))


@pytest.mark.parametrize("kind", ["standardized", "rank"])
@pytest.mark.parametrize("window", [1, 3])
def test_normalisation_matches_slow_reference_using_only_realised_labels(kind: str, window: int) -> None:
    prices = random_walk(80, seed=window)
    prices[30] = None  # a gap: its labels are null and are skipped by the statistics
    out = forward_return(
        bars(prices), window=window, column="vwap", name="y", normalization=kind, min_periods=5
    )
    expected = reference_normalised(reference_raw(prices, window), window, kind, min_periods=5)
    assert_close(out["y"].to_list(), expected)


def test_standardized_golden_value() -> None:
    # window 1, min_periods 2: raw = [0.1, -0.1, 0.2, 0.0, None]; at bar 3 the realised labels are
    # bars 0..2 (s + 1 <= 3): mean 0.0667, sample std 0.1528 → (0.0 - 0.0667) / 0.1528.
    prices = [100.0, 110.0, 99.0, 118.8, 118.8]
    out = forward_return(
        bars(prices), window=1, column="vwap", name="z", normalization="standardized", min_periods=2
    )
    realised = [0.1, -0.1, 0.2]
    expected_bar3 = (0.0 - np.mean(realised)) / np.std(realised, ddof=1)
    assert_close(
        out["z"].to_list(), [None, None, (0.2 - 0.0) / np.std([0.1, -0.1], ddof=1), expected_bar3, None]
    )


def test_rank_is_a_percentile_in_unit_interval() -> None:
    out = forward_return(
        bars(random_walk(300, seed=7)),
        window=2,
        column="vwap",
        name="r",
        normalization="rank",
        min_periods=10,
    )
    values = out["r"].drop_nulls()
    assert values.len() > 250 and values.min() >= 0.0 and values.max() <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(10, 60),
    cut=st.integers(0, 60),
    window=st.integers(1, 5),
    kind=st.sampled_from(["standardized", "rank"]),
    seed=st.integers(0, 10_000),
    noise=st.floats(-0.5, 0.5),
)
def test_normalised_label_of_bar_t_depends_only_on_bars_up_to_t_plus_window(
    n: int, cut: int, window: int, kind: str, seed: int, noise: float
) -> None:
    """Invariant: changing or truncating bars after t + window never changes the label of bar t.

    The raw label of bar t itself needs bar t + window; the normalisation statistics at t use only
    labels realised by bar t. A full-sample z-score would break this."""
    prices = random_walk(n, seed)
    full = forward_return(
        bars(prices), window=window, column="vwap", name="y", normalization=kind, min_periods=3
    )
    cut = min(cut, n)
    truncated = forward_return(
        bars(prices[:cut]), window=window, column="vwap", name="y", normalization=kind, min_periods=3
    )
    altered_prices = prices[:cut] + [p * (1.0 + noise) for p in prices[cut:]]
    altered = forward_return(
        bars(altered_prices), window=window, column="vwap", name="y", normalization=kind, min_periods=3
    )
    stable = max(cut - window, 0)  # bars t with t + window <= cut - 1
    assert_close(truncated["y"].to_list()[:stable], full["y"].to_list()[:stable])
    assert_close(altered["y"].to_list()[:stable], full["y"].to_list()[:stable])


def test_add_labels_adds_every_label_of_the_guide_request() -> None:
    specs = [
        {
            "name": "forward_return_5bar",
            "type": "forward_return",
            "window": 5,
            "column": "vwap_px",
            "normalization": "standardized",
        },
        {
            "name": "forward_return_10bar",
            "type": "forward_return",
            "window": 10,
            "column": "vwap_px",
            "normalization": "standardized",
        },
    ]
    out = add_labels(bars(random_walk(100, seed=1)), specs)
    assert out.columns[-2:] == ["forward_return_5bar", "forward_return_10bar"]
    assert out["forward_return_5bar"][:24].is_null().all()  # labels of bars 0..19 are realised at bar 24
    assert out["forward_return_5bar"][24:95].is_not_null().all()
    assert out["forward_return_5bar"][95:].is_null().all()


def test_add_labels_rejects_unknown_label_types() -> None:
    with pytest.raises(ValidationError, match="forward_return"):
        add_labels(
            bars([1.0, 2.0]), [{"name": "x", "type": "backward_return", "window": 1, "column": "vwap"}]
        )
