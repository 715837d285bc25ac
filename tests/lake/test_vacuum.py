"""Vacuum deletes only what no version within the retention needs: never a live file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from pointline.cli import app
from pointline.ingest import ingest
from pointline.lake import storage

T0 = 1_714_521_600_000_000
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def _file(path: Path, n: int, shift: int = 0) -> Path:
    path.write_text(
        HEADER
        + "".join(
            f"bybit,BTCUSDT,{T0 + shift + i},{T0 + shift + i + 5},{i},buy,60000.5,0.25\n" for i in range(n)
        )
    )
    return path


def _rows(lake: Path) -> list[tuple]:
    lf = storage.scan_partitions("trades", lake=lake)
    assert lf is not None
    return lf.collect().sort("ts_local_us").rows()


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86_400
    os.utime(path, (then, then))


def test_vacuum_removes_an_old_orphan_and_keeps_every_live_file(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([_file(tmp_path / "a.csv", 5)], lake=lake)
    before = _rows(lake)
    live = next((lake / "trades").rglob("*.parquet"))
    # A file no version references, as a hard-killed ingest leaves behind, ten days old; and a fresh one.
    old_orphan = live.with_name("part-00007-orphan-old.snappy.parquet")
    new_orphan = live.with_name("part-00008-orphan-new.snappy.parquet")
    pl.DataFrame({"x": [1]}).write_parquet(old_orphan)
    pl.DataFrame({"x": [1]}).write_parquet(new_orphan)
    _age(old_orphan, 10)
    _age(live, 10)  # old, but live: never deleted

    dry = storage.vacuum("trades", lake=lake, dry_run=True)
    assert [Path(f).name for f in dry.files] == [old_orphan.name] and dry.bytes > 0
    assert old_orphan.exists()

    done = storage.vacuum("trades", lake=lake)
    assert [Path(f).name for f in done.files] == [old_orphan.name]
    assert not old_orphan.exists() and new_orphan.exists() and live.exists()
    assert _rows(lake) == before
    assert storage.vacuum("never_written", lake=lake).files == []
    # The lake takes the next ingest as before (vacuum's own commits change no protocol).
    assert ingest([_file(tmp_path / "b.csv", 3, shift=1_000)], lake=lake).files[0].status == "ingested"
    assert len(_rows(lake)) == len(before) + 3


def test_the_vacuum_command_reports_each_table(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([_file(tmp_path / "a.csv", 5)], lake=lake)
    live = next((lake / "trades").rglob("*.parquet"))
    orphan = live.with_name("part-00009-orphan.snappy.parquet")
    pl.DataFrame({"x": [1]}).write_parquet(orphan)
    _age(orphan, 10)
    runner = CliRunner()
    dry = runner.invoke(app, ["vacuum", "--lake", str(lake), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "trades" in dry.output and "1 file" in dry.output and orphan.exists()
    done = runner.invoke(app, ["vacuum", "--lake", str(lake)])
    assert done.exit_code == 0, done.output
    assert not orphan.exists()
    missing = runner.invoke(app, ["vacuum", "--lake", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "no lake at" in missing.output and "Traceback" not in missing.output
