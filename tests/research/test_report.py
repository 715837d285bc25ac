"""The HTML report: every figure present, renders in headless Chromium without console errors; CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from pointline.cli import app
from pointline.research.report import render_report
from pointline.research.report.html import _oos_summary
from pointline.research.study import StudyConfig, run_study, synthetic_feature_frames

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FIGURES = ("decile_bars", "sweep_heatmap", "equity", "pnl_hist", "rolling_win_rate", "is_oos_equity")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and "data-figure" in a:
            self.figures[a["data-figure"]] = a.get("src", "")


@pytest.fixture(scope="module")
def result():
    cfg = StudyConfig(parity=True, walk_forward={"split": "2025-11-08"}, min_trades=5, min_trades_oos=5)
    return run_study(cfg, frames=synthetic_feature_frames(2800, seed=3))


@pytest.fixture(scope="module")
def report_html(result) -> str:
    return render_report(result)


def test_report_holds_every_figure_inline_for_both_studies(report_html):
    parser = _Images()
    parser.feed(report_html)
    for mode in ("clean", "parity"):
        for name in FIGURES:
            src = parser.figures[f"{mode}_{name}"]
            assert src.startswith("data:image/png;base64,") and len(src) > 1000
    assert "LEAKS" in report_html and "http://" not in report_html and "https://" not in report_html


@pytest.mark.browser
def test_report_tables_show_turnover(report_html, result):
    assert "<th>turnover_per_day</th>" in report_html  # the sweep table
    assert "<th>oos_turnover_per_day</th>" in report_html  # the walk-forward tables
    folds = result.clean.walk_forward.folds
    assert (folds["oos_turnover_per_day"] == 2 * folds["oos_n_trades"] / folds["oos_covered_days"]).all()


def test_clean_and_notebook_splits_test_the_same_bars(result):
    # The clean split is on the known-at clock (bucket end), the notebook's on bucket starts.
    clean, parity = result.clean, result.parity
    start = clean.walk_forward.folds["test_start"][0]
    assert start - 300_000_000 == parity.walk_forward.folds["test_start"][0]
    first_test_bar = clean.frame.filter(pl.col("ts") >= start).row(0, named=True)
    assert first_test_bar["bucket_start"] == parity.walk_forward.folds["test_start"][0]


def test_report_renders_in_headless_chromium_without_console_errors(report_html, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1400,3000",
    ]
    proc = subprocess.run([CHROMIUM, *flags, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert np.ptp(pixels[..., :3]) > 0.5
    assert "Uncaught" not in proc.stderr and "ERROR:CONSOLE" not in proc.stderr


def test_cli_study_writes_report_and_tables(tmp_path):
    frames = synthetic_feature_frames(2000, seed=4)
    inputs = {}
    for e, f in frames.items():
        inputs[e] = str(tmp_path / f"{e}.parquet")
        f.write_parquet(inputs[e])
    cfg = tmp_path / "study.json"
    cfg.write_text(json.dumps({"inputs": inputs, "walk_forward": {"split": "2025-11-06"}, "min_trades": 5}))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["study", str(cfg), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report.html").stat().st_size > 50_000
    assert (out / "tables" / "clean_sweep.csv").exists() and (out / "tables" / "clean_ic.parquet").exists()


def test_cli_study_reports_a_bad_config_field(tmp_path):
    cfg = tmp_path / "study.yaml"
    cfg.write_text("symbol: BTCUSDT\nthreshholds: [1.0]\n")
    res = CliRunner().invoke(app, ["study", str(cfg)])
    assert res.exit_code == 2
    assert "threshholds" in res.output


def test_walk_forward_summary_is_per_trade_over_all_folds():
    # Fold 0: 10 trades, +100 bps, 8 wins; fold 1: 90 trades, -90 bps, 36 wins; fold 2: no trades.
    folds = pl.DataFrame(
        {
            "oos_n_trades": [10.0, 90.0, 0.0],
            "oos_total_pnl_bps": [100.0, -90.0, 0.0],
            "oos_avg_pnl_bps": [10.0, -1.0, 0.0],
            "oos_win_rate": [0.8, 0.4, 0.0],
            "is_n_trades": [60.0, 20.0, 20.0],
            "is_total_pnl_bps": [120.0, 20.0, 60.0],
            "is_avg_pnl_bps": [2.0, 1.0, 3.0],
            "oos_covered_days": [4.0, 4.0, 2.0],
        }
    )
    got = _oos_summary(SimpleNamespace(mode="clean", walk_forward=SimpleNamespace(folds=folds)))
    assert got["oos_n_trades"] == 100 and got["oos_total_pnl_bps"] == pytest.approx(10.0)
    assert got["oos_covered_days"] == 10.0
    assert got["oos_turnover_per_day"] == pytest.approx(2 * 100 / 10.0)  # over all 10 test days
    assert got["oos_avg_pnl_bps"] == pytest.approx(10.0 / 100)  # not the folds' mean, 3.0
    assert got["oos_win_rate"] == pytest.approx(44 / 100)  # not 0.4
    assert got["is_avg_pnl_bps"] == pytest.approx(200.0 / 100)
    none = _oos_summary(SimpleNamespace(mode="clean", walk_forward=SimpleNamespace(folds=folds[2:])))
    assert none["oos_avg_pnl_bps"] == 0.0 and none["oos_win_rate"] == 0.0
    assert none["oos_turnover_per_day"] == 0.0
