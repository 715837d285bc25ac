"""Commits: each :func:`append` or :func:`delete_where` is one Delta commit, whole or not at all.

Many commits in a row (an ingest run: several per file) go through one :class:`LakeWriter`, which
keeps each table open and checkpoints every :data:`CHECKPOINT_EVERY` versions (see the package
docstring). Partitioned appends to a local table write their Parquet files with Polars and, when
the table's protocol allows, their log entry directly (:func:`_append_commit`): a delta-rs commit
costs time in proportion to the files the table already holds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, PostCommitHookProperties, Schema, WriterProperties, write_deltalake
from deltalake.transaction import AddAction, create_table_with_add_actions

from pointline.lake.storage.tables import LakeArg, open_table, table_uri

#: A :class:`LakeWriter` writes a checkpoint whenever a table's version crosses a multiple of this,
#: so opening a table or committing replays at most this many commits (delta-rs's default is 100).
CHECKPOINT_EVERY = 20
#: A checkpoint rewrites the state of every file of the table, so a large table checkpoints less
#: often: every ``max(CHECKPOINT_EVERY, files // CHECKPOINT_FILES_PER_COMMIT)`` versions, which keeps
#: a commit's share of checkpoint work near that of this many files.
CHECKPOINT_FILES_PER_COMMIT = 50

#: The writer's commits take no checkpoint of their own (it does, see above) and leave expired-log
#: cleanup, a listing of the whole log, to :meth:`LakeWriter.close` (once instead of per commit).
_HOOKS = PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False)


def append(
    table: str,
    df: pl.DataFrame,
    *,
    lake: LakeArg = None,
    partition_by: Sequence[str] | None = None,
    overwrite: bool = False,
    writer: LakeWriter | None = None,
) -> int:
    """Write ``df`` to ``table`` in a single Delta commit and return the new table version.

    ``overwrite=True`` replaces the whole table (used for small dimension tables). Many commits in a
    row should share one open ``writer`` (a :class:`LakeWriter`, whose lake is used): same
    semantics, without reopening the table per commit.

    Example
    -------
    >>> append("_quarantine", rows)  # doctest: +SKIP
    3
    """
    if writer is not None:
        return writer.append(table, df, partition_by=partition_by, overwrite=overwrite)
    with LakeWriter(lake) as own:
        return own.append(table, df, partition_by=partition_by, overwrite=overwrite)


def delete_where(
    table: str, predicate: str, *, lake: LakeArg = None, writer: LakeWriter | None = None
) -> int:
    """Delete rows matching a SQL ``predicate`` in one commit; returns the number of rows deleted.

    With ``writer``, the commit goes through that open writer (whose lake is used).
    """
    if writer is not None:
        return writer.delete_where(table, predicate)
    with LakeWriter(lake) as own:
        return own.delete_where(table, predicate)


class LakeWriter:
    """The tables of one lake, held open across many commits by its single writer (an ingest run).

    Each :meth:`append` / :meth:`delete_where` is one Delta commit, exactly as the module functions;
    only the table handles are reused. Assumes no other process writes the lake meanwhile (ingest's
    rule already): a handle is not refreshed from disk between its own commits. :meth:`close` (or
    leaving the ``with`` block) runs Delta's expired-log cleanup once per table written, with the
    table's own retention (``delta.logRetentionDuration``, ``delta.enableExpiredLogCleanup``) — the
    cleanup delta-rs would otherwise run after every commit.

    Example
    -------
    >>> with LakeWriter(lake) as writer:  # doctest: +SKIP
    ...     for frame in frames:
    ...         writer.append("trades", frame, partition_by=("exchange", "date"))
    """

    def __init__(self, lake: LakeArg = None) -> None:
        self.lake = lake
        self._open: dict[str, DeltaTable] = {}
        self._written: set[str] = set()
        #: Versions of tables this writer committed to by writing the log entry itself (their open
        #: handles are behind; :meth:`table` brings a handle up to date before handing it out).
        self._ahead: dict[str, int] = {}
        #: Per table: versions between checkpoints (set from its file count at each checkpoint) and
        #: the version of the last one (until this writer makes one: the last multiple of
        #: :data:`CHECKPOINT_EVERY`, where writers checkpoint small tables).
        self._checkpoints: dict[str, tuple[int, int]] = {}

    def __enter__(self) -> LakeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def table(self, table: str) -> DeltaTable | None:
        """The open handle of ``table`` at its latest version (``None`` if never written)."""
        handle = self._open.get(table)
        if handle is None:
            handle = open_table(table, self.lake)
            if handle is not None:
                self._open[table] = handle
        elif table in self._ahead:
            handle.update_incremental()  # catch up with the commits written directly
            del self._ahead[table]
        return handle

    def version(self, table: str) -> int | None:
        """Current Delta version of ``table`` (``None`` if it does not exist)."""
        if table in self._ahead:
            return self._ahead[table]
        handle = self.table(table)
        return None if handle is None else handle.version()

    def append(
        self,
        table: str,
        df: pl.DataFrame,
        *,
        partition_by: Sequence[str] | None = None,
        overwrite: bool = False,
    ) -> int:
        """Write ``df`` to ``table`` in one commit; the new version (see :func:`append`).

        Partitioned appends to a local lake (the event tables, millions of rows per file ingested)
        write their Parquet files with Polars, whose writer is about twice as fast as delta-rs's, and
        commit them with one Delta transaction carrying per-file statistics (so ``delete_where`` still
        prunes by ``file_id``). Files written before the commit are invisible until it lands, exactly
        as with ``write_deltalake``: a crash in between leaves only unreferenced files.
        """
        uri = table_uri(table, self.lake)
        if not overwrite and partition_by and "://" not in uri and df.height:
            staged = self.stage(table, partition_by)
            if staged.add(df):
                return staged.commit()
        before = self.version(table)
        before = -1 if before is None else before
        if not overwrite and df.height == 0:
            return before
        if "://" not in uri:
            Path(uri).mkdir(parents=True, exist_ok=True)
        existing = self.table(table)
        write_deltalake(
            uri if existing is None else existing,
            df.to_arrow(),
            mode="overwrite" if overwrite else "append",
            partition_by=list(partition_by) if partition_by else None,
            schema_mode="overwrite" if overwrite else None,
            writer_properties=WriterProperties(compression="SNAPPY"),
            post_commithook_properties=_HOOKS,
        )
        return self._committed(table, before)

    def stage(self, table: str, partition_by: Sequence[str]) -> StagedAppend:
        """An append to the local, partitioned ``table`` built in parts: each
        :meth:`StagedAppend.add` writes one frame's Parquet files, :meth:`StagedAppend.commit` lands
        them all in one commit. A file too large to hold in memory is ingested that way."""
        return StagedAppend(self, table, list(partition_by))

    def delete_where(self, table: str, predicate: str) -> int:
        """Delete rows matching a SQL ``predicate`` in one commit; the number of rows deleted."""
        handle = self.table(table)
        if handle is None:
            return 0
        before = handle.version()
        metrics = handle.delete(predicate, post_commithook_properties=_HOOKS)
        self._committed(table, before)
        return int(metrics.get("num_deleted_rows", 0) or 0)

    def compact(self, table: str) -> None:
        """Rewrite ``table``'s small files into few (one commit, no data change; older versions
        still read their own files), then checkpoint: replaying the commit's remove actions would
        cost more than reading the checkpoint."""
        handle = self.table(table)
        if handle is None:
            return
        handle.optimize.compact(post_commithook_properties=_HOOKS)
        self._written.add(table)
        handle.create_checkpoint()
        del self._open[table]

    def close(self) -> None:
        """Clean up expired logs of the tables written (as delta-rs would per commit); drop handles."""
        for table in sorted(self._written):
            handle = self.table(table)
            if handle is None:
                continue
            enabled = handle.metadata().configuration.get("delta.enableExpiredLogCleanup") or "true"
            if enabled.lower() != "false":
                handle.cleanup_metadata()
        self._open.clear()
        self._written.clear()
        self._ahead.clear()

    def _committed(self, table: str, before: int, version: int | None = None) -> int:
        """The version after a commit to ``table`` made from version ``before`` (-1: no table yet);
        ``version`` when the writer wrote the commit itself.

        When the table's checkpoint interval (:data:`CHECKPOINT_EVERY`, longer for tables of many
        files, see :data:`CHECKPOINT_FILES_PER_COMMIT`) has passed since the last checkpoint,
        checkpoint it and drop the handle, to be reopened on that checkpoint at its next use.
        """
        self._written.add(table)
        if version is None:
            handle = self.table(table)
            assert handle is not None
            version = handle.version()
        every, last = self._checkpoints.get(
            table, (CHECKPOINT_EVERY, max(before, 0) // CHECKPOINT_EVERY * CHECKPOINT_EVERY)
        )
        if version - last >= every:
            handle = self.table(table)  # up to date
            assert handle is not None
            handle.create_checkpoint()
            files = handle.get_add_actions(flatten=False).num_rows
            self._checkpoints[table] = (max(CHECKPOINT_EVERY, files // CHECKPOINT_FILES_PER_COMMIT), version)
            del self._open[table]
        return version


class StagedAppend:
    """Parquet files written for one future append to a local, partitioned table (see
    :meth:`LakeWriter.stage`). Until :meth:`commit` they are invisible (no log entry names them);
    :meth:`discard` deletes them. Files are named in the order of the frames added (``part-00000-…``,
    ``part-00001-…``), so a partition's files listed by name read back in that order.

    Example
    -------
    >>> staged = writer.stage("quotes", ("exchange", "date"))  # doctest: +SKIP
    >>> all(staged.add(batch) for batch in batches) and staged.commit()  # doctest: +SKIP
    7
    """

    def __init__(self, writer: LakeWriter, table: str, partition_by: list[str]) -> None:
        self.writer, self.table, self.partition_by = writer, table, partition_by
        self.uri = table_uri(table, writer.lake)
        self.existing = writer._open.get(table) if table in writer._ahead else writer.table(table)
        self.actions: list[AddAction] = []
        self.schema: Schema | None = None
        self._arrow_schema: object = None
        self._frames = 0

    def add(self, df: pl.DataFrame) -> bool:
        """Write ``df``'s Parquet files (one per partition); ``False`` (nothing written) when the
        frame needs delta-rs's own writer: a schema other than the table's or the earlier frames',
        null or unusual partition values, or partition columns that are not Utf8 / Date."""
        if df.height == 0:
            return True
        arrow_schema = df.head(0).to_arrow().schema
        if self._arrow_schema is not None and arrow_schema != self._arrow_schema:
            return False
        schema = self.schema or Schema.from_arrow(arrow_schema)
        Path(self.uri).mkdir(parents=True, exist_ok=True)
        actions = _write_files(self.uri, self.existing, df, self.partition_by, schema, self._frames)
        if actions is None:
            return False
        self.schema, self._arrow_schema = schema, arrow_schema
        self.actions += actions
        self._frames += 1
        return True

    def commit(self) -> int:
        """Land every file added in one commit; the table's new version (its current one when
        nothing was added)."""
        writer, table = self.writer, self.table
        before = writer.version(table)
        before = -1 if before is None else before
        if not self.actions:
            return before
        assert self.schema is not None
        if self.existing is None:
            create_table_with_add_actions(
                self.uri,
                self.schema,
                self.actions,
                mode="append",
                partition_by=self.partition_by,
                post_commithook_properties=_HOOKS,
            )
        elif _append_commit(self.uri, before + 1, self.actions, self.partition_by, self.existing):
            writer._ahead[table] = before + 1
            return writer._committed(table, before, before + 1)
        else:
            existing = writer.table(table)
            assert existing is not None
            existing.create_write_transaction(
                [*self.actions],
                mode="append",
                schema=self.schema,
                partition_by=self.partition_by,
                post_commithook_properties=_HOOKS,
            )
            existing.update_incremental()  # the transaction API leaves the handle behind
        return writer._committed(table, before)

    def discard(self) -> None:
        """Delete the files added (never committed)."""
        for action in self.actions:
            (Path(self.uri) / action.path).unlink(missing_ok=True)
        self.actions = []


#: Partition values the fast path writes as directory names as-is (no escaping needed).
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._-]+$")
_STATS_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.Date, pl.Utf8)


def _write_files(
    uri: str,
    existing: DeltaTable | None,
    df: pl.DataFrame,
    partition_by: list[str],
    schema: Schema,
    sequence: int,
) -> list[AddAction] | None:
    """Write ``df`` as Parquet files under the local table ``uri``; the add actions to commit them.
    ``schema`` is ``df``'s as a Delta schema; ``sequence`` numbers the file names
    (``part-<sequence>-<uuid>``: several frames of one commit list in the order they were added).

    ``None`` (nothing written) when the frame needs delta-rs's own writer: a schema different from
    the table's, null or unusual partition values, or a partition column that is not Utf8 / Date.
    """
    if any(c not in df.columns or df.schema[c] not in (pl.Utf8, pl.Date) for c in partition_by):
        return None
    # Expressions, not Series: an ingested file's exchange is a constant column, which a Series
    # would write out row by row.
    if any(df.select(pl.col(c).null_count() for c in partition_by).row(0)):
        return None
    if existing is not None:
        if existing.metadata().partition_columns != partition_by:
            return None
        if {f.name: f.type for f in existing.schema().fields} != {f.name: f.type for f in schema.fields}:
            return None
    single = df.select([(pl.col(c) == pl.col(c).first()).all() for c in partition_by]).row(0)
    groups = [df] if all(single) else df.partition_by(partition_by, maintain_order=True)
    planned = []
    for group in groups:
        values = {c: _partition_text(v) for c, v in group.select(partition_by).row(0, named=True).items()}
        if not all(_PLAIN_VALUE.match(v) for v in values.values()):
            return None
        planned.append((values, group.drop(partition_by)))
    actions = []
    for values, data in planned:
        folder = "/".join(f"{c}={v}" for c, v in values.items())
        relative = f"{folder}/part-{sequence:05d}-{uuid.uuid4()}-c000.snappy.parquet"
        target = Path(uri) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data.write_parquet(target, compression="snappy", statistics=True)
        stat = target.stat()
        actions.append(
            AddAction(
                path=relative,
                size=stat.st_size,
                partition_values=values,
                modification_time=int(stat.st_mtime * 1000),
                data_change=True,
                stats=_file_stats(data),
            )
        )
    return actions


def _append_commit(
    uri: str, version: int, actions: list[AddAction], partition_by: list[str], existing: DeltaTable | None
) -> bool:
    """Commit ``actions`` (new files, appended) as ``version`` of the local table at ``uri`` by
    writing the log entry itself; ``False`` (nothing written) when that cannot be done safely, and
    the caller commits through delta-rs instead.

    delta-rs rebuilds its view of every file of the table on each commit, so its commits slow down
    as a table grows (about 17 µs per file here: 9 ms at 20 files, 25 ms at 1,000). An append needs
    none of that: the Delta protocol's commit on a local file system is creating the next log file
    atomically, and failing if it exists. This writes the entry (``commitInfo`` and one ``add`` per
    file) to a temporary file and links it to ``_delta_log/<version>.json``, which fails if another
    writer took that version. Only for tables whose protocol asks nothing more of an appending
    writer (writer version ≤ 2, no writer features, no column invariants or constraints).
    """
    if existing is None or not _plain_append_protocol(existing):
        return False
    log = Path(uri) / "_delta_log"
    target = log / f"{version:020d}.json"
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    lines = [
        {
            "commitInfo": {
                "timestamp": now_ms,
                "operation": "WRITE",
                "operationParameters": {"mode": "Append", "partitionBy": json.dumps(partition_by)},
                "isBlindAppend": True,
                "clientVersion": "pointline",
            }
        },
        *(
            {
                "add": {
                    "path": a.path,
                    "partitionValues": a.partition_values,
                    "size": a.size,
                    "modificationTime": a.modification_time,
                    "dataChange": a.data_change,
                    "stats": a.stats,
                }
            }
            for a in actions
        ),
    ]
    tmp = log / f".{version:020d}.json.{uuid.uuid4().hex}.tmp"
    tmp.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        os.link(tmp, target)  # atomic, and fails if the version exists
    except OSError:  # the version is taken, or the file system has no hard links: delta-rs commits
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _plain_append_protocol(handle: DeltaTable) -> bool:
    protocol = handle.protocol()
    if protocol.min_writer_version > 2 or protocol.writer_features:
        return False
    configuration = handle.metadata().configuration
    if any(k.startswith("delta.constraints.") for k in configuration):
        return False
    return not any("delta.invariants" in (f.metadata or {}) for f in handle.schema().fields)


def _partition_text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _file_stats(data: pl.DataFrame) -> str:
    """Delta ``stats`` JSON of one file: row count, null counts, min/max of numeric, date and text
    columns (what delta-rs uses to skip files in deletes and scans).

    Text columns get exact (untruncated) min/max: a reader may treat a column whose min/max are
    missing while its null count is 0 as unknown, but delta-rs's Arrow datasets turn the missing
    value into ``column >= null``, which skips the file for every filter on that column (``WHERE
    symbol = 'ETHUSDT'`` would find nothing).
    """
    ranged = [c for c, t in data.schema.items() if t in _STATS_TYPES]
    row = data.select(
        *[pl.col(c).min().alias(f"min:{c}") for c in ranged],
        *[pl.col(c).max().alias(f"max:{c}") for c in ranged],
        *[pl.col(c).null_count().alias(f"null:{c}") for c in data.columns],
    ).row(0, named=True)

    def plain(value: object) -> object:
        return value.isoformat() if isinstance(value, dt.date) else value

    stats = {
        "numRecords": data.height,
        "minValues": {c: plain(row[f"min:{c}"]) for c in ranged if row[f"min:{c}"] is not None},
        "maxValues": {c: plain(row[f"max:{c}"]) for c in ranged if row[f"max:{c}"] is not None},
        "nullCount": {c: int(row[f"null:{c}"]) for c in data.columns},
    }
    return json.dumps(stats)
