"""The order check that lets queries and aggregations skip sorting agrees with an actual sort."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.lake.order import is_sorted_by, sort_if_needed


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3), st.integers(-2, 2), st.integers(0, 2)), max_size=30),
    n_keys=st.integers(1, 3),
)
def test_order_check_agrees_with_sorting(rows: list[tuple[int, int, int]], n_keys: int) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int32, "c": pl.Date}, orient="row")
    keys = ["a", "b", "c"][:n_keys]
    expected = frame.sort(keys, maintain_order=True)
    assert is_sorted_by(frame, keys) == frame.equals(expected)
    assert sort_if_needed(frame, keys).equals(expected)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 2), st.none() | st.integers(-2, 2), st.none() | st.integers(0, 2)),
        max_size=30,
    ),
    n_keys=st.integers(1, 3),
)
def test_order_check_with_null_keys_agrees_with_sorting(
    rows: list[tuple[int, int, int]], n_keys: int
) -> None:
    """Nulls sort first (as ``DataFrame.sort`` puts them); a null is not "any value"."""
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int32, "c": pl.Int32}, orient="row")
    keys = ["a", "b", "c"][:n_keys]
    expected = frame.sort(keys, maintain_order=True)
    assert is_sorted_by(frame, keys) == frame.equals(expected)
    assert sort_if_needed(frame, keys).equals(expected)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n_keys=st.integers(1, 3), shuffle=st.booleans())
def test_order_check_of_large_frames_agrees_with_sorting(seed: int, n_keys: int, shuffle: bool) -> None:
    """Frames above the small-frame threshold take the compiled kernel: the same answers."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "a": rng.integers(0, 4, 3000),
            "b": rng.integers(-2, 3, 3000).astype(np.int32),
            "c": rng.integers(0, 3, 3000),
        }
    )
    keys = ["a", "b", "c"][:n_keys]
    if not shuffle:
        frame = frame.sort(keys, maintain_order=True)
        if seed % 2:  # one adjacent pair out of order (when the two rows differ)
            i = int(rng.integers(1, 3000))
            rows = frame.rows()
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
            frame = pl.DataFrame(rows, schema=frame.schema, orient="row")
    expected = frame.sort(keys, maintain_order=True)
    assert is_sorted_by(frame, keys) == frame.equals(expected)
    assert sort_if_needed(frame, keys).equals(expected)
