"""Built-in quote aggregations over a bucketed quotes frame (top of book).

Only quotes *inside* the bar are used: the quote in force at ``bucket_start`` (received in an
earlier bar) is not included unless the caller prepends it to the bar's events (e.g. with
``attach_asof``). A bar without quotes gets null quote features.
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl

from pointline.research.resample.registry import AggregationSpec, register_aggregation


class _QuoteSpec(AggregationSpec):
    mode_allowlist: ClassVar[list[str]] = ["bar_then_feature", "tick_then_bar", "event_joined"]
    source_table: ClassVar[str | None] = "quotes"
    config_keys: ClassVar[tuple[str, ...] | None] = ()


def _spread_bps() -> pl.Expr:
    # Integer prices share one exponent, so the ratio needs no decoding.
    bid = pl.col("bid_px_int").cast(pl.Float64)
    ask = pl.col("ask_px_int").cast(pl.Float64)
    return (ask - bid) / ((ask + bid) / 2) * 1e4


@register_aggregation
class SpreadBps(_QuoteSpec):
    """Quoted spread in basis points of the mid: ``(ask - bid) / ((ask + bid) / 2) * 1e4``.

    ``spread_bps`` weights each quote by the time it was in force inside the bar (µs until the next
    quote, or until the bar's ``ts`` for the last one); quotes with an empty side are skipped.
    When every weight is 0 (all quotes at ``ts``) it is the plain mean. ``spread_bps_last`` is the
    spread of the last two-sided quote in the bar.
    """

    name = "spread_bps"
    required_columns: ClassVar[list[str]] = ["bid_px_int", "ask_px_int", "ts_local_us", "ts"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        spread = _spread_bps()
        t = pl.col("ts_local_us")
        weight = (t.shift(-1).fill_null(pl.col("ts").last()) - t).cast(pl.Float64)
        weight = pl.when(spread.is_not_null()).then(weight)
        total = weight.sum()
        timed = (spread * weight).sum() / total
        return [
            pl.when(total > 0).then(timed).otherwise(spread.mean()).alias("spread_bps"),
            spread.drop_nulls().last().alias("spread_bps_last"),
        ]


@register_aggregation
class MidPx(_QuoteSpec):
    """``mid_px = (bid_px + ask_px) / 2`` of the last two-sided quote in the bar (decoded price)."""

    name = "mid_px"
    required_columns: ClassVar[list[str]] = ["bid_px", "ask_px"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        return [((pl.col("bid_px") + pl.col("ask_px")) / 2).drop_nulls().last().alias("mid_px")]


@register_aggregation
class Microprice(_QuoteSpec):
    """``microprice = (bid_px * ask_qty + ask_px * bid_qty) / (bid_qty + ask_qty)`` of the last
    two-sided quote in the bar (decoded price; leans toward the side with less size)."""

    name = "microprice"
    required_columns: ClassVar[list[str]] = ["bid_px", "ask_px", "bid_qty", "ask_qty"]

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        bid, ask = pl.col("bid_px"), pl.col("ask_px")
        bq, aq = pl.col("bid_qty"), pl.col("ask_qty")
        micro = (bid * aq + ask * bq) / (bq + aq)
        return [micro.drop_nulls().last().alias("microprice")]
