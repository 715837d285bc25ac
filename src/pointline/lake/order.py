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
        # Mark the leading key sorted as ``sort`` would: Polars picks its group_by algorithm (and
        # so float summation order) from that flag, and results must not depend on the input layout.
        return frame.with_columns(pl.col(columns[0]).set_sorted())
    return frame.sort(columns, maintain_order=True)
