"""Lake location: explicit argument, set_lake, POINTLINE_LAKE, ./lake — in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

import pointline
from pointline.config import get_lake


def test_lake_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POINTLINE_LAKE", raising=False)
    pointline.set_lake(None)
    assert get_lake() == str(tmp_path / "lake")
    monkeypatch.setenv("POINTLINE_LAKE", str(tmp_path / "env"))
    assert get_lake() == str(tmp_path / "env")
    pointline.set_lake(tmp_path / "set")
    try:
        assert get_lake() == str(tmp_path / "set")
        assert get_lake(tmp_path / "explicit") == str(tmp_path / "explicit")
    finally:
        pointline.set_lake(None)


def test_object_store_uris_are_kept_verbatim() -> None:
    assert get_lake("s3://bucket/lake/") == "s3://bucket/lake"
