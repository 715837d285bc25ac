"""Query API: exact instrument, half-open ranges, total order, exact decoding, pruning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pointline.errors import PointlineError, SymbolNotFoundError
from pointline.ingest import ingest
from pointline.lake import storage
from pointline.research import query
from pointline.research.timeline import to_us

DAY1 = to_us("2024-05-01")
DAY2 = to_us("2024-05-02")
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def _write_trades(path: Path, rows: list[tuple[str, int, str, str, str]]) -> Path:
    """rows: (symbol, local_ts_us, side, price, amount); exchange time = local - 100 µs."""
    lines = [
        f"binance-futures,{sym},{ts - 100},{ts},{i},{side},{px},{qty}\n"
        for i, (sym, ts, side, px, qty) in enumerate(rows, start=1)
    ]
    path.write_text(HEADER + "".join(lines))
    return path


@pytest.fixture
def two_day_lake(lake: Path, tmp_path: Path) -> Path:
    rows = [
        ("BTCUSDT", DAY1 + 1_000, "buy", "60000.1", "0.5"),
        ("BTCUSDT_240628", DAY1 + 1_500, "buy", "61000.5", "1"),
        ("BTCUSDT", DAY1 + 2_000, "sell", "60000.2", "0.25"),
        ("BTCUSDT", DAY1 + 2_000, "buy", "60000.3", "0.125"),
        ("BTCUSDT", DAY2 - 1, "sell", "59999.9", "2"),
        ("BTCUSDT", DAY2, "buy", "60010", "0.001"),
        ("BTCUSDT", DAY2 + 5_000, "sell", "60011.7", "3.5"),
    ]
    report = ingest([_write_trades(tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv", rows)])
    assert report.files[0].status == "ingested"
    return lake


def test_trades_never_returns_another_instrument(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", DAY1, DAY2 + 86_400_000_000)
    assert set(df["symbol"]) == {"BTCUSDT"}
    assert df.height == 6


def test_symbol_lookup_is_case_insensitive_but_exact(two_day_lake: Path) -> None:
    assert query.trades("binance-futures", "btcusdt", DAY1, DAY2).height == 4
    with pytest.raises(SymbolNotFoundError):
        query.trades("binance-futures", "BTCUSD", DAY1, DAY2)


def test_range_is_half_open(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", DAY1 + 2_000, DAY2)
    assert df["ts_local_us"].to_list() == [DAY1 + 2_000, DAY1 + 2_000, DAY2 - 1]


def test_date_only_end_excludes_that_day(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02")
    assert df["ts_local_us"].max() == DAY2 - 1
    both = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-03")
    assert both.height == 6


@pytest.mark.parametrize("end", [2**63 - 1, 2**70, "99999999999999999999999", "2200-01-02"])
def test_a_time_outside_the_supported_range_is_a_clear_error(two_day_lake: Path, end: object) -> None:
    with pytest.raises(PointlineError, match="outside the supported times, 1900-01-01 to 2200-01-01"):
        query.trades("binance-futures", "BTCUSDT", 0, end)  # type: ignore[arg-type]
    assert to_us("2200-01-01") == 7_258_118_400_000_000  # the last time accepted


def test_api_mistakes_are_clear_errors_and_one_column_name_is_one_column(two_day_lake: Path) -> None:
    with pytest.raises(PointlineError, match=r"unknown table 'trade'.*did you mean 'trades'"):
        query.read_table("trade", "binance-futures", "BTCUSDT", DAY1, DAY2)
    with pytest.raises(PointlineError, match=r"unknown keyword\(s\) \['decode'\].*did you mean 'decoded'"):
        query.read_table("trades", "binance-futures", "BTCUSDT", DAY1, DAY2, decode=True)
    with pytest.raises(PointlineError, match="exchange and symbol must be text"):
        query.trades(None, "BTCUSDT", DAY1, DAY2)  # type: ignore[arg-type]
    one = query.trades("binance-futures", "BTCUSDT", DAY1, DAY2, columns="px_int")
    assert one.columns == ["px_int"]


def test_rows_come_in_total_order_with_line_tiebreak(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", DAY1, DAY2)
    keys = df.select("ts_local_us", "file_id", "file_line_number").rows()
    assert keys == sorted(keys)
    tied = df.filter(pl.col("ts_local_us") == DAY1 + 2_000)
    assert tied["side"].to_list() == [1, 0]  # sell came first in the file


def test_decoded_values_equal_the_vendor_decimals(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", DAY1, DAY2, decoded=True)
    assert df["px"].to_list() == [float("60000.1"), float("60000.2"), float("60000.3"), float("59999.9")]
    assert df["qty"].to_list() == [0.5, 0.25, 0.125, 2.0]
    px_exp = {Decimal(v) for v in ("60000.1", "60000.2", "60000.3", "59999.9")}
    assert len(px_exp) == df["px_int"].n_unique()


def test_lazy_and_columns(two_day_lake: Path) -> None:
    lf = query.trades(
        "binance-futures", "BTCUSDT", DAY1, DAY2, lazy=True, decoded=True, columns=["ts_local_us", "px"]
    )
    assert isinstance(lf, pl.LazyFrame)
    assert lf.collect().columns == ["ts_local_us", "px"]
    with pytest.raises(PointlineError, match="unknown column"):
        query.trades("binance-futures", "BTCUSDT", DAY1, DAY2, columns=["nope"])


def test_exchange_clock_filter(two_day_lake: Path) -> None:
    df = query.trades("binance-futures", "BTCUSDT", DAY2 - 100, DAY2 + 1, ts_col="ts_exch_us")
    assert df["ts_exch_us"].to_list() == [DAY2 - 100]


def test_reversed_range_is_a_clear_error(two_day_lake: Path) -> None:
    with pytest.raises(PointlineError, match="must be after start"):
        query.trades("binance-futures", "BTCUSDT", DAY2, DAY1)


def test_partitions_are_pruned_by_date(two_day_lake: Path) -> None:
    all_files = storage.partition_files("trades", exchange="binance-futures")
    day1 = storage.partition_files("trades", exchange="binance-futures", dates=[dt.date(2024, 5, 1)])
    assert {v["date"] for v, _ in all_files} == {"2024-05-01", "2024-05-02"}
    assert {v["date"] for v, _ in day1} == {"2024-05-01"}
    assert storage.partition_files("trades", exchange="bybit") == []


def test_any_window_returns_exactly_the_rows_inside_it(lake: Path, tmp_path: Path) -> None:
    # One file per instrument-day, so Delta statistics prove some files need no row filter;
    # every window, whole-day or not, must return exactly the rows in [start, end).
    day1 = [("BTCUSDT", DAY1 + k * 3_600_000_000, "buy", f"600{k:02d}.5", "1") for k in range(24)]
    day2 = [("BTCUSDT", DAY2 + k * 3_600_000_000, "sell", f"601{k:02d}.5", "2") for k in range(24)]
    ingest(
        [
            _write_trades(tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv", day1),
            _write_trades(tmp_path / "binance-futures_trades_2024-05-02_BTCUSDT.csv", day2),
        ]
    )
    stamps = [r[1] for r in day1 + day2]
    windows = [
        (DAY1, DAY2),
        (DAY1, DAY2 + 86_400_000_000),
        (DAY1 - 1, DAY2 + 86_400_000_000 + 1),
        (DAY1 + 1, DAY2),
        (DAY1, DAY2 - 1),
        (DAY1 + 5 * 3_600_000_000, DAY2 + 3 * 3_600_000_000 + 1),
        (DAY2, DAY2 + 1),
    ]
    for start, end in windows:
        got = query.trades("binance-futures", "BTCUSDT", start, end)
        assert isinstance(got, pl.DataFrame)
        assert got["ts_local_us"].to_list() == [t for t in stamps if start <= t < end], (start, end)


def test_multi_day_window_keeps_order_and_dates_under_any_lake_path(tmp_path: Path) -> None:
    # Several days read as one scan: partial first and last days are filtered, the days between
    # are not, and the result keeps the total order and each row's partition date. The lake sits
    # under a directory that looks like a hive partition, which must not leak into the columns.
    lake = tmp_path / "run=3" / "lake"
    paths = []
    for d in range(4):
        day = DAY1 + d * 86_400_000_000
        rows = [("BTCUSDT", day + k * 6 * 3_600_000_000, "buy", f"600{d}{k}.5", "1") for k in range(4)]
        paths.append(_write_trades(tmp_path / f"binance-futures_trades_2024-05-0{d + 1}_BTCUSDT.csv", rows))
    ingest(paths, lake=lake)
    start, end = DAY1 + 7 * 3_600_000_000, DAY1 + 3 * 86_400_000_000 + 13 * 3_600_000_000
    got = query.trades("binance-futures", "BTCUSDT", start, end, lake=lake)
    assert isinstance(got, pl.DataFrame)
    stamps = [DAY1 + d * 86_400_000_000 + k * 6 * 3_600_000_000 for d in range(4) for k in range(4)]
    assert got["ts_local_us"].to_list() == [t for t in stamps if start <= t < end]
    assert got.columns[-2:] == ["exchange", "date"]
    expected_dates = got.select(pl.from_epoch("ts_local_us", time_unit="us").dt.date())["ts_local_us"]
    assert got["date"].to_list() == expected_dates.to_list()
    assert set(got["exchange"]) == {"binance-futures"}
