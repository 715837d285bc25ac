"""Query throughput: decoded trades of one symbol-day against a plain ``polars.read_parquet`` of the
same Parquet files in the same run.

Prints JSON lines: ``query_trades_decoded_rows_per_s`` (value = ``query.trades(..., decoded=True)``
rows/s, baseline = ``read_parquet`` rows/s of the day's files, ratio = value / baseline; target ≥ 0.5)
and ``query_trades_raw_rows_per_s`` (stored integers only, same baseline). ``--quick`` uses 200k rows.
The lake (one synthetic Tardis trades file ingested) is set-up, not measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import polars as pl

from pointline.ingest import ingest
from pointline.research import query

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import make_file
from timing import best_of


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = 200_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
        make_file(path, rows)
        lake = Path(tmp) / "lake"
        ingest([path], lake=lake)
        files = sorted((lake / "trades").glob("exchange=binance-futures/date=2024-05-01/*.parquet"))
        assert files, "no Parquet files landed"

        def decoded() -> pl.DataFrame:
            out = query.trades(
                "binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True, lake=lake
            )
            assert isinstance(out, pl.DataFrame) and out.height == rows
            return out

        def raw() -> pl.DataFrame:
            out = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", lake=lake)
            assert isinstance(out, pl.DataFrame) and out.height == rows
            return out

        def baseline() -> pl.DataFrame:
            return pl.read_parquet(files)

        decoded(), raw(), baseline()  # warm-up
        base_s = best_of(baseline, args.repeat)
        for name, fn in (("query_trades_decoded_rows_per_s", decoded), ("query_trades_raw_rows_per_s", raw)):
            seconds = best_of(fn, args.repeat)
            print(
                json.dumps(
                    {
                        "name": name,
                        "value": round(rows / seconds),
                        "unit": "rows/s",
                        "baseline": round(rows / base_s),
                        "baseline_name": "polars.read_parquet",
                        "ratio": round(base_s / seconds, 3),
                        "target_ratio": ">= 0.5",
                        "rows": rows,
                        "query_s": round(seconds, 4),
                        "read_parquet_s": round(base_s, 4),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
