"""Run independent work items (symbols, parameter sets) on local threads or on a Ray cluster.

:func:`map_items` is the one entry point: ``fn`` applied to every item, results in item order, and
a description of where the work ran (for lineage).

- ``local``: a thread pool in this process. The work is Polars and Numba, which release the GIL, and
  threads see everything registered in this interpreter.
- ``ray``: one Ray task per item. Connects to the cluster already joined by this process
  (``ray.init(...)`` in user code), else to ``$RAY_ADDRESS``, else starts a local Ray instance with
  ``max_workers`` CPUs (kept for later calls of the same process). Workers must be able to import
  ``pointline`` and read the lake path (on a cluster: the same install, and the lake on shared
  storage). ``fn`` and the items travel by pickle (Ray's cloudpickle), so functions and classes
  defined in a notebook or ``__main__`` travel by value. At most ``max_workers`` tasks run at once
  when given; otherwise the cluster's CPUs decide.

A task that raises re-raises its own exception here (not Ray's wrapper), so a user mistake reads
the same on either executor.

Example
-------
>>> results, ran = map_items(abs, [-1, 2, -3], executor="local")
>>> results, ran["ran_on"]
([1, 2, 3], 'local threads')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pointline.errors import PointlineError

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")


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
        ``local`` (threads) or ``ray``.
    max_workers
        Most items processed at once (local default: one per item up to the CPU count).

    Returns
    -------
    ``(results, execution)``: results in item order; ``execution`` has ``requested``, ``ran_on``,
    ``workers`` and, for Ray, ``ray`` (address, nodes, CPUs).

    Raises
    ------
    PointlineError
        Unknown executor, or ``ray`` without Ray installed.
    """
    if executor not in EXECUTORS:
        raise PointlineError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if max_workers is not None and max_workers < 1:
        raise PointlineError(f"max_workers must be at least 1, got {max_workers}")
    if executor == "ray":
        return _map_ray(fn, items, max_workers)
    workers = max(1, min(len(items), max_workers or os.cpu_count() or 1))
    if workers == 1:
        results = [fn(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(fn, items))
    return results, {"requested": executor, "ran_on": "local threads", "workers": workers}


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
            "executor 'ray' needs Ray installed: pip install 'pointline[ray]' (or use executor 'local')"
        ) from None
    return ray
