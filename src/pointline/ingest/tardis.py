"""Tardis.dev CSV (plain or ``.csv.gz``): ``trades``, ``quotes``, ``book_snapshot_25`` / ``_5``.

Every row carries ``exchange`` and ``symbol`` (a file may hold several instruments);
``timestamp`` is the exchange clock → ``ts_exch_us``, ``local_timestamp`` the receive clock →
``ts_local_us`` (both µs since the epoch). Trade sides: ``buy`` → 0, ``sell`` → 1, ``unknown`` or
empty → 2, anything else is quarantined as ``unknown_side``. Both book snapshot depths land in the
``book_snapshot_25`` table with their levels as lists (level 0 = best).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pointline.ingest.registry import (
    REASON_UNKNOWN_SIDE,
    FileFormatError,
    Format,
    Parsed,
    ReadOptions,
    int_or_reason,
    line_numbers,
    read_csv_text,
    register_format,
)

_COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
_TRADES = ("id", "side", "price", "amount")
_QUOTES = ("ask_amount", "ask_price", "bid_price", "bid_amount")
_LEVEL = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")
_SIDES = {"buy": 0, "sell": 1, "unknown": 2}


def data_type(columns: list[str]) -> str | None:
    """Tardis data type implied by a header (``trades``, ``quotes``, ``book_snapshot``) or ``None``."""
    cols = set(columns)
    if not set(_COMMON) <= cols:
        return None
    if set(_TRADES) <= cols:
        return "trades"
    if set(_QUOTES) <= cols:
        return "quotes"
    if any(_LEVEL.match(c) for c in columns):
        return "book_snapshot"
    return None


class TardisCsv(Format):
    """Tardis.dev ``datasets`` CSV files."""

    name = "tardis"

    def sniff(self, path: Path, head: str) -> bool:
        return head.startswith("exchange,symbol,timestamp,local_timestamp")

    def read(self, path: Path, options: ReadOptions) -> Parsed:
        df = read_csv_text(path)
        kind = data_type(df.columns)
        if kind is None:
            raise FileFormatError(
                f"{path.name}: unsupported Tardis data type (columns {','.join(df.columns[:8])}); "
                "supported data types: trades, quotes, book_snapshot_25, book_snapshot_5"
            )
        # Line numbers are taken before blank lines (all-null rows, not data) are dropped.
        df = df.with_columns(line_numbers(df.height, True))
        df = df.filter(~pl.all_horizontal(pl.exclude("file_line_number").is_null()))
        if kind == "trades":
            return _trades(df)
        if kind == "quotes":
            return _quotes(df)
        return _book(df)


def _common(df: pl.DataFrame) -> tuple[list[pl.Expr], list[pl.Expr]]:
    local, local_bad = int_or_reason(pl.col("local_timestamp"), required=True)
    exch, exch_bad = int_or_reason(pl.col("timestamp"), required=False)
    names_bad = pl.when(pl.col("exchange").is_null() | pl.col("symbol").is_null()).then(pl.lit("unparseable"))
    columns = [
        pl.col("exchange"),
        pl.col("symbol"),
        local.alias("ts_local_us"),
        exch.alias("ts_exch_us"),
        pl.col("file_line_number"),
    ]
    return columns, [names_bad, local_bad, exch_bad]


def _trades(df: pl.DataFrame) -> Parsed:
    columns, reasons = _common(df)
    side = _side_codes(df["side"])
    reasons.append(pl.when(side.is_null()).then(pl.lit(REASON_UNKNOWN_SIDE)))
    frame = df.select(
        *columns,
        pl.col("id").alias("trade_id"),
        pl.lit(side).alias("side"),
        pl.col("price").alias("px"),
        pl.col("amount").alias("qty"),
        pl.coalesce(reasons).alias("_reason"),
    )
    return Parsed(table="trades", frame=frame, source=df.drop("file_line_number"))


def _side_codes(side: pl.Series) -> pl.Series:
    """Int8 side codes (null for an unknown token). Exact lower-case tokens are mapped through an Enum
    cast (cheap); only other spellings pay for lower-casing."""
    codes = (
        side.cast(pl.Enum(sorted(_SIDES, key=_SIDES.__getitem__)), strict=False).to_physical().cast(pl.Int8)
    )
    if codes.null_count() == side.null_count():
        return codes.fill_null(_SIDES["unknown"])
    token = side.str.to_lowercase().fill_null("unknown")
    return token.replace_strict(_SIDES, default=None, return_dtype=pl.Int8)


def _quotes(df: pl.DataFrame) -> Parsed:
    columns, reasons = _common(df)
    frame = df.select(
        *columns,
        pl.col("bid_price").alias("bid_px"),
        pl.col("bid_amount").alias("bid_qty"),
        pl.col("ask_price").alias("ask_px"),
        pl.col("ask_amount").alias("ask_qty"),
        pl.coalesce(reasons).alias("_reason"),
    )
    return Parsed(table="quotes", frame=frame, source=df.drop("file_line_number"))


def _book(df: pl.DataFrame) -> Parsed:
    columns, reasons = _common(df)
    levels = 1 + max(int(m.group(2)) for c in df.columns if (m := _LEVEL.match(c)))
    if levels > 25:
        raise FileFormatError(
            f"book snapshot with {levels} levels; the book_snapshot_25 table holds at most 25"
        )
    level_columns = []
    for i in range(levels):
        for side, short in (("bids", "bid"), ("asks", "ask")):
            for field, kind in (("price", "px"), ("amount", "qty")):
                name = f"{side}[{i}].{field}"
                expr = pl.col(name) if name in df.columns else pl.lit(None, dtype=pl.Utf8)
                level_columns.append(expr.alias(f"{short}_{kind}_{i}"))
    frame = df.select(*columns, *level_columns, pl.coalesce(reasons).alias("_reason"))
    return Parsed(table="book_snapshot_25", frame=frame, source=df.drop("file_line_number"), levels=levels)


register_format(TardisCsv())
