"""The instrument dimension ``dim_symbol`` (SCD type 2, DESIGN.md §3).

One stable ``symbol_id`` per ``(exchange, symbol)``, derived from a hash of the names, so ids agree
across lakes and machines. A change of instrument metadata (tick, lot or contract size) opens a new
version row with the same id and the same exponents; the previous version gets ``valid_until_us``.
Validity is on the ``ts_local_us`` clock (µs since the epoch) of the events that brought the change.

The table is small and unpartitioned; every change rewrites it whole in one Delta commit.

Example
-------
>>> info = resolve("binance-futures", "btcusdt")  # doctest: +SKIP
>>> info.symbol_id == symbol_id_for("binance-futures", "BTCUSDT")  # doctest: +SKIP
True
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import polars as pl

from pointline.errors import SymbolNotFoundError
from pointline.lake import storage

TABLE = "dim_symbol"
LakeArg = str | os.PathLike[str] | None

ASSET_TYPES = ("spot", "perpetual", "future", "option")

SCHEMA: dict[str, pl.DataType] = {
    "symbol_id": pl.Int64(),
    "exchange": pl.Utf8(),
    "symbol": pl.Utf8(),
    "base_asset": pl.Utf8(),
    "quote_asset": pl.Utf8(),
    "asset_type": pl.Utf8(),
    "tick_size": pl.Float64(),
    "lot_size": pl.Float64(),
    "contract_size": pl.Float64(),
    "is_inverse": pl.Boolean(),
    "price_exp": pl.Int32(),
    "qty_exp": pl.Int32(),
    "metadata_source": pl.Utf8(),
    "valid_from_us": pl.Int64(),
    "valid_until_us": pl.Int64(),
    "is_current": pl.Boolean(),
}

#: Metadata whose change opens a new version.
VERSIONED_FIELDS = ("tick_size", "lot_size", "contract_size")


def symbol_id_for(exchange: str, symbol: str) -> int:
    """Deterministic positive Int64 id of ``(exchange, symbol)``, case-insensitive.

    The first 8 bytes of ``blake2b(lower(exchange) + "\\x1f" + lower(symbol))``, top bit cleared.

    Example
    -------
    >>> symbol_id_for("binance-futures", "BTCUSDT") == symbol_id_for("Binance-Futures", "btcusdt")
    True
    """
    key = f"{exchange.lower()}\x1f{symbol.lower()}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    value = int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF
    return value or 1


@dataclass(frozen=True)
class SymbolInfo:
    """One version of one instrument (a ``dim_symbol`` row).

    ``tick_size`` / ``lot_size`` in quote / base units, ``contract_size`` in base units per contract
    (USD per contract for inverse contracts). ``valid_from_us`` / ``valid_until_us`` are µs on the
    ``ts_local_us`` clock; ``valid_until_us = None`` means open.
    """

    symbol_id: int
    exchange: str
    symbol: str
    base_asset: str | None
    quote_asset: str | None
    asset_type: str
    tick_size: float | None
    lot_size: float | None
    contract_size: float | None
    is_inverse: bool
    price_exp: int
    qty_exp: int
    metadata_source: str
    valid_from_us: int
    valid_until_us: int | None = None
    is_current: bool = True


def read_dim_symbol(lake: LakeArg = None, current_only: bool = True) -> pl.DataFrame:
    """The ``dim_symbol`` table (an empty frame with the schema when nothing was ingested).

    Parameters
    ----------
    lake
        Lake location (default: :func:`pointline.get_lake`).
    current_only
        Only the open version of each instrument.

    Returns
    -------
    DataFrame with the columns of :data:`SCHEMA`, sorted by ``exchange, symbol, valid_from_us``.

    Example
    -------
    >>> read_dim_symbol().select("exchange", "symbol", "price_exp")  # doctest: +SKIP
    """
    df = _read_cached(lake)
    if df is None:
        return pl.DataFrame(schema=SCHEMA)
    if current_only:
        df = df.filter(pl.col("is_current"))
    return df.sort("exchange", "symbol", "valid_from_us")


#: ``(table uri, newest Delta log entry)`` → table, for local lakes. Every query resolves its
#: symbol; re-reading the Delta table each time cost more than reading a day of trades' keys.
_CACHE: dict[str, tuple[str, pl.DataFrame]] = {}


def _read_cached(lake: LakeArg) -> pl.DataFrame | None:
    uri = storage.table_uri(TABLE, lake)
    log = Path(uri) / "_delta_log"
    stamp = _newest_commit(log) if "://" not in uri and log.is_dir() else None
    if stamp is not None and uri in _CACHE and _CACHE[uri][0] == stamp:
        return _CACHE[uri][1]
    df = storage.read_all(TABLE, lake=lake)
    if df is None:
        return None
    df = df.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
    if stamp:  # a commit always adds a newer log entry, which changes the stamp
        _CACHE[uri] = (stamp, df)
    return df


def _newest_commit(log: Path) -> str:
    """Name of the newest commit file in ``log`` (zero-padded ``<version>.json``, so the largest).

    Only commit files count: checkpoints and ``_last_checkpoint`` (which sorts after every digit)
    appear without a commit of their own and would freeze the stamp.
    """
    return max((n for n in os.listdir(log) if n[:1].isdigit() and n.endswith(".json")), default="")


def resolve(exchange: str, symbol: str, lake: LakeArg = None) -> SymbolInfo:
    """The current version of ``(exchange, symbol)``; exact match, case-insensitive, never a substring.

    Raises
    ------
    SymbolNotFoundError
        With the closest symbols on that exchange (and the exchanges listing that symbol).

    Example
    -------
    >>> resolve("binance-futures", "btcusdt").symbol  # doctest: +SKIP
    'BTCUSDT'
    """
    df = read_dim_symbol(lake, current_only=True)
    hit = df.filter(pl.col("symbol_id") == symbol_id_for(exchange, symbol))
    if hit.height:
        return _row_to_info(hit.row(0, named=True))
    raise SymbolNotFoundError(_not_found_message(df, exchange, symbol))


def by_id(symbol_id: int, lake: LakeArg = None) -> SymbolInfo:
    """The current version of the instrument with ``symbol_id``.

    Example
    -------
    >>> by_id(symbol_id_for("binance-futures", "BTCUSDT")).exchange  # doctest: +SKIP
    'binance-futures'
    """
    df = read_dim_symbol(lake, current_only=True).filter(pl.col("symbol_id") == symbol_id)
    if df.height == 0:
        raise SymbolNotFoundError(
            f"no instrument with symbol_id {symbol_id} in the lake; ingest data for it first "
            "or look ids up with pointline.research.list_symbols()"
        )
    return _row_to_info(df.row(0, named=True))


def history(exchange: str, symbol: str, lake: LakeArg = None) -> list[SymbolInfo]:
    """All versions of one instrument, oldest first (empty when unknown)."""
    df = read_dim_symbol(lake, current_only=False).filter(
        pl.col("symbol_id") == symbol_id_for(exchange, symbol)
    )
    return [_row_to_info(row) for row in df.iter_rows(named=True)]


def upsert(
    candidates: Iterable[SymbolInfo], *, lake: LakeArg = None, writer: storage.LakeWriter | None = None
) -> dict[int, SymbolInfo]:
    """Add new instruments and version changed metadata; return the current version per id.

    Rules: an unknown id is inserted as given. A known id keeps its exponents for life; only a
    candidate with ``metadata_source != "inferred"`` whose tick, lot or contract size differs from
    the current version opens a new version, valid from ``max(candidate.valid_from_us,
    current.valid_from_us)``. Inferred candidates never change a known instrument.
    Writes at most one Delta commit (the table is rewritten whole).

    Parameters
    ----------
    candidates
        Proposed rows (``symbol_id`` must equal :func:`symbol_id_for` of the names).
    writer
        Commit through this open :class:`~pointline.lake.storage.LakeWriter` (an ingest run's).

    Returns
    -------
    ``{symbol_id: SymbolInfo}`` with the version in force after the call.
    """
    df = read_dim_symbol(lake, current_only=False)
    rows = df.to_dicts()
    current = {r["symbol_id"]: i for i, r in enumerate(rows) if r["is_current"]}
    out: dict[int, SymbolInfo] = {}
    changed = False
    for cand in candidates:
        if cand.symbol_id != symbol_id_for(cand.exchange, cand.symbol):
            raise ValueError(f"symbol_id of {cand.exchange}/{cand.symbol} must come from symbol_id_for()")
        if cand.asset_type not in ASSET_TYPES:
            raise ValueError(f"asset_type must be one of {ASSET_TYPES}, got {cand.asset_type!r}")
        index = current.get(cand.symbol_id)
        if index is None:
            rows.append(asdict(replace(cand, valid_until_us=None, is_current=True)))
            current[cand.symbol_id] = len(rows) - 1
            changed = True
        else:
            old = rows[index]
            differs = any(_differs(old[f], getattr(cand, f)) for f in VERSIONED_FIELDS)
            if cand.metadata_source != "inferred" and differs:
                start = max(cand.valid_from_us, old["valid_from_us"] + 1)
                rows[index] = {**old, "valid_until_us": start, "is_current": False}
                new = replace(
                    cand,
                    symbol=old["symbol"],
                    price_exp=old["price_exp"],
                    qty_exp=old["qty_exp"],
                    valid_from_us=start,
                    valid_until_us=None,
                    is_current=True,
                )
                rows.append(asdict(new))
                current[cand.symbol_id] = len(rows) - 1
                changed = True
        out[cand.symbol_id] = _row_to_info(rows[current[cand.symbol_id]])
    if changed:
        table = pl.DataFrame(rows, schema=SCHEMA).sort("exchange", "symbol", "valid_from_us")
        storage.append(TABLE, table, lake=lake, overwrite=True, writer=writer)
    return out


def _differs(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return abs(old - new) > 1e-12 * max(abs(old), abs(new))


def _row_to_info(row: dict[str, object]) -> SymbolInfo:
    return SymbolInfo(**row)  # type: ignore[arg-type]


def _not_found_message(df: pl.DataFrame, exchange: str, symbol: str) -> str:
    on_exchange = df.filter(pl.col("exchange").str.to_lowercase() == exchange.lower())
    parts = [f"no instrument {symbol!r} on exchange {exchange!r} (lookup is exact, case-insensitive)."]
    if on_exchange.height == 0:
        known = sorted(set(df["exchange"].to_list()))
        parts.append(f"Exchanges in the lake: {', '.join(known) or 'none (nothing ingested yet)'}.")
    else:
        names = on_exchange["symbol"].to_list()
        by_lower = {n.lower(): n for n in names}
        close = difflib.get_close_matches(symbol.lower(), list(by_lower), n=5, cutoff=0.5)
        if close:
            parts.append(f"Close matches: {', '.join(by_lower[c] for c in close)}.")
    elsewhere = df.filter(pl.col("symbol").str.to_lowercase() == symbol.lower())["exchange"].to_list()
    if elsewhere:
        parts.append(f"{symbol!r} exists on: {', '.join(sorted(elsewhere))}.")
    return " ".join(parts)
