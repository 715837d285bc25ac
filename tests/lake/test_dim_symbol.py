"""dim_symbol: stable ids, SCD2 versions that keep the id and exponents, exact lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from pointline.errors import SymbolNotFoundError
from pointline.ingest import ingest
from pointline.lake import dim_symbol, storage
from pointline.lake.dim_symbol import SymbolInfo, symbol_id_for

T0 = 1_714_521_600_000_000
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def test_symbol_id_is_stable_and_case_insensitive() -> None:
    # Pinned value: ids must not change between releases or machines.
    assert symbol_id_for("binance-futures", "BTCUSDT") == 6306468169402831762
    assert symbol_id_for("BINANCE-FUTURES", "btcusdt") == 6306468169402831762
    assert symbol_id_for("binance-futures", "BTCUSDT_240628") != symbol_id_for("binance-futures", "BTCUSDT")
    assert symbol_id_for("bybit", "BTCUSDT") > 0


def _info(**overrides: object) -> SymbolInfo:
    base = {
        "symbol_id": symbol_id_for("binance-futures", "BTCUSDT"),
        "exchange": "binance-futures",
        "symbol": "BTCUSDT",
        "base_asset": "BTC",
        "quote_asset": "USDT",
        "asset_type": "perpetual",
        "tick_size": 0.1,
        "lot_size": 0.001,
        "contract_size": 1.0,
        "is_inverse": False,
        "price_exp": 3,
        "qty_exp": 5,
        "metadata_source": "file",
        "valid_from_us": T0,
    }
    return SymbolInfo(**{**base, **overrides})  # type: ignore[arg-type]


def test_metadata_change_opens_a_version_with_the_same_id_and_exponents(lake: Path) -> None:
    dim_symbol.upsert([_info()])
    dim_symbol.upsert([_info(tick_size=0.01, price_exp=9, valid_from_us=T0 + 100)])
    versions = dim_symbol.history("binance-futures", "BTCUSDT")
    assert [v.tick_size for v in versions] == [0.1, 0.01]
    assert {v.symbol_id for v in versions} == {symbol_id_for("binance-futures", "BTCUSDT")}
    assert [v.price_exp for v in versions] == [3, 3]
    assert [(v.valid_from_us, v.valid_until_us, v.is_current) for v in versions] == [
        (T0, T0 + 100, False),
        (T0 + 100, None, True),
    ]
    assert dim_symbol.resolve("binance-futures", "BTCUSDT").tick_size == 0.01


def test_inferred_metadata_never_versions_a_known_instrument(lake: Path) -> None:
    dim_symbol.upsert([_info()])
    dim_symbol.upsert([_info(tick_size=0.5, metadata_source="inferred")])
    assert len(dim_symbol.history("binance-futures", "BTCUSDT")) == 1


def test_lookup_is_exact_never_a_substring(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        HEADER
        + f"binance-futures,BTCUSDT_240628,{T0},{T0},1,buy,61000.5,1\n"
        + f"binance-futures,BTCUSDT,{T0},{T0 + 1},2,sell,60000.5,2\n"
    )
    ingest([path])
    info = dim_symbol.resolve("binance-futures", "btcusdt")
    assert info.symbol == "BTCUSDT"
    assert info.asset_type == "perpetual"
    future = dim_symbol.resolve("binance-futures", "BTCUSDT_240628")
    assert future.asset_type == "future"
    assert dim_symbol.by_id(future.symbol_id).symbol == "BTCUSDT_240628"
    with pytest.raises(SymbolNotFoundError, match="Close matches: BTCUSDT"):
        dim_symbol.resolve("binance-futures", "BTCUSD")
    with pytest.raises(SymbolNotFoundError):
        dim_symbol.by_id(42)


def test_symbols_file_metadata_wins_and_its_change_versions(lake: Path, tmp_path: Path) -> None:
    trades = tmp_path / "t1.csv"
    trades.write_text(HEADER + f"bitmex,XBTUSD,{T0},{T0},a,buy,60000.5,100\n")
    meta = tmp_path / "symbols.csv"
    meta.write_text(
        "exchange,symbol,tick_size,lot_size,contract_size,is_inverse,asset_type\n"
        "bitmex,XBTUSD,0.5,1,1,true,perpetual\n"
    )
    ingest([trades], symbols_file=meta)
    first = dim_symbol.resolve("bitmex", "XBTUSD")
    assert (first.metadata_source, first.tick_size, first.is_inverse) == ("file", 0.5, True)
    later = tmp_path / "t2.csv"
    later.write_text(HEADER + f"bitmex,XBTUSD,{T0 + 10},{T0 + 10},b,sell,60000.1,100\n")
    meta.write_text(
        "exchange,symbol,tick_size,lot_size,contract_size,is_inverse,asset_type\n"
        "bitmex,XBTUSD,0.1,1,1,true,perpetual\n"
    )
    ingest([later], symbols_file=meta)
    versions = dim_symbol.history("bitmex", "XBTUSD")
    assert [v.tick_size for v in versions] == [0.5, 0.1]
    assert versions[1].valid_from_us == T0 + 10
    assert versions[0].price_exp == versions[1].price_exp


def test_empty_lake_reads_as_an_empty_dimension(lake: Path) -> None:
    df = dim_symbol.read_dim_symbol()
    assert df.height == 0
    assert "symbol_id" in df.columns


def test_instruments_added_after_a_checkpoint_are_found(lake: Path) -> None:
    # Enough one-commit upserts that dim_symbol's log holds a checkpoint before the last ones.
    names = [f"COIN{i}USDT" for i in range(storage.CHECKPOINT_EVERY + 3)]
    for name in names:
        dim_symbol.upsert([_info(symbol_id=symbol_id_for("binance-futures", name), symbol=name)])
        assert dim_symbol.resolve("binance-futures", name).symbol == name
    assert dim_symbol.read_dim_symbol()["symbol"].to_list() == sorted(names)
