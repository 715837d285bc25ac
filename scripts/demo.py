"""`make demo`: synthesise vendor files, ingest them into ./lake, look at what landed.

Runs end to end on an embedded lake under the working directory. Rerunning is cheap: the
synthetic files are deterministic and the ingest is idempotent (files already in the ledger
are skipped).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

import pointline
from pointline.ingest import ingest
from pointline.research import data_coverage, list_symbols, query
from pointline.synth import SynthConfig, generate_market

console = Console()
WORKDIR = Path.cwd()
LAKE = WORKDIR / "lake"
RAW = WORKDIR / "demo_out" / "raw"
EXCHANGES = ("binance-futures", "bybit", "okex-swap")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
START = dt.date(2024, 5, 1)
DAYS = 3


def main() -> None:
    started = time.perf_counter()
    pointline.set_lake(LAKE)

    console.print(Rule("1. Synthesise vendor files (Tardis CSV.gz)"))
    config = SynthConfig(start=START, days=DAYS, exchanges=EXCHANGES, symbols=SYMBOLS, seed=7)
    files = generate_market(RAW, config)
    console.print(f"{len(files)} files under {RAW}")

    console.print(Rule("2. Ingest into the lake"))
    report = ingest(files, progress=True)
    report.print_summary(console)

    console.print(Rule("3. Discover"))
    console.print(list_symbols(exchange="binance-futures"))
    coverage = data_coverage("binance-futures", "BTCUSDT")
    for table, c in coverage.items():
        console.print(f"{table:>18}: available={c['available']} rows={c['rows']:,} days={c['days']}")

    console.print(Rule("4. Query"))
    trades = query.trades("binance-futures", "BTCUSDT", START, START + dt.timedelta(days=1), decoded=True)
    console.print(trades.select("ts_local_us", "side", "px", "qty", "px_int", "qty_int").head(5))
    console.print(f"{trades.height:,} trades on {START}")

    console.print(Rule(f"done in {time.perf_counter() - started:.1f}s"))


if __name__ == "__main__":
    main()
