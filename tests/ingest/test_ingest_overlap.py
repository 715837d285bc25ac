"""The same trades under another file (a gzipped copy, a subset) are flagged as possible duplicate
data; consecutive daily files, whose receive times spill a little past midnight, are not."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from pointline.ingest import ingest
from pointline.lake import manifest
from pointline.synth import SynthConfig, generate_market


def test_consecutive_days_are_not_flagged_but_a_recompressed_copy_and_a_subset_are(
    lake: Path, tmp_path: Path
) -> None:
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=2,
        exchanges=("binance-futures",),
        symbols=("BTCUSDT",),
        seed=5,
        trades_per_day=2_000,
        data_types=("trades",),
    )
    files = generate_market(tmp_path / "vendor", config)
    days = ingest(files)
    assert [f.status for f in days.files] == ["ingested", "ingested"]
    assert [f.reason for f in days.files] == [None, None]

    first = sorted(files)[0]
    text = gzip.decompress(first.read_bytes()).decode()
    plain = tmp_path / "copy" / "day1.csv"  # the same rows, not the same bytes
    plain.parent.mkdir()
    plain.write_text(text)
    lines = text.splitlines()
    subset = tmp_path / "copy" / "some_of_day1.csv"
    subset.write_text("\n".join([lines[0], *lines[100:120]]) + "\n")
    again = ingest([plain, subset])
    assert [f.status for f in again.files] == ["ingested", "ingested"]  # the rows still land
    copy_id = again.files[0].file_id
    assert again.files[0].reason == (
        f"possible duplicate data: its time range overlaps rows already landed from file_id "
        f"{days.files[0].file_id} ({first.name})"
    )
    assert f"from file_id {days.files[0].file_id}, {copy_id} (" in (again.files[1].reason or "")
    ledger = manifest.read_manifest()
    assert (
        ledger.filter(ledger["file_id"] == copy_id)["reason"].to_list()[-1].startswith("possible duplicate")
    )
