"""A killed ingest plus a rerun leaves exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from pointline.ingest import ingest
from pointline.ingest.landing import CRASH_HOOK_ENV
from pointline.ingest.runner import sha256_of
from pointline.lake import manifest, quarantine, storage
from pointline.lake.manifest import LedgerEntry
from pointline.lake.quarantine import read_quarantine

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


def _half_landed(path: Path, rows: pl.DataFrame, *, status: str, table: str | None) -> None:
    """A ledger whose latest row for ``path`` (file_id 1) says ``status``, and the file's rows landed."""
    manifest.record(
        LedgerEntry(
            file_id=1,
            path=str(path),
            size_bytes=path.stat().st_size,
            sha256=sha256_of(path),
            format="tardis",
            table=table,
            status=status,
        )
    )
    storage.append("trades", rows, partition_by=("exchange", "date"))


def test_rerun_after_a_crash_under_an_earlier_version_removes_the_half_written_rows(
    lake: Path, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    expected = _uninterrupted(tmp_path, path)
    # A half-finished run of an earlier version, which recorded `started` before the data commit:
    # the data commit happened, nothing after it.
    _half_landed(path, expected, status="started", table="trades")
    result = ingest([path]).files[0]
    assert result.status == "ingested"
    assert result.file_id == 1
    assert _trades().equals(expected)


def test_rerun_after_a_real_kill_matches_an_uninterrupted_run(lake: Path, tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.csv"), _file(tmp_path, "b.csv", n=300)
    # Killed right after the second file's data commit: the first file had finished, but its ledger
    # row was still waiting for its batch, so the ledger records neither.
    env = {**os.environ, CRASH_HOOK_ENV: "2"}
    args = ["ingest", str(first), str(second), "--lake", str(lake)]
    code = "import sys; from pointline.cli import main; sys.argv = ['pointline', *sys.argv[1:]]; main()"
    killed = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, check=False)
    assert killed.returncode == 17, killed.stderr.decode()
    assert manifest.read_manifest().height == 0
    assert _trades().height == 800  # both data commits landed before the kill

    report = ingest([first, second])
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    reference_lake = tmp_path / "reference"
    ingest([first, second], lake=reference_lake)
    reference = storage.scan_partitions("trades", lake=reference_lake)
    assert reference is not None
    assert _trades().equals(reference.collect().sort("file_id", "file_line_number"))


def test_rows_of_files_the_ledger_does_not_record_as_landed_are_removed_first(
    lake: Path, tmp_path: Path
) -> None:
    landed, other = _file(tmp_path, "a.csv"), _file(tmp_path, "b.csv", n=300)
    ingest([landed])
    kept = _trades()
    # Rows of a file above the ledger's largest file_id (data and quarantine), as a run killed
    # between a file's commits and its ledger row leaves them.
    orphan = _uninterrupted(tmp_path, other).with_columns(pl.lit(2, dtype=pl.Int32).alias("file_id"))
    storage.append("trades", orphan, partition_by=("exchange", "date"))
    quarantine.append_rows(
        pl.DataFrame(
            {"file_id": [2], "path": ["b.csv"], "file_line_number": [3], "table": ["trades"]}
            | {"reason": ["unparseable"], "raw": ["x"]}
        )
    )
    result = ingest([landed]).files[0]  # any run sweeps first; this one only skips a duplicate
    assert result.status == "skipped-duplicate"
    assert _trades().equals(kept)
    assert read_quarantine().height == 0


def test_a_retry_of_a_failed_file_that_was_killed_leaves_no_duplicates(lake: Path, tmp_path: Path) -> None:
    path = _file(tmp_path)
    expected = _uninterrupted(tmp_path, path)
    # The content failed once (file_id 1); a retry landed its rows and was killed before its ledger row.
    _half_landed(path, expected, status="failed", table=None)
    result = ingest([path]).files[0]
    assert (result.status, result.file_id) == ("ingested", 1)
    assert _trades().equals(expected)


def test_a_clean_lake_costs_no_sweep_commit(lake: Path, tmp_path: Path) -> None:
    path = _file(tmp_path)
    ingest([path])
    before = {t: storage.table_version(t) for t in ("trades", "_quarantine", "_ingest_manifest")}
    ingest([path])
    after = {t: storage.table_version(t) for t in ("trades", "_quarantine", "_ingest_manifest")}
    assert after["trades"] == before["trades"]
    assert after["_ingest_manifest"] == before["_ingest_manifest"] + 1  # the skipped row only
