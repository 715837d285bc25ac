"""SQL over the lake (DuckDB): views equal to the Python readers, versions, errors, the CLI."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pointline.cli import app
from pointline.errors import PointlineError
from pointline.ingest import ingest
from pointline.lake import storage
from pointline.research import query, sql
from pointline.synth import SynthConfig, generate_market

pytest.importorskip("duckdb")

ORDER = ["ts_local_us", "file_id", "file_line_number"]


@pytest.fixture
def market_lake(lake: Path, tmp_path: Path) -> Path:
    """Two exchanges, two days of trades, quotes and books of BTCUSDT and ETHUSDT."""
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=2,
        exchanges=("binance-futures", "bybit"),
        symbols=("BTCUSDT", "ETHUSDT"),
        seed=11,
        trades_per_day=1_500,
        book_interval_s=600.0,
    )
    report = ingest(generate_market(tmp_path / "vendor", config))
    assert {f.status for f in report.files} == {"ingested"}
    return lake


@pytest.mark.parametrize(
    ("table", "reader"),
    [("trades", query.trades), ("quotes", query.quotes), ("book_snapshot_25", query.book_snapshot_25)],
)
def test_decoded_views_give_the_python_readers_rows_and_doubles(market_lake: Path, table, reader) -> None:
    expected = reader("bybit", "ETHUSDT", "2024-05-01", "2024-05-03", decoded=True)
    got = sql.sql(
        f"SELECT * FROM {table}_decoded WHERE exchange = 'bybit' AND symbol = 'ETHUSDT' "
        f"ORDER BY {', '.join(ORDER)}"
    )
    assert expected.height > 0
    assert got.select(expected.columns).equals(expected)


def test_a_group_by_over_partitions_counts_every_row_once(market_lake: Path) -> None:
    counts = sql.sql("SELECT exchange, symbol, date, count(*) AS n FROM trades GROUP BY ALL ORDER BY ALL")
    assert counts.height == 2 * 2 * 2
    for exchange, symbol, day, n in counts.iter_rows():
        end = day + dt.timedelta(days=1)
        assert n == query.trades(exchange, symbol, day.isoformat(), end.isoformat()).height


def test_views_list_every_table_the_lake_holds(market_lake: Path) -> None:
    con = sql.connect()
    try:
        assert sql.views(con) == [
            "_ingest_manifest",
            "book_snapshot_25",
            "book_snapshot_25_decoded",
            "dim_symbol",
            "quotes",
            "quotes_decoded",
            "trades",
            "trades_decoded",
        ]
    finally:
        con.close()


def test_versions_read_a_table_as_it_was(market_lake: Path, tmp_path: Path) -> None:
    before = storage.table_version("trades")
    assert before is not None
    rows_before = sql.sql("SELECT count(*) AS n FROM trades")["n"][0]
    config = SynthConfig(
        start=dt.date(2024, 5, 3),
        days=1,
        exchanges=("bybit",),
        symbols=("BTCUSDT",),
        seed=12,
        trades_per_day=500,
        data_types=("trades",),
    )
    ingest(generate_market(tmp_path / "more", config))
    assert sql.sql("SELECT count(*) AS n FROM trades")["n"][0] > rows_before
    assert sql.sql("SELECT count(*) AS n FROM trades", versions={"trades": before})["n"][0] == rows_before
    old = sql.sql("SELECT count(*) AS n FROM trades_decoded", versions={"trades": before})
    assert old["n"][0] == rows_before  # the decoded view follows its table's version


def test_mistakes_are_clear_errors(market_lake: Path) -> None:
    with pytest.raises(PointlineError, match=r'trade does not exist.*Did you mean "trades"'):
        sql.sql("SELECT * FROM trade")
    with pytest.raises(PointlineError, match=r"Parser Error"):
        sql.sql("SELEC 1")
    with pytest.raises(PointlineError, match=r"unknown table\(s\) \['trade'\]"):
        sql.sql("SELECT 1", versions={"trade": 0})
    with pytest.raises(PointlineError, match=r"trades has versions 0\.\.\d+, not 999"):
        sql.sql("SELECT 1", versions={"trades": 999})


def test_no_lake_and_no_duckdb_are_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, market_lake: Path
) -> None:
    with pytest.raises(PointlineError, match="no lake at"):
        sql.sql("SELECT 1", lake=tmp_path / "nowhere")
    monkeypatch.setitem(sys.modules, "duckdb", None)  # what an install without the extra sees
    with pytest.raises(PointlineError, match=r"pip install 'pointline\[sql\]'"):
        sql.sql("SELECT 1")


def test_cli_prints_writes_and_reports_errors(market_lake: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    lake = ["--lake", str(market_lake)]
    shown = runner.invoke(app, ["sql", "SELECT exchange, count(*) AS n FROM trades GROUP BY ALL", *lake])
    assert shown.exit_code == 0, shown.output
    assert "2 rows" in shown.output and "bybit" in shown.output

    out = tmp_path / "eth.parquet"
    text = "SELECT * FROM trades_decoded WHERE symbol = 'ETHUSDT' ORDER BY exchange, ts_local_us"
    written = runner.invoke(app, ["sql", text, "--out", str(out), *lake])
    assert written.exit_code == 0, written.output
    assert pl.read_parquet(out).height == sql.sql(text).height

    bad = runner.invoke(app, ["sql", "SELECT * FROM nope", *lake])
    assert bad.exit_code == 2
    assert "nope does not exist" in bad.output and "Traceback" not in bad.output
    version = runner.invoke(app, ["sql", "SELECT 1", "--version", "trades", *lake])
    assert version.exit_code == 2 and "TABLE=N" in version.output
