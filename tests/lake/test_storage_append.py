"""storage.append of partitioned event rows: one commit per call, exact rows back, deletable by file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pointline.lake import storage
from pointline.lake.schema import PARTITION_COLUMNS, TRADES

DAY = 86_400_000_000


def _rows(file_id: int, n: int, *, start_us: int, exchanges: tuple[str, ...]) -> pl.DataFrame:
    ts = [start_us + i * (DAY // 3) for i in range(n)]  # spans several UTC dates
    frame = pl.DataFrame(
        {
            "exchange": [exchanges[i % len(exchanges)] for i in range(n)],
            "symbol": ["BTCUSDT"] * n,
            "symbol_id": [11] * n,
            "date": [dt.datetime.fromtimestamp(t / 1e6, tz=dt.UTC).date() for t in ts],
            "ts_local_us": ts,
            "ts_exch_us": [t - 5 for t in ts],
            "file_id": [file_id] * n,
            "file_line_number": list(range(2, n + 2)),
            "trade_id": [f"t{i}" for i in range(n)],
            "side": [i % 3 for i in range(n)],
            "px_int": [600_000 + i for i in range(n)],
            "qty_int": [1_000 * (i + 1) for i in range(n)],
        }
    )
    return frame.select([pl.col(c).cast(t) for c, t in TRADES.schema.items()])


def _landed(lake: Path) -> pl.DataFrame:
    scan = storage.scan_partitions("trades", lake=lake)
    assert scan is not None
    return scan.collect().select(TRADES.columns).sort("file_id", "file_line_number")


def test_each_partitioned_append_is_one_commit_and_reads_back_exactly(lake: Path) -> None:
    first = _rows(1, 9, start_us=1_714_521_600_000_000, exchanges=("binance-futures", "bybit"))
    second = _rows(2, 4, start_us=1_714_608_000_000_000, exchanges=("bybit",))
    assert storage.append("trades", first, lake=lake, partition_by=PARTITION_COLUMNS) == 0
    assert storage.append("trades", second, lake=lake, partition_by=PARTITION_COLUMNS) == 1
    assert _landed(lake).equals(pl.concat([first, second]))
    exchanges = {values["exchange"] for values, _ in storage.partition_files("trades", lake=lake)}
    assert exchanges == {"binance-futures", "bybit"}


def test_delete_by_file_id_removes_exactly_that_files_rows(lake: Path) -> None:
    first = _rows(1, 6, start_us=1_714_521_600_000_000, exchanges=("bybit",))
    second = _rows(2, 5, start_us=1_714_521_600_000_000, exchanges=("bybit",))
    storage.append("trades", first, lake=lake, partition_by=PARTITION_COLUMNS)
    storage.append("trades", second, lake=lake, partition_by=PARTITION_COLUMNS)
    assert storage.delete_where("trades", "file_id = 1", lake=lake) == 6
    assert _landed(lake).equals(second)
