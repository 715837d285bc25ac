"""End-to-end latency of the guide's request on one synthetic day, with and without gates.

Data: one exchange × one symbol × one day from the synthetic generator — 1M trades (``--quick``:
200k), quotes, 1 s book snapshots — ingested once into ``bench_results/pipeline_lake`` (reused).
Timed (best of ``--repeat`` runs, after one warm-up run that compiles the Numba kernels):

- ``bare``: no gates;
- ``gates``: pit ordering, lookahead (recomputation at 4 cuts), partition safety, unassigned ratio;
- ``gates_with_reproducibility``: the above plus a full re-read and recompute;
- ``executor_local_kept_workers_s``: two items on ``local`` worker processes, later calls (workers
  kept) against the process's first call (workers started), with ``threads`` for reference.
- ``pipeline_streamed_peak_rss_mb``: the guide's request with every gate over several days
  (``--quick``: 4 days of 100k trades; default 6 days of 300k), streamed (a UTC day at a time)
  against one pass, each in a fresh process: peak memory and time (informational: a streamed run's
  memory follows a day's events, a one-pass run's the whole timeline's).

Prints JSON lines; the baseline of each gated run is the bare run of the same process (ratio).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import subprocess
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


def prepare(trades_per_day: int, days: int = 1) -> Path:
    name = f"{trades_per_day}" if days == 1 else f"{trades_per_day}x{days}"
    lake = ROOT / f"pipeline_lake_{name}"
    if (lake / "trades" / "_delta_log").is_dir():
        return lake
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=days,
        exchanges=("binance-futures",),
        symbols=("BTCUSDT",),
        trades_per_day=trades_per_day,
        book_interval_s=1.0,
        seed=3,
    )
    raw = ROOT / f"pipeline_raw_{name}"
    files = generate_market(raw, config)
    ingest(files, lake=lake)
    shutil.rmtree(raw, ignore_errors=True)
    return lake


def request_for(lake: Path, out: Path, days: int = 1) -> dict:
    request = copy.deepcopy(GUIDE_REQUEST)
    request["timeline"] = {
        "start": "2024-05-01T00:00:00Z",
        "end": (dt.date(2024, 5, 1) + dt.timedelta(days=days)).isoformat() + "T00:00:00Z",
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
    days, per_day = (4, 100_000) if args.quick else (6, 300_000)
    print(json.dumps(streamed_memory(per_day, days)), flush=True)
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


_PEAK_CHILD = """
import json, resource, sys, time
import pointline
from pointline.research import pipeline
request = json.loads(sys.argv[1])
start = time.perf_counter()
out = pipeline(request, lake=sys.argv[2])
seconds = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork and exec)
rss = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM'))
print(json.dumps({"seconds": seconds, "peak_rss": rss, "status": out["decision"]["status"],
                  "rows": out["results"]["row_count"]}))
"""


def streamed_memory(trades_per_day: int, days: int) -> dict[str, object]:
    """Peak memory and time of a multi-day guide request with every gate, streamed and in one pass,
    each in a fresh process (peak RSS is per process)."""
    lake = prepare(trades_per_day, days)
    request = request_for(lake, ROOT / "pipeline_streamed_out", days)
    request["spine"]["config"]["volume_threshold"] = round(
        request["spine"]["config"]["volume_threshold"] * days / 4, 3
    )  # ~2,000 bars a day
    out = {}
    for streaming in ("always", "never"):
        request["execution"] = {"streaming": streaming}
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_CHILD, json.dumps(request), str(lake)],
            check=True,
            capture_output=True,
            text=True,
        )
        out[streaming] = json.loads(done.stdout.strip().splitlines()[-1])
    streamed, one = out["always"], out["never"]
    assert streamed["rows"] == one["rows"], out
    return {
        "name": "pipeline_streamed_peak_rss_mb",
        "value": round(streamed["peak_rss"] / 2**20),
        "unit": "MB",
        "baseline": round(one["peak_rss"] / 2**20),
        "baseline_name": "the same request in one pass",
        "ratio": round(streamed["peak_rss"] / one["peak_rss"], 3),
        "days": days,
        "trades_per_day": trades_per_day,
        "bars": streamed["rows"],
        "accepted": streamed["status"] == one["status"] == "accept",
        "streamed_s": round(streamed["seconds"], 2),
        "one_pass_s": round(one["seconds"], 2),
        "note": "informational: every gate on; lower is better",
    }


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
