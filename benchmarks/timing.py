"""Timing helper shared by the benchmark scripts (not a benchmark itself: ``run_all`` runs ``bench_*``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Shortest wall time in seconds of ``repeat`` calls of ``fn`` (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
