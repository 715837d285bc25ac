"""Built-in order-book aggregations over a bucketed ``book_snapshot_25`` frame.

Each uses the *last* snapshot in the bar (the book as known when the bar closes). Lists hold
levels best-first; a book with fewer levels than asked uses the levels it has.
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl

from pointline.errors import PointlineError
from pointline.research.resample.registry import AggregationSpec, register_aggregation

_BOOK_INT = ["bids_px_int", "bids_qty_int", "asks_px_int", "asks_qty_int"]


class _BookSpec(AggregationSpec):
    mode_allowlist: ClassVar[list[str]] = ["event_joined", "bar_then_feature", "tick_then_bar"]
    source_table: ClassVar[str | None] = "book_snapshot_25"
    config_keys: ClassVar[tuple[str, ...] | None] = ()


def _levels(config: dict[str, Any], default: int) -> int:
    levels = config.get("levels", default)
    if not isinstance(levels, int) or isinstance(levels, bool) or not 1 <= levels <= 25:
        raise PointlineError(f"book aggregation config 'levels' must be an integer 1..25, got {levels!r}")
    return levels


def _depth(column: str, levels: int) -> pl.Expr:
    return pl.col(column).last().list.slice(0, levels).list.sum()


def _imbalance(levels: int, alias: str) -> pl.Expr:
    bid = _depth("bids_qty_int", levels)
    ask = _depth("asks_qty_int", levels)
    return ((bid - ask) / (bid + ask)).fill_nan(None).fill_null(0).alias(alias)


def _imbalance_spec(levels: int) -> type[_BookSpec]:
    alias = f"book_imbalance_top{levels}"

    class _Imbalance(_BookSpec):
        __doc__ = (
            f"``{alias} = (bid_depth - ask_depth) / (bid_depth + ask_depth)`` over the top {levels} "
            "level(s) of ``bids_qty_int``/``asks_qty_int`` in the last snapshot; 0 when both are empty."
        )
        name = alias
        required_columns: ClassVar[list[str]] = _BOOK_INT

        def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
            return [_imbalance(levels, alias)]

    _Imbalance.__name__ = _Imbalance.__qualname__ = f"BookImbalanceTop{levels}"
    return _Imbalance


BookImbalanceTop1 = register_aggregation(_imbalance_spec(1))
BookImbalanceTop5 = register_aggregation(_imbalance_spec(5))
BookImbalanceTop25 = register_aggregation(_imbalance_spec(25))


@register_aggregation
class DepthWeightedMid(_BookSpec):
    """``depth_weighted_mid = (bid_vwap + ask_vwap) / 2`` over the top ``levels`` (config, default 5)
    of the last snapshot, where ``bid_vwap = sum(bids_px * bids_qty) / sum(bids_qty)`` (decoded) and
    likewise for asks. Null when either side is empty."""

    name = "depth_weighted_mid"
    config_keys: ClassVar[tuple[str, ...] | None] = ("levels",)
    required_columns: ClassVar[list[str]] = ["bids_px", "bids_qty", "asks_px", "asks_qty"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        n = _levels(config, 5)

        def side_vwap(px: str, qty: str) -> pl.Expr:
            p = pl.col(px).last().list.slice(0, n)
            q = pl.col(qty).last().list.slice(0, n)
            return (p * q).list.sum() / q.list.sum()

        mid = (side_vwap("bids_px", "bids_qty") + side_vwap("asks_px", "asks_qty")) / 2
        return [mid.fill_nan(None).alias("depth_weighted_mid")]
