"""build_feature_frame: the guide's exploration entry point gives the pipeline's table."""

from __future__ import annotations

import copy
from typing import Any

import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research import pipeline
from pointline.research.features import FeatureRunConfig, build_feature_frame
from pointline.research.spines import ClockConfig, VolumeBarConfig


def test_same_table_as_the_pipeline(guide_request: dict[str, Any]) -> None:
    threshold = guide_request["spine"]["config"]["volume_threshold"]
    frame = build_feature_frame(
        FeatureRunConfig(
            "binance-futures",
            "BTCUSDT",
            "2024-05-01T00:00:00Z",
            "2024-05-02T23:59:59Z",
            spine=VolumeBarConfig(volume_threshold=threshold),
            aggregations=["trade_vwap", "ohlcv", "flow_imbalance", {"agg": "spread_bps", "source": "quotes"}],
            derived=["vwap_reversion"],
        )
    )
    request = copy.deepcopy(guide_request)
    request["operators"] = [
        {"name": "vwap", "agg": "trade_vwap", "source": "trades_src"},
        {"name": "ohlcv", "agg": "ohlcv", "source": "trades_src"},
        {"name": "flow_imbalance", "agg": "flow_imbalance", "source": "trades_src"},
        {"name": "spread", "agg": "spread_bps", "source": "quotes_src"},
        {"name": "vwap_reversion", "stage": "derive", "agg": "vwap_reversion"},
    ]
    request["labels"] = []
    request["evaluation"] = {"metrics": [{"type": "row_count"}]}
    table = pl.read_parquet(pipeline(request)["artifacts"]["paths"][0])
    assert frame.equals(table.select(frame.columns))
    assert "vwap_reversion" in frame.columns


def test_clock_bars_with_labels(on_synth_lake: Any) -> None:
    frame = build_feature_frame(
        FeatureRunConfig(
            "binance-futures",
            "ETHUSDT",
            "2024-05-01",
            "2024-05-02",
            spine=ClockConfig(step="5m"),
            aggregations=["trade_vwap", "trade_count"],
            labels=[{"name": "fwd_3", "type": "forward_return", "window": 3, "column": "vwap"}],
            run_gates=True,
        )
    )
    assert frame.height == 288
    assert (frame["bucket_end"] - frame["bucket_start"]).unique().to_list() == [300_000_000]
    assert frame["fwd_3"].tail(3).is_null().all()


def test_bad_spine_is_a_clear_error(on_synth_lake: Any) -> None:
    with pytest.raises(PointlineError, match="spine"):
        build_feature_frame(
            FeatureRunConfig("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02", spine=42)
        )
