"""`make demo`: from vendor files to a trusted feature table and a signal study.

1. synthesise Tardis CSV.gz files (3 exchanges x BTCUSDT/ETHUSDT x 3 days, planted contrarian flow effect);
2. ingest them into ./lake (exact fixed-point, idempotent);
3. discover and 4. query what landed (the Python readers and SQL);
5. run the guide's pipeline request (examples/guide_request.json): volume bars, trade/quote/book
   features, labels, and the quality gates that recompute to prove there is no lookahead, plus the
   online-parity gate: every event replayed one at a time through the online path gives the same table;
6. run the composite-signal study (examples/study.yaml): IC by horizon, deciles, regimes, sweep,
   walk-forward, HTML report under demo_out/study.

Runs end to end on an embedded lake under the working directory. Rerunning is cheap: the
synthetic files are deterministic and the ingest is idempotent (files already in the ledger
are skipped).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

import pointline
from pointline.ingest import ingest
from pointline.research import data_coverage, list_symbols, pipeline, query, sql
from pointline.research.study import StudyConfig, run_study, write_study
from pointline.synth import SynthConfig, generate_market

console = Console()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
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
    volume = sql.sql(
        "SELECT exchange, symbol, count(*) AS trades, CAST(round(sum(px * qty)) AS BIGINT) AS notional "
        "FROM trades_decoded GROUP BY ALL ORDER BY ALL"
    )
    console.print("the same lake in SQL (DuckDB; `pointline sql`): trades and notional per instrument")
    console.print(volume)

    console.print(Rule("5. Pipeline: the guide's request, gated (examples/guide_request.json)"))
    request = json.loads((EXAMPLES / "guide_request.json").read_text())
    request["artifacts"]["output_dir"] = str(WORKDIR / "demo_out" / "pipeline")
    request["constraints"]["check_online_parity"] = True  # the live path must compute the same table
    out = pipeline(request)
    gates = out["quality_gates"]
    console.print(
        f"decision: [bold]{out['decision']['status']}[/]  rows: {out['results']['row_count']}  "
        f"gates passed: {', '.join(gates['passed_gates'])}  failed: {', '.join(gates['failed_gates']) or '-'}"
    )
    table = pl.read_parquet(out["artifacts"]["paths"][0])
    console.print(
        table.select("ts", "vwap", "flow_imbalance", "spread_bps", "book_imbalance_top5")
        .head(5)
        .with_columns(pl.col(pl.Float64).round(4))
    )
    parity = gates["gate_results"]["online_parity_check"]
    console.print(
        f"online parity: {parity['online_rows']} bars computed one event at a time "
        f"{'equal' if parity['passed'] else 'DIFFER from'} the {parity['rows']} batch bars"
    )
    for warning in out["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    console.print("artifacts: " + ", ".join(out["artifacts"]["paths"]))

    console.print(Rule("6. Study: composite flow signal across 3 exchanges (examples/study.yaml)"))
    cfg = StudyConfig.from_file(EXAMPLES / "study.yaml")
    cfg.lake = str(LAKE)
    result = run_study(cfg)
    console.print("rank IC of the composite flow signal vs forward return (negative = contrarian):")
    console.print(result.clean.ic.select("horizon", "n", pl.col("ic").round(4), pl.col("p_nw").round(4)))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    report = write_study(result, WORKDIR / "demo_out" / "study")
    console.print(f"report: {report}")

    console.print(Rule(f"done in {time.perf_counter() - started:.1f}s"))


if __name__ == "__main__":
    main()
