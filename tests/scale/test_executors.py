"""Local executor: item order, worker count, and clear errors for bad arguments."""

from __future__ import annotations

import threading

import pytest

from pointline.errors import PointlineError
from pointline.scale.executors import map_items


def test_local_results_keep_item_order_and_run_on_several_threads() -> None:
    seen: set[int] = set()
    barrier = threading.Barrier(2, timeout=10)

    def work(item: int) -> int:
        if item < 2:  # the first two items meet: they run at the same time
            barrier.wait()
        seen.add(threading.get_ident())
        return item * item

    results, ran = map_items(work, [0, 1, 2, 3], executor="local", max_workers=2)
    assert results == [0, 1, 4, 9]
    assert ran == {"requested": "local", "ran_on": "local threads", "workers": 2}
    assert len(seen) == 2


def test_one_worker_runs_in_the_calling_thread() -> None:
    caller = threading.get_ident()
    results, ran = map_items(lambda _: threading.get_ident(), [1, 2], executor="local", max_workers=1)
    assert results == [caller, caller] and ran["workers"] == 1


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(PointlineError, match="unknown executor 'dask'; expected one of local, ray"):
        map_items(abs, [1], executor="dask")
    with pytest.raises(PointlineError, match="max_workers must be at least 1"):
        map_items(abs, [1], max_workers=0)
