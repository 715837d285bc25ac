"""`pointline symbols`, `pointline coverage`, `pointline query`, `pointline sql`: looking into the lake;
`pointline vacuum`: deleting the files it no longer needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from pointline.cli.console import make_console
from pointline.cli.errors import user_errors
from pointline.errors import PointlineError
from pointline.research.timeline import us_to_iso

console = make_console()

LakeOption = Annotated[
    Path | None, typer.Option("--lake", help="Lake directory (default: $POINTLINE_LAKE or ./lake).")
]


def _existing_lake(lake: Path | None) -> str:
    """The lake these commands read; one that does not exist is a mistyped path, not an empty lake."""
    import pointline

    root = pointline.get_lake(lake)
    if "://" not in root and not Path(root).is_dir():
        raise PointlineError(
            f"no lake at {root}: nothing has been ingested there (pass --lake, or set POINTLINE_LAKE)"
        )
    return root


def register(app: typer.Typer) -> None:
    """Add the lake inspection commands to ``app``."""
    app.command("symbols")(symbols)
    app.command("coverage")(coverage)
    app.command("query")(query_cmd)
    app.command("sql")(sql_cmd)
    app.command("vacuum")(vacuum_cmd)


def vacuum_cmd(
    retention_hours: Annotated[
        float | None,
        typer.Option(
            "--retention-hours",
            help="Keep files removed or written less than this long ago (default: 168, a week).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    lake: LakeOption = None,
) -> None:
    """Delete data files no table version within the retention needs (old removed files, files of a
    killed ingest); run it when no ingest is writing."""
    from pointline.lake import dim_symbol, manifest, quarantine, storage
    from pointline.lake.schema import EVENT_TABLES

    with user_errors():
        root = _existing_lake(lake)
        tables = [*EVENT_TABLES, dim_symbol.TABLE, manifest.TABLE, quarantine.TABLE]
        done = [
            storage.vacuum(t, lake=root, retention_hours=retention_hours, dry_run=dry_run) for t in tables
        ]
    verb = "would delete" if dry_run else "deleted"
    for result in done:
        n = len(result.files)
        console.print(
            f"{result.table}: {verb} {n} file{'s' if n != 1 else ''} ({result.bytes / 2**20:.1f} MB)"
        )


def symbols(
    exchange: Annotated[str | None, typer.Option(help="Only this exchange.")] = None,
    base_asset: Annotated[str | None, typer.Option("--base", help="Only this base asset, e.g. BTC.")] = None,
    asset_type: Annotated[
        str | None, typer.Option("--type", help="spot, perpetual, future or option.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Substring of the exchange symbol.")] = None,
    lake: LakeOption = None,
) -> None:
    """List the instruments in the lake."""
    from pointline.research.discovery import list_symbols

    with user_errors():
        df = list_symbols(
            exchange=exchange,
            base_asset=base_asset,
            asset_type=asset_type,
            search=search,
            lake=_existing_lake(lake),
        )
    table = Table(title=f"{df.height} instrument(s)")
    shown = ["symbol_id", "exchange", "exchange_symbol", "asset_type", "tick_size", "lot_size", "is_inverse"]
    for column in shown:
        table.add_column(column)
    for row in df.select(shown).iter_rows():
        table.add_row(*[str(v) for v in row])
    console.print(table)


def coverage(
    exchange: Annotated[str, typer.Argument(help="Exchange, e.g. binance-futures.")],
    symbol: Annotated[str, typer.Argument(help="Exchange symbol, e.g. BTCUSDT.")],
    lake: LakeOption = None,
) -> None:
    """Show rows, time span and days per table for one instrument."""
    from pointline.research.discovery import data_coverage

    with user_errors():
        cov = data_coverage(exchange, symbol, lake=_existing_lake(lake))
    table = Table(title=f"{exchange} {symbol}")
    for column in ("table", "available", "rows", "first (UTC, ts_local)", "last (UTC, ts_local)", "days"):
        table.add_column(column)
    for name, c in cov.items():
        first = us_to_iso(c["first_ts_us"]) if c["first_ts_us"] is not None else "-"
        last = us_to_iso(c["last_ts_us"]) if c["last_ts_us"] is not None else "-"
        table.add_row(name, str(c["available"]), f"{c['rows']:,}", first, last, str(c["days"]))
    console.print(table)


def query_cmd(
    table: Annotated[str, typer.Argument(help="trades, quotes or book_snapshot_25.")],
    exchange: Annotated[str, typer.Argument()],
    symbol: Annotated[str, typer.Argument()],
    start: Annotated[str, typer.Argument(help="Inclusive start (ISO date/datetime or µs).")],
    end: Annotated[str, typer.Argument(help="Exclusive end; a bare date excludes that day.")],
    decoded: Annotated[bool, typer.Option("--decoded", help="Add float px/qty columns.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE.parquet or FILE.csv.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows to print when not writing a file.")] = 10,
    lake: LakeOption = None,
) -> None:
    """Read events of one instrument in [START, END).

    Relative times start with a dash: give the options first and `--` before the arguments, e.g.
    `pointline query --decoded -- trades binance-futures BTCUSDT -7d now`.
    """
    from pointline.research.query import read_table

    with user_errors():
        df = read_table(table, exchange, symbol, start, end, decoded=decoded, lake=_existing_lake(lake))
        assert isinstance(df, pl.DataFrame)
        _show_or_write(df, out, limit)


def sql_cmd(
    query: Annotated[str, typer.Argument(help="A DuckDB SQL query over the lake's views.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE.parquet or FILE.csv.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows to print when not writing a file.")] = 10,
    version: Annotated[
        list[str] | None,
        typer.Option("--version", help="TABLE=N: read TABLE at its Delta version N (repeatable)."),
    ] = None,
    lake: LakeOption = None,
) -> None:
    """Run SQL (DuckDB) over the lake; needs the `sql` extra.

    Views: trades, quotes, book_snapshot_25 (stored fixed-point columns); trades_decoded,
    quotes_decoded, book_snapshot_25_decoded (plus float px/qty…); dim_symbol, _ingest_manifest,
    _quarantine. Example: `pointline sql "SELECT exchange, date, count(*) FROM trades GROUP BY ALL"`.
    """
    from pointline.research.sql import sql

    with user_errors():
        versions = _versions(version or [])
        df = sql(query, lake=_existing_lake(lake), versions=versions)
        _show_or_write(df, out, limit)


def _versions(items: list[str]) -> dict[str, int]:
    """``--version TABLE=N`` options as ``{table: N}``."""
    versions = {}
    for item in items:
        table, _, number = item.partition("=")
        if not table or not number.strip().isdigit():
            raise PointlineError(f"--version takes TABLE=N (e.g. trades=12), got {item!r}")
        versions[table.strip()] = int(number)
    return versions


def _show_or_write(df: pl.DataFrame, out: Path | None, limit: int) -> None:
    """Print the first ``limit`` rows (every column), or write ``df`` to ``out`` (.parquet or .csv;
    CSV leaves list columns out)."""
    if out is None:
        console.print(f"{df.height:,} rows")
        with pl.Config(tbl_rows=limit, tbl_cols=-1, tbl_width_chars=console.width):
            console.print(df.head(limit))
        return
    if out.suffix == ".parquet":
        df.write_parquet(out)
    elif out.suffix == ".csv":
        df.select(pl.exclude(pl.List(pl.Int64), pl.List(pl.Float64))).write_csv(out)
    else:
        raise ValueError(f"--out must end in .parquet or .csv, got {out.name!r}")
    console.print(f"wrote {df.height:,} rows to {out}")
