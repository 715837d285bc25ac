"""Built-in trade aggregations named by the guide (DESIGN.md §5).

All read a bucketed trades frame (``assign_to_buckets`` over ``query.trades(..., decoded=True)``).
Units: ``px``/``qty`` are decoded Float64 (quote currency per base unit / base units);
``px_int``/``qty_int`` are the exact fixed-point integers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl

from pointline.research.resample.registry import AggregationSpec, register_aggregation

_TRADE_MODES = ["bar_then_feature", "tick_then_bar"]


class _TradeSpec(AggregationSpec):
    mode_allowlist: ClassVar[list[str]] = _TRADE_MODES
    source_table: ClassVar[str | None] = "trades"
    config_keys: ClassVar[tuple[str, ...] | None] = ()


@register_aggregation
class TradeVwap(_TradeSpec):
    """``vwap = sum(px * qty) / sum(qty)`` in decoded price units (null for an empty bar).

    The guide's labels name this column ``vwap_px``; the pipeline maps ``vwap_px`` to ``vwap``.
    """

    name = "trade_vwap"
    required_columns: ClassVar[list[str]] = ["px", "qty"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [((pl.col("px") * pl.col("qty")).sum() / pl.col("qty").sum()).alias("vwap")]


@register_aggregation
class Ohlcv(_TradeSpec):
    """``open``/``close`` = first/last trade price in total order, ``high``/``low`` = max/min price,
    ``volume`` = sum of decoded ``qty`` (base units)."""

    name = "ohlcv"
    required_columns: ClassVar[list[str]] = ["px", "qty"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        px = pl.col("px")
        return [
            px.first().alias("open"),
            px.max().alias("high"),
            px.min().alias("low"),
            px.last().alias("close"),
            pl.col("qty").sum().alias("volume"),
        ]


@register_aggregation
class FlowImbalance(_TradeSpec):
    """``(buy_qty - sell_qty) / (buy_qty + sell_qty)`` over ``qty_int``; 0 when the bar has
    no buy or sell volume (unknown-side trades count in neither). Range [-1, 1]."""

    name = "flow_imbalance"
    required_columns: ClassVar[list[str]] = ["qty_int", "side"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        # A conditional sum, not a filter: inside a group-by a filter materialises every group.
        qty, side = pl.col("qty_int"), pl.col("side")
        buy = pl.when(side == 0).then(qty).otherwise(0).sum()
        sell = pl.when(side == 1).then(qty).otherwise(0).sum()
        return [((buy - sell) / (buy + sell)).fill_nan(None).fill_null(0).alias("flow_imbalance")]


@register_aggregation
class TradeCount(_TradeSpec):
    """Number of trades in the bar (0 for an empty spine bar)."""

    name = "trade_count"
    required_columns: ClassVar[list[str]] = []

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [pl.len().cast(pl.Int64).alias("trade_count")]


@register_aggregation
class AvgTradeSize(_TradeSpec):
    """Mean decoded ``qty`` per trade (base units)."""

    name = "avg_trade_size"
    required_columns: ClassVar[list[str]] = ["qty"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [pl.col("qty").mean().alias("avg_trade_size")]


@register_aggregation
class RealizedVolatility(_TradeSpec):
    """``realized_vol`` = sample std (ddof 1) of consecutive log price changes inside the bar;
    null with fewer than 3 trades. Uses ``px_int`` (the exponent cancels in log differences)."""

    name = "realized_volatility"
    required_columns: ClassVar[list[str]] = ["px_int"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [pl.col("px_int").log().diff().std().alias("realized_vol")]


@register_aggregation
class BarDuration(_TradeSpec):
    """``bar_duration_seconds = (ts - bucket_start) / 1e6``: how long the bar took to form."""

    name = "bar_duration"
    required_columns: ClassVar[list[str]] = ["ts", "bucket_start"]
    mode_allowlist: ClassVar[list[str]] = ["bar_then_feature", "tick_then_bar", "event_joined"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [((pl.col("ts").first() - pl.col("bucket_start").first()) / 1e6).alias("bar_duration_seconds")]
