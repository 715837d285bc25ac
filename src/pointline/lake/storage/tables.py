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
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
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
        return pl.from_arrow(_dataset(dt_).to_table())  # type: ignore[return-value]


def arrow_dataset(
    table: str, lake: str | os.PathLike[str] | None = None, *, version: int | None = None
) -> pads.Dataset | None:
    """The files of ``table`` at ``version`` (default: the latest) as an Arrow dataset, or ``None``
    when the table has never been written. Filters on partition columns prune files.

    Raises
    ------
    ValueError
        ``version`` is not one of the table's versions.
    """
    if version is None:
        with reading(table, lake) as handle:
            return None if handle is None else _dataset(handle)
    handle = open_table(table, lake)
    if handle is None:
        return None
    if not 0 <= version <= handle.version():
        raise ValueError(f"{table} has versions 0..{handle.version()}, not {version}")
    handle.load_as_version(version)
    return _dataset(handle)


def _dataset(handle: DeltaTable) -> pads.Dataset:
    """A local table's files read with Arrow's own file system, each file known by its partition
    values only; an object-store table through delta-rs.

    Two reasons not to use delta-rs's ``to_pyarrow_dataset`` / ``to_pyarrow_table`` locally: they
    read through a Python file-system handler whose scanner threads can outlive the interpreter, so
    a script ends in ``terminate called without an active exception`` (exit 134; apache/arrow#34314;
    3 runs in 12 here); and they turn each file's statistics into guarantees, a column with no
    min/max becoming ``column >= null``, which hides the file from every filter on that column.
    """
    uri = handle.table_uri
    if "://" in uri and not uri.startswith("file://"):
        return handle.to_pyarrow_dataset()
    root = uri.removeprefix("file://").rstrip("/")
    schema = pa.schema(handle.schema().to_arrow())
    partitions = handle.metadata().partition_columns
    actions = add_actions(handle)
    parquet, local = pads.ParquetFileFormat(), pafs.LocalFileSystem()
    fragments = []
    for row in actions.select(["path", *[f"partition.{c}" for c in partitions]]).to_pylist():
        known = pc.scalar(True)
        for column in partitions:
            value, field = row[f"partition.{column}"], pc.field(column)
            typed = None if value is None else pa.scalar(value).cast(schema.field(column).type)
            known = known & (field.is_null() if typed is None else field == typed)
        path = unquote(row["path"].removeprefix("file://"))
        path = path if path.startswith("/") else f"{root}/{path}"
        fragments.append(parquet.make_fragment(path, filesystem=local, partition_expression=known))
    return pads.FileSystemDataset(fragments, schema, parquet, local)


def add_actions(handle: DeltaTable) -> pa.Table:
    """The table's add actions (one row per data file; partition values and statistics flattened)."""
    actions = handle.get_add_actions(flatten=True)
    return actions if isinstance(actions, pa.Table) else pa.table(actions)


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
