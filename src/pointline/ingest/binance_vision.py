"""Binance Vision (data.binance.vision) trade files: ``trades`` and ``aggTrades``, CSV or zip.

Columns (with or without a header row):

- trades: ``id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]``
- aggTrades: ``agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
  is_buyer_maker[, is_best_match]``

``is_buyer_maker = true`` means the seller hit the bid (side 1), ``false`` side 0. ``time`` is ms
since the epoch in older files and µs in newer ones; values below 10^14 are taken as ms.
Vision files carry no receive time, so ``ts_local_us = ts_exch_us =`` the file's time (the total
order then follows the exchange clock and the file's line order).

Exchange and symbol come from the file name and path (``BTCUSDT-trades-2024-05-01.csv`` under
``futures/um`` → ``binance-futures``, ``futures/cm`` → ``binance-delivery``, otherwise spot
``binance``) unless given explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

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
    read_head,
    reason_column,
    register_format,
)

TRADES_COLUMNS = ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"]
AGG_COLUMNS = [
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
]
_NAME = re.compile(r"^(?P<symbol>[A-Za-z0-9_]+)-(?P<kind>trades|aggTrades)-", re.IGNORECASE)
_MS_LIMIT = 10**14  # 10^14 ms is year 5138; 10^14 µs is 1973


def layout(path: Path, head: str) -> tuple[str, bool] | None:
    """``(kind, has_header)`` for a Vision trades/aggTrades file, ``None`` when it is not one."""
    fields = [f.strip().lower() for f in head.split(",")]
    if fields[:2] == ["id", "price"]:
        return "trades", True
    if fields[:2] == ["agg_trade_id", "price"]:
        return "aggTrades", True
    if not fields or not fields[0].isdigit() or len(fields) not in (6, 7, 8):
        return None
    match = _NAME.match(path.name)
    if match:
        return ("aggTrades" if match["kind"].lower() == "aggtrades" else "trades"), False
    # trades has the maker flag in field 6; aggTrades has a timestamp there.
    return ("trades" if fields[5] in ("true", "false") else "aggTrades"), False


def names_from_path(path: Path) -> tuple[str | None, str | None]:
    """``(exchange, symbol)`` implied by a Vision file name and its folders."""
    match = _NAME.match(path.name)
    symbol = match["symbol"].upper() if match else None
    parts = [p.lower() for p in path.parts]
    if "um" in parts or "binance-futures" in parts:
        exchange = "binance-futures"
    elif "cm" in parts:
        exchange = "binance-delivery"
    else:
        exchange = "binance"
    return exchange, symbol


class BinanceVision(Format):
    """Binance Vision ``trades`` / ``aggTrades`` dumps."""

    name = "binance-vision"

    def sniff(self, path: Path, head: str) -> bool:
        return layout(path, head) is not None

    def read(self, path: Path, options: ReadOptions) -> Parsed:
        kind, has_header, exchange, symbol = _file_facts(path, options)
        df, malformed = read_csv_rows(path, has_header=has_header)
        parsed = _staged(path, df, kind, exchange, symbol)
        parsed.malformed = malformed
        return parsed

    def read_batches(self, path: Path, options: ReadOptions, batch_cells: int) -> Iterator[Parsed] | None:
        kind, has_header, exchange, symbol = _file_facts(path, options)
        batches = csv_batches(
            options.unpacked or path,
            has_header=has_header,
            batch_cells=batch_cells,
        )
        return (_staged(path, df, kind, exchange, symbol) for df in batches)


def _file_facts(path: Path, options: ReadOptions) -> tuple[str, bool, str, str]:
    """``(kind, has_header, exchange, symbol)`` of a Vision file, or :class:`FileFormatError`."""
    found = layout(path, read_head(path))
    if found is None:
        raise FileFormatError(
            f"{path.name}: not a Binance Vision trades/aggTrades file "
            "(expected columns id,price,qty,quote_qty,time,is_buyer_maker)"
        )
    kind, has_header = found
    exchange, symbol = names_from_path(path)
    exchange, symbol = options.exchange or exchange, options.symbol or symbol
    if symbol is None:
        raise FileFormatError(
            f"{path.name}: cannot tell the symbol from the file name "
            "(expected e.g. BTCUSDT-trades-2024-05-01.csv); pass symbol= / --symbol"
        )
    assert exchange is not None
    return kind, has_header, exchange, symbol


def _staged(path: Path, df: pl.DataFrame, kind: str, exchange: str, symbol: str) -> Parsed:
    """One file (or one batch of it) staged."""
    width = df.width - 1  # the last column is file_line_number
    full = TRADES_COLUMNS if kind == "trades" else AGG_COLUMNS
    if not len(full) - 1 <= width <= len(full):
        raise FileFormatError(
            f"{path.name}: {width} columns; a Vision {kind} file has {len(full) - 1} or {len(full)}"
        )
    df.columns = [*full[:width], "file_line_number"]
    df = drop_blank_lines(df)
    ts_col, id_col, qty_col = (
        ("time", "id", "qty") if kind == "trades" else ("transact_time", "agg_trade_id", "quantity")
    )
    raw_ts, ts_bad = int_or_bad(pl.col(ts_col), required=True)
    ts = pl.when(raw_ts < _MS_LIMIT).then(raw_ts * 1000).otherwise(raw_ts)
    maker = pl.col("is_buyer_maker").str.strip_chars().str.to_lowercase()
    side = maker.replace_strict({"true": 1, "false": 0}, default=None, return_dtype=pl.Int8)
    frame = df.select(
        pl.lit(exchange, dtype=pl.Utf8).alias("exchange"),
        pl.lit(symbol, dtype=pl.Utf8).alias("symbol"),
        ts.alias("ts_local_us"),
        ts.alias("ts_exch_us"),
        pl.col("file_line_number"),
        pl.col(id_col).alias("trade_id"),
        side.alias("side"),
        pl.col("price").alias("px"),
        pl.col(qty_col).alias("qty"),
        reason_column(df, [(ts_bad, REASON_UNPARSEABLE), (side.is_null(), REASON_UNKNOWN_SIDE)]),
    )
    return Parsed(table="trades", frame=frame, source=df.drop("file_line_number"))


register_format(BinanceVision())
