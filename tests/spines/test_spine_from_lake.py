"""Spines read their trades from a real lake when none are passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pointline.lake.dim_symbol import symbol_id_for
from pointline.research import query
from pointline.research.resample import assign_to_buckets
from pointline.research.spines import DollarBarConfig, VolumeBarConfig, get_builder
from pointline.research.timeline import to_us

DAY1 = to_us("2024-05-01")
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


@pytest.fixture
def btc_lake(lake: Path, tmp_path: Path) -> Path:
    from pointline.ingest import ingest

    rows = [
        (1_000, "60000.1", "0.5"),
        (2_000, "60000.2", "0.25"),
        (2_000, "60000.3", "0.25"),
        (9_000, "60001", "2"),
    ]
    lines = [
        f"binance-futures,BTCUSDT,{DAY1 + ts - 100},{DAY1 + ts},{i},buy,{px},{qty}\n"
        for i, (ts, px, qty) in enumerate(rows, start=1)
    ]
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv"
    path.write_text(HEADER + "".join(lines))
    assert ingest([path]).files[0].status == "ingested"
    return lake


def test_volume_spine_reads_trades_from_the_lake(btc_lake: Path) -> None:
    sid = symbol_id_for("binance-futures", "BTCUSDT")
    spine = get_builder("volume").build_spine(
        symbol_id=sid, start_ts_us=DAY1, end_ts_us=DAY1 + 10_000, config=VolumeBarConfig(volume_threshold=1.0)
    )
    assert spine.select("ts", "is_complete").rows() == [
        (DAY1 + 2_000, True),
        (DAY1 + 9_000, True),
        (DAY1 + 10_000, False),
    ]
    trades = query.trades("binance-futures", "BTCUSDT", DAY1, DAY1 + 10_000, decoded=True)
    assert assign_to_buckets(trades, spine)["bar_index"].to_list() == [0, 0, 0, 1]


def test_dollar_spine_takes_contract_terms_from_dim_symbol(btc_lake: Path) -> None:
    sid = symbol_id_for("binance-futures", "BTCUSDT")
    spine = get_builder("dollar").build_spine(
        symbol_id=sid,
        start_ts_us=DAY1,
        end_ts_us=DAY1 + 10_000,
        config=DollarBarConfig(notional_threshold=40_000.0),
    )
    # 0.5 × 60000.1 = 30000.05, then + 0.25 × 60000.2 crosses 40 000 at the second trade.
    assert spine["ts"].to_list()[0] == DAY1 + 2_000
