"""Benchmark: the whole ``pointline study`` (``run_study`` + ``write_study``) on a quarter of trades.

Data: 92 days × 3 exchanges × 50,000 trades per day of BTCUSDT from the synthetic generator
(``--quick``: 10 days × 20,000), trades only (the study reads nothing else), ingested once into
``bench_results/study_lake_<days>d_<trades>`` (set-up, not timed; reused by later runs).
Timed: what the command does after parsing its config — load trades and build the 5-minute
features per exchange, the study frame, IC / deciles / quality, the 48-configuration sweep,
walk-forward, report and tables — in a fresh process (Numba kernels load from their cache).

Prints JSON lines: ``study_end_to_end`` against the 120 s target (``ratio`` = 120 s / measured,
target ≥ 1) and ``study_steps`` with the seconds of each step. ``--profile`` prints the top of a
cProfile of the timed run to stderr.

    python benchmarks/bench_study.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pointline.ingest import ingest
from pointline.research.study import run_study, write_study
from pointline.synth import SynthConfig, generate_market

ROOT = Path(__file__).resolve().parents[1] / "bench_results"
TARGET_S = 120.0
START = dt.date(2024, 1, 1)


def prepare(days: int, trades_per_day: int) -> Path:
    """The cached lake of ``days`` × 3 exchanges × ``trades_per_day`` (built on first use)."""
    lake = ROOT / f"study_lake_{days}d_{trades_per_day}"
    ready = lake / "_bench_ready"
    if ready.is_file():
        return lake
    shutil.rmtree(lake, ignore_errors=True)
    config = SynthConfig(
        start=START,
        days=days,
        symbols=("BTCUSDT",),
        seed=7,
        trades_per_day=trades_per_day,
        data_types=("trades",),
    )
    with tempfile.TemporaryDirectory(dir=ROOT) as raw:
        report = ingest(generate_market(raw, config), lake=lake)
    bad = [f for f in report.files if f.status != "ingested"]
    if bad:
        raise SystemExit(f"set-up failed: {bad[0]}")
    ready.write_text(json.dumps({"days": days, "trades_per_day": trades_per_day}))
    return lake


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10 days x 20,000 trades instead of 92 x 50,000")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed run (top 30 to stderr)")
    args = parser.parse_args()
    days, trades = (10, 20_000) if args.quick else (92, 50_000)
    ROOT.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    lake = prepare(days, trades)
    prep_s = time.perf_counter() - t0
    config = {
        "lake": str(lake),
        "symbol": "BTCUSDT",
        "start": START.isoformat(),
        "end": (START + dt.timedelta(days=days)).isoformat(),
    }
    marks: list[tuple[str, float]] = []
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(dir=ROOT) as out:
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        result = run_study(config, progress=lambda step: marks.append((step, time.perf_counter())))
        marks.append(("writing report", time.perf_counter()))
        write_study(result, out)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - t0
    marks.append(("end", t0 + elapsed))
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    steps = {
        name: round(marks[i + 1][1] - at, 3) for i, (name, at) in enumerate(marks[:-1]) if name != "done"
    }
    common = {
        "days": days,
        "exchanges": 3,
        "trades_per_day": trades,
        "bars": result.clean.frame.height,
        "prep_s": round(prep_s, 1),
    }
    print(
        json.dumps(
            {
                "name": "study_end_to_end",
                "value": round(elapsed, 2),
                "unit": "s",
                "baseline": TARGET_S,
                "baseline_name": "target",
                "ratio": round(TARGET_S / elapsed, 2),
                "target_ratio": ">= 1.0",
                **common,
            }
        )
    )
    print(json.dumps({"name": "study_steps", "value": steps, "unit": "s", **common}))


if __name__ == "__main__":
    main()
