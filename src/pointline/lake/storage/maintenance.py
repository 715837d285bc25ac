"""Vacuum: delete the data files no version of a table needs any more.

Two kinds of files accumulate beside a table's live files:

- files a delete or compaction removed from the table (kept so older versions still read: time
  travel, ``--version trades=12``);
- files no version ever referenced: the Parquet files of an ingest killed outright (SIGKILL, out of
  memory) between writing a file's batches and its one commit. A failure or Ctrl-C deletes them
  itself; a hard kill cannot.

:func:`vacuum` deletes both once they are older than the retention (default: the table's
``delta.deletedFileRetentionDuration``, else a week), as Delta's VACUUM does: a version older than
the retention may then no longer be readable. Run it when no ingest is writing the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pointline.lake.storage.tables import LakeArg, open_table, table_uri
from pointline.lake.storage.writer import _HOOKS


@dataclass(frozen=True)
class Vacuumed:
    """What :func:`vacuum` deleted (or, on a dry run, would delete) from one table."""

    table: str
    files: list[str]
    bytes: int


def vacuum(
    table: str, *, lake: LakeArg = None, retention_hours: float | None = None, dry_run: bool = False
) -> Vacuumed:
    """Delete the files of ``table`` that no version within the retention needs (see the module
    docstring); the files and their total size. A table that was never written deletes nothing.

    Parameters
    ----------
    retention_hours
        Keep files removed (or written) less than this many hours ago; ``None``: the table's
        ``delta.deletedFileRetentionDuration``, else 168 (a week). Shorter than the table's own
        setting is allowed: the caller asked for it.
    dry_run
        List the files without deleting them.

    Example
    -------
    >>> vacuum("trades", dry_run=True).files  # doctest: +SKIP
    ['exchange=bybit/date=2024-05-01/part-00003-….snappy.parquet']
    """
    handle = open_table(table, lake)
    if handle is None:
        return Vacuumed(table, [], 0)
    hours = None if retention_hours is None else max(0, round(retention_hours))
    listed = handle.vacuum(
        retention_hours=hours,
        dry_run=True,
        enforce_retention_duration=False,
        full=True,
    )
    root = Path(table_uri(table, lake))
    size = (
        sum((root / f).stat().st_size for f in listed if (root / f).is_file())
        if "://" not in str(root)
        else 0
    )
    if dry_run or not listed:
        return Vacuumed(table, sorted(listed), size)
    deleted = handle.vacuum(
        retention_hours=hours,
        dry_run=False,
        enforce_retention_duration=False,
        full=True,
        post_commithook_properties=_HOOKS,
    )
    return Vacuumed(table, sorted(deleted), size)
