"""LakeWriter: many commits through open tables, each a normal Delta commit any reader sees."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import DeltaTable

from pointline.lake import storage
from pointline.lake.storage import writer as writer_module

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


def _day(file_id: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "exchange": ["binance-futures"] * 2,
            "date": [dt.date(2024, 5, 1) + dt.timedelta(days=file_id % 3)] * 2,
            "file_id": [file_id, file_id],
            "ts_local_us": [file_id * 10, file_id * 10 + 1],
        },
        schema={"exchange": pl.Utf8, "date": pl.Date, "file_id": pl.Int32, "ts_local_us": pl.Int64},
    )


PARTS = ("exchange", "date")


def test_partitioned_appends_committed_by_the_writer_itself_are_delta_commits_readers_see(lake: Path) -> None:
    """Appends of new files write their log entry directly (delta-rs would rebuild its view of every
    file per commit); any Delta reader sees the same versions, files, rows, time travel and
    checkpoints, and deletes through the same writer see every commit."""
    commits = 2 * storage.CHECKPOINT_EVERY + 5
    with storage.LakeWriter(lake) as writer:
        versions = [writer.append("trades_like", _day(i), partition_by=PARTS) for i in range(commits)]
        assert writer.delete_where("trades_like", "file_id = 7") == 2
        assert writer.append("trades_like", _day(commits), partition_by=PARTS) == commits + 1
    assert versions == list(range(commits))
    log = Path(storage.table_uri("trades_like", lake)) / "_delta_log"
    entry = [json.loads(line) for line in (log / f"{1:020d}.json").read_text().splitlines()]
    assert entry[0]["commitInfo"]["clientVersion"] == "pointline"  # written directly
    assert [next(iter(e)) for e in entry[1:]] == ["add"]
    assert json.loads((log / "_last_checkpoint").read_text())["version"] >= 2 * storage.CHECKPOINT_EVERY

    table = DeltaTable(storage.table_uri("trades_like", lake))
    assert table.version() == commits + 1
    assert len(table.file_uris()) == commits  # one file per append, file 7's removed
    landed = pl.from_arrow(table.to_pyarrow_table())
    assert isinstance(landed, pl.DataFrame)
    expected = sorted(i for i in range(commits + 1) if i != 7)
    assert sorted(set(landed["file_id"].to_list())) == expected and landed.height == 2 * len(expected)
    early = DeltaTable(storage.table_uri("trades_like", lake), version=2)
    assert sorted(pl.from_arrow(early.to_pyarrow_table())["file_id"].unique().to_list()) == [0, 1, 2]  # type: ignore[union-attr]
    stats = storage.value_ranges("trades_like", "file_id", lake=lake)
    assert sorted(stats) == [(i, i) for i in expected]  # file statistics are in the entries


def test_a_version_another_writer_took_is_committed_through_delta_rs_instead(lake: Path) -> None:
    with storage.LakeWriter(lake) as writer:
        assert writer.append("trades_like", _day(0), partition_by=PARTS) == 0
        assert writer.append("trades_like", _day(1), partition_by=PARTS) == 1  # direct
        assert storage.append("trades_like", _day(2), lake=lake, partition_by=PARTS) == 2  # elsewhere
        assert writer.append("trades_like", _day(3), partition_by=PARTS) == 3  # version 2 was taken
    landed = storage.read_all("trades_like", lake=lake)
    assert landed is not None and sorted(landed["file_id"].unique().to_list()) == [0, 1, 2, 3]


def test_readers_see_every_commit_and_a_table_rewritten_under_them(lake: Path) -> None:
    """Readers keep open handles between calls (opening replays a log that grows with the table):
    they must still see each new commit, and a table deleted and written again at the same path."""
    storage.append("trades_like", _day(0), lake=lake, partition_by=PARTS)
    assert storage.table_version("trades_like", lake) == 0
    with storage.LakeWriter(lake) as writer:
        for i in range(1, 4):
            writer.append("trades_like", _day(i), partition_by=PARTS)
            assert storage.table_version("trades_like", lake) == i
            assert len(storage.data_files("trades_like", lake=lake)) == i + 1
    assert len(storage.data_files("trades_like", lake=lake, exchange="binance-futures")) == 4
    assert [
        f.values["date"] for f in storage.data_files("trades_like", lake=lake, dates=[dt.date(2024, 5, 2)])
    ] == ["2024-05-02"]
    assert storage.data_files("trades_like", lake=lake, exchange="bybit") == []

    shutil.rmtree(storage.table_uri("trades_like", lake))
    for i in (10, 11, 12, 13, 14):  # a new table at the same path, with more versions than the old one
        storage.append("trades_like", _day(i), lake=lake, partition_by=PARTS)
    landed = storage.read_all("trades_like", lake=lake)
    assert landed is not None and sorted(landed["file_id"].unique().to_list()) == [10, 11, 12, 13, 14]
    shutil.rmtree(storage.table_uri("trades_like", lake))
    assert storage.table_version("trades_like", lake) is None
    assert storage.data_files("trades_like", lake=lake) == []


def test_readers_in_threads_share_handles_safely(lake: Path) -> None:
    for i in range(3):
        storage.append("trades_like", _day(i), lake=lake, partition_by=PARTS)

    def read(_: int) -> int:
        return sum(len(storage.data_files("trades_like", lake=lake)) for _ in range(20))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(read, range(8))) == [60] * 8


def test_a_table_of_many_files_checkpoints_less_often(lake: Path, monkeypatch: Any) -> None:
    """The interval follows the file count (here one file per version counts as many, to keep the
    test small), measured from the last checkpoint: never a checkpoint per commit."""
    monkeypatch.setattr(writer_module, "CHECKPOINT_FILES_PER_COMMIT", 1)
    log = Path(storage.table_uri("trades_like", lake)) / "_delta_log"
    with storage.LakeWriter(lake) as writer:
        for i in range(70):
            writer.append("trades_like", _day(i), partition_by=PARTS)
    checkpoints = sorted(int(p.name.split(".")[0]) for p in log.glob("*.checkpoint.parquet"))
    # 20 (the default), then every 21 versions (21 files at the first checkpoint): 41, and 41 + 42 > 69.
    assert checkpoints == [20, 41]
    table = DeltaTable(storage.table_uri("trades_like", lake))
    assert table.version() == 69 and len(table.file_uris()) == 70
