"""Which format (and table) a file is in, from its name and first line.

Detection order is the registry's: Tardis (header ``exchange,symbol,timestamp,local_timestamp,...``),
Binance Vision (``id,price,qty,...`` / ``agg_trade_id,price,...`` header, or headerless numeric rows),
per-day Parquet (``.parquet``). An explicit ``format`` skips detection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pointline.ingest import binance_vision, parquet_days, tardis
from pointline.ingest.registry import FORMATS, FileFormatError, Format, get_format, read_head

#: Detection order (most specific first); importing the modules registered them.
_ORDER = (tardis.TardisCsv.name, binance_vision.BinanceVision.name, parquet_days.ParquetDays.name)
_SUFFIXES = (".csv", ".csv.gz", ".zip", ".parquet", ".gz")


def detect_format(path: Path, format: str | None = None) -> Format:
    """The format that reads ``path``.

    Parameters
    ----------
    path
        A data file.
    format
        Explicit format name (``tardis``, ``binance-vision``, ``parquet-days``); skips detection.

    Raises
    ------
    FileFormatError
        When no registered format recognises the file.

    Example
    -------
    >>> detect_format(Path("trades.csv")).name  # doctest: +SKIP
    'tardis'
    """
    if format is not None:
        return get_format(format)
    head = "" if path.name.lower().endswith(".parquet") else read_head(path)
    for name in _ORDER:
        fmt = FORMATS[name]
        if fmt.sniff(path, head):
            return fmt
    shown = head[:80] if head.isprintable() else "<binary data>"
    raise FileFormatError(
        f"{path.name}: unknown format (first line: {shown!r}); expected a Tardis CSV "
        "(exchange,symbol,timestamp,local_timestamp,...), a Binance Vision trades/aggTrades CSV, "
        "or a per-day trades .parquet; pass --format to force one"
    )


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named by ``paths``; directories are walked recursively (data-file suffixes only,
    hidden files skipped), in sorted order. A missing path is passed through (it is reported failed)."""
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith((".", "_")) for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.name.lower().endswith(_SUFFIXES):
                    yield child
        else:
            yield path
