"""End-to-end latency of the guide's request on one synthetic day, with and without gates.

Data: one exchange × one symbol × one day from the synthetic generator — 1M trades (``--quick``:
200k), quotes, 1 s book snapshots — ingested once into ``bench_results/pipeline_lake`` (reused).
Timed (best of ``--repeat`` runs, after one warm-up run that compiles the Numba kernels):

- ``bare``: no gates;
- ``gates``: pit ordering, lookahead (recomputation at 4 cuts), partition safety, unassigned ratio;
- ``gates_with_reproducibility``: the above plus a full re-read and recompute;
- ``executor_local_kept_workers_s``: two items on ``local`` worker processes, later calls (workers
  kept) against the process's first call (workers started), with ``threads`` for reference.

Prints JSON lines; the baseline of each gated run is the bare run of the same process (ratio).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import sys
import time
from pathlib import Path

import polars as pl

import pointline
from pointline.ingest import ingest
from pointline.research import pipeline, query
from pointline.synth import SynthConfig, generate_market

ROOT = Path(__file__).resolve().parents[1] / "bench_results"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipeline"))
from conftest import GUIDE_REQUEST  # noqa: E402


def prepare(trades_per_day: int) -> Path:
    lake = ROOT / f"pipeline_lake_{trades_per_day}"
    if (lake / "trades" / "_delta_log").is_dir():
        return lake
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=1,
        exchanges=("binance-futures",),
        symbols=("BTCUSDT",),
        trades_per_day=trades_per_day,
        book_interval_s=1.0,
        seed=3,
    )
    files = generate_market(ROOT / f"pipeline_raw_{trades_per_day}", config)
    ingest(files, lake=lake)
    return lake


def request_for(lake: Path, out: Path) -> dict:
    request = copy.deepcopy(GUIDE_REQUEST)
    request["timeline"] = {
        "start": "2024-05-01T00:00:00Z",
        "end": "2024-05-02T00:00:00Z",
        "ts_col": "ts_local_us",
    }
    trades = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True, lake=lake)
    assert isinstance(trades, pl.DataFrame)
    request["spine"]["config"]["volume_threshold"] = round(float(trades["qty"].sum()) * 0.002, 3)
    request["artifacts"]["output_dir"] = str(out)
    return request


def timed(request: dict, repeat: int) -> tuple[float, dict]:
    best, out = float("inf"), {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = pipeline(request)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = 200_000 if args.quick else 1_000_000
    t0 = time.perf_counter()
    lake = prepare(n)
    prep_s = time.perf_counter() - t0
    pointline.set_lake(lake)
    base = request_for(lake, ROOT / "pipeline_out")
    bare = copy.deepcopy(base)
    bare["constraints"] = {
        "forbid_lookahead": False,
        "require_pit_ordering": False,
        "skip_reproducibility_check": True,
        "partition_safety": False,
    }
    gates = copy.deepcopy(base)
    gates["constraints"]["skip_reproducibility_check"] = True
    full = copy.deepcopy(base)
    pipeline(bare)  # warm-up: Numba compilation, imports
    bare_s, out = timed(bare, args.repeat)
    gates_s, gated = timed(gates, args.repeat)
    full_s, _ = timed(full, args.repeat)
    rows = out["results"]["row_count"]
    common = {
        "trades": n,
        "bars": rows,
        "prep_s": round(prep_s, 2),
        "accepted": gated["decision"]["status"] == "accept",
    }
    print(
        json.dumps(
            {
                "name": "pipeline_bare_one_day",
                "value": round(bare_s, 4),
                "unit": "s",
                "target": "<= 1.0 s",
                **common,
            }
        )
    )
    print(json.dumps(executor_overhead(lake, args.repeat)), flush=True)
    for name, seconds in (("pipeline_gates", gates_s), ("pipeline_gates_with_reproducibility", full_s)):
        print(
            json.dumps(
                {
                    "name": name,
                    "value": round(seconds, 4),
                    "unit": "s",
                    "baseline": round(bare_s, 4),
                    "ratio": round(seconds / bare_s, 3),
                    "target_ratio": "<= 3.0",
                    **common,
                }
            )
        )


def _day_of_trades(lake: str) -> int:
    """A worker's typical first work: import the query path and read a day of trades."""
    from pointline.research import query as q

    frame = q.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True, lake=lake)
    return frame.height


def executor_overhead(lake: Path, repeat: int) -> dict[str, object]:
    """Two items on ``local`` worker processes: the first call of a process (workers started) against
    later calls (the workers kept), with ``threads`` for reference."""
    from pointline.scale.executors import map_items
    from pointline.scale.processes import shutdown_workers

    items = [str(lake), str(lake)]
    shutdown_workers()
    t0 = time.perf_counter()
    map_items(_day_of_trades, items, executor="local", max_workers=2)
    first = time.perf_counter() - t0
    later, threads = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        map_items(_day_of_trades, items, executor="local", max_workers=2)
        later.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        map_items(_day_of_trades, items, executor="threads", max_workers=2)
        threads.append(time.perf_counter() - t0)
    shutdown_workers()
    return {
        "name": "executor_local_kept_workers_s",
        "value": round(min(later), 4),
        "unit": "s",
        "baseline": round(first, 4),
        "baseline_name": "the first call of the process (workers started)",
        "ratio": round(min(later) / first, 3),
        "threads_s": round(min(threads), 4),
        "note": "two items, each reading a day of trades; informational: lower is better",
    }


if __name__ == "__main__":
    main()
