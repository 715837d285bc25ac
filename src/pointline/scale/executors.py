"""Run independent work items (symbols, parameter sets) in worker processes, threads or on Ray.

:func:`map_items` is the one entry point: ``fn`` applied to every item, results in item order, and
a description of where the work ran (for lineage). With one worker (one item, or ``max_workers=1``)
``local`` and ``threads`` run the items inline, in this thread: no pool, no start-up cost.

- ``local`` (default): worker processes on this machine (:mod:`pointline.scale.processes`). Each is
  a fresh interpreter (never a fork), so starting one costs about 1–3 s (importing Polars and
  Pointline); they are kept for later calls of this process (until idle for 10 minutes, or replaced
  when they could run stale code); each runs Polars with its share of the CPUs. ``fn`` and the items travel by value
  (cloudpickle), so functions and classes defined in a notebook, ``__main__`` or inside a function
  work there; what they reach through module-level state of this interpreter (registrations) does
  not, unless ``fn`` carries it (the pipeline sends its registries along). Where worker processes
  are not available (Windows: they need POSIX file-descriptor passing), ``local`` runs as ``threads``
  and says so in ``ran_on``.
- ``threads``: a thread pool in this process. No start-up cost, and ``fn`` sees everything of this
  interpreter, including what cannot be pickled; the work overlaps as far as it releases the GIL
  (Polars and the Numba kernels do).
- ``ray``: one Ray task per item. Connects to the cluster already joined by this process
  (``ray.init(...)`` in user code), else to ``$RAY_ADDRESS``, else starts a local Ray instance with
  ``max_workers`` CPUs (kept for later calls of the same process). Workers must be able to import
  ``pointline`` and read the lake path (on a cluster: the same install, and the lake on shared
  storage). ``fn`` and the items travel by pickle (Ray's cloudpickle), so functions and classes
  defined in a notebook or ``__main__`` travel by value. At most ``max_workers`` tasks run at once
  when given; otherwise the cluster's CPUs decide.

A task that raises re-raises its own exception here (not a wrapper), so a user mistake reads the
same on every executor; a ``local`` worker process that dies raises a
:class:`~pointline.errors.PointlineError` naming its item.

Example
-------
>>> results, ran = map_items(abs, [-1, 2, -3], executor="threads", max_workers=2)
>>> results, ran["ran_on"], ran["workers"]
([1, 2, 3], 'local threads', 2)
>>> map_items(abs, [-4], executor="local")[1]["ran_on"]  # one item: inline, no worker process
'inline'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pointline.errors import PointlineError
from pointline.scale.processes import map_processes

T = TypeVar("T")
R = TypeVar("R")

#: ``local``: worker processes; ``threads``: threads of this process; ``ray``: Ray tasks.
EXECUTORS = ("local", "threads", "ray")
#: Worker processes need POSIX file-descriptor passing; elsewhere (Windows) ``local`` runs threads.
PROCESSES_AVAILABLE = os.name == "posix"


def map_items(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: str = "local",
    max_workers: int | None = None,
) -> tuple[list[R], dict[str, Any]]:
    """``[fn(item) for item in items]`` on ``executor``; also where it ran.

    Parameters
    ----------
    executor
        ``local`` (worker processes), ``threads`` or ``ray``.
    max_workers
        Most items processed at once (``local`` and ``threads`` default: one per item up to the CPU
        count). One worker runs the items inline, in this thread.

    Returns
    -------
    ``(results, execution)``: results in item order; ``execution`` has ``requested``, ``ran_on``
    (``local processes``, ``local threads``, ``inline`` or ``ray``), ``workers`` and, for Ray,
    ``ray`` (address, nodes, CPUs).

    Raises
    ------
    PointlineError
        Unknown executor, ``ray`` without Ray installed, ``fn`` or an item that cannot be sent to a
        worker process, or a worker process that died.
    """
    if executor not in EXECUTORS:
        raise PointlineError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if max_workers is not None and max_workers < 1:
        raise PointlineError(f"max_workers must be at least 1, got {max_workers}")
    if executor == "ray":
        return _map_ray(fn, items, max_workers)
    workers = max(1, min(len(items), max_workers or os.cpu_count() or 1))
    if workers == 1:
        results, ran_on = [fn(item) for item in items], "inline"
    elif executor == "threads" or not PROCESSES_AVAILABLE:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results, ran_on = list(pool.map(fn, items)), "local threads"
    else:
        results, ran_on = map_processes(fn, items, workers), "local processes"
    return results, {"requested": executor, "ran_on": ran_on, "workers": workers}


def _map_ray(
    fn: Callable[[T], R], items: Sequence[T], max_workers: int | None
) -> tuple[list[R], dict[str, Any]]:
    ray = _ray()
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(
                num_cpus=max_workers or os.cpu_count() or 1,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    task = ray.remote(num_cpus=1)(_call)
    shipped = ray.put(fn)  # pickled once, not once per task
    limit = max_workers or len(items) or 1
    pending: dict[Any, int] = {}
    results: list[Any] = [None] * len(items)
    waiting = list(enumerate(items))
    try:
        while waiting or pending:
            while waiting and len(pending) < limit:
                index, item = waiting.pop(0)
                pending[task.remote(shipped, item)] = index
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                results[pending.pop(ref)] = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        for ref in pending:
            ray.cancel(ref)
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return results, {
        "requested": "ray",
        "ran_on": "ray",
        "workers": min(limit, len(items)),
        "ray": {
            "address": ray.get_runtime_context().gcs_address,
            "nodes": len(nodes),
            "cpus": resources.get("CPU", 0),
        },
    }


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise PointlineError(
            "executor 'ray' needs Ray installed: pip install 'pointline[ray]' (or use executor 'local' or 'threads')"
        ) from None
    return ray
