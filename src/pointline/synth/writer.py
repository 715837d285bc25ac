"""Writing Tardis.dev CSV.gz files from integer prices and sizes.

File names follow Tardis's download naming ``{exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz``
and the headers are Tardis's own. Decimals are formatted from the integers (never via floats) and,
like Tardis, without trailing zeros (``60000.1``, ``60000``). The gzip header carries no file name
and a zero mtime, so the same rows always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import numpy as np
import polars as pl

TRADES_HEADER = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
QUOTES_HEADER = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "ask_amount",
    "ask_price",
    "bid_price",
    "bid_amount",
)
GZIP_LEVEL = 1


def book_header(levels: int = 25) -> tuple[str, ...]:
    """Tardis ``book_snapshot_{levels}`` header: asks/bids price and amount interleaved by level."""
    cols = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(levels):
        cols += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return tuple(cols)


def tardis_file_name(exchange: str, data_type: str, day: dt.date, symbol: str) -> str:
    """``{exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz``.

    Example
    -------
    >>> tardis_file_name("bybit", "trades", dt.date(2024, 1, 2), "BTCUSDT")
    'bybit_trades_2024-01-02_BTCUSDT.csv.gz'
    """
    return f"{exchange}_{data_type}_{day.isoformat()}_{symbol}.csv.gz"


def decimal_expr(column: str, exp: int) -> pl.Expr:
    """Expression giving the exact decimal text of integer ``column / 10**exp`` (non-negative),
    trailing zeros dropped.
    """
    if exp == 0:
        return pl.col(column).cast(pl.Utf8)
    scale = 10**exp
    return (
        pl.concat_str(
            (pl.col(column) // scale).cast(pl.Utf8),
            pl.lit("."),
            (pl.col(column) % scale).cast(pl.Utf8).str.zfill(exp),
        )
        .str.strip_chars_end("0")
        .str.strip_chars_end(".")
        .alias(column)
    )


def decimal_text(values: np.ndarray, exp: int) -> pl.Series:
    """Exact decimal text of ``values / 10**exp`` for non-negative integers, trailing zeros dropped.

    Example
    -------
    >>> decimal_text(np.array([600001, 600000, 5]), 1).to_list()
    ['60000.1', '60000', '0.5']
    """
    frame = pl.DataFrame({"v": np.asarray(values, dtype=np.int64)})
    return frame.select(decimal_expr("v", exp)).to_series()


def _write(path: Path, frame: pl.DataFrame) -> Path:
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=True, line_terminator="\n")
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(buf.getvalue())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(raw.getvalue())
    tmp.replace(path)
    return path


def _prefix(exch_us: np.ndarray, local_us: np.ndarray) -> dict[str, pl.Series]:
    return {
        "timestamp": pl.Series(exch_us, dtype=pl.Int64),
        "local_timestamp": pl.Series(local_us, dtype=pl.Int64),
    }


def _frame(exchange: str, symbol: str, cols: dict[str, pl.Series], header: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(cols).with_columns(exchange=pl.lit(exchange), symbol=pl.lit(symbol))
    return frame.select(header)


def write_trades(
    path: Path,
    exchange: str,
    symbol: str,
    exch_us: np.ndarray,
    local_us: np.ndarray,
    ids: np.ndarray,
    is_buy: np.ndarray,
    px_int: np.ndarray,
    qty_int: np.ndarray,
    price_exp: int,
    qty_exp: int,
) -> Path:
    """Write a Tardis ``trades`` file (rows already in ``local_timestamp`` order)."""
    cols = _prefix(exch_us, local_us)
    cols["id"] = pl.Series(ids, dtype=pl.Int64)
    cols["side"] = pl.Series(np.where(is_buy, "buy", "sell"), dtype=pl.Utf8)
    cols["price"] = decimal_text(px_int, price_exp)
    cols["amount"] = decimal_text(qty_int, qty_exp)
    return _write(path, _frame(exchange, symbol, cols, TRADES_HEADER))


def write_quotes(
    path: Path,
    exchange: str,
    symbol: str,
    exch_us: np.ndarray,
    local_us: np.ndarray,
    bid_px: np.ndarray,
    bid_qty: np.ndarray,
    ask_px: np.ndarray,
    ask_qty: np.ndarray,
    price_exp: int,
    qty_exp: int,
) -> Path:
    """Write a Tardis ``quotes`` file (rows already in ``local_timestamp`` order)."""
    cols = _prefix(exch_us, local_us)
    cols["ask_amount"] = decimal_text(ask_qty, qty_exp)
    cols["ask_price"] = decimal_text(ask_px, price_exp)
    cols["bid_price"] = decimal_text(bid_px, price_exp)
    cols["bid_amount"] = decimal_text(bid_qty, qty_exp)
    return _write(path, _frame(exchange, symbol, cols, QUOTES_HEADER))


def write_book_snapshots(
    path: Path,
    exchange: str,
    symbol: str,
    exch_us: np.ndarray,
    local_us: np.ndarray,
    levels: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    price_exp: int,
    qty_exp: int,
) -> Path:
    """Write a Tardis ``book_snapshot_25`` file; ``levels`` = ``(ask_px, ask_qty, bid_px, bid_qty)``."""
    ask_px, ask_qty, bid_px, bid_qty = levels
    n_levels = ask_px.shape[1]
    ints: dict[str, np.ndarray] = {}
    exprs = []
    for i in range(n_levels):
        for name, arr, exp in (
            (f"asks[{i}].price", ask_px, price_exp),
            (f"asks[{i}].amount", ask_qty, qty_exp),
            (f"bids[{i}].price", bid_px, price_exp),
            (f"bids[{i}].amount", bid_qty, qty_exp),
        ):
            ints[name] = arr[:, i]
            exprs.append(decimal_expr(name, exp))
    text = pl.DataFrame(ints).select(exprs)
    cols = {**_prefix(exch_us, local_us), **{c: text[c] for c in text.columns}}
    return _write(path, _frame(exchange, symbol, cols, book_header(n_levels)))
