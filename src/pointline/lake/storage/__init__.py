"""The one package that touches Delta Lake (delta-rs): tables by name, writes, pruned scans.

Everything else asks for tables by name; nothing outside this package builds a table path.
A call to :func:`append` is one Delta commit: it lands whole or not at all.

Many commits in a row (an ingest run: several per file) go through one :class:`LakeWriter`, which keeps
each table open instead of reopening it per commit. Opening a Delta table lists ``_delta_log`` and
replays every commit since the last checkpoint, and a commit from an open handle re-lists the log from
the handle's own checkpoint, so per-commit cost grows with the commits since then: the writer therefore
checkpoints every :data:`CHECKPOINT_EVERY` versions and reopens the handle on that checkpoint.

Modules: :mod:`~pointline.lake.storage.tables` (where a table lives, opening it, its version),
:mod:`~pointline.lake.storage.writer` (commits: :func:`append`, :func:`delete_where`,
:class:`LakeWriter`), :mod:`~pointline.lake.storage.maintenance` (:func:`vacuum`) and
:mod:`~pointline.lake.storage.scan` (the data files of a table pruned by
exchange, date and Delta statistics, and lazy scans of them). Import from the package.
"""

from pointline.lake.storage.maintenance import Vacuumed, vacuum
from pointline.lake.storage.scan import (
    DataFile,
    data_files,
    file_stats,
    partition_files,
    scan_partitions,
    value_ranges,
)
from pointline.lake.storage.tables import (
    LakeArg,
    arrow_dataset,
    open_table,
    read_all,
    table_uri,
    table_version,
)
from pointline.lake.storage.writer import CHECKPOINT_EVERY, LakeWriter, StagedAppend, append, delete_where

__all__ = [
    "CHECKPOINT_EVERY",
    "DataFile",
    "LakeArg",
    "LakeWriter",
    "StagedAppend",
    "Vacuumed",
    "append",
    "arrow_dataset",
    "data_files",
    "delete_where",
    "file_stats",
    "open_table",
    "partition_files",
    "read_all",
    "scan_partitions",
    "table_uri",
    "table_version",
    "vacuum",
    "value_ranges",
]
