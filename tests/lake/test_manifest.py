"""The ingest ledger: latest row per content hash, read back whole after compaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from pointline.lake import manifest, storage
from pointline.lake.manifest import LedgerEntry, LedgerIndex


def _entry(i: int) -> LedgerEntry:
    sha = f"sha-{i % 5}"
    status = (manifest.STARTED, manifest.INGESTED, manifest.SKIPPED, manifest.FAILED)[i % 4]
    return LedgerEntry(
        file_id=i % 5 + 1,
        path=f"/data/{i}.csv",
        size_bytes=100 + i,
        sha256=sha,
        format="tardis",
        table="trades",
        status=status,
    )


def test_compacted_ledger_reads_back_every_row_in_order(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "COMPACT_EVERY", 8)
    recorded = [manifest.record(_entry(i)) for i in range(21)]
    ledger = manifest.read_manifest()
    assert ledger["path"].to_list() == [e.path for e in recorded]
    assert ledger["ingested_at_us"].to_list() == [e.ingested_at_us for e in recorded]
    handle = storage.open_table(manifest.TABLE)
    assert handle is not None and len(handle.file_uris()) < 8  # one file per row no more


def test_ledger_index_answers_like_the_ledger_on_disk(lake: Path) -> None:
    index = LedgerIndex.read()
    assert index.next_file_id() == 1 and index.latest("sha-0") is None
    for i in range(12):
        index.add(manifest.record(_entry(i)))
    on_disk = LedgerIndex.read()
    for sha in (f"sha-{k}" for k in range(5)):
        assert index.latest(sha) == on_disk.latest(sha) == manifest.latest(sha)
    assert index.next_file_id() == on_disk.next_file_id() == manifest.next_file_id() == 6
