"""Same configuration, same bytes; a day's files do not depend on which days are generated with it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pointline.errors import ValidationError
from pointline.synth import SynthConfig, generate_market

TINY = SynthConfig(
    start=dt.date(2024, 2, 28),
    days=2,
    exchanges=("binance-futures", "bybit"),
    symbols=("ETHUSDT",),
    seed=42,
    trades_per_day=1_500,
    book_interval_s=600.0,
)


def _contents(paths):
    return {p.name: p.read_bytes() for p in paths}


def test_same_config_writes_byte_identical_files(tmp_path):
    first = _contents(generate_market(tmp_path / "a", TINY))
    second = _contents(generate_market(tmp_path / "b", TINY))
    assert first == second


def test_days_generated_together_equal_days_generated_separately(tmp_path):
    together = _contents(generate_market(tmp_path / "both", TINY))
    separate = {}
    for day in TINY.dates:
        one = dataclasses.replace(TINY, start=day, days=1)
        separate.update(_contents(generate_market(tmp_path / day.isoformat(), one)))
    assert together == separate


def test_a_symbol_or_exchange_does_not_change_the_others_files(tmp_path):
    base = _contents(generate_market(tmp_path / "base", TINY))
    wider = dataclasses.replace(TINY, symbols=("ETHUSDT", "BTCUSDT"))
    more = _contents(generate_market(tmp_path / "wider", wider))
    assert {k: v for k, v in more.items() if k in base} == base


def test_another_seed_gives_another_market(tmp_path):
    first = _contents(generate_market(tmp_path / "a", TINY))
    other = _contents(generate_market(tmp_path / "b", dataclasses.replace(TINY, seed=43)))
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first)


def test_efficient_price_is_continuous_across_midnight():
    from pointline.synth.price import asset_day

    day1 = asset_day(TINY, "ETHUSDT", TINY.start)
    day2 = asset_day(TINY, "ETHUSDT", TINY.start + dt.timedelta(days=1))
    end = day1.log_price_at([86_400.0])[0]
    start = day2.log_price_at([0.0])[0]
    assert abs(end - start) < 1e-9


def test_data_types_choose_files_without_changing_the_market(tmp_path):
    full = _contents(generate_market(tmp_path / "full", TINY))
    trades_only = _contents(
        generate_market(tmp_path / "trades", dataclasses.replace(TINY, data_types=("trades",)))
    )
    assert trades_only and all("_trades_" in name for name in trades_only)
    assert trades_only == {k: v for k, v in full.items() if "_trades_" in k}


def test_unknown_data_type_is_rejected_naming_the_field():
    with pytest.raises(ValidationError, match="data_types"):
        dataclasses.replace(TINY, data_types=("trades", "book_snapshot_5"))


def test_threads_write_the_files_one_thread_writes(tmp_path, monkeypatch):
    from pointline.synth import market

    config = dataclasses.replace(TINY, symbols=("ETHUSDT", "BTCUSDT"))
    threaded = _contents(generate_market(tmp_path / "threads", config))
    monkeypatch.setattr(market, "SYNTH_THREADS", 1)
    serial = _contents(generate_market(tmp_path / "serial", config))
    assert threaded == serial and len(serial) == 2 * 2 * 2 * 3
