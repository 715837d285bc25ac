"""Column layout of every lake table (DESIGN.md §3).

Event tables share the common columns and are partitioned by ``exchange``, ``date``
(``date`` is the UTC date of ``ts_local_us``). Timestamps are integer microseconds since the
Unix epoch: ``ts_local_us`` is the receive clock (never null), ``ts_exch_us`` the exchange clock.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import polars as pl

from pointline.errors import ValidationError

PARTITION_COLUMNS: tuple[str, ...] = ("exchange", "date")

COMMON_COLUMNS: dict[str, pl.DataType] = {
    "exchange": pl.Utf8(),
    "symbol": pl.Utf8(),
    "symbol_id": pl.Int64(),
    "date": pl.Date(),
    "ts_local_us": pl.Int64(),
    "ts_exch_us": pl.Int64(),
    "file_id": pl.Int32(),
    "file_line_number": pl.Int32(),
}

#: Total order of events within one symbol (DESIGN.md §1).
EVENT_ORDER: tuple[str, ...] = ("ts_local_us", "file_id", "file_line_number")
#: Order of rows inside the lake's files.
STORAGE_ORDER: tuple[str, ...] = ("symbol_id", *EVENT_ORDER)

_LIST_I64 = pl.List(pl.Int64())


@dataclass(frozen=True)
class EventTable:
    """An event table: its name, specific columns, and which int columns hold prices / sizes."""

    name: str
    specific: dict[str, pl.DataType]
    price_columns: tuple[str, ...]
    qty_columns: tuple[str, ...]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {**COMMON_COLUMNS, **self.specific}

    @property
    def columns(self) -> list[str]:
        return list(self.schema)


TRADES = EventTable(
    name="trades",
    specific={"trade_id": pl.Utf8(), "side": pl.Int8(), "px_int": pl.Int64(), "qty_int": pl.Int64()},
    price_columns=("px_int",),
    qty_columns=("qty_int",),
)
QUOTES = EventTable(
    name="quotes",
    specific={
        "bid_px_int": pl.Int64(),
        "bid_qty_int": pl.Int64(),
        "ask_px_int": pl.Int64(),
        "ask_qty_int": pl.Int64(),
    },
    price_columns=("bid_px_int", "ask_px_int"),
    qty_columns=("bid_qty_int", "ask_qty_int"),
)
BOOK_SNAPSHOT_25 = EventTable(
    name="book_snapshot_25",
    specific={
        "bids_px_int": _LIST_I64,
        "bids_qty_int": _LIST_I64,
        "asks_px_int": _LIST_I64,
        "asks_qty_int": _LIST_I64,
    },
    price_columns=("bids_px_int", "asks_px_int"),
    qty_columns=("bids_qty_int", "asks_qty_int"),
)

EVENT_TABLES: dict[str, EventTable] = {t.name: t for t in (TRADES, QUOTES, BOOK_SNAPSHOT_25)}

#: Side codes in the ``trades.side`` column.
SIDE_BUY = 0  # buyer was the aggressor
SIDE_SELL = 1  # seller was the aggressor
SIDE_UNKNOWN = 2


def decoded_name(int_column: str) -> str:
    """Name of the Float64 column decoded from an ``*_int`` column (``px_int`` → ``px``)."""
    return int_column.removesuffix("_int")


def event_table(name: str) -> EventTable:
    """Look an event table up by name, with a clear error for unknown names."""
    try:
        return EVENT_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(EVENT_TABLES))
        hint = difflib.get_close_matches(str(name), sorted(EVENT_TABLES), n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        # A ValidationError is a ValueError too: callers catching ValueError still do.
        raise ValidationError(f"unknown table {name!r}; known tables: {known}{suffix}") from None
