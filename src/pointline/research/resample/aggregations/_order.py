"""Put event frames in a given lexicographic order without paying for a sort when already there."""

from __future__ import annotations

import polars as pl


def sort_if_needed(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` sorted (stably) by ``columns``; returned as is when already in that order.

    Query results are in total order already, so a linear check usually saves the sort.
    """
    if frame.height < 2 or not columns:
        return frame
    in_order = pl.lit(True)
    for name in reversed(columns):
        step = pl.col(name).diff()
        in_order = (step > 0) | ((step == 0) & in_order)
    if frame.select(in_order.fill_null(True).all()).item():
        return frame
    return frame.sort(columns, maintain_order=True)
