"""Bad rows are quarantined with line and reason while good rows land; unreadable files fail alone."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from pointline.cli import app
from pointline.ingest import ingest
from pointline.lake import dim_symbol, manifest, storage
from pointline.lake.quarantine import read_quarantine

T0 = 1_714_521_600_000_000  # 2024-05-01 00:00:00 UTC in µs
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
QUOTES_HEADER = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"


def _trade(i: int, side: str, px: str, qty: str) -> str:
    return f"binance-futures,BTCUSDT,{T0 + i},{T0 + i + 50},{i},{side},{px},{qty}\n"


def _first_file(tmp_path: Path) -> Path:
    # Fixes the exponents: 1 price decimal (+2 headroom = 3), 3 size decimals (+2 = 5).
    path = tmp_path / "day1.csv"
    path.write_text(TRADES_HEADER + _trade(1, "buy", "60000.5", "0.125") + _trade(2, "sell", "60000.1", "1"))
    return path


def test_corrupt_rows_are_quarantined_and_good_rows_land(lake: Path, tmp_path: Path) -> None:
    ingest([_first_file(tmp_path)])
    info = dim_symbol.resolve("binance-futures", "BTCUSDT")
    assert (info.price_exp, info.qty_exp) == (3, 5)
    bad_file = tmp_path / "day2.csv"
    bad_file.write_text(
        TRADES_HEADER
        + _trade(10, "buy", "60001.25", "0.5")  # line 2: good
        + _trade(11, "buy", "6x000", "0.5")  # line 3: bad price text
        + _trade(12, "sell", "60001", "-0.5")  # line 4: negative size
        + _trade(13, "hold", "60001", "0.5")  # line 5: unknown side token
        + _trade(14, "buy", "60001.12345", "0.5")  # line 6: more decimals than price_exp = 3
        + _trade(15, "", "60002", "0.001")  # line 7: good, unknown side → 2
        + _trade(16, "sell", "0", "1")  # line 8: zero price
    )
    result = ingest([bad_file]).files[0]
    assert result.status == "quarantined"
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (7, 2, 5)
    q = read_quarantine(file_id=result.file_id)
    assert q.select("file_line_number", "reason").rows() == [
        (3, "unparseable"),
        (4, "non_positive"),
        (5, "unknown_side"),
        (6, "precision"),
        (8, "non_positive"),
    ]
    assert q["raw"][0] == _trade(11, "buy", "6x000", "0.5").strip()
    landed = storage.scan_partitions("trades").collect().filter(pl.col("file_id") == result.file_id)  # type: ignore[union-attr]
    assert landed.select("file_line_number", "side", "px_int").rows() == [
        (2, 0, 60_001_250),
        (7, 2, 60_002_000),
    ]
    assert dim_symbol.resolve("binance-futures", "BTCUSDT").price_exp == 3  # fixed for life


def test_crossed_quote_is_quarantined(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        QUOTES_HEADER
        + f"binance-futures,BTCUSDT,{T0},{T0 + 1},1.5,100.5,100.4,2\n"
        + f"binance-futures,BTCUSDT,{T0},{T0 + 2},1.5,100.5,100.5,2\n"  # bid == ask
        + f"binance-futures,BTCUSDT,{T0},{T0 + 3},,,100.4,2\n"  # empty ask side: fine
    )
    result = ingest([path]).files[0]
    assert result.rows_written == 2
    assert read_quarantine().select("file_line_number", "reason").rows() == [(3, "crossed")]
    df = storage.scan_partitions("quotes").collect().sort("file_line_number")  # type: ignore[union-attr]
    assert df["ask_px_int"].to_list()[1] is None


def test_truncated_gzip_fails_with_a_clear_reason(lake: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(TRADES_HEADER + "".join(_trade(i, "buy", "100.5", "1") for i in range(2000)))
    whole = gzip.compress(good.read_bytes())
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    report = ingest([broken, good])
    assert [f.status for f in report.files] == ["failed", "ingested"]
    assert "truncated or corrupt" in (report.files[0].reason or "") or "not a readable CSV" in (
        report.files[0].reason or ""
    )
    assert storage.scan_partitions("trades").collect().height == 2000  # type: ignore[union-attr]


def test_non_csv_file_fails_and_others_continue(lake: Path, tmp_path: Path) -> None:
    junk = tmp_path / "picture.csv"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    report = ingest([junk, _first_file(tmp_path)])
    assert report.files[0].status == "failed"
    assert "unknown format" in (report.files[0].reason or "")
    assert report.files[1].status == "ingested"
    ledger = manifest.read_manifest()
    assert ledger.filter(pl.col("status") == "failed").height == 1


def test_cli_exits_non_zero_without_traceback_when_a_file_fails(lake: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt.csv"
    junk.write_text("hello world\nthis is not market data\n")
    result = CliRunner().invoke(app, ["ingest", str(junk), str(_first_file(tmp_path)), "--lake", str(lake)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "failed" in result.output


def test_cli_succeeds_and_reports_duplicates(lake: Path, tmp_path: Path) -> None:
    path = _first_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(path), "--lake", str(lake)]).exit_code == 0
    again = runner.invoke(app, ["ingest", str(path), "--lake", str(lake)])
    assert again.exit_code == 0
    assert "skipped" in again.output


def test_cli_user_mistake_is_one_line_not_a_traceback(lake: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ingest", str(_first_file(tmp_path)), "--format", "nope", "--lake", str(lake)]
    )
    assert result.exit_code == 2
    assert "unknown format" in result.output
    assert "Traceback" not in result.output


def test_missing_path_is_reported_failed(lake: Path, tmp_path: Path) -> None:
    result = ingest([tmp_path / "absent.csv"]).files[0]
    assert result.status == "failed"
    assert "does not exist" in (result.reason or "")


def test_timestamps_are_decided_the_same_with_or_without_a_bad_row_in_the_file(
    lake: Path, tmp_path: Path
) -> None:
    # A clean file is read with Int64 timestamps straight from the CSV reader; one bad timestamp
    # sends the whole file through the text path. Rows they share must land identically.
    padded = f"binance-futures,BTCUSDT, {T0 + 3},{T0 + 53},3,buy,60000.5,0.125\n"
    clean = tmp_path / "clean.csv"
    clean.write_text(TRADES_HEADER + _trade(1, "buy", "60000.5", "0.125") + padded + "\n")
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(
        TRADES_HEADER
        + _trade(1, "buy", "60000.5", "0.125")
        + padded
        + "\n"
        + f"binance-futures,BTCUSDT,{T0 + 4},12:00:00,4,buy,60000.5,0.125\n"  # line 5: not µs
    )
    first, second = ingest([clean, dirty]).files
    assert (first.status, first.rows_written, first.rows_quarantined) == ("ingested", 2, 0)
    assert (second.status, second.rows_written, second.rows_quarantined) == ("quarantined", 2, 1)
    assert read_quarantine(file_id=second.file_id).select("file_line_number", "reason").rows() == [
        (5, "unparseable")
    ]
    landed = storage.scan_partitions("trades").collect()  # type: ignore[union-attr]
    by_file = [
        landed.filter(pl.col("file_id") == f.file_id)
        .select("ts_exch_us", "ts_local_us", "file_line_number", "px_int")
        .rows()
        for f in (first, second)
    ]
    assert by_file[0] == by_file[1] == [(T0 + 1, T0 + 51, 2, 60_000_500), (T0 + 3, T0 + 53, 3, 60_000_500)]


def test_a_quoted_empty_value_leaves_half_a_side_and_is_quarantined(lake: Path, tmp_path: Path) -> None:
    # The CSV reader gives `""` as empty text, not a missing value: it must count as missing, so a
    # side with `""` for its price and a size is half of one (never a level whose size lost its price).
    quotes = tmp_path / "quotes.csv"
    quotes.write_text(
        QUOTES_HEADER
        + f"binance-futures,BTCUSDT,{T0},{T0 + 1},1.5,100.5,100.4,2\n"
        + f'binance-futures,BTCUSDT,{T0},{T0 + 2},1.5,100.5,"",2\n'  # bid size without a price
        + f'binance-futures,BTCUSDT,{T0},{T0 + 3},"","",100.4,2\n'  # empty ask side: fine
    )
    book = tmp_path / "book.csv"
    levels = "asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount"
    book.write_text(
        f"exchange,symbol,timestamp,local_timestamp,{levels}\n"
        + f"binance-futures,BTCUSDT,{T0},{T0 + 1},100.5,1,100.4,2,100.6,3\n"
        + f'binance-futures,BTCUSDT,{T0},{T0 + 2},100.5,1,100.4,2,"",3\n'  # level 1 ask size alone
        + f'binance-futures,BTCUSDT,{T0},{T0 + 3},100.5,1,100.4,2,"",""\n'  # level 1 ask absent: fine
    )
    trades = tmp_path / "trades.csv"
    trades.write_text(TRADES_HEADER + _trade(1, "buy", "60000.5", "0.125") + _trade(2, "buy", '""', "1"))
    report = ingest([quotes, book, trades])
    assert [(f.rows_written, f.rows_quarantined) for f in report.files] == [(2, 1), (2, 1), (1, 1)]
    assert read_quarantine().select("table", "file_line_number", "reason").sort("table").rows() == [
        ("book_snapshot_25", 3, "unparseable"),
        ("quotes", 3, "unparseable"),
        ("trades", 3, "unparseable"),
    ]
    q = storage.scan_partitions("quotes").collect().sort("file_line_number")  # type: ignore[union-attr]
    assert q.select("ask_px_int", "ask_qty_int").rows()[1] == (None, None)
    b = storage.scan_partitions("book_snapshot_25").collect().sort("file_line_number")  # type: ignore[union-attr]
    assert [len(x) for x in b["asks_px_int"]] == [len(x) for x in b["asks_qty_int"]] == [2, 1]


def test_a_malformed_line_is_quarantined_with_its_line_and_the_rest_of_the_file_lands(
    lake: Path, tmp_path: Path
) -> None:
    """A line with an extra field or an unterminated quote used to fail the whole file."""
    ingest([_first_file(tmp_path)])
    too_long = _trade(11, "buy", "60001", "0.5").strip() + ",extra"
    open_quote = _trade(13, "sell", "60002", "0.5").replace(",sell,", ',"sell,').strip()
    path = tmp_path / "day2.csv.gz"
    text = (
        TRADES_HEADER
        + _trade(10, "buy", "60001.25", "0.5")  # line 2
        + too_long  # line 3
        + "\n"
        + _trade(12, "sell", "0", "1")  # line 4: a row that fails a check, as before
        + open_quote  # line 5
        + "\n\n"  # line 6: blank, not data
        + _trade(14, "buy", "60003", "0.25")  # line 7
    )
    path.write_bytes(gzip.compress(text.encode()))
    result = ingest([path]).files[0]
    assert result.status == "quarantined", result
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (5, 2, 3)
    q = read_quarantine(file_id=result.file_id)
    assert q.select("file_line_number", "reason", "raw").rows() == [
        (3, "unparseable", too_long),
        (4, "non_positive", _trade(12, "sell", "0", "1").strip()),
        (5, "unparseable", open_quote),
    ]
    landed = storage.scan_partitions("trades").collect().filter(pl.col("file_id") == result.file_id)  # type: ignore[union-attr]
    assert landed.select("file_line_number", "trade_id", "px_int").rows() == [
        (2, "10", 60_001_250),
        (7, "14", 60_003_000),
    ]
    assert ingest([path]).files[0].status == "skipped-duplicate"


def test_a_timestamp_at_or_before_the_epoch_is_quarantined(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(
        TRADES_HEADER
        + _trade(1, "buy", "60000.5", "0.125")  # line 2: good
        + "binance-futures,BTCUSDT,1,-5,2,buy,60000.5,0.125\n"  # line 3: received in 1969
        + "binance-futures,BTCUSDT,0,1714521600000100,3,sell,60000.5,0.125\n"  # line 4: exchange time 0
        + "binance-futures,BTCUSDT,,1714521600000200,4,sell,60000.5,0.125\n"  # line 5: no exchange time: fine
    )
    result = ingest([path]).files[0]
    assert (result.rows_written, result.rows_quarantined) == (2, 2)
    assert read_quarantine().select("file_line_number", "reason").rows() == [
        (3, "non_positive"),
        (4, "non_positive"),
    ]


def test_a_symbols_file_with_a_non_positive_tick_size_is_refused(lake: Path, tmp_path: Path) -> None:
    symbols = tmp_path / "symbols.csv"
    symbols.write_text("exchange,symbol,tick_size,lot_size\nbinance-futures,BTCUSDT,-1,0.001\n")
    result = CliRunner().invoke(app, ["ingest", str(_first_file(tmp_path)), "--symbols", str(symbols)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "tick_size must be a positive number, got '-1'" in " ".join(result.output.split())


def test_a_directory_without_data_files_is_an_error_not_an_empty_success(lake: Path, tmp_path: Path) -> None:
    empty = tmp_path / "typo"
    empty.mkdir()
    (empty / "notes.txt").write_text("no data here")
    result = CliRunner().invoke(app, ["ingest", str(empty)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "no data files under" in " ".join(result.output.split())


def test_exchange_and_symbol_options_a_tardis_file_does_not_need_are_reported_ignored(
    lake: Path, tmp_path: Path
) -> None:
    result = ingest([_first_file(tmp_path)], exchange="bybit", symbol="ETHUSDT").files[0]
    assert result.status == "ingested" and result.rows_written == 2
    assert (
        result.reason
        == "--exchange bybit and --symbol ETHUSDT ignored: Tardis rows name their own exchange and symbol"
    )
    assert dim_symbol.resolve("binance-futures", "BTCUSDT").symbol == "BTCUSDT"
