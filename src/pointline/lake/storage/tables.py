"""Where a table lives in the lake, opening it, its version, reading a small one whole.

Readers go through :func:`reading`: a per-process cache of open handles of local tables, brought
up to date before each use. Opening a Delta table replays its log from the last checkpoint and
builds the list of every file it holds, which grows with the table (about 20 ms at 1,000 files);
bringing an open handle up to date reads only the new log entries (about 3 ms). A handle whose
table was deleted or rewritten under it (its current log entry gone or changed) is reopened.
Writers keep their own handles (:class:`~pointline.lake.storage.LakeWriter`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from pointline.config import get_lake

LakeArg = str | os.PathLike[str] | None


def table_uri(table: str, lake: str | os.PathLike[str] | None = None) -> str:
    """URI of ``table`` inside the lake (a local path or object-store URI)."""
    root = get_lake(lake)
    return f"{root}/{table}"


def open_table(table: str, lake: str | os.PathLike[str] | None = None) -> DeltaTable | None:
    """The Delta table, or ``None`` when it has never been written."""
    uri = table_uri(table, lake)
    if "://" not in uri and not (Path(uri) / "_delta_log").is_dir():
        return None
    try:
        return DeltaTable(uri)
    except TableNotFoundError:
        return None


def table_version(table: str, lake: str | os.PathLike[str] | None = None) -> int | None:
    """Current Delta version of ``table`` (``None`` if it does not exist)."""
    with reading(table, lake) as dt_:
        return None if dt_ is None else dt_.version()


def read_all(table: str, *, lake: str | os.PathLike[str] | None = None) -> pl.DataFrame | None:
    """Read a whole (small) table eagerly, or ``None`` if it does not exist."""
    with reading(table, lake) as dt_:
        if dt_ is None:
            return None
        return pl.from_arrow(dt_.to_pyarrow_table())  # type: ignore[return-value]


#: Open handles kept for readers (least recently used dropped first).
READ_CACHE_SIZE = 64


@dataclass
class _Cached:
    handle: DeltaTable
    #: ``(st_ino, st_mtime_ns)`` of the log entry of the handle's version when it was read.
    entry: tuple[int, int] | None
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: OrderedDict[str, _Cached] = OrderedDict()
_CACHE_LOCK = threading.Lock()


@contextmanager
def reading(table: str, lake: str | os.PathLike[str] | None = None) -> Iterator[DeltaTable | None]:
    """The table at its latest version for reading, or ``None`` when it has never been written.

    Local tables come from the per-process cache (see the module docstring); the handle is held for
    this block only, by one thread at a time. Object-store tables are opened fresh.

    Example
    -------
    >>> with reading("trades") as handle:  # doctest: +SKIP
    ...     files = handle.file_uris() if handle is not None else []
    """
    uri = table_uri(table, lake)
    if "://" in uri:
        yield open_table(table, lake)
        return
    with _CACHE_LOCK:
        cached = _CACHE.get(uri)
        if cached is not None:
            _CACHE.move_to_end(uri)
    opened = cached is None
    if cached is None:
        handle = open_table(table, lake)
        if handle is None:
            yield None
            return
        cached = _Cached(handle, None)
        with _CACHE_LOCK:
            _CACHE[uri] = cached
            while len(_CACHE) > READ_CACHE_SIZE:
                _CACHE.popitem(last=False)
    with cached.lock:
        if opened:
            pass  # just opened: already at the latest version
        elif cached.entry is None or _log_entry(uri, cached.handle.version()) != cached.entry:
            fresh = open_table(table, lake)  # deleted or rewritten under the handle
            if fresh is None:
                with _CACHE_LOCK:
                    _CACHE.pop(uri, None)
                yield None
                return
            cached.handle = fresh
        else:
            cached.handle.update_incremental()
        cached.entry = _log_entry(uri, cached.handle.version())
        yield cached.handle


def _log_entry(uri: str, version: int) -> tuple[int, int] | None:
    try:
        st = (Path(uri) / "_delta_log" / f"{version:020d}.json").stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
