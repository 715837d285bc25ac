"""Shared fixtures: a fresh lake per test and the real vendor samples in ../shared/data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pointline

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Path]:
    """An empty lake directory, set as the process-wide lake for the test."""
    root = tmp_path / "lake"
    pointline.set_lake(root)
    try:
        yield root
    finally:
        pointline.set_lake(None)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` read in place; tests using it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present beside this checkout")
    return SHARED_DATA


@pytest.fixture
def tardis_dir(shared_data: Path) -> Path:
    path = shared_data / "tardis"
    if not path.is_dir():
        pytest.skip("../shared/data/tardis is not present")
    return path
