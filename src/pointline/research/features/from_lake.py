"""The notebook's bucket features straight from the lake, a day at a time, in parallel.

:func:`notebook_features_from_lake` is what the study's lake path runs. It cuts ``[start, end)``
into time chunks whose edges are bucket boundaries at (or just before) UTC midnights, reads each
chunk's trades with :func:`pointline.research.query.trades`, computes
:func:`~pointline.research.features.notebook.notebook_features` on it, and puts the pieces back on
one bucket grid. No bucket straddles two chunks and every feature is a function of its bucket's
trades, so the result is the frame of one pass over the whole range (tested), while memory holds
only the chunks running at once: a month of a busy symbol never sits in memory whole. Chunks of
every exchange run through one :func:`pointline.scale.executors.map_items` call, so exchanges and
days run side by side: on threads by default (a chunk is Polars reads and a Numba kernel, which
release the GIL; no start-up cost), on ``local`` worker processes, or on ``ray``.

The quote-quantity convention (``contract_size``, ``is_inverse``) comes from the instrument's current
``dim_symbol`` version unless given, as for dollar bars (``pointline.research.spines.dollar``);
metadata inferred at ingest has no contract size and counts as linear with size 1.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

import pointline
from pointline.errors import PointlineError
from pointline.lake import dim_symbol
from pointline.lake.schema import EVENT_ORDER
from pointline.research import query
from pointline.research.features.notebook import notebook_features, on_bucket_grid
from pointline.research.resample.aggregations.notebook import REQUIRED_COLUMNS
from pointline.research.timeline import US_PER_DAY, TimeLike, to_us
from pointline.scale.executors import map_items

#: Columns read from the lake: the kernel's inputs and the rest of the total order.
_COLUMNS = list(dict.fromkeys([*REQUIRED_COLUMNS, *EVENT_ORDER, "symbol_id"]))


@dataclass(frozen=True)
class Chunk:
    """One exchange's trades in ``[start_us, end_us)`` (µs, receive clock) and their quote convention."""

    exchange: str
    symbol: str
    start_us: int
    end_us: int
    contract_size: float
    is_inverse: bool


def chunk_edges(start_us: int, end_us: int, interval_us: int, chunk_us: int = US_PER_DAY) -> list[int]:
    """Edges of the chunks of ``[start_us, end_us)``: the ends, and inside them the bucket boundary
    at or before each multiple of ``chunk_us`` (UTC midnights by default).

    Example
    -------
    >>> chunk_edges(0, 3 * 86_400_000_000, 300_000_000)
    [0, 86400000000, 172800000000, 259200000000]
    >>> chunk_edges(0, 2 * 86_400_000_000, 7 * 60_000_000)  # 7-minute buckets straddle midnight
    [0, 86100000000, 172800000000]
    """
    if interval_us <= 0 or chunk_us <= 0:
        raise PointlineError(f"interval_us and chunk_us must be positive, got {interval_us}, {chunk_us}")
    edges = [start_us]
    cut = (start_us // chunk_us + 1) * chunk_us
    while cut < end_us:
        edge = cut // interval_us * interval_us
        if edge > edges[-1]:
            edges.append(edge)
        cut += chunk_us
    if end_us > edges[-1]:
        edges.append(end_us)
    return edges


def plan_chunks(
    exchanges: Sequence[str],
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    *,
    interval_us: int,
    contract_size: float | None = None,
    is_inverse: bool | None = None,
    chunk_us: int = US_PER_DAY,
    lake: str | Path | None = None,
) -> list[Chunk]:
    """The chunks :func:`notebook_features_from_lake` reads, exchange by exchange, oldest first.

    Raises
    ------
    SymbolNotFoundError
        An exchange does not list ``symbol`` (with the closest matches).
    """
    start_us, end_us = to_us(start, name="start"), to_us(end, name="end")
    if end_us <= start_us:
        raise PointlineError(f"empty time range: start {start!r} is not before end {end!r}")
    edges = chunk_edges(start_us, end_us, interval_us, chunk_us)
    chunks = []
    for exchange in exchanges:
        info = dim_symbol.resolve(exchange, symbol, lake=lake)
        size = contract_size if contract_size is not None else (info.contract_size or 1.0)
        inverse = is_inverse if is_inverse is not None else info.is_inverse
        chunks += [
            Chunk(exchange, info.symbol, a, b, float(size), bool(inverse))
            for a, b in itertools.pairwise(edges)
        ]
    return chunks


def chunk_features(chunk: Chunk, *, interval_us: int, notebook_compatible: bool, lake: str) -> pl.DataFrame:
    """:func:`notebook_features` of one chunk's trades (a module-level function: it travels to
    worker processes and Ray tasks by reference)."""
    trades = query.trades(
        chunk.exchange,
        chunk.symbol,
        chunk.start_us,
        chunk.end_us,
        decoded=True,
        columns=_COLUMNS,
        lake=lake,
    )
    return notebook_features(
        trades,
        interval_us=interval_us,
        notebook_compatible=notebook_compatible,
        contract_size=chunk.contract_size,
        is_inverse=chunk.is_inverse,
    )


def notebook_features_from_lake(
    exchanges: str | Sequence[str],
    symbol: str,
    start: TimeLike,
    end: TimeLike,
    *,
    interval_us: int = 300_000_000,
    notebook_compatible: bool = False,
    contract_size: float | None = None,
    is_inverse: bool | None = None,
    executor: str = "threads",
    max_workers: int | None = None,
    chunk_us: int = US_PER_DAY,
    lake: str | Path | None = None,
) -> dict[str, pl.DataFrame]:
    """:func:`~pointline.research.features.notebook.notebook_features` of each exchange's trades of
    ``symbol`` in ``[start, end)``, computed a chunk (default: a UTC day) at a time.

    Parameters
    ----------
    exchanges
        One exchange or several (one frame each, in this order).
    symbol
        Exchange-native symbol, matched exactly (case-insensitive) on every exchange.
    start, end
        Half-open range on the receive clock: µs ints, ISO dates or datetimes (UTC); a date-only
        ``end`` excludes that day, as in :func:`pointline.research.query.trades`.
    interval_us
        Bucket width in µs (UTC-aligned buckets, default 5 minutes).
    notebook_compatible
        As in ``notebook_features``: the notebook's frame (bucket-start labels, buckets with fewer
        than 2 trades dropped) or, by default, point-in-time rows on the full bucket grid from the
        first to the last bucket with trades.
    contract_size, is_inverse
        Quote-quantity convention; ``None`` takes each instrument's from ``dim_symbol``.
    executor, max_workers
        Where the chunks run (:func:`pointline.scale.executors.map_items`) and how many at once.
        Each running chunk holds one chunk of trades in memory.
    chunk_us
        Chunk length in µs (edges move back to the bucket boundary at or before each multiple).
    lake
        Lake root (default: :func:`pointline.get_lake`); resolved here, so workers read the same lake.

    Returns
    -------
    dict[str, pl.DataFrame]
        ``{exchange: frame}``, each frame as ``notebook_features`` returns it for the whole range.
        An exchange without trades in the range gets an empty frame.

    Example
    -------
    >>> frames = notebook_features_from_lake(["binance-futures", "bybit"], "BTCUSDT",
    ...                                      "2024-05-01", "2024-05-04")  # doctest: +SKIP
    >>> frames["bybit"].select("ts", "vol_imbalance", "trade_count")  # doctest: +SKIP
    """
    names = [exchanges] if isinstance(exchanges, str) else list(exchanges)
    root = str(pointline.get_lake(lake))
    chunks = plan_chunks(
        names,
        symbol,
        start,
        end,
        interval_us=interval_us,
        contract_size=contract_size,
        is_inverse=is_inverse,
        chunk_us=chunk_us,
        lake=root,
    )
    task = functools.partial(
        chunk_features, interval_us=interval_us, notebook_compatible=notebook_compatible, lake=root
    )
    pieces, _ = map_items(task, chunks, executor=executor, max_workers=max_workers)
    out = {}
    for name in names:
        mine = [p for c, p in zip(chunks, pieces, strict=True) if c.exchange == name and p.height]
        if not mine:
            out[name] = pieces[0].clear()
        elif notebook_compatible:
            out[name] = pl.concat(mine)
        else:
            out[name] = on_bucket_grid(pl.concat(mine), interval_us)
    return out
