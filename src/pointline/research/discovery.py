"""What is in the lake: instruments and per-table coverage, read from the data itself."""

from __future__ import annotations

import os
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.lake import dim_symbol, storage
from pointline.lake.schema import EVENT_TABLES
from pointline.research.timeline import us_to_iso

LakeArg = str | os.PathLike[str] | None

_SYMBOL_COLUMNS = [
    "symbol_id",
    "exchange",
    "exchange_symbol",
    "base_asset",
    "quote_asset",
    "asset_type",
    "tick_size",
    "lot_size",
    "contract_size",
    "is_inverse",
    "price_exp",
    "qty_exp",
    "metadata_source",
]


def list_symbols(
    exchange: str | None = None,
    base_asset: str | None = None,
    quote_asset: str | None = None,
    asset_type: str | None = None,
    search: str | None = None,
    *,
    lake: LakeArg = None,
) -> pl.DataFrame:
    """Current instruments in the lake, filtered.

    Parameters
    ----------
    exchange, base_asset, quote_asset, asset_type
        Exact (case-insensitive) filters; ``None`` means any.
    search
        Case-insensitive substring of the exchange symbol — the only non-exact filter, meant for browsing.

    Returns
    -------
    DataFrame with ``symbol_id, exchange, exchange_symbol, base_asset, quote_asset, asset_type,
    tick_size, lot_size, contract_size, is_inverse, price_exp, qty_exp, metadata_source``,
    sorted by exchange and symbol.

    Example
    -------
    >>> research.list_symbols(exchange="binance-futures", base_asset="BTC", asset_type="perpetual")  # doctest: +SKIP
    """
    if asset_type is not None and asset_type.lower() not in dim_symbol.ASSET_TYPES:
        raise PointlineError(f"asset_type {asset_type!r} is not one of {', '.join(dim_symbol.ASSET_TYPES)}")
    df = dim_symbol.read_dim_symbol(lake=lake, current_only=True)
    if df.height == 0:
        return pl.DataFrame(schema={c: pl.Utf8 for c in _SYMBOL_COLUMNS}).select(_SYMBOL_COLUMNS)
    df = df.rename({"symbol": "exchange_symbol"})
    for column, value in (
        ("exchange", exchange),
        ("base_asset", base_asset),
        ("quote_asset", quote_asset),
        ("asset_type", asset_type),
    ):
        if value is not None:
            df = df.filter(pl.col(column).str.to_lowercase() == value.lower())
    if search:
        df = df.filter(
            pl.col("exchange_symbol").str.to_lowercase().str.contains(search.lower(), literal=True)
        )
    return df.select(_SYMBOL_COLUMNS).sort("exchange", "exchange_symbol")


def data_coverage(exchange: str, symbol: str, *, lake: LakeArg = None) -> dict[str, dict[str, Any]]:
    """Per-table coverage of one instrument, computed from the stored rows.

    Returns
    -------
    ``{table: {"available": bool, "rows": int, "first_ts_us": int | None, "last_ts_us": int | None,
    "days": int}}`` for ``trades``, ``quotes`` and ``book_snapshot_25``; timestamps on the
    ``ts_local_us`` clock; ``days`` counts UTC dates holding at least one row.

    Example
    -------
    >>> coverage = research.data_coverage("binance-futures", "BTCUSDT")  # doctest: +SKIP
    >>> coverage["trades"]["available"]  # doctest: +SKIP
    True
    """
    info = dim_symbol.resolve(exchange, symbol, lake=lake)
    out: dict[str, dict[str, Any]] = {}
    for table in EVENT_TABLES:
        lf = storage.scan_partitions(
            table, lake=lake, exchange=info.exchange, columns=["symbol_id", "ts_local_us", "date"]
        )
        stats = None
        if lf is not None:
            stats = (
                lf.filter(pl.col("symbol_id") == info.symbol_id)
                .select(
                    pl.len().alias("rows"),
                    pl.col("ts_local_us").min().alias("first_ts_us"),
                    pl.col("ts_local_us").max().alias("last_ts_us"),
                    pl.col("date").n_unique().alias("days"),
                )
                .collect()
                .row(0, named=True)
            )
        rows = int(stats["rows"]) if stats else 0
        out[table] = {
            "available": rows > 0,
            "rows": rows,
            "first_ts_us": stats["first_ts_us"] if rows else None,
            "last_ts_us": stats["last_ts_us"] if rows else None,
            "days": int(stats["days"]) if rows else 0,
        }
    return out


def no_rows_message(
    table: str, exchange: str, symbol: str, span: tuple[Any, Any], *, lake: LakeArg = None
) -> str:
    """Why a read of ``[start, end)`` found nothing: the instrument has no ``table`` rows at all, or
    the range where the lake holds them (so the user can move the dates onto data).

    Example
    -------
    >>> no_rows_message("trades", "binance-futures", "BTCUSDT", ("2024-06-01", "2024-06-04"))  # doctest: +SKIP
    'no BTCUSDT trades on binance-futures in [2024-06-01, 2024-06-04); the lake holds them from
    2024-05-01T00:00:00.018898Z to 2024-05-03T23:59:59.990000Z (3 days)'
    """
    asked = f"[{span[0]}, {span[1]})"
    coverage = data_coverage(exchange, symbol, lake=lake)[table]
    if not coverage["available"]:
        return f"the lake holds no {symbol} {table} on {exchange} at all (asked for {asked})"
    first, last = (us_to_iso(coverage[k]) for k in ("first_ts_us", "last_ts_us"))
    days = coverage["days"]
    return (
        f"no {symbol} {table} on {exchange} in {asked}; "
        f"the lake holds them from {first} to {last} ({days} day{'' if days == 1 else 's'})"
    )
