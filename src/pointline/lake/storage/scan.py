"""The data files of an event table pruned by exchange, date and Delta statistics, and lazy scans."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pointline.lake.storage.tables import LakeArg, add_actions, reading
from pointline.lake.storage.writer import LakeWriter


@dataclass(frozen=True)
class DataFile:
    """One data file of a partitioned table: partition values, absolute uri, and the per-column
    ``min`` / ``max`` statistics recorded in the Delta log (absent when not recorded)."""

    values: dict[str, str | None]
    uri: str
    mins: dict[str, Any]
    maxs: dict[str, Any]


def data_files(
    table: str,
    *,
    lake: str | os.PathLike[str] | None = None,
    exchange: str | None = None,
    dates: Iterable[dt.date] | None = None,
) -> list[DataFile]:
    """Data files of ``table`` pruned by exchange and date, in (exchange, date, path) order.

    The partition filter runs on the Arrow columns of the add actions: only the files kept become
    Python objects (a table holds a file per instrument and day ingested: tens of thousands).
    """
    with reading(table, lake) as dt_:
        if dt_ is None:
            return []
        actions = add_actions(dt_)
        root = dt_.table_uri.rstrip("/")
    names = actions.column_names
    rows = actions.select([n for n in names if n == "path" or n.startswith(("partition.", "min.", "max."))])
    if (exchange is not None and "partition.exchange" not in names) or (
        dates is not None and "partition.date" not in names
    ):
        return []  # asked to prune by a partition the table does not have: nothing matches
    keep = None
    if exchange is not None:
        keep = pc.equal(rows.column("partition.exchange"), exchange)
    if dates is not None:
        days = rows.column("partition.date")
        wanted = (
            pa.array(sorted(set(dates)), type=pa.date32())
            if pa.types.is_date(days.type)
            else pa.array(sorted({d.isoformat() for d in dates}), type=days.type)
        )
        in_dates = pc.is_in(days, value_set=wanted)
        keep = in_dates if keep is None else pc.and_(keep, in_dates)
    if keep is not None:
        rows = rows.filter(pc.fill_null(keep, False))
    out: list[DataFile] = []
    for row in rows.to_pylist():
        day = row.get("partition.date")
        day_text = day.isoformat() if isinstance(day, dt.date) else (None if day is None else str(day))
        ex = row.get("partition.exchange")
        mins = {k[4:]: v for k, v in row.items() if k.startswith("min.") and v is not None}
        maxs = {k[4:]: v for k, v in row.items() if k.startswith("max.") and v is not None}
        out.append(DataFile({"exchange": ex, "date": day_text}, _join(root, row["path"]), mins, maxs))
    out.sort(key=lambda f: (f.values["exchange"] or "", f.values["date"] or "", f.uri))
    return out


def value_ranges(
    table: str, column: str, *, lake: LakeArg = None, writer: LakeWriter | None = None
) -> list[tuple[Any, Any]]:
    """``(min, max)`` of ``column`` in each data file of ``table``, from the Delta statistics
    (``(None, None)`` for a file without them; empty when the table does not exist). Through
    ``writer``'s open handle when given."""
    actions = file_stats(table, lake=lake, writer=writer)
    if actions is None:
        return []
    names = set(actions.column_names)
    lows = actions.column(f"min.{column}").to_pylist() if f"min.{column}" in names else [None] * len(actions)
    highs = actions.column(f"max.{column}").to_pylist() if f"max.{column}" in names else [None] * len(actions)
    return list(zip(lows, highs, strict=True))


def file_stats(table: str, *, lake: LakeArg = None, writer: LakeWriter | None = None) -> pa.Table | None:
    """One row per data file of ``table``: ``path``, ``partition.<column>``, ``min.<column>``,
    ``max.<column>``, ``null_count.<column>`` (the Delta add actions, flattened); ``None`` when the
    table does not exist. Through ``writer``'s open handle when given."""
    if writer is not None:
        handle = writer.table(table)
        return None if handle is None else add_actions(handle)
    with reading(table, lake) as handle:
        return None if handle is None else add_actions(handle)


def partition_files(
    table: str,
    *,
    lake: str | os.PathLike[str] | None = None,
    exchange: str | None = None,
    dates: Iterable[dt.date] | None = None,
) -> list[tuple[dict[str, str | None], str]]:
    """Data files of ``table`` with their partition values, pruned by exchange and date.

    Returns ``[(partition_values, absolute_uri), ...]`` in (exchange, date, path) order.
    """
    return [(f.values, f.uri) for f in data_files(table, lake=lake, exchange=exchange, dates=dates)]


def scan_partitions(
    table: str,
    *,
    lake: str | os.PathLike[str] | None = None,
    exchange: str | None = None,
    dates: Iterable[dt.date] | None = None,
    columns: Sequence[str] | None = None,
    row_filter: pl.Expr | None = None,
    filter_needed: Callable[[DataFile], bool] | None = None,
) -> pl.LazyFrame | None:
    """Lazily scan the pruned partitions of an event table (``None`` when nothing matches).

    Partition columns (``exchange``, ``date``) are not stored in Delta data files; they are
    re-attached here (``date`` is the UTC date of ``ts_local_us``, the partitioning rule).
    ``row_filter`` is applied to the files ``filter_needed`` says may hold rows it drops (every
    file when not given): a file whose statistics prove every row passes is read unfiltered.
    """
    files = data_files(table, lake=lake, exchange=exchange, dates=dates)
    if not files:
        return None
    # One scan per run of consecutive files of one exchange that do (or do not) need the row
    # filter, usually one to three: Polars reads a scan's files in parallel under one plan, about
    # 3x a concat of one scan per partition.
    runs: list[tuple[tuple[str | None, bool], list[DataFile]]] = []
    for f in files:
        key = (f.values["exchange"], row_filter is not None and (filter_needed is None or filter_needed(f)))
        if runs and runs[-1][0] == key:
            runs[-1][1].append(f)
        else:
            runs.append((key, [f]))
    parts = [_scan_run(group, ex, row_filter if needed else None, columns) for (ex, needed), group in runs]
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")


def _scan_run(
    files: list[DataFile], exchange: str | None, row_filter: pl.Expr | None, columns: Sequence[str] | None
) -> pl.LazyFrame:
    """Scan files of one exchange. ``date`` is the partition key, the UTC date of ``ts_local_us``
    (as ingestion writes it): a literal for a run of one day, else computed rather than attached
    file by file."""
    lf = pl.scan_parquet([f.uri for f in files])
    if row_filter is not None:
        lf = lf.filter(row_filter)
    days = {f.values["date"] for f in files}
    date = (
        pl.lit(dt.date.fromisoformat(days.pop()), dtype=pl.Date)
        if len(days) == 1 and None not in days
        else pl.from_epoch("ts_local_us", time_unit="us").dt.date()
    )
    lf = lf.with_columns(pl.lit(exchange, dtype=pl.Utf8).alias("exchange"), date.alias("date"))
    return lf if columns is None else lf.select(list(columns))


def _join(root: str, path: str) -> str:
    if "://" in path or path.startswith("/"):
        return path
    if root.startswith("file://"):
        root = root[len("file://") :]
    return f"{root}/{path}"
