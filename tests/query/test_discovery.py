"""Discovery: coverage read from the data, symbol listing with exact filters."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pointline.cli import app
from pointline.ingest import ingest
from pointline.research import data_coverage, list_symbols
from pointline.research.timeline import to_us

DAY1 = to_us("2024-05-01")
DAY3 = to_us("2024-05-03")


def _ingest_sample(tmp_path: Path) -> None:
    trades = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv"
    trades.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        f"binance-futures,BTCUSDT,{DAY1},{DAY1 + 10},1,buy,60000.5,0.010\n"
        f"binance-futures,ETHUSDT,{DAY1},{DAY1 + 20},2,sell,3000.25,1.5\n"
        f"binance-futures,BTCUSDT,{DAY3},{DAY3 + 30},3,sell,60100,0.02\n"
    )
    quotes = tmp_path / "binance-futures_quotes_2024-05-01_BTCUSDT.csv"
    quotes.write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        f"binance-futures,BTCUSDT,{DAY1},{DAY1 + 5},1.0,60000.6,60000.5,2.0\n"
    )
    ingest([trades, quotes])


def test_coverage_is_read_from_the_rows(lake: Path, tmp_path: Path) -> None:
    _ingest_sample(tmp_path)
    cov = data_coverage("binance-futures", "BTCUSDT")
    assert cov["trades"] == {
        "available": True,
        "rows": 2,
        "first_ts_us": DAY1 + 10,
        "last_ts_us": DAY3 + 30,
        "days": 2,
    }
    assert cov["quotes"]["available"] and cov["quotes"]["rows"] == 1
    assert cov["book_snapshot_25"] == {
        "available": False,
        "rows": 0,
        "first_ts_us": None,
        "last_ts_us": None,
        "days": 0,
    }


def test_list_symbols_filters_exactly(lake: Path, tmp_path: Path) -> None:
    _ingest_sample(tmp_path)
    df = list_symbols(exchange="binance-futures", base_asset="BTC")
    assert df["exchange_symbol"].to_list() == ["BTCUSDT"]
    assert {"symbol_id", "exchange", "exchange_symbol", "tick_size", "lot_size"} <= set(df.columns)
    assert list_symbols(search="usdt").height == 2
    assert list_symbols(exchange="bybit").height == 0


def test_cli_coverage_symbols_and_query(lake: Path, tmp_path: Path) -> None:
    _ingest_sample(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["coverage", "binance-futures", "BTCUSDT", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert "trades" in result.output
    result = runner.invoke(app, ["symbols", "--lake", str(lake)])
    assert result.exit_code == 0 and "ETHUSDT" in result.output
    bad_type = runner.invoke(app, ["symbols", "--type", "perp", "--lake", str(lake)])
    assert bad_type.exit_code == 2 and "asset_type 'perp' is not one of spot, perpetual" in bad_type.output
    # Piped (not a terminal): whole ids, not squeezed into 80 columns ("6306468…").
    ids = [str(i) for i in list_symbols(lake=lake)["symbol_id"].to_list()]
    assert all(i in result.output for i in ids) and "…" not in result.output
    out = tmp_path / "q.parquet"
    result = runner.invoke(
        app,
        [
            "query",
            "trades",
            "binance-futures",
            "BTCUSDT",
            "2024-05-01",
            "2024-05-04",
            "--decoded",
            "--out",
            str(out),
            "--lake",
            str(lake),
        ],
    )
    assert result.exit_code == 0, result.output
    import polars as pl

    assert pl.read_parquet(out)["px"].to_list() == [60000.5, 60100.0]


def test_cli_unknown_symbol_is_a_clear_error(lake: Path, tmp_path: Path) -> None:
    _ingest_sample(tmp_path)
    result = CliRunner().invoke(app, ["coverage", "binance-futures", "DOGEUSDT", "--lake", str(lake)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_read_commands_on_a_lake_path_that_does_not_exist_say_so(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = str(tmp_path / "lakee")
    for args in (["symbols"], ["coverage", "binance-futures", "BTCUSDT"]):
        result = runner.invoke(app, [*args, "--lake", missing])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
        assert f"no lake at {missing}" in " ".join(result.output.split())
