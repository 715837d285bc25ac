"""The Numba re-implementations of NumPy's reductions give NumPy's own results, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.research.resample.aggregations._numpy_compat import (
    pairwise_sum,
    pairwise_workspace,
    percentile_90,
)

# Trade-size-like values: few distinct sizes (ties), tiny and huge ones, and zero.
sizes = st.sampled_from([0.0, 0.001, 0.01, 0.5, 1.0, 2.5, 1e-9, 1e6])
values = st.one_of(sizes, st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False))
arrays = st.lists(values, min_size=1, max_size=700).map(np.array)


@settings(max_examples=300, deadline=None)
@given(a=arrays, offset=st.integers(0, 3))
def test_pairwise_sum_equals_numpy_sum_exactly(a: np.ndarray, offset: int) -> None:
    padded = np.concatenate([np.full(offset, 7.5), a])
    assert pairwise_sum(padded, offset, a.shape[0], *pairwise_workspace()) == a.sum()


@settings(max_examples=300, deadline=None)
@given(a=arrays, offset=st.integers(0, 3))
def test_percentile_90_equals_numpy_exactly(a: np.ndarray, offset: int) -> None:
    padded = np.concatenate([np.full(offset, 7.5), a])
    n = a.shape[0]
    assert percentile_90(padded, offset, n, np.empty(3 * n + 16)) == np.percentile(a, 90)


@pytest.mark.parametrize("n", [17, 100, 1_000, 5_000])
def test_percentile_90_is_exact_when_the_sample_misleads_the_pivot(n: int) -> None:
    # The strided sample sees only the largest values, so its pivot lies above the 90th
    # percentile and the selection must fall back to searching every value.
    rng = np.random.default_rng(n)
    a = rng.normal(size=n)
    a[np.arange(16) * (n // 16)] = 100 + rng.normal(size=16)
    assert percentile_90(a, 0, n, np.empty(3 * n + 16)) == np.percentile(a, 90)


@pytest.mark.parametrize("n", [1, 5, 40, 300])
def test_percentile_90_of_sorted_reversed_and_constant_values(n: int) -> None:
    ascending = np.linspace(-3.0, 7.0, n)
    for a in (ascending, ascending[::-1].copy(), np.full(n, 0.3)):
        assert percentile_90(a, 0, n, np.empty(3 * n + 16)) == np.percentile(a, 90)


def test_percentile_90_with_nan_or_infinities_follows_numpy() -> None:
    with_nan = np.array([1.0, np.nan, 3.0, 4.0] * 10)
    assert np.isnan(percentile_90(with_nan, 0, 40, np.empty(136)))
    for with_inf in (np.array([1.0, np.inf, -np.inf, 2.0] * 10), np.array([1.0, -np.inf, 2.0, 3.0] * 10)):
        with np.errstate(invalid="ignore"):  # NumPy's lerp computes inf - inf
            np.testing.assert_equal(
                percentile_90(with_inf, 0, 40, np.empty(136)), np.percentile(with_inf, 90)
            )
