"""Ingest throughput of a Tardis trades CSV.gz against a plain ``polars.read_csv`` of the same file.

Prints JSON lines: ``ingest_tardis_trades_rows_per_s`` (value = pointline rows/s for a file of a new
instrument, baseline = read_csv rows/s, ratio = value / baseline; the target is ratio ≥ 0.5),
``ingest_tardis_trades_known_instrument_rows_per_s`` (the next day's file into that lake: the daily
case), ``ingest_vs_read_csv_plus_write_parquet`` (informational: the same ingest against reading
the CSV and writing it back as one Parquet file, the floor of any ingest that lands Parquet),
``delta_append_rows_per_s`` (one ``storage.append`` of the same rows: the write every ingest
ends in) and ``ingest_tardis_book_snapshot_25_rows_per_s`` (a day of 1 s book snapshots; informational) and
``ingest_per_file_ms_late_vs_early`` (one ingest
of many small files into one lake: mean per-file time of the last 20 files against files 2–21 of the
same run; the target is ratio ≈ 1, i.e. per-file cost independent of how much the lake holds) and
``ingest_large_quotes_peak_rss_mb`` (peak memory of ingesting a large quotes file read in batches,
against the same file read whole, each in a fresh process; informational, lower is better).
Times are medians of ``--repeat`` interleaved rounds (read, ingest, ingest) after one warm-up of
each side: on a shared machine a single round is noise. The warm-up excludes what a process pays
once (imports, compiled-kernel cache loads, thread pools), as the baseline's warm-up read does.
``--quick`` uses 200k rows, 3 rounds and 100 small files (default 1M rows, 5 rounds, 200 small files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from pointline.ingest import ingest
from pointline.ingest.report import FileResult
from pointline.ingest.runner import IngestContext, run
from pointline.lake import storage
from pointline.synth import SynthConfig, generate_market

T0 = 1_714_521_600_000_000
DAY_US = 86_400_000_000
WINDOW = 20


def make_file(path: Path, rows: int, seed: int = 7, start_us: int = T0) -> None:
    rng = np.random.default_rng(seed)
    local = start_us + np.cumsum(rng.integers(0, 20_000, rows))
    exch = local - rng.integers(50, 5_000, rows)
    price_ticks = 600_000 + np.cumsum(rng.integers(-3, 4, rows))  # 0.1 tick around 60000
    qty = rng.integers(1, 50_000, rows)  # 0.001 lot
    df = pl.DataFrame(
        {
            "exchange": "binance-futures",
            "symbol": "BTCUSDT",
            "timestamp": exch,
            "local_timestamp": local,
            "id": np.arange(rows) + 1_000_000,
            "side": np.where(rng.random(rows) < 0.5, "buy", "sell"),
            "price": (pl.Series(price_ticks) // 10).cast(pl.Utf8)
            + "."
            + (pl.Series(price_ticks) % 10).cast(pl.Utf8),
            "amount": (pl.Series(qty) // 1000).cast(pl.Utf8)
            + "."
            + (pl.Series(qty) % 1000).cast(pl.Utf8).str.pad_start(3, "0"),
        }
    )
    with gzip.open(path, "wb", compresslevel=6) as fh:
        df.write_csv(fh)


def per_file_growth(tmp: Path, files: int, rows: int) -> dict[str, object]:
    """Ingest ``files`` one-day files (``rows`` trades each) in one call; per-file times early vs late."""
    paths = []
    for k in range(files):
        day = (T0 + k * DAY_US) // DAY_US
        path = tmp / "many" / f"binance-futures_trades_{np.datetime64(day, 'D')}_BTCUSDT.csv.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        make_file(path, rows, seed=k, start_us=T0 + k * DAY_US)
        paths.append(path)
    seconds: list[float] = []
    started = [0.0]

    def on_file(_: Path, result: FileResult | None) -> None:
        if result is None:
            started[0] = time.perf_counter()
        else:
            seconds.append(time.perf_counter() - started[0])

    start = time.perf_counter()
    report = run(paths, IngestContext(lake=tmp / "many_lake"), on_file)
    total_s = time.perf_counter() - start
    assert [f.status for f in report.files] == ["ingested"] * files, report.summary()
    # The first file creates the tables; the early window starts after it.
    early = 1000 * sum(seconds[1 : 1 + WINDOW]) / WINDOW
    late = 1000 * sum(seconds[-WINDOW:]) / WINDOW
    return {
        "name": "ingest_per_file_ms_late_vs_early",
        "value": round(late, 1),
        "unit": "ms/file",
        "baseline": round(early, 1),
        "baseline_name": f"files 2-{1 + WINDOW} of the same run",
        "ratio": round(late / early, 3),
        "files": files,
        "rows_per_file": rows,
        "total_s": round(total_s, 2),
        "note": f"mean over the last {WINDOW} files; target ratio ~1 (cost independent of lake size)",
    }


def ingest_vs_read(
    tmp: Path, rows: int, repeat: int
) -> tuple[dict[str, object], dict[str, object], dict[str, object], Path]:
    """Median times over ``repeat`` interleaved rounds of: ``pl.read_csv``, an ingest into a new lake
    (a new instrument: profiled, registered), and an ingest of the next day's file into that lake
    (a known instrument: the daily case)."""
    path = tmp / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    next_day = tmp / "binance-futures_trades_2024-05-02_BTCUSDT.csv.gz"
    make_file(path, rows)
    make_file(next_day, rows, seed=8, start_us=T0 + DAY_US)
    # Warm-up of both sides: imports, thread pools, compiled-kernel cache loads, Delta; once per process.
    pl.read_csv(path)
    warm = tmp / "warm.csv.gz"
    make_file(warm, 10_000)
    ingest([warm], lake=tmp / "warm_lake")
    reads, fresh, known, read_writes = [], [], [], []
    lake = tmp / "lake"
    for k in range(repeat):
        start = time.perf_counter()
        baseline_df = pl.read_csv(path)
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        pl.read_csv(path).write_parquet(tmp / f"floor{k}.parquet", compression="snappy")
        read_writes.append(time.perf_counter() - start)
        lake = tmp / f"lake{k}"
        start = time.perf_counter()
        report = ingest([path], lake=lake)
        fresh.append(time.perf_counter() - start)
        assert report.files[0].rows_written == rows == baseline_df.height, report.files[0]
        start = time.perf_counter()
        report = ingest([next_day], lake=lake)
        known.append(time.perf_counter() - start)
        assert report.files[0].rows_written == rows, report.files[0]
    read_s = statistics.median(reads)

    def line(name: str, seconds: list[float], note: str) -> dict[str, object]:
        value = rows / statistics.median(seconds)
        return {
            "name": name,
            "value": round(value),
            "unit": "rows/s",
            "baseline": round(rows / read_s),
            "baseline_name": "polars.read_csv",
            "ratio": round(value / (rows / read_s), 3),
            "rows": rows,
            "ingest_s": round(statistics.median(seconds), 3),
            "ingest_s_min": round(min(seconds), 3),
            "read_csv_s": round(read_s, 3),
            "read_csv_s_min": round(min(reads), 3),
            "repeat": repeat,
            "note": note,
            **({"target_ratio": ">= 0.5"} if "target" in note else {}),
        }

    floor = {
        "name": "ingest_vs_read_csv_plus_write_parquet",
        "value": round(rows / statistics.median(fresh)),
        "unit": "rows/s",
        "baseline": round(rows / statistics.median(read_writes)),
        "baseline_name": "polars.read_csv + DataFrame.write_parquet (the floor of any ingest landing Parquet)",
        "ratio": round(statistics.median(read_writes) / statistics.median(fresh), 3),
        "read_write_s": round(statistics.median(read_writes), 3),
        "note": "informational: same ingest times as ingest_tardis_trades_rows_per_s",
    }
    return (
        line("ingest_tardis_trades_rows_per_s", fresh, "new instrument; medians; target ratio >= 0.5"),
        line("ingest_tardis_trades_known_instrument_rows_per_s", known, "next day of a known instrument"),
        floor,
        lake,
    )


def run_of_days(tmp: Path, rows: int, days: int, repeat: int) -> dict[str, object]:
    """One ingest call over ``days`` daily files of one instrument (how a lake is filled) against
    ``pl.read_csv`` of the same files one after another; medians of ``repeat`` interleaved rounds."""
    paths = []
    for k in range(days):
        path = (
            tmp
            / "run"
            / f"binance-futures_trades_{np.datetime64((T0 + k * DAY_US) // DAY_US, 'D')}_BTCUSDT.csv.gz"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        make_file(path, rows, seed=100 + k, start_us=T0 + k * DAY_US)
        paths.append(path)
    reads, runs = [], []
    for k in range(repeat):
        start = time.perf_counter()
        for path in paths:
            pl.read_csv(path)
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = ingest(paths, lake=tmp / f"run_lake{k}")
        runs.append(time.perf_counter() - start)
        assert [f.status for f in report.files] == ["ingested"] * days, report.summary()
    return _against_read_csv(
        "ingest_tardis_trades_run_rows_per_s",
        rows * days,
        runs,
        reads,
        baseline_name="polars.read_csv of the same files",
        note="one ingest call over consecutive days",
        files=days,
    )


def books(tmp: Path, repeat: int) -> dict[str, object]:
    """A day of 1 s book snapshots (86,400 x 25 levels, ``pointline synth``) against
    ``pl.read_csv`` of the same file; medians of ``repeat`` interleaved rounds."""
    files = generate_market(
        tmp / "books",
        SynthConfig(
            start=dt.date(2024, 5, 1),
            days=1,
            exchanges=("binance-futures",),
            symbols=("BTCUSDT",),
            seed=3,
            trades_per_day=10_000,
            book_interval_s=1.0,
        ),
    )
    path = next(f for f in files if "book_snapshot_25" in f.name)
    pl.read_csv(path)
    reads, runs = [], []
    for k in range(repeat):
        start = time.perf_counter()
        rows = pl.read_csv(path).height
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = ingest([path], lake=tmp / f"book_lake{k}")
        runs.append(time.perf_counter() - start)
        assert report.files[0].rows_written == rows, report.files[0]
    return _against_read_csv(
        "ingest_tardis_book_snapshot_25_rows_per_s",
        rows,
        runs,
        reads,
        baseline_name="polars.read_csv",
        note="one day of 1 s snapshots, 25 levels, new instrument",
    )


def _against_read_csv(
    name: str,
    rows: int,
    runs: list[float],
    reads: list[float],
    *,
    baseline_name: str,
    note: str,
    **extra: object,
) -> dict[str, object]:
    """A result line: ingest rows/s (median of ``runs``) against read_csv rows/s (median of ``reads``)."""
    value, baseline = rows / statistics.median(runs), rows / statistics.median(reads)
    return {
        "name": name,
        "value": round(value),
        "unit": "rows/s",
        "baseline": round(baseline),
        "baseline_name": baseline_name,
        "ratio": round(value / baseline, 3),
        "rows": rows,
        **extra,
        "ingest_s": round(statistics.median(runs), 3),
        "read_csv_s": round(statistics.median(reads), 3),
        "repeat": len(runs),
        "note": note,
    }


_PEAK_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pointline.ingest.runner import IngestContext, run
path, lake, batched = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
context = IngestContext(lake=lake, batch_above_bytes=0) if batched else IngestContext(lake=lake, batch_cells=None)
start = time.perf_counter()
report = run([path], context)
seconds = time.perf_counter() - start
assert report.files[0].status == "ingested", report.files[0]
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork and exec)
rss = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM'))
print(json.dumps({"seconds": seconds, "peak_rss": rss, "rows": report.files[0].rows_written}))
"""


def large_file_memory(tmp: Path, rows: int) -> dict[str, object]:
    """Peak memory of one ingest of a large quotes file (a new instrument: profiled, then landed)
    read in batches (the default above ``BATCH_ABOVE_BYTES``) against the same file read whole;
    each in a fresh process (peak RSS is per process)."""
    rng = np.random.default_rng(5)
    local = T0 + np.cumsum(rng.integers(0, 4_000, rows))
    mid = pl.Series(600_000 + np.cumsum(rng.integers(-1, 2, rows)))

    def text(values: pl.Series, decimals: int) -> pl.Series:
        scale = 10**decimals
        return (
            (values // scale).cast(pl.Utf8)
            + "."
            + (values % scale).cast(pl.Utf8).str.pad_start(decimals, "0")
        )

    frame = pl.DataFrame(
        {
            "exchange": "binance-futures",
            "symbol": "BTCUSDT",
            "timestamp": local - 300,
            "local_timestamp": local,
            "ask_amount": text(pl.Series(rng.integers(1, 50_000, rows)), 3),
            "ask_price": text(mid + 1, 1),
            "bid_price": text(mid, 1),
            "bid_amount": text(pl.Series(rng.integers(1, 50_000, rows)), 3),
        }
    )
    path = tmp / "large" / "binance-futures_quotes_2024-05-01_BTCUSDT.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        frame.write_csv(fh)
    del frame
    out = {}
    for batched in (True, False):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _PEAK_CHILD,
                str(path),
                str(tmp / f"large_lake_{batched}"),
                "1" if batched else "0",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        out[batched] = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "name": "ingest_large_quotes_peak_rss_mb",
        "value": round(out[True]["peak_rss"] / 2**20),
        "unit": "MB",
        "baseline": round(out[False]["peak_rss"] / 2**20),
        "baseline_name": "the same file read whole",
        "ratio": round(out[True]["peak_rss"] / out[False]["peak_rss"], 3),
        "rows": rows,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "batched_s": round(out[True]["seconds"], 2),
        "whole_s": round(out[False]["seconds"], 2),
        "note": "informational: memory of a file read in batches stays near one batch's; lower is better",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="interleaved rounds (median reported)")
    parser.add_argument("--files", type=int, default=None, help="small files for the growth line")
    parser.add_argument("--days", type=int, default=4, help="daily files in the run line")
    args = parser.parse_args()
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    files = args.files or (100 if args.quick else 200)
    repeat = args.repeat or (3 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        fresh, known, floor, lake = ingest_vs_read(Path(tmp), rows, repeat)
        print(json.dumps(fresh), flush=True)
        print(json.dumps(known), flush=True)
        print(json.dumps(floor), flush=True)
        print(json.dumps(run_of_days(Path(tmp), rows, args.days, max(1, repeat - 2))), flush=True)
        print(json.dumps(books(Path(tmp), repeat)), flush=True)
        # The floor under any ingest: one Delta commit of the same rows (storage.append alone).
        landed = storage.scan_partitions("trades", lake=lake)
        assert landed is not None
        frame = landed.collect()
        start = time.perf_counter()
        storage.append("trades", frame, lake=Path(tmp) / "floor", partition_by=("exchange", "date"))
        append_s = time.perf_counter() - start
        print(
            json.dumps(
                {
                    "name": "delta_append_rows_per_s",
                    "value": round(frame.height / append_s),
                    "unit": "rows/s",
                    "baseline": fresh["baseline"],
                    "baseline_name": "polars.read_csv",
                    "ratio": round((frame.height / append_s) / float(fresh["baseline"]), 3),  # type: ignore[arg-type]
                    "rows": frame.height,
                    "note": "storage.append of the ingested rows (two days) alone: part of every ingest",
                }
            ),
            flush=True,
        )
        print(json.dumps(per_file_growth(Path(tmp), files, rows=2_000)), flush=True)
        print(json.dumps(large_file_memory(Path(tmp), 2_000_000 if args.quick else 10_000_000)), flush=True)


if __name__ == "__main__":
    main()
