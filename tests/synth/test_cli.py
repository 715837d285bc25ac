"""`pointline synth` writes the files and reports mistakes clearly."""

from __future__ import annotations

from typer.testing import CliRunner

from pointline.cli import app


def test_synth_command_writes_tardis_files(tmp_path):
    out = tmp_path / "market"
    result = CliRunner().invoke(
        app,
        [
            "synth", "--out", str(out), "--start", "2024-01-02", "--days", "1",
            "--exchanges", "binance-futures,bybit", "--symbols", "BTCUSDT", "--seed", "5",
            "--trades-per-day", "1000", "--contrarian-strength", "0", "--book-interval-s", "300",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"{ex}_{t}_2024-01-02_BTCUSDT.csv.gz"
        for ex in ("binance-futures", "bybit")
        for t in ("trades", "quotes", "book_snapshot_25")
    )
    assert str(out / names[0]) in result.output


def test_synth_command_rejects_a_bad_date(tmp_path):
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), "--start", "02/01/2024"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_synth_command_rejects_negative_strength(tmp_path):
    result = CliRunner().invoke(
        app, ["synth", "--out", str(tmp_path), "--contrarian-strength", "-1", "--trades-per-day", "100"]
    )
    assert result.exit_code == 2
    assert "contrarian_strength" in result.output


def test_synth_command_writes_only_the_requested_data_types(tmp_path):
    out = tmp_path / "market"
    result = CliRunner().invoke(
        app,
        [
            "synth", "--out", str(out), "--days", "1", "--exchanges", "bybit", "--symbols", "BTCUSDT",
            "--trades-per-day", "500", "--data-types", "trades",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["bybit_trades_2024-01-01_BTCUSDT.csv.gz"]
