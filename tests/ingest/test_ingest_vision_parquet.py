"""Binance Vision trades/aggTrades (header or not, ms or µs) and per-day Parquet land correctly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest

from pointline.ingest import ingest
from pointline.lake import dim_symbol, storage

MS = 1_714_521_600_123  # 2024-05-01 00:00:00.123 UTC in ms
US = MS * 1000


def _trades() -> pl.DataFrame:
    lf = storage.scan_partitions("trades")
    assert lf is not None
    return lf.collect().sort("file_id", "file_line_number")


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("unit", ["ms", "us"])
def test_vision_trades_with_or_without_header_in_ms_or_us(
    lake: Path, tmp_path: Path, header: bool, unit: str
) -> None:
    folder = tmp_path / "data" / "futures" / "um" / "daily" / "trades" / "BTCUSDT"
    folder.mkdir(parents=True)
    t = MS if unit == "ms" else US
    lines = [f"1,60000.10,0.005,300.0005,{t},true,true", f"2,60000.2,1.5,90000.3,{t + 1},false,true"]
    head = ["id,price,qty,quote_qty,time,is_buyer_maker,is_best_match"] if header else []
    path = folder / "BTCUSDT-trades-2024-05-01.csv"
    path.write_text("\n".join(head + lines) + "\n")
    result = ingest([path]).files[0]
    assert (result.status, result.format) == ("ingested", "binance-vision")
    df = _trades()
    step = 1000 if unit == "ms" else 1
    assert df["ts_local_us"].to_list() == [US, US + step]
    assert df["ts_exch_us"].to_list() == df["ts_local_us"].to_list()
    assert df["side"].to_list() == [1, 0]  # buyer was maker → seller aggressed
    assert df["file_line_number"].to_list() == ([2, 3] if header else [1, 2])
    assert df["exchange"].unique().to_list() == ["binance-futures"]
    info = dim_symbol.resolve("binance-futures", "BTCUSDT")
    assert df["px_int"].to_list() == [
        600001 * 10 ** (info.price_exp - 1),
        600002 * 10 ** (info.price_exp - 1),
    ]


def test_vision_aggtrades_zip_spot_with_overrides(lake: Path, tmp_path: Path) -> None:
    body = f"7,3000.5,2,10,12,{MS},false\n8,3000.25,1,13,13,{MS + 5},true\n"
    path = tmp_path / "ETHUSDT-aggTrades-2024-05-01.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ETHUSDT-aggTrades-2024-05-01.csv", body)
    result = ingest([path]).files[0]
    assert result.status == "ingested"
    df = _trades()
    assert df["exchange"].to_list() == ["binance", "binance"]
    assert df["trade_id"].to_list() == ["7", "8"]
    assert df["side"].to_list() == [0, 1]
    assert dim_symbol.resolve("binance", "ETHUSDT").asset_type == "spot"

    other = tmp_path / "custom.csv"
    other.write_text("id,price,qty,quote_qty,time,is_buyer_maker\n1,1.5,2,3,1714521600000,true\n")
    assert ingest([other], exchange="binance-futures", symbol="SOLUSDT").files[0].status == "ingested"
    assert dim_symbol.resolve("binance-futures", "SOLUSDT").asset_type == "perpetual"


def test_parquet_days_layout(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "root" / "BTCUSDT" / "trades" / "okx_futures" / "2024-05-01.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame(
        {
            "timestamp_us": [US, US + 10, US + 10],
            "price": [60000.1, 59999.99, 60000.3],
            "quantity": [0.001, 1e-05, 2.0],
            "quote_quantity": [60.0, 0.0, 120000.6],
            "side": [1, -1, 1],
        }
    ).write_parquet(path)
    result = ingest([tmp_path / "root"]).files[0]
    assert (result.status, result.format) == ("ingested", "parquet-days")
    df = _trades()
    info = dim_symbol.resolve("okex-swap", "BTCUSDT")
    assert df["side"].to_list() == [0, 1, 0]
    assert df["file_line_number"].to_list() == [1, 2, 3]
    # Floats go through their shortest round-trip text ("59999.99", "1e-05"), then exact encoding.
    assert df["px_int"].to_list() == [v * 10 ** (info.price_exp - 2) for v in (6000010, 5999999, 6000030)]
    assert df["qty_int"].to_list() == [v * 10 ** (info.qty_exp - 5) for v in (100, 1, 200000)]
