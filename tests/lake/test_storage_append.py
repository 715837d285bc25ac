"""storage.append of partitioned event rows: one commit per call, exact rows back, deletable by file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow.compute as pc
import pytest

from pointline.lake import storage
from pointline.lake.schema import PARTITION_COLUMNS, TRADES
from pointline.lake.storage import writer

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


def test_delta_readers_that_trust_file_statistics_find_rows_by_text_columns(lake: Path) -> None:
    """delta-rs's own Arrow dataset turns a file's min/max into guarantees (and a missing min/max
    into ``column >= null``, which hid every file from ``symbol = ...`` filters): the statistics
    the writer records must cover text columns, exactly."""
    rows = _rows(1, 9, start_us=1_714_521_600_000_000, exchanges=("binance-futures", "bybit"))
    storage.append("trades", rows, lake=lake, partition_by=PARTITION_COLUMNS)
    handle = storage.open_table("trades", lake)
    assert handle is not None
    delta_rs = handle.to_pyarrow_dataset()
    assert delta_rs.count_rows(filter=pc.field("symbol") == "BTCUSDT") == 9
    assert delta_rs.count_rows(filter=pc.field("trade_id") == "t4") == 1
    stats = storage.file_stats("trades", lake=lake)
    assert stats is not None
    recorded = pl.from_arrow(
        stats.select(["partition.exchange", "partition.date", "min.trade_id", "max.trade_id"])
    )
    expected = rows.group_by("exchange", "date").agg(
        pl.col("trade_id").min(), pl.col("trade_id").max().alias("hi")
    )
    assert sorted(recorded.rows()) == sorted(expected.rows())
    assert stats.column("max.symbol").to_pylist() == ["BTCUSDT"] * stats.num_rows


def test_arrow_dataset_reads_a_version_prunes_partitions_and_ignores_file_statistics(lake: Path) -> None:
    first = _rows(1, 9, start_us=1_714_521_600_000_000, exchanges=("binance-futures", "bybit"))
    storage.append("trades", first, lake=lake, partition_by=PARTITION_COLUMNS)
    storage.append(
        "trades",
        _rows(2, 4, start_us=1_714_608_000_000_000, exchanges=("bybit",)),
        lake=lake,
        partition_by=PARTITION_COLUMNS,
    )
    latest = storage.arrow_dataset("trades", lake)
    assert latest is not None and latest.count_rows() == 13
    by_exchange = pl.from_arrow(latest.to_table(filter=pc.field("exchange") == "bybit"))
    assert by_exchange["exchange"].unique().to_list() == ["bybit"]
    assert by_exchange.height == 4 + sum(1 for i in range(9) if i % 2 == 1)
    old = storage.arrow_dataset("trades", lake, version=0)
    assert old is not None
    back = pl.from_arrow(old.to_table()).select(TRADES.columns).sort("file_id", "file_line_number")
    assert back.equals(first)
    with pytest.raises(ValueError, match=r"trades has versions 0\.\.1, not 2"):
        storage.arrow_dataset("trades", lake, version=2)
    assert storage.arrow_dataset("quotes", lake) is None


def test_arrow_dataset_finds_rows_of_files_whose_statistics_leave_text_columns_out(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lakes written before text columns had statistics: delta-rs's dataset hides their files from a
    ``symbol`` filter; :func:`storage.arrow_dataset` (partition values only) does not."""
    numeric_only = writer._file_stats

    def without_text(data: pl.DataFrame) -> str:
        stats = json.loads(numeric_only(data))
        for bound in ("minValues", "maxValues"):
            stats[bound] = {c: v for c, v in stats[bound].items() if data.schema[c] != pl.Utf8}
        return json.dumps(stats)

    monkeypatch.setattr(writer, "_file_stats", without_text)
    rows = _rows(1, 9, start_us=1_714_521_600_000_000, exchanges=("binance-futures", "bybit"))
    storage.append("trades", rows, lake=lake, partition_by=PARTITION_COLUMNS)
    handle = storage.open_table("trades", lake)
    assert handle is not None
    assert handle.to_pyarrow_dataset().count_rows(filter=pc.field("symbol") == "BTCUSDT") == 0
    ours = storage.arrow_dataset("trades", lake)
    assert ours is not None
    assert ours.count_rows(filter=pc.field("symbol") == "BTCUSDT") == 9
