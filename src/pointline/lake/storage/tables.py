"""Where a table lives in the lake, opening it, its version, reading a small one whole."""

from __future__ import annotations

import os
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
    dt_ = open_table(table, lake)
    return None if dt_ is None else dt_.version()


def read_all(table: str, *, lake: str | os.PathLike[str] | None = None) -> pl.DataFrame | None:
    """Read a whole (small) table eagerly, or ``None`` if it does not exist."""
    dt_ = open_table(table, lake)
    if dt_ is None:
        return None
    return pl.from_arrow(dt_.to_pyarrow_table())  # type: ignore[return-value]
