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


def test_a_lake_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pointline.cli import app
    from pointline.errors import PointlineError

    afile = tmp_path / "notes.txt"
    afile.write_text("not a lake")
    with pytest.raises(PointlineError, match="is a file; a lake is a directory"):
        get_lake(afile)
    result = CliRunner().invoke(app, ["symbols", "--lake", str(afile)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "is a file" in result.output
