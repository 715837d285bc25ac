"""The planted contrarian effect: off means no IC, on means a negative IC of the documented size.

The 5-minute features are recomputed here from the written files with plain pandas, independently
of ``pointline.synth.effect``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pointline.synth import SynthConfig, expected_flow_ic, generate_market, measure_flow_ic

BASE = SynthConfig(
    start=dt.date(2023, 9, 1),
    days=12,
    exchanges=("binance-futures", "bybit", "okex-swap"),
    symbols=("BTCUSDT",),
    seed=21,
    trades_per_day=5_000,
    book_interval_s=3_600.0,
)
BAR_US = 300_000_000


def _consensus_ic_from_files(paths: list[Path], config: SynthConfig, horizon_min: int) -> float:
    per_exchange = {}
    for ex in config.exchanges:
        frames = [pd.read_csv(p) for p in paths if p.name.startswith(f"{ex}_trades_")]
        t = pd.concat(frames, ignore_index=True)
        t["bar"] = t.timestamp // BAR_US
        t["signed"] = np.where(t.side == "buy", t.amount, -t.amount)
        g = t.groupby("bar")
        per_exchange[ex] = pd.DataFrame({"imb": g.signed.sum() / g.amount.sum(), "close": g.price.last()})
    start = config.start
    bars = pd.RangeIndex(
        int(pd.Timestamp(start, tz="UTC").value // 1000 // BAR_US),
        int(pd.Timestamp(start + dt.timedelta(days=config.days), tz="UTC").value // 1000 // BAR_US),
    )
    consensus = pd.concat([f.imb for f in per_exchange.values()], axis=1).reindex(bars).mean(axis=1)
    leader = per_exchange[config.exchanges[0]].close.reindex(bars)
    consensus[leader.isna()] = np.nan
    log_close = np.log(leader.ffill())
    n = horizon_min // 5
    fwd = log_close.shift(-n) - log_close
    ok = consensus.notna() & fwd.notna()
    return float(spearmanr(consensus[ok], fwd[ok]).statistic)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for strength in (0.0, 1.2):
        cfg = dataclasses.replace(BASE, contrarian_strength=strength)
        paths = generate_market(tmp_path_factory.mktemp(f"effect_{strength}"), cfg)
        out[strength] = (cfg, paths)
    return out


def test_zero_strength_plants_no_flow_ic(runs):
    cfg, paths = runs[0.0]
    assert expected_flow_ic(cfg, 60) == 0.0
    se = 1.0 / np.sqrt(cfg.days * 288)
    assert abs(_consensus_ic_from_files(paths, cfg, 60)) < 3 * se


def test_positive_strength_plants_the_documented_negative_ic(runs):
    cfg, paths = runs[1.2]
    expected = expected_flow_ic(cfg, 60)
    measured = _consensus_ic_from_files(paths, cfg, 60)
    assert expected < -0.05
    assert measured < 0
    assert abs(measured - expected) <= 0.3 * abs(expected)


def test_measure_flow_ic_agrees_with_the_files(runs):
    cfg, paths = runs[1.2]
    short = dataclasses.replace(cfg, days=3)
    short_paths = [p for p in paths if any(d.isoformat() in p.name for d in short.dates)]
    assert measure_flow_ic(short, (30,))[30] == pytest.approx(
        _consensus_ic_from_files(short_paths, short, 30), abs=1e-12
    )


def test_expected_ic_grows_with_strength_and_is_negative_at_all_horizons():
    weak = [
        expected_flow_ic(dataclasses.replace(BASE, contrarian_strength=0.3), h) for h in (15, 30, 60, 120)
    ]
    strong = [
        expected_flow_ic(dataclasses.replace(BASE, contrarian_strength=1.2), h) for h in (15, 30, 60, 120)
    ]
    assert all(s < w < 0 for w, s in zip(weak, strong, strict=True))
