"""Tardis CSV round trip: what lands decodes to exactly the vendor's decimal text, in file order."""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pointline.ingest import ingest
from pointline.lake import dim_symbol, manifest, storage
from pointline.lake.encoding import decode_value


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _lake_rows(table: str) -> pl.DataFrame:
    lf = storage.scan_partitions(table)
    assert lf is not None
    return lf.collect().sort("symbol_id", "ts_local_us", "file_id", "file_line_number")


def _same(text: str, value: int | None, exp: int) -> bool:
    if text == "":
        return value is None
    return value is not None and Decimal(text) == decode_value(value, exp)


def test_trades_decode_to_the_exact_csv_decimals_in_file_order(lake: Path, tardis_dir: Path) -> None:
    source = tardis_dir / "trades.csv"
    report = ingest([source])
    assert report.files[0].status == "ingested"
    rows = _csv_rows(source)
    df = _lake_rows("trades")
    assert df.height == len(rows) == report.files[0].rows_written
    info = dim_symbol.resolve("binance-futures", "BTCUSDT")
    # The file is in local-time order, so the lake order is the file order.
    assert df["file_line_number"].to_list() == list(range(2, len(rows) + 2))
    sides = {"buy": 0, "sell": 1}
    for row, got in zip(rows, df.iter_rows(named=True), strict=True):
        assert _same(row["price"], got["px_int"], info.price_exp)
        assert _same(row["amount"], got["qty_int"], info.qty_exp)
        assert got["trade_id"] == row["id"]
        assert got["side"] == sides[row["side"]]
        assert got["ts_local_us"] == int(row["local_timestamp"])
        assert got["ts_exch_us"] == int(row["timestamp"])


def test_quotes_decode_exactly(lake: Path, tardis_dir: Path) -> None:
    source = tardis_dir / "quotes.csv"
    ingest([source])
    rows = _csv_rows(source)
    df = _lake_rows("quotes")
    assert df.height == len(rows)
    info = dim_symbol.resolve("binance-futures", "BTCUSDT")
    for row, got in zip(rows, df.iter_rows(named=True), strict=True):
        assert _same(row["bid_price"], got["bid_px_int"], info.price_exp)
        assert _same(row["ask_price"], got["ask_px_int"], info.price_exp)
        assert _same(row["bid_amount"], got["bid_qty_int"], info.qty_exp)
        assert _same(row["ask_amount"], got["ask_qty_int"], info.qty_exp)


@pytest.mark.parametrize(
    ("name", "levels"),
    [
        ("binance-futures_book_snapshot_25_BTCUSDT.csv", 25),
        ("binance-futures_book_snapshot_5_BTCUSDT.csv", 5),
    ],
)
def test_book_snapshots_land_as_level_lists(lake: Path, tardis_dir: Path, name: str, levels: int) -> None:
    source = tardis_dir / name
    assert ingest([source]).files[0].table == "book_snapshot_25"
    rows = _csv_rows(source)
    df = _lake_rows("book_snapshot_25")
    info = dim_symbol.resolve("binance-futures", "BTCUSDT")
    assert df.height == len(rows)
    for row, got in zip(rows, df.iter_rows(named=True), strict=True):
        for side in ("bids", "asks"):
            assert len(got[f"{side}_px_int"]) == levels
            for i in range(levels):
                assert _same(row[f"{side}[{i}].price"], got[f"{side}_px_int"][i], info.price_exp)
                assert _same(row[f"{side}[{i}].amount"], got[f"{side}_qty_int"][i], info.qty_exp)


def test_gzipped_file_lands_like_the_plain_one(lake: Path, tardis_dir: Path, tmp_path: Path) -> None:
    gz = tmp_path / "trades.csv.gz"
    with (tardis_dir / "trades.csv").open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert ingest([gz]).files[0].rows_written == 9999


def test_same_files_again_write_nothing(lake: Path, tardis_dir: Path) -> None:
    files = [tardis_dir / "trades.csv", tardis_dir / "quotes.csv"]
    ingest(files)
    versions = (storage.table_version("trades"), storage.table_version("quotes"))
    again = ingest(files)
    assert [f.status for f in again.files] == ["skipped-duplicate", "skipped-duplicate"]
    assert again.rows_written == 0
    assert (storage.table_version("trades"), storage.table_version("quotes")) == versions
    assert _lake_rows("trades").height == 9999


def test_copy_under_another_name_is_a_duplicate(lake: Path, tardis_dir: Path, tmp_path: Path) -> None:
    ingest([tardis_dir / "trades.csv"])
    copy = tmp_path / "renamed.csv"
    shutil.copy(tardis_dir / "trades.csv", copy)
    assert ingest([copy]).files[0].status == "skipped-duplicate"


def test_ledger_records_each_file(lake: Path, tardis_dir: Path) -> None:
    ingest([tardis_dir / "trades.csv"])
    ledger = manifest.read_manifest()
    final = ledger.filter(pl.col("status") == "ingested").row(0, named=True)
    assert final["file_id"] == 1
    assert final["rows_read"] == final["rows_written"] == 9999
    assert final["format"] == "tardis"
    assert final["table"] == "trades"
    assert final["delta_version"] == storage.table_version("trades")
    assert len(final["sha256"]) == 64


def test_inverse_contracts_are_inferred(lake: Path, tardis_dir: Path) -> None:
    ingest([tardis_dir / "bitmex_trades_XBTUSD.csv", tardis_dir / "huobi-dm-swap_quotes_BTC-USD.csv"])
    # BitMEX sizes are USD; Huobi's count 100-USD BTC contracts (its top of book, 5,494 contracts,
    # is about 550k USD, not 5.5k).
    for exchange, symbol, face in (("bitmex", "XBTUSD", 1.0), ("huobi-dm-swap", "BTC-USD", 100.0)):
        info = dim_symbol.resolve(exchange, symbol)
        assert info.is_inverse
        assert info.asset_type == "perpetual"
        assert (info.base_asset, info.quote_asset) == ("BTC", "USD")
        assert info.contract_size == face
        assert info.metadata_source == "inferred"
    assert _lake_rows("trades").height == 10
    assert _lake_rows("quotes").height == 10


def test_unsupported_tardis_type_fails_clearly(lake: Path, tardis_dir: Path) -> None:
    result = ingest([tardis_dir / "deribit_incremental_book_L2_BTC-PERPETUAL.csv"]).files[0]
    assert result.status == "failed"
    assert "unsupported Tardis data type" in (result.reason or "")


def test_the_ledger_holds_each_files_own_hash(lake: Path, tmp_path: Path) -> None:
    """A file of a size no recorded content has is hashed while it is read, any other before: either
    way its ledger row holds its own sha256, a copy is a duplicate, and a file of a recorded size
    but other content lands (the same for a file that fails)."""
    header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    rows = "".join(
        f"binance-futures,BTCUSDT,{1714521600000000 + i},{1714521600000100 + i},{i},buy,6000{i % 10}.5,0.25\n"
        for i in range(500)
    )
    first = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv"
    first.write_text(header + rows)
    copy = tmp_path / "copy" / first.name
    copy.parent.mkdir()
    shutil.copy(first, copy)
    other = tmp_path / "other" / first.name  # same size, other prices
    other.parent.mkdir()
    other.write_text(header + rows.replace(".5,", ".7,"))
    broken = tmp_path / "binance-futures_trades_2024-05-02_BTCUSDT.csv"
    broken.write_bytes(b"\x00\x01 not a csv \xff" * 40)
    assert first.stat().st_size == other.stat().st_size
    report = ingest([first, copy, other, broken])
    assert [f.status for f in report.files] == ["ingested", "skipped-duplicate", "ingested", "failed"]
    ledger = manifest.read_manifest()
    for path in (first, copy, other, broken):
        recorded = ledger.filter(pl.col("path") == str(path))["sha256"].to_list()
        assert recorded == [hashlib.sha256(path.read_bytes()).hexdigest()], path
    assert [f.sha256 for f in report.files] == ledger["sha256"].to_list()[-4:]
    assert _lake_rows("trades").height == 1000
