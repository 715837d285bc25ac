"""Tardis.dev CSV (plain or ``.csv.gz``): ``trades``, ``quotes``, ``book_snapshot_25`` / ``_5``.

Every row carries ``exchange`` and ``symbol`` (a file may hold several instruments);
``timestamp`` is the exchange clock → ``ts_exch_us``, ``local_timestamp`` the receive clock →
``ts_local_us`` (both µs since the epoch). Trade sides: ``buy`` → 0, ``sell`` → 1, ``unknown`` or
empty → 2, anything else is quarantined as ``unknown_side``. Both book snapshot depths land in the
``book_snapshot_25`` table with their levels as lists (level 0 = best).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pointline.ingest import fused_csv
from pointline.ingest.registry import (
    REASON_UNKNOWN_SIDE,
    REASON_UNPARSEABLE,
    FileFormatError,
    Format,
    Parsed,
    ReadOptions,
    csv_batches,
    drop_blank_lines,
    int_or_bad,
    read_csv_rows,
    reason_column,
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
        fused = fused_csv.read(path)
        if fused is not None:  # a plain file: inflated and parsed in one pass
            fused.load_source = lambda: _source(path, fused.frame.height)
            fused.notes += _ignored(options)
            return fused
        df, malformed = read_csv_rows(path, int_columns=_INT_COLUMNS)
        parsed = _staged(path, df, options)
        parsed.malformed = malformed
        return parsed

    def read_batches(self, path: Path, options: ReadOptions, batch_cells: int) -> Iterator[Parsed] | None:
        batches = csv_batches(
            options.unpacked or path,
            int_columns=_INT_COLUMNS,
            batch_cells=batch_cells,
        )
        return (_staged(path, df, options) for df in batches)


_INT_COLUMNS = ("timestamp", "local_timestamp")


def _staged(path: Path, df: pl.DataFrame, options: ReadOptions) -> Parsed:
    """One file (or one batch of it) staged: the data type from its columns, blank lines dropped."""
    kind = data_type(df.columns)
    if kind is None:
        raise FileFormatError(
            f"{path.name}: unsupported Tardis data type (columns {','.join(df.columns[:8])}); "
            "supported data types: trades, quotes, book_snapshot_25, book_snapshot_5"
        )
    # Line numbers are taken before blank lines (all-null rows, not data) are dropped.
    df = drop_blank_lines(df)
    parsed = _trades(df) if kind == "trades" else _quotes(df) if kind == "quotes" else _book(df)
    parsed.notes += _ignored(options)
    return parsed


def _ignored(options: ReadOptions) -> list[str]:
    given = [f"--{k} {v}" for k, v in (("exchange", options.exchange), ("symbol", options.symbol)) if v]
    if not given:
        return []
    return [f"{' and '.join(given)} ignored: Tardis rows name their own exchange and symbol"]


def _source(path: Path, rows: int) -> pl.DataFrame:
    """The file's own columns, for rendering quarantined rows of a fused read (which keeps no
    text): the general reader's, row for row (a plain file has no blank or malformed line)."""
    df, malformed = read_csv_rows(path, int_columns=_INT_COLUMNS)
    if df.height != rows or malformed.height:
        raise FileFormatError(f"{path.name}: the file changed while it was being ingested")
    return df.drop("file_line_number")


def _common(df: pl.DataFrame) -> tuple[list[pl.Expr], list[tuple[pl.Expr | None, str]]]:
    """The columns every table has, and the row checks on them (``(condition, reason)``)."""
    local, local_bad = int_or_bad(
        pl.col("local_timestamp"), required=True, dtype=df.schema["local_timestamp"]
    )
    exch, exch_bad = int_or_bad(pl.col("timestamp"), required=False, dtype=df.schema["timestamp"])
    names_missing = df["exchange"].null_count() or df["symbol"].null_count()
    names_bad = (pl.col("exchange").is_null() | pl.col("symbol").is_null()) if names_missing else None
    columns = [
        pl.col("exchange"),
        pl.col("symbol"),
        local.alias("ts_local_us"),
        exch.alias("ts_exch_us"),
        pl.col("file_line_number"),
    ]
    checks = [
        (names_bad, REASON_UNPARSEABLE),
        (local_bad, REASON_UNPARSEABLE),
        (exch_bad, REASON_UNPARSEABLE),
    ]
    return columns, checks


def _trades(df: pl.DataFrame) -> Parsed:
    columns, checks = _common(df)
    side = _side_codes(df["side"])
    checks.append((pl.lit(side).is_null() if side.null_count() else None, REASON_UNKNOWN_SIDE))
    frame = df.select(
        *columns,
        pl.col("id").alias("trade_id"),
        pl.lit(side).alias("side"),
        pl.col("price").alias("px"),
        pl.col("amount").alias("qty"),
        reason_column(df, checks),
    )
    return Parsed(table="trades", frame=frame, source=df.drop("file_line_number"))


def _side_codes(side: pl.Series) -> pl.Series:
    """Int8 side codes (null for an unknown token). Exact lower-case tokens are matched by plain
    comparisons (cheap); only a file with other spellings pays for lower-casing."""
    codes = pl.select(_code_of(pl.lit(side))).to_series()
    if not codes.null_count():
        return codes
    return pl.select(_code_of(pl.lit(side).str.to_lowercase())).to_series()


def _code_of(token: pl.Expr) -> pl.Expr:
    expr = pl.when(token.is_null()).then(pl.lit(_SIDES["unknown"], dtype=pl.Int8))
    for name, code in _SIDES.items():
        expr = expr.when(token == name).then(pl.lit(code, dtype=pl.Int8))
    return expr.otherwise(pl.lit(None, dtype=pl.Int8))


def _quotes(df: pl.DataFrame) -> Parsed:
    columns, checks = _common(df)
    frame = df.select(
        *columns,
        pl.col("bid_price").alias("bid_px"),
        pl.col("bid_amount").alias("bid_qty"),
        pl.col("ask_price").alias("ask_px"),
        pl.col("ask_amount").alias("ask_qty"),
        reason_column(df, checks),
    )
    return Parsed(table="quotes", frame=frame, source=df.drop("file_line_number"))


def _book(df: pl.DataFrame) -> Parsed:
    columns, checks = _common(df)
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
    frame = df.select(*columns, *level_columns, reason_column(df, checks))
    return Parsed(table="book_snapshot_25", frame=frame, source=df.drop("file_line_number"), levels=levels)


register_format(TardisCsv())
