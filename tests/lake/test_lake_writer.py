"""LakeWriter: many commits through open tables, each a normal Delta commit any reader sees."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from pointline.lake import storage

SCHEMA = {"file_id": pl.Int32(), "note": pl.Utf8()}


def _row(file_id: int) -> pl.DataFrame:
    return pl.DataFrame({"file_id": [file_id], "note": [f"file {file_id}"]}, schema=SCHEMA)


def test_commits_through_one_writer_read_back_and_time_travel(lake: Path) -> None:
    commits = 2 * storage.CHECKPOINT_EVERY + 5
    with storage.LakeWriter(lake) as writer:
        versions = [writer.append("_ledger_like", _row(i)) for i in range(commits)]
    assert versions == list(range(commits))
    assert storage.table_version("_ledger_like", lake) == commits - 1
    landed = storage.read_all("_ledger_like", lake=lake)
    assert landed is not None
    assert landed.sort("file_id").equals(pl.concat([_row(i) for i in range(commits)]))
    # Old versions stay readable: the writer never drops log entries a reader may travel to.
    early = DeltaTable(storage.table_uri("_ledger_like", lake), version=3)
    assert sorted(pl.from_arrow(early.to_pyarrow_table())["file_id"].to_list()) == [0, 1, 2, 3]  # type: ignore[union-attr]


def test_a_reader_opening_the_table_replays_at_most_checkpoint_every_commits(lake: Path) -> None:
    commits = 3 * storage.CHECKPOINT_EVERY + 7
    with storage.LakeWriter(lake) as writer:
        for i in range(commits):
            writer.append("_ledger_like", _row(i))
    log = Path(storage.table_uri("_ledger_like", lake)) / "_delta_log"
    checkpoint = json.loads((log / "_last_checkpoint").read_text())["version"]
    assert commits - 1 - checkpoint < storage.CHECKPOINT_EVERY


def test_one_off_appends_and_a_writer_agree_on_versions(lake: Path) -> None:
    assert storage.append("_ledger_like", _row(0), lake=lake) == 0
    with storage.LakeWriter(lake) as writer:
        assert writer.version("_ledger_like") == 0
        assert writer.append("_ledger_like", _row(1)) == 1
        assert writer.delete_where("_ledger_like", "file_id = 0") == 1
        assert writer.version("_ledger_like") == 2
    assert storage.append("_ledger_like", _row(2), lake=lake) == 3
    landed = storage.read_all("_ledger_like", lake=lake)
    assert landed is not None and sorted(landed["file_id"].to_list()) == [1, 2]
