"""One run over many files decides each file as the ledger on disk says, and the next run agrees."""

from __future__ import annotations

import shutil
from pathlib import Path

from pointline.ingest import ingest
from pointline.ingest.runner import sha256_of
from pointline.lake import manifest

T0 = 1_714_521_600_000_000
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def _trades(path: Path, day: int, n: int = 20) -> Path:
    start = T0 + day * 86_400_000_000
    rows = "".join(
        f"binance-futures,BTCUSDT,{start + i},{start + i + 5},{i},sell,{100 + i % 7}.5,0.{i % 9 + 1}\n"
        for i in range(n)
    )
    path.write_text(HEADER + rows)
    return path


def test_duplicates_and_failures_within_one_run_are_decided_like_across_runs(
    lake: Path, tmp_path: Path
) -> None:
    first = _trades(tmp_path / "a.csv", day=0)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\x01 not a vendor file")
    copy = tmp_path / "copy_of_a.csv"
    shutil.copy(first, copy)
    second = _trades(tmp_path / "b.csv", day=1)

    report = ingest([first, broken, copy, second, first])
    assert [(f.status, f.file_id) for f in report.files] == [
        ("ingested", 1),
        ("failed", 2),
        ("skipped-duplicate", 1),
        ("ingested", 3),
        ("skipped-duplicate", 1),
    ]
    # The ledger on disk says what the run decided, for every content seen.
    for path, status in ((first, "skipped-duplicate"), (broken, "failed"), (second, "ingested")):
        on_disk = manifest.latest(sha256_of(path))
        assert on_disk is not None and on_disk.status == status

    third = _trades(tmp_path / "c.csv", day=2)
    again = ingest([second, broken, third])
    assert [(f.status, f.file_id) for f in again.files] == [
        ("skipped-duplicate", 3),
        ("failed", 2),  # a retried failure keeps its file_id
        ("ingested", 4),
    ]
    assert manifest.next_file_id() == 5
