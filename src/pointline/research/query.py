"""Reading events from the lake: one instrument, a half-open time range, in the total order.

Every reader prunes partitions by exchange and UTC date before touching data, filters on the
exact ``symbol_id`` (never a substring: ``BTCUSDT`` never returns ``BTCUSDT_240628``), and returns
rows sorted by ``(ts_local_us, file_id, file_line_number)``.

Time arguments follow :mod:`pointline.research.timeline`: ``[start, end)``, and a date-only ``end``
is midnight UTC at the start of that day, so that day is excluded.

Example
-------
>>> from pointline.research import query
>>> trades = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence

import polars as pl

from pointline.errors import PointlineError
from pointline.lake import dim_symbol, storage
from pointline.lake.encoding import decode_expr, decode_list_expr
from pointline.lake.order import sort_if_needed
from pointline.lake.schema import EVENT_ORDER, EventTable, decoded_name, event_table
from pointline.research.timeline import US_PER_DAY, TimeLike, dates_between, to_us

Frame = pl.DataFrame | pl.LazyFrame
LakeArg = str | os.PathLike[str] | None

_TS_COLUMNS = ("ts_local_us", "ts_exch_us")


def trades(
    exchange: str,
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    *,
    decoded: bool = False,
    lazy: bool = False,
    columns: Sequence[str] | None = None,
    ts_col: str = "ts_local_us",
    lake: LakeArg = None,
) -> Frame:
    """Trades of one instrument in ``[start, end)`` on the ``ts_col`` clock.

    Parameters
    ----------
    exchange, symbol
        Exchange name (``"binance-futures"``) and exchange-native symbol, matched exactly
        (case-insensitive).
    start, end
        Half-open range; ints are µs since the epoch, strings ISO dates/datetimes (UTC).
    decoded
        Add Float64 ``px`` and ``qty`` (base units) next to ``px_int`` / ``qty_int``.
    lazy
        Return a ``LazyFrame`` instead of collecting.
    columns
        Restrict the output columns (decoded names allowed when ``decoded=True``).
    ts_col
        Clock the range applies to: ``ts_local_us`` (receive time, default) or ``ts_exch_us``.

    Returns
    -------
    DataFrame or LazyFrame in the total order ``(ts_local_us, file_id, file_line_number)``.

    Example
    -------
    >>> query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True)  # doctest: +SKIP
    """
    return _read("trades", exchange, symbol, start, end, decoded, lazy, columns, ts_col, lake)


def quotes(
    exchange: str,
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    *,
    decoded: bool = False,
    lazy: bool = False,
    columns: Sequence[str] | None = None,
    ts_col: str = "ts_local_us",
    lake: LakeArg = None,
) -> Frame:
    """Top-of-book quotes of one instrument in ``[start, end)``; see :func:`trades` for arguments.

    ``decoded=True`` adds ``bid_px``, ``bid_qty``, ``ask_px``, ``ask_qty`` (Float64; null = empty side).
    """
    return _read("quotes", exchange, symbol, start, end, decoded, lazy, columns, ts_col, lake)


def book_snapshot_25(
    exchange: str,
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    *,
    decoded: bool = False,
    lazy: bool = False,
    columns: Sequence[str] | None = None,
    ts_col: str = "ts_local_us",
    lake: LakeArg = None,
) -> Frame:
    """Book snapshots (up to 25 levels, level 0 first) in ``[start, end)``; see :func:`trades`.

    ``decoded=True`` adds ``bids_px``, ``bids_qty``, ``asks_px``, ``asks_qty`` as ``List(Float64)``.
    """
    return _read("book_snapshot_25", exchange, symbol, start, end, decoded, lazy, columns, ts_col, lake)


def read_table(
    table: str,
    exchange: str,
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    **kwargs: object,
) -> Frame:
    """Generic form of :func:`trades` / :func:`quotes` / :func:`book_snapshot_25` by table name
    (keyword arguments as theirs; any other is an error, so a misspelt ``decode=True`` is not ignored)."""
    event_table(table)
    unknown = sorted(set(kwargs) - _READ_KEYWORDS)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(_READ_KEYWORDS), n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        raise PointlineError(
            f"read_table: unknown keyword(s) {unknown}; expected some of {sorted(_READ_KEYWORDS)}{suffix}"
        )
    return _read(
        table,
        exchange,
        symbol,
        start,
        end,
        bool(kwargs.pop("decoded", False)),
        bool(kwargs.pop("lazy", False)),
        kwargs.pop("columns", None),  # type: ignore[arg-type]
        str(kwargs.pop("ts_col", "ts_local_us")),
        kwargs.pop("lake", None),  # type: ignore[arg-type]
    )


_READ_KEYWORDS = frozenset({"decoded", "lazy", "columns", "ts_col", "lake"})


def trades_by_id(
    symbol_id: int,
    start_us: int,
    end_us: int,
    *,
    decoded: bool = True,
    lazy: bool = False,
    lake: LakeArg = None,
    table: str = "trades",
) -> Frame:
    """Events of ``table`` for ``symbol_id`` in ``[start_us, end_us)`` (ts_local_us clock)."""
    info = dim_symbol.by_id(symbol_id, lake=lake)
    return _scan(event_table(table), info, start_us, end_us, decoded, lazy, None, "ts_local_us", lake)


def _read(
    table: str,
    exchange: str,
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    decoded: bool,
    lazy: bool,
    columns: Sequence[str] | None,
    ts_col: str,
    lake: LakeArg,
) -> Frame:
    if not isinstance(exchange, str) or not isinstance(symbol, str):
        raise PointlineError(
            f"exchange and symbol must be text (e.g. 'binance-futures', 'BTCUSDT'), got {exchange!r}, {symbol!r}"
        )
    if isinstance(columns, str):  # one column name, not its characters
        columns = [columns]
    info = dim_symbol.resolve(exchange, symbol, lake=lake)
    start_us, end_us = to_us(start, name="start"), to_us(end, name="end")
    if end_us <= start_us:
        raise PointlineError(f"end ({end!r}) must be after start ({start!r}); ranges are [start, end)")
    return _scan(event_table(table), info, start_us, end_us, decoded, lazy, columns, ts_col, lake)


def _scan(
    spec: EventTable,
    info: dim_symbol.SymbolInfo,
    start_us: int,
    end_us: int,
    decoded: bool,
    lazy: bool,
    columns: Sequence[str] | None,
    ts_col: str,
    lake: LakeArg,
) -> Frame:
    if ts_col not in _TS_COLUMNS:
        raise PointlineError(f"ts_col must be one of {', '.join(_TS_COLUMNS)}, got {ts_col!r}")
    # Partitions are by the UTC date of ts_local_us; the exchange clock may sit on either side
    # of midnight, so widen by a day when filtering on it.
    slack = 0 if ts_col == "ts_local_us" else US_PER_DAY
    dates = dates_between(start_us - slack, end_us + slack)
    keep = (pl.col("symbol_id") == info.symbol_id) & (pl.col(ts_col) >= start_us) & (pl.col(ts_col) < end_us)

    def filter_needed(f: storage.DataFile) -> bool:
        # The Delta log's statistics often prove a whole file is this symbol inside the range.
        sid_lo, sid_hi = f.mins.get("symbol_id"), f.maxs.get("symbol_id")
        ts_lo, ts_hi = f.mins.get(ts_col), f.maxs.get(ts_col)
        if None in (sid_lo, sid_hi, ts_lo, ts_hi):
            return True
        return not (sid_lo == sid_hi == info.symbol_id and ts_lo >= start_us and ts_hi < end_us)

    lf = storage.scan_partitions(
        spec.name,
        lake=lake,
        exchange=info.exchange,
        dates=dates,
        row_filter=keep,
        filter_needed=filter_needed,
    )
    if lf is None:
        lf = pl.LazyFrame(schema=spec.schema).filter(keep)
    if lazy:
        lf = lf.sort(list(EVENT_ORDER))
    if decoded:
        lf = lf.with_columns(decode_expressions(spec, info.price_exp, info.qty_exp))
    if columns is not None:
        available = lf.collect_schema().names()
        missing = [c for c in columns if c not in available]
        if missing:
            raise PointlineError(
                f"unknown column(s) {missing} for table {spec.name!r}; available: {', '.join(available)}"
            )
        lf = lf.select(list(dict.fromkeys([*columns, *(c for c in EVENT_ORDER if not lazy)])))
    if lazy:
        return lf
    # Files are stored in total order, so a linear check usually saves the sort (most of a read).
    frame = sort_if_needed(lf.collect(), list(EVENT_ORDER))
    return frame.select(list(columns)) if columns is not None else frame


def decode_expressions(spec: EventTable, price_exp: int, qty_exp: int) -> list[pl.Expr]:
    """Expressions adding the Float64 decoded columns of an event table.

    Each value is the double nearest the stored decimal, i.e. what ``float(text)`` gives for the
    vendor text (see :func:`pointline.lake.encoding.decode_expr`).
    """
    exprs = []
    for column, exp in [(c, price_exp) for c in spec.price_columns] + [
        (c, qty_exp) for c in spec.qty_columns
    ]:
        decode = decode_list_expr if isinstance(spec.schema[column], pl.List) else decode_expr
        exprs.append(decode(column, exp).alias(decoded_name(column)))
    return exprs
