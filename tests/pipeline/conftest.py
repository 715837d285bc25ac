"""A small synthetic lake shared by the pipeline tests: 1 exchange × 2 symbols × 2 days."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import pointline
from pointline.ingest import ingest
from pointline.research import query
from pointline.synth import SynthConfig, generate_market

START = dt.date(2024, 5, 1)

#: The guide's "Pipeline v2 Request (JSON)", as printed, except the timeline (moved onto the
#: synthetic days), the volume threshold (scaled to the synthetic volume) and output_dir.
GUIDE_REQUEST: dict[str, Any] = {
    "schema_version": "2.0",
    "request_id": "btc_mft_volbar_features_v1",
    "mode": "bar_then_feature",
    "timeline": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T23:59:59Z", "ts_col": "ts_local_us"},
    "sources": [
        {
            "name": "trades_src",
            "table": "trades",
            "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"},
        },
        {
            "name": "quotes_src",
            "table": "quotes",
            "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"},
        },
        {
            "name": "book_src",
            "table": "book_snapshot_25",
            "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"},
        },
    ],
    "spine": {"type": "volume", "config": {"volume_threshold": 100.0, "use_absolute_volume": True}},
    "operators": [
        {"name": "vwap", "stage": "aggregate", "agg": "trade_vwap", "source": "trades_src"},
        {"name": "ohlcv", "stage": "aggregate", "agg": "ohlcv", "source": "trades_src"},
        {"name": "flow_imbalance", "stage": "aggregate", "agg": "flow_imbalance", "source": "trades_src"},
        {"name": "trade_count", "stage": "aggregate", "agg": "trade_count", "source": "trades_src"},
        {"name": "avg_trade_size", "stage": "aggregate", "agg": "avg_trade_size", "source": "trades_src"},
        {"name": "spread", "stage": "aggregate", "agg": "spread_bps", "source": "quotes_src"},
        {"name": "book_imbalance", "stage": "aggregate", "agg": "book_imbalance_top5", "source": "book_src"},
        {"name": "realized_vol", "stage": "aggregate", "agg": "realized_volatility", "source": "trades_src"},
    ],
    "labels": [
        {
            "name": "forward_return_5bar",
            "type": "forward_return",
            "window": 5,
            "column": "vwap_px",
            "normalization": "standardized",
        },
        {
            "name": "forward_return_10bar",
            "type": "forward_return",
            "window": 10,
            "column": "vwap_px",
            "normalization": "standardized",
        },
    ],
    "evaluation": {
        "metrics": [
            {"type": "row_count"},
            {"type": "null_ratio", "columns": ["flow_imbalance", "spread_bps"]},
            {"type": "label_distribution", "column": "forward_return_5bar"},
        ]
    },
    "constraints": {"forbid_lookahead": True, "require_pit_ordering": True, "max_unassigned_ratio": 0.01},
    "artifacts": {"emit_lineage": True, "output_dir": "/data/research_outputs/btc_mft_volbar"},
}


@pytest.fixture(scope="session")
def synth_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    config = SynthConfig(
        start=START,
        days=2,
        exchanges=("binance-futures",),
        symbols=("BTCUSDT", "ETHUSDT"),
        seed=11,
        trades_per_day=6_000,
        book_interval_s=30.0,
    )
    files = generate_market(root / "raw", config)
    report = ingest(files, lake=root / "lake")
    assert not report.failed
    return root / "lake"


@pytest.fixture
def on_synth_lake(synth_lake: Path) -> Iterator[Path]:
    pointline.set_lake(synth_lake)
    try:
        yield synth_lake
    finally:
        pointline.set_lake(None)


@pytest.fixture
def guide_request(on_synth_lake: Path, tmp_path: Path) -> dict[str, Any]:
    """The guide's request on the synthetic lake, ~150 volume bars per day."""
    request = copy.deepcopy(GUIDE_REQUEST)
    trades = query.trades("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", decoded=True)
    assert isinstance(trades, pl.DataFrame)
    request["spine"]["config"]["volume_threshold"] = round(float(trades["qty"].sum()) / 150, 3)
    request["artifacts"]["output_dir"] = str(tmp_path / "out")
    return request
