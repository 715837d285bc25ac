"""`pointline ingest`: load vendor files into the lake, with progress and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pointline.cli.console import make_console
from pointline.cli.errors import user_errors
from pointline.errors import PointlineError

console = make_console()


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to ``app``."""
    app.command("ingest")(ingest_cmd)


def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (walked recursively).")],
    format: Annotated[
        str | None, typer.Option("--format", help="tardis, binance-vision or parquet-days (default: detect).")
    ] = None,
    symbols: Annotated[
        Path | None,
        typer.Option("--symbols", help="CSV/JSON instrument metadata (tick_size, lot_size, ...)."),
    ] = None,
    lake: Annotated[
        Path | None, typer.Option("--lake", help="Lake directory (default: $POINTLINE_LAKE or ./lake).")
    ] = None,
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Exchange for files without one.")
    ] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Symbol for files without one.")] = None,
) -> None:
    """Ingest Tardis CSV(.gz), Binance Vision trades or per-day Parquet files.

    Exits 1 if any file failed, 0 otherwise (duplicates and quarantined rows are not failures);
    2 when the paths name no data file at all (a mistyped directory is not a successful ingest).
    """
    from pointline.ingest import ingest
    from pointline.ingest.detect import expand_paths

    with user_errors():
        if not any(True for _ in expand_paths(paths)):
            raise PointlineError(
                f"no data files under {', '.join(map(str, paths))} "
                "(looked for .csv, .csv.gz, .zip and .parquet files, hidden ones skipped)"
            )
        report = ingest(
            paths,
            format=format,
            lake=lake,
            symbols_file=symbols,
            progress=len(paths) > 1 or any(p.is_dir() or _large(p) for p in paths),
            exchange=exchange,
            symbol=symbol,
        )
    report.print_summary(console)
    if not report.ok:
        raise typer.Exit(1)


def _large(path: Path) -> bool:
    """A file read in batches (worth a progress bar on its own)."""
    from pointline.ingest.landing import BATCH_ABOVE_BYTES

    return path.is_file() and path.stat().st_size > BATCH_ABOVE_BYTES
