"""``local`` worker processes are kept for the next call: no start-up per call, yet never stale.

Each call gets the caller's lake and working directory; a failed run, a changed environment or
``sys.path``, or an edited source file of the caller's own modules means new workers; idle workers
stop by themselves.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import pointline
from pointline.scale.executors import map_items
from pointline.scale.processes import shutdown_workers


def _pid(meeting: str) -> int:
    """This worker's pid, once both items are running (so each worker holds one of them)."""
    Path(meeting, str(os.getpid())).touch()
    deadline = time.monotonic() + 20
    while len(os.listdir(meeting)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()


def _pids() -> set[int]:
    meeting = tempfile.mkdtemp(prefix="pool-meeting-")
    return set(map_items(_pid, [meeting, meeting], max_workers=2)[0])


def _gone(pids: set[int], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.add(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_a_second_call_reuses_the_workers_of_the_first() -> None:
    first = _pids()
    assert len(first) == 2 and os.getpid() not in first
    assert _pids() == first
    shutdown_workers()
    assert _gone(first)
    assert _pids().isdisjoint(first)


def test_each_call_gets_the_caller_s_lake_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def where(_: object) -> tuple[str, str]:
        seen = (pointline.get_lake(), os.getcwd())
        pointline.set_lake("/somewhere/else")  # a task's own choice does not outlive it
        os.chdir("/")
        return seen

    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        pointline.set_lake(folder / "lake")
        try:
            seen = map_items(where, [0, 1, 2, 3], max_workers=2)[0]
        finally:
            pointline.set_lake(None)
        assert seen == [(str((folder / "lake").resolve()), str(folder.resolve()))] * 4


def test_a_failed_run_leaves_no_worker_behind() -> None:
    before = _pids()

    def fail(item: int) -> int:
        if item == 1:
            raise ValueError("bad item")
        time.sleep(0.5)
        return item

    with pytest.raises(ValueError, match="bad item"):
        map_items(fail, [0, 1, 2, 3], max_workers=2)
    assert _gone(before)
    assert _pids().isdisjoint(before)


def test_an_edited_module_of_the_caller_is_never_run_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "user_helpers_for_pool_test.py"
    module.write_text("def value(_):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    helpers = importlib.import_module("user_helpers_for_pool_test")
    try:
        assert map_items(helpers.value, [0, 1], max_workers=2)[0] == [1, 1]  # by reference
        first = _pids()
        module.write_text("def value(_):\n    return 2\n")
        later = time.time() + 2
        os.utime(module, (later, later))
        importlib.reload(helpers)
        assert map_items(helpers.value, [0, 1], max_workers=2)[0] == [2, 2]
        assert _pids().isdisjoint(first)
    finally:
        sys.modules.pop("user_helpers_for_pool_test", None)


def test_a_changed_environment_means_new_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _pids()
    monkeypatch.setenv("POINTLINE_TEST_POOL_MARK", "1")
    assert (
        map_items(lambda _: os.environ.get("POINTLINE_TEST_POOL_MARK"), [0, 1], max_workers=2)[0] == ["1"] * 2
    )
    assert _pids().isdisjoint(first)


def test_idle_workers_stop_by_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POINTLINE_WORKER_IDLE_S", "0.3")
    pids = _pids()
    assert _gone(pids)
    assert _pids().isdisjoint(pids)
