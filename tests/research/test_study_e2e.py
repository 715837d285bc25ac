"""Signal research end to end: synthetic Tardis files → ingest → lake → ``run_study`` / ``pointline study``.

The synthetic market plants a contrarian effect of documented size (docs/synthetic-market.md,
``pointline.synth.effect``): the Spearman IC of a 5-minute bar's consensus volume imbalance (mean of
the exchanges' ``(buy - sell) / total`` volume) against the leading exchange's forward return. The
study computes that very statistic as the per-feature IC of ``vol_imbalance_consensus`` (reference
venue = the leader, bars = the same UTC 5-minute buckets), so that is what is held to the documented
value; the composite signal mixes six features and is held to the planted sign.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pointline.cli import app
from pointline.ingest import ingest
from pointline.research.evaluate import rank_ic
from pointline.research.study import StudyConfig, StudyResult, load_feature_frames, run_study
from pointline.synth import SynthConfig, expected_flow_ic, generate_market, measure_flow_ic

# 30 days: the documented minimum for the ±30 % band; 20k trades/day: enough that almost every
# bar has trades on every venue (the study drops bars a venue missed, the documented statistic
# does not). Trades only: the study reads nothing else.
MARKET = SynthConfig(
    start=dt.date(2024, 1, 1),
    days=30,
    symbols=("BTCUSDT",),
    seed=3,
    trades_per_day=20_000,
    data_types=("trades",),
)
NULL_MARKET = dataclasses.replace(MARKET, days=10, contrarian_strength=0.0)
MINUTES = {"15m": 15, "30m": 30, "1h": 60, "2h": 120}
FEATURE = "vol_imbalance_consensus"
WALK_FORWARD = {"train_days": 12, "test_days": 6}
DAY_US = 86_400_000_000


def _build_lake(root: Path, market: SynthConfig) -> Path:
    report = ingest(generate_market(root / "vendor", market), lake=root / "lake")
    assert {f.status for f in report.files} == {"ingested"}
    return root / "lake"


def _config(lake: Path, market: SynthConfig, **extra: object) -> dict:
    end = market.start + dt.timedelta(days=market.days)
    return {
        "lake": str(lake),
        "symbol": market.symbols[0],
        "exchanges": list(market.exchanges),
        "start": market.start.isoformat(),
        "end": end.isoformat(),
        **extra,
    }


def _ic(table: pl.DataFrame, horizon: str, feature: str | None = None) -> dict:
    if feature is not None:
        table = table.filter(pl.col("feature") == feature)
    return table.filter(pl.col("horizon") == horizon).row(0, named=True)


@pytest.fixture(scope="module")
def effect_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_lake(tmp_path_factory.mktemp("effect"), MARKET)


@pytest.fixture(scope="module")
def null_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_lake(tmp_path_factory.mktemp("null"), NULL_MARKET)


@pytest.fixture(scope="module")
def effect_study(effect_lake: Path) -> StudyResult:
    return run_study(_config(effect_lake, MARKET, walk_forward=WALK_FORWARD))


@pytest.fixture(scope="module")
def null_study(null_lake: Path) -> StudyResult:
    return run_study(_config(null_lake, NULL_MARKET))


def test_study_reproduces_the_generators_own_flow_ic_measurement(effect_study):
    # Same realisation, measured by the generator on its in-memory trades (exchange clock, no
    # files): the chain ingest → query → features → consensus → forward returns adds no bias.
    direct = measure_flow_ic(MARKET, tuple(MINUTES.values()))
    for horizon, minutes in MINUTES.items():
        measured = _ic(effect_study.clean.feature_ic, horizon, FEATURE)["ic"]
        assert measured == pytest.approx(direct[minutes], abs=0.01), horizon


def test_flow_imbalance_ic_is_within_30_percent_of_the_documented_effect(effect_study):
    for horizon in ("30m", "1h", "2h"):
        expected = expected_flow_ic(MARKET, MINUTES[horizon])
        measured = _ic(effect_study.clean.feature_ic, horizon, FEATURE)["ic"]
        assert expected < 0
        assert 0.7 * expected >= measured >= 1.3 * expected, (horizon, measured, expected)
    # At 15 min ±30 % is only ~1.4 standard errors of a 30-day IC (≈ 0.011): sign and significance.
    short = _ic(effect_study.clean.feature_ic, "15m", FEATURE)
    assert short["ic"] < 0 and short["p_nw"] < 1e-3


def test_composite_signal_ic_has_the_planted_contrarian_sign(effect_study):
    for horizon in MINUTES:
        row = _ic(effect_study.clean.ic, horizon)
        assert row["ic"] < 0 and row["p_nw"] < 1e-3, (horizon, row)


def test_without_the_effect_no_ic_is_distinguishable_from_zero(null_study):
    assert expected_flow_ic(NULL_MARKET, 60) == 0.0
    for horizon in ("5m", *MINUTES):
        for row in (_ic(null_study.clean.feature_ic, horizon, FEATURE), _ic(null_study.clean.ic, horizon)):
            assert row["n"] > 1_900
            assert row["p_nw"] > 0.01 and row["p_nonoverlap"] > 0.01, (horizon, row)


def test_the_null_sample_is_large_enough_to_see_the_effect(effect_study):
    # The first 10 days of the market with the effect, the size of the null sample, show it clearly.
    frame = effect_study.clean.frame
    first = frame.filter(pl.col("ts") <= frame["ts"].min() + NULL_MARKET.days * DAY_US)
    table = rank_ic(first, FEATURE, {"1h": "fwd_1h"}, {"1h": 12})
    assert table["p_nw"][0] < 1e-4


def test_walk_forward_choice_ignores_corrupted_test_window_prices(effect_lake, effect_study):
    # The unit-level version (walk_forward on synthetic bars) is
    # tests/research/test_walkforward.py::test_perturbing_test_window_data_never_changes_the_chosen_configuration;
    # this one runs the study's own folds on lake data.
    cfg = StudyConfig.from_dict(_config(effect_lake, MARKET, walk_forward=WALK_FORWARD))
    folds = effect_study.clean.walk_forward.folds
    cut = folds["test_start"][1]
    rng = np.random.default_rng(0)
    corrupted = {
        exchange: bars.with_columns(
            pl.when(pl.col("ts") >= cut)
            .then(pl.col(c) * pl.Series(rng.uniform(0.5, 1.5, bars.height)))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("open", "close")
        )
        for exchange, bars in load_feature_frames(cfg).items()
    }
    again = run_study(cfg, frames=corrupted).clean.walk_forward.folds
    chosen = ["vol_filter", "threshold", "holding", "is_n_trades", "is_total_pnl_bps"]
    assert folds["threshold"][:2].is_not_null().all()
    assert folds.select(chosen).head(2).equals(again.select(chosen).head(2))
    assert folds["oos_total_pnl_bps"][1] != again["oos_total_pnl_bps"][1]


def test_cli_study_on_the_lake_writes_report_and_tables(effect_lake, effect_study, tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(_config(effect_lake, MARKET, walk_forward=WALK_FORWARD)))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["study", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Rank IC of each feature" in html and html.count("data:image/png;base64,") >= 6
    for name in ("ic", "feature_ic", "decile_spreads", "quality", "sweep", "walk_forward", "oos_trades"):
        assert (out / "tables" / f"clean_{name}.csv").is_file(), name
    written = pl.read_parquet(out / "tables" / "clean_feature_ic.parquet")
    assert_frame_equal(written, effect_study.clean.feature_ic)


def test_cli_study_rejects_a_bad_config_naming_the_field_without_traceback(effect_lake, tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(_config(effect_lake, MARKET, walk_forward={"split": "2024-01-32"})))
    result = CliRunner().invoke(app, ["study", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "walk_forward.split" in result.output and "2024-01-32" in result.output
    # A clean exit, not an exception escaping the command (which would print a traceback).
    assert isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_cli_study_over_a_range_without_trades_names_the_range_and_what_the_lake_holds(effect_lake, tmp_path):
    config = tmp_path / "study.yaml"
    cfg = {**_config(effect_lake, MARKET), "start": "2024-06-01", "end": "2024-06-04"}
    config.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["study", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    output = " ".join(result.output.split())
    assert "no BTCUSDT trades on binance-futures in [2024-06-01, 2024-06-04)" in output, output
    assert "from 2024-01-01T" in output and "(30 days)" in output
