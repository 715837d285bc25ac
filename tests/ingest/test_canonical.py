"""From staged rows to lake rows: the book level lists."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.ingest.canonical import Pair, level_lists


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.integers(1, 10**12)), min_size=3, max_size=3), max_size=30)
    | st.lists(st.lists(st.integers(1, 10**12), min_size=3, max_size=3), max_size=30)  # full books
)
def test_level_lists_keep_present_levels_in_order(rows: list[list[int | None]]) -> None:
    """The book list columns equal Polars' definition: concat the levels, drop the absent ones."""
    names = {"bid": ["bid_px_int_0", "bid_px_int_1", "bid_px_int_2"]}
    columns = {name: [row[k] for row in rows] for k, name in enumerate(names["bid"])}
    frame = pl.DataFrame(
        {
            **{name: pl.Series(values, dtype=pl.Int64) for name, values in columns.items()},
            **{n.replace("px", "qty"): pl.Series(v, dtype=pl.Int64) for n, v in columns.items()},
            **{n.replace("bid", "ask"): pl.Series(v[::-1], dtype=pl.Int64) for n, v in columns.items()},
            **{
                n.replace("bid", "ask").replace("px", "qty"): pl.Series(v, dtype=pl.Int64)
                for n, v in columns.items()
            },
        }
    )
    pairs = [
        Pair(f"{s}_px_{i}", f"{s}_qty_{i}", f"{s}_px_int_{i}", f"{s}_qty_int_{i}")
        for i in range(3)
        for s in ("bid", "ask")
    ]
    got = pl.DataFrame(level_lists(frame, pairs))
    expected = frame.select(
        pl.concat_list([f"{side}_{kind}_int_{i}" for i in range(3)])
        .list.drop_nulls()
        .alias(f"{side}s_{kind}_int")
        for side in ("bid", "ask")
        for kind in ("px", "qty")
    )
    assert got.to_dict(as_series=False) == expected.to_dict(as_series=False)
