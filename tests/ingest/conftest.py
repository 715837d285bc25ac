"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pointline.lake import dim_symbol, manifest, storage
from pointline.lake.quarantine import read_quarantine
from pointline.lake.schema import EVENT_TABLES, STORAGE_ORDER


def _lake_state(lake: Path) -> dict[str, object]:
    """Everything an ingest leaves that a user can see (row order as queries return it)."""
    state: dict[str, object] = {}
    for table in EVENT_TABLES:
        lf = storage.scan_partitions(table, lake=lake)
        state[table] = None if lf is None else lf.collect().sort(list(STORAGE_ORDER)).rows()
    state["quarantine"] = read_quarantine(lake).rows()
    state["dim_symbol"] = dim_symbol.read_dim_symbol(lake, current_only=False).rows()
    ledger = manifest.read_manifest(lake).drop("ingested_at_us")
    state["ledger"] = ledger.sort("file_id", "path").rows()
    return state


@pytest.fixture(scope="session")
def lake_state() -> Callable[[Path], dict[str, object]]:
    """``lake_state(lake)``: everything an ingest into ``lake`` left that a user can see, to compare
    two lakes that must be the same."""
    return _lake_state
