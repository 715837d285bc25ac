"""A request reading files the ingest flagged as possible duplicate data says so in its warnings:
the same trades landed twice would otherwise count twice in every bar, silently."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from pointline.ingest import ingest
from pointline.research import pipeline
from pointline.synth import SynthConfig, generate_market

REQUEST = {
    "schema_version": "2.0",
    "request_id": "dup_check",
    "timeline": {"start": "2024-05-01", "end": "2024-05-02"},
    "sources": [
        {"name": "trades_src", "table": "trades", "filters": {"exchange": "bybit", "symbol": "BTCUSDT"}}
    ],
    "spine": {"type": "clock", "config": {"step": "1h"}},
    "operators": [{"name": "trade_count", "source": "trades_src"}],
    "constraints": {"check_reproducibility": False},
}


def test_a_request_over_twice_landed_trades_warns(tmp_path: Path) -> None:
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=1,
        exchanges=("bybit",),
        symbols=("BTCUSDT",),
        seed=2,
        trades_per_day=2_000,
        data_types=("trades",),
    )
    lake = tmp_path / "lake"
    (day,) = generate_market(tmp_path / "vendor", config)
    ingest([day], lake=lake)
    request = {**REQUEST, "artifacts": {"output_dir": str(tmp_path / "out")}}
    assert pipeline(request, lake=lake)["warnings"] == []

    copy = tmp_path / "again" / "day.csv"
    copy.parent.mkdir()
    copy.write_bytes(gzip.decompress(day.read_bytes()))
    (result,) = ingest([copy], lake=lake).files
    assert (result.reason or "").startswith("possible duplicate data")
    warnings = pipeline(request, lake=lake)["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("source 'trades_src' (BTCUSDT trades) reads 1 file(s) the ingest flagged")
    assert "may be counted twice" in warnings[0]
