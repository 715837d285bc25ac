"""Small synthetic markets shared by the synth tests (generated once per module)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pointline.synth import SynthConfig, generate_market

SMALL = SynthConfig(
    start=dt.date(2024, 5, 1),
    days=2,
    exchanges=("binance-futures", "bybit", "okex-swap"),
    symbols=("BTCUSDT", "ETHUSDT"),
    seed=3,
    trades_per_day=3_000,
    book_interval_s=60.0,
)


@pytest.fixture(scope="session")
def small_market(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthConfig, Path, list[Path]]:
    out = tmp_path_factory.mktemp("synth_small")
    return SMALL, out, generate_market(out, SMALL)
