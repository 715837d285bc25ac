"""map_items on this machine: ``local`` worker processes, ``threads``, inline for one worker; item
order, work travelling by value, errors raised as themselves, and the Polars threads of a worker."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from pathlib import Path

import polars as pl
import pytest

import pointline
from pointline.errors import PointlineError, SymbolNotFoundError, ValidationError
from pointline.scale.executors import map_items
from pointline.scale.processes import polars_threads


def test_local_results_keep_item_order_and_run_in_worker_processes() -> None:
    results, ran = map_items(lambda item: (item * item, os.getpid()), list(range(5)), max_workers=2)
    assert [square for square, _ in results] == [0, 1, 4, 9, 16]
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) == 2
    assert ran == {"requested": "local", "ran_on": "local processes", "workers": 2}


def test_work_defined_in_a_function_travels_by_value() -> None:
    """A lambda, a closure and a class defined here exist in no importable module: the workers get
    them by value (as from a notebook or a script's ``__main__``)."""
    offset = 10

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

        def shifted(self) -> Point:
            return Point(self.x + offset)

    def shift(point: Point) -> Point:
        return point.shifted()

    results, ran = map_items(shift, [Point(1), Point(2)], max_workers=2)
    assert ran["ran_on"] == "local processes"
    assert [p.x for p in results] == [11, 12]
    frames, _ = map_items(lambda n: pl.DataFrame({"n": [n] * n}), [1, 2, 3], max_workers=2)
    assert [f.height for f in frames] == [1, 2, 3]


def test_a_task_s_error_is_raised_as_itself() -> None:
    def check(symbol: str) -> str:
        if symbol == "XXX":
            raise SymbolNotFoundError(f"no instrument {symbol!r}")
        if symbol == "bad":
            raise ValidationError("the request is invalid", [("$.a", "expected a number")])
        if symbol == "":
            raise ValueError("empty symbol")
        return symbol.lower()

    with pytest.raises(SymbolNotFoundError) as raised:
        map_items(check, ["A", "XXX", "B"], max_workers=2)
    assert type(raised.value) is SymbolNotFoundError and str(raised.value) == "no instrument 'XXX'"
    with pytest.raises(ValidationError) as invalid:
        map_items(check, ["bad", "A"], max_workers=2)
    assert str(invalid.value) == "the request is invalid"
    assert invalid.value.problems == [("$.a", "expected a number")]
    with pytest.raises(ValueError) as other:
        map_items(check, ["A", ""], max_workers=2)
    assert type(other.value) is ValueError and str(other.value) == "empty symbol"
    assert any("in a worker process by item 1" in note for note in other.value.__notes__)


def test_every_pointline_error_survives_pickling() -> None:
    """A task's error crosses from a worker process by pickle: each class, custom ``__init__``s
    included, comes back as itself with its message (and attributes)."""
    import pointline.ingest.registry
    import pointline.research.resample.registry  # noqa: F401  (their error classes)

    def subclasses(cls: type[PointlineError]) -> list[type[PointlineError]]:
        return [cls, *(sub for direct in cls.__subclasses__() for sub in subclasses(direct))]

    classes = [cls for cls in subclasses(PointlineError) if cls.__module__.startswith("pointline.")]
    assert len(classes) >= 6
    for cls in classes:
        error = cls("what was wrong and what was expected")
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls and str(back) == str(error) and vars(back) == vars(error), cls


def test_a_worker_that_dies_is_named_not_waited_for() -> None:
    def die_on_one(item: int) -> int:
        if item == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return item

    with pytest.raises(
        PointlineError, match=r"^item 1: the worker process running it died \(killed by SIGKILL\)"
    ):
        map_items(die_on_one, [0, 1, 2, 3], max_workers=2)


def test_what_cannot_be_pickled_is_reported_before_any_worker_starts() -> None:
    lock = threading.Lock()
    with pytest.raises(PointlineError, match=r"the function cannot be sent to a worker process .*'threads'"):
        map_items(lambda _: lock.locked(), [1, 2], max_workers=2)
    with pytest.raises(PointlineError, match="item 1 cannot be sent to a worker process"):
        map_items(str, [1, lock], max_workers=2)
    with pytest.raises(
        PointlineError, match=r"^item [01]: its result cannot be sent back from a worker process"
    ):
        map_items(lambda n: (i for i in range(n)), [1, 2], max_workers=2)


def test_each_worker_runs_polars_on_its_share_of_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    def pool_size(_: int) -> int:
        return pl.thread_pool_size()

    sizes, _ = map_items(pool_size, [0, 1], max_workers=2)
    assert sizes == [polars_threads(2)] * 2 == [max(1, (os.cpu_count() or 1) // 2)] * 2
    monkeypatch.setenv("POLARS_MAX_THREADS", "1")  # the caller's own limit is kept when lower
    assert map_items(pool_size, [0, 1], max_workers=2)[0] == [1, 1]


def test_workers_default_to_the_caller_s_lake(lake: Path) -> None:
    lakes, _ = map_items(lambda _: pointline.get_lake(), [0, 1], max_workers=2)
    assert lakes == [str(lake.resolve())] * 2


def test_one_worker_runs_inline_in_the_calling_thread() -> None:
    caller = (os.getpid(), threading.get_ident())
    for executor in ("local", "threads"):
        results, ran = map_items(
            lambda _: (os.getpid(), threading.get_ident()), [1, 2], executor=executor, max_workers=1
        )
        assert results == [caller, caller]
        assert ran == {"requested": executor, "ran_on": "inline", "workers": 1}
    assert map_items(abs, [-1], executor="local")[1]["ran_on"] == "inline"


def test_threads_keep_item_order_and_run_on_several_threads() -> None:
    seen: set[int] = set()
    barrier = threading.Barrier(2, timeout=10)

    def work(item: int) -> int:
        if item < 2:  # the first two items meet: they run at the same time
            barrier.wait()
        seen.add(threading.get_ident())
        return item * item

    results, ran = map_items(work, [0, 1, 2, 3], executor="threads", max_workers=2)
    assert results == [0, 1, 4, 9]
    assert ran == {"requested": "threads", "ran_on": "local threads", "workers": 2}
    assert len(seen) == 2


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(PointlineError, match="unknown executor 'dask'; expected one of local, threads, ray"):
        map_items(abs, [1], executor="dask")
    with pytest.raises(PointlineError, match="max_workers must be at least 1"):
        map_items(abs, [1], max_workers=0)
