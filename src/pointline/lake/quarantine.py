"""Rows an ingest rejected, with where they came from and why (``_quarantine``, DESIGN.md §3).

Columns: ``file_id`` Int32, ``path`` Utf8, ``file_line_number`` Int32 (1-based physical line in the
file, the header being line 1), ``table`` Utf8, ``reason`` Utf8 (``unparseable``, ``non_positive``,
``crossed``, ``unknown_side``, ``precision``, ``overflow``), ``raw`` Utf8 (the row's fields as read,
joined by commas; empty fields stay empty).
"""

from __future__ import annotations

import os

import polars as pl

from pointline.lake import storage

TABLE = "_quarantine"
LakeArg = str | os.PathLike[str] | None

SCHEMA: dict[str, pl.DataType] = {
    "file_id": pl.Int32(),
    "path": pl.Utf8(),
    "file_line_number": pl.Int32(),
    "table": pl.Utf8(),
    "reason": pl.Utf8(),
    "raw": pl.Utf8(),
}


def append_rows(
    rows: pl.DataFrame, lake: LakeArg = None, writer: storage.LakeWriter | None = None
) -> int | None:
    """Append quarantined rows (columns of :data:`SCHEMA`) in one commit; ``None`` when empty."""
    if rows.height == 0:
        return None
    typed = rows.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
    return storage.append(TABLE, typed, lake=lake, writer=writer)


def read_quarantine(lake: LakeArg = None, file_id: int | None = None) -> pl.DataFrame:
    """Quarantined rows, optionally of one file, ordered by ``file_id, file_line_number``.

    Example
    -------
    >>> read_quarantine().group_by("reason").len()  # doctest: +SKIP
    """
    df = storage.read_all(TABLE, lake=lake)
    if df is None:
        return pl.DataFrame(schema=SCHEMA)
    if file_id is not None:
        df = df.filter(pl.col("file_id") == file_id)
    return df.select(list(SCHEMA)).sort("file_id", "file_line_number")


def delete_file(file_id: int, lake: LakeArg = None, writer: storage.LakeWriter | None = None) -> int:
    """Remove a file's quarantined rows (crash recovery); returns the number deleted."""
    return storage.delete_where(TABLE, f"file_id = {int(file_id)}", lake=lake, writer=writer)
