"""A killed ingest plus a rerun leaves exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from pointline.ingest import ingest
from pointline.ingest.runner import CRASH_HOOK_ENV, sha256_of
from pointline.lake import manifest, storage
from pointline.lake.manifest import LedgerEntry

T0 = 1_714_521_600_000_000
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def _file(tmp_path: Path, name: str = "trades.csv", n: int = 500) -> Path:
    path = tmp_path / name
    rows = "".join(
        f"binance-futures,BTCUSDT,{T0 + i},{T0 + i},{i},buy,{100 + i % 7}.25,0.{i % 9 + 1}\n"
        for i in range(n)
    )
    path.write_text(HEADER + rows)
    return path


def _trades() -> pl.DataFrame:
    lf = storage.scan_partitions("trades")
    assert lf is not None
    return lf.collect().sort("file_id", "file_line_number")


def _uninterrupted(tmp_path: Path, path: Path) -> pl.DataFrame:
    reference_lake = tmp_path / "reference_lake"
    ingest([path], lake=reference_lake)
    lf = storage.scan_partitions("trades", lake=reference_lake)
    assert lf is not None
    return lf.collect().sort("file_id", "file_line_number")


def test_rerun_after_simulated_crash_removes_the_half_written_rows(lake: Path, tmp_path: Path) -> None:
    path = _file(tmp_path)
    expected = _uninterrupted(tmp_path, path)
    # A half-finished run: ledger says started, the data commit happened, nothing after it.
    manifest.record(
        LedgerEntry(
            file_id=1,
            path=str(path),
            size_bytes=path.stat().st_size,
            sha256=sha256_of(path),
            format="tardis",
            table="trades",
            status="started",
        )
    )
    storage.append("trades", expected, partition_by=("exchange", "date"))
    result = ingest([path]).files[0]
    assert result.status == "ingested"
    assert result.file_id == 1
    assert _trades().equals(expected)


def test_rerun_after_a_real_kill_matches_an_uninterrupted_run(lake: Path, tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.csv"), _file(tmp_path, "b.csv", n=300)
    env = {**os.environ, CRASH_HOOK_ENV: "1"}
    args = ["ingest", str(first), str(second), "--lake", str(lake)]
    code = "import sys; from pointline.cli import main; sys.argv = ['pointline', *sys.argv[1:]]; main()"
    killed = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, check=False)
    assert killed.returncode == 17, killed.stderr.decode()
    assert manifest.read_manifest()["status"].to_list() == ["started"]
    assert _trades().height == 500  # the data commit landed before the kill

    report = ingest([first, second])
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    reference_lake = tmp_path / "reference"
    ingest([first, second], lake=reference_lake)
    reference = storage.scan_partitions("trades", lake=reference_lake)
    assert reference is not None
    assert _trades().equals(reference.collect().sort("file_id", "file_line_number"))
