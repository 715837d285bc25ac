"""Getting vendor files into the lake: formats (registry), detection, the per-file transaction.

Example
-------
>>> from pointline.ingest import ingest
>>> report = ingest(["data/tardis/"], progress=True)  # doctest: +SKIP
>>> report.summary()  # doctest: +SKIP
{'files': 4, 'ingested': 4, 'quarantined': 0, 'skipped': 0, 'failed': 0, ...}
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pointline.ingest import instruments
from pointline.ingest.detect import detect_format, expand_paths
from pointline.ingest.registry import FORMATS, FileFormatError, ReadOptions
from pointline.ingest.report import FileResult, IngestReport
from pointline.ingest.runner import IngestContext, run

__all__ = ["FORMATS", "FileFormatError", "FileResult", "IngestReport", "detect_format", "ingest"]


def ingest(
    paths: Iterable[str | Path] | str | Path,
    *,
    format: str | None = None,
    lake: str | os.PathLike[str] | None = None,
    symbols_file: str | Path | None = None,
    progress: bool = False,
    exchange: str | None = None,
    symbol: str | None = None,
) -> IngestReport:
    """Ingest vendor files into the lake, idempotently, one Delta commit per file.

    Parameters
    ----------
    paths
        Files and/or directories (walked recursively): Tardis CSV(.gz), Binance Vision
        trades/aggTrades CSV/zip, per-day trades Parquet.
    format
        ``tardis``, ``binance-vision`` or ``parquet-days``; default: detected per file.
    lake
        Lake location (default: :func:`pointline.get_lake`).
    symbols_file
        CSV/JSON instrument metadata (``exchange, symbol, tick_size, lot_size, contract_size,
        is_inverse, asset_type, base_asset, quote_asset``); without it metadata is inferred.
    progress
        Show a Rich progress bar.
    exchange, symbol
        Override the names for formats whose rows do not carry them (Binance Vision, Parquet days).

    Returns
    -------
    IngestReport
        One :class:`FileResult` per file. Bad files are reported (``failed``), never raised; bad rows
        are quarantined (see :mod:`pointline.lake.quarantine`). Timestamps land as µs since the
        epoch: ``ts_local_us`` (receive clock) and ``ts_exch_us`` (exchange clock).

    Raises
    ------
    PointlineError
        For a bad argument (unknown ``format``, unreadable ``symbols_file``).

    Example
    -------
    >>> ingest(["binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"]).files[0].status  # doctest: +SKIP
    'ingested'
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if format is not None:
        from pointline.ingest.registry import get_format

        get_format(format)
    metadata = instruments.load_symbols_file(symbols_file) if symbols_file is not None else None
    context = IngestContext(
        lake=lake, format=format, options=ReadOptions(exchange=exchange, symbol=symbol), metadata=metadata
    )
    paths = list(paths)
    if not progress:
        return run(paths, context)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    files = list(expand_paths(paths))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("ingest", total=len(files))

        def on_file(path: Path, result: FileResult | None) -> None:
            if result is None:
                bar.update(task, description=f"ingest {path.name}")
            else:
                bar.advance(task)

        def on_batch(path: Path, rows: int, step: str) -> None:  # a large file, read in batches
            doing = "profiling" if step == "profile" else "landing"
            bar.update(task, description=f"ingest {path.name} ({doing}: {rows:,} rows)")

        context.on_batch = on_batch
        return run(files, context, on_file)
