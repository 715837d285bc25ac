"""Per-day Parquet trades: ``<root>/<SYMBOL>/trades/<source>/<YYYY-MM-DD>.parquet``.

Columns ``timestamp_us`` (µs since the epoch, the only clock: ``ts_local_us = ts_exch_us``),
``price``, ``quantity``, ``quote_quantity`` and ``side`` (+1 buyer aggressor → 0, -1 seller → 1,
0 or null → 2, anything else quarantined). The ``source`` folder names the exchange
(``binance_futures`` → ``binance-futures``, ``bybit_futures`` → ``bybit``, ``okx_futures`` →
``okex-swap``, ``binance_spot`` → ``binance``; otherwise ``_`` becomes ``-``).

Prices and sizes arrive as floats. Each is converted through its shortest round-trip decimal text
(what Polars prints for a Float64, e.g. ``0.1`` → ``"0.1"``), then encoded exactly from that text;
the stored decimal is therefore the one the writer most plausibly meant, and it round-trips to the
same double. ``file_line_number`` is the 1-based row number in the file (Parquet has no header).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pointline.ingest.registry import (
    REASON_UNKNOWN_SIDE,
    REASON_UNPARSEABLE,
    FileFormatError,
    Format,
    Parsed,
    ReadOptions,
    register_format,
)

SOURCE_EXCHANGES = {
    "binance_futures": "binance-futures",
    "bybit_futures": "bybit",
    "okx_futures": "okex-swap",
    "binance_spot": "binance",
}
REQUIRED = ("timestamp_us", "price", "quantity", "side")


def exchange_for_source(source: str) -> str:
    """Exchange name for a source folder (``binance_futures`` → ``binance-futures``)."""
    return SOURCE_EXCHANGES.get(source.lower(), source.lower().replace("_", "-"))


def names_from_path(path: Path) -> tuple[str | None, str | None]:
    """``(exchange, symbol)`` from ``.../<SYMBOL>/trades/<source>/<day>.parquet``."""
    parts = path.parts
    if len(parts) >= 4 and parts[-3].lower() == "trades":
        return exchange_for_source(parts[-2]), parts[-4]
    return None, None


class ParquetDays(Format):
    """The notebook's per-day Parquet trade layout."""

    name = "parquet-days"

    def sniff(self, path: Path, head: str) -> bool:
        return path.name.lower().endswith(".parquet")

    def read(self, path: Path, options: ReadOptions) -> Parsed:
        exchange, symbol = names_from_path(path)
        exchange, symbol = options.exchange or exchange, options.symbol or symbol
        if exchange is None or symbol is None:
            raise FileFormatError(
                f"{path}: expected the layout <root>/<SYMBOL>/trades/<source>/<YYYY-MM-DD>.parquet "
                "or explicit exchange= and symbol="
            )
        try:
            df = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise FileFormatError(f"{path.name}: not a readable Parquet file ({exc})") from None
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise FileFormatError(f"{path.name}: missing column(s) {missing}; expected {', '.join(REQUIRED)}")
        ts = pl.col("timestamp_us").cast(pl.Int64, strict=False)
        side_num = pl.col("side").cast(pl.Int64, strict=False)
        side = (
            pl.when(side_num == 1)
            .then(0)
            .when(side_num == -1)
            .then(1)
            .when(side_num.is_null() | (side_num == 0))
            .then(2)
            .cast(pl.Int8)
        )
        frame = df.select(
            pl.lit(exchange, dtype=pl.Utf8).alias("exchange"),
            pl.lit(symbol, dtype=pl.Utf8).alias("symbol"),
            ts.alias("ts_local_us"),
            ts.alias("ts_exch_us"),
            pl.int_range(1, df.height + 1, dtype=pl.Int32).alias("file_line_number"),
            pl.lit(None, dtype=pl.Utf8).alias("trade_id"),
            side.alias("side"),
            _decimal_text(pl.col("price")).alias("px"),
            _decimal_text(pl.col("quantity")).alias("qty"),
            pl.coalesce(
                pl.when(ts.is_null()).then(pl.lit(REASON_UNPARSEABLE)),
                pl.when(side.is_null()).then(pl.lit(REASON_UNKNOWN_SIDE)),
            ).alias("_reason"),
        )
        return Parsed(table="trades", frame=frame, source=df)


def _decimal_text(column: pl.Expr) -> pl.Expr:
    # Polars prints a Float64 with the shortest text that round-trips; NaN / inf come out as text
    # the encoder rejects as unparseable.
    return column.cast(pl.Utf8)


register_format(ParquetDays())
