"""OnlinePipeline equals the engine on random trade and quote streams, ties across sources included:
bucket and as-of operators, event and clock bars, whatever the timer calls."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.online import OnlinePipeline
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.engine import compute
from pointline.research.pipeline_v2.plan import build_plan

SID = 11
S = 1_000_000
T0 = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z


def _request(spine: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": "2.0",
        "request_id": "online_property",
        "mode": "bar_then_feature",
        "timeline": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-01T00:10:00Z"},
        "sources": [
            {"name": "trades_src", "table": "trades", "filters": {"exchange": "x", "symbol": "S"}},
            {"name": "quotes_src", "table": "quotes", "filters": {"exchange": "x", "symbol": "S"}},
        ],
        "spine": spine,
        "operators": [
            {"name": "vwap", "agg": "trade_vwap", "source": "trades_src"},
            {"name": "ohlcv", "agg": "ohlcv", "source": "trades_src"},
            {"name": "spread", "agg": "spread_bps", "source": "quotes_src"},  # as-of: state at ts
            {
                "name": "spread_in_bar",
                "agg": "spread_bps",
                "source": "quotes_src",
                "join_strategy": "bucket",
                "output_name": "spread_bucket",
                "output_prefix": "bucket_",  # its second output, spread_bps_last, too
            },
        ],
    }


SPINES = st.sampled_from(
    [
        {"type": "volume", "config": {"volume_threshold": 1.0}},
        {"type": "tick", "config": {"n_trades": 3}},
        {"type": "clock", "config": {"step": "2s"}},
    ]
)


def _streams(data: st.DataObject) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = data.draw(st.integers(1, 30))
    m = data.draw(st.integers(0, 30))
    # Both sources on one coarse grid of times, so ties across sources are common; file ids order them.
    t_ts = sorted(data.draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)))
    q_ts = sorted(data.draw(st.lists(st.integers(-4, 20), min_size=m, max_size=m)))
    lots = data.draw(st.lists(st.integers(1, 600), min_size=n, max_size=n))
    trades = pl.DataFrame(
        {
            "ts_local_us": [T0 + t * S // 2 for t in t_ts],
            "file_id": [1] * n,
            "file_line_number": list(range(2, n + 2)),
            "px": [100.0 + (i % 5) for i in range(n)],
            "qty": [q / 1000 for q in lots],
            "qty_int": lots,
            "side": [i % 2 for i in range(n)],
        },
        schema_overrides={"file_id": pl.Int32, "file_line_number": pl.Int32, "side": pl.Int8},
    )
    bids = data.draw(st.lists(st.integers(9_990, 10_000), min_size=m, max_size=m))
    quotes = pl.DataFrame(
        {
            "ts_local_us": [T0 + t * S // 2 for t in q_ts],
            "file_id": [data.draw(st.sampled_from([0, 2]))] * m,  # before or after trades in ties
            "file_line_number": list(range(2, m + 2)),
            "bid_px_int": bids,
            "ask_px_int": [b + 1 + i % 3 for i, b in enumerate(bids)],
        },
        schema={
            "ts_local_us": pl.Int64,
            "file_id": pl.Int32,
            "file_line_number": pl.Int32,
            "bid_px_int": pl.Int64,
            "ask_px_int": pl.Int64,
        },
    )
    return trades, quotes


@settings(max_examples=25, deadline=None)
@given(SPINES, st.data())
def test_online_pipeline_equals_the_engine(spine: dict[str, Any], data: st.DataObject) -> None:
    request = _request(spine)
    plan = build_plan(validate_quant_research_input_v2(request))
    trades, quotes = _streams(data)
    expected = compute(plan, {"trades_src": trades, "quotes_src": quotes}, symbol_id=SID).features

    online = OnlinePipeline(request, symbol_id=SID)
    events = sorted(
        [
            ((r["ts_local_us"], r["file_id"], r["file_line_number"]), "trades_src", r)
            for r in trades.to_dicts()
        ]
        + [
            ((r["ts_local_us"], r["file_id"], r["file_line_number"]), "quotes_src", r)
            for r in quotes.to_dicts()
        ],
        key=lambda e: e[0],
    )
    rows: list[dict[str, Any]] = []
    for k, (key, name, event) in enumerate(events):
        rows += online.add_event(name, event)
        if data.draw(st.booleans()):  # a timer firing before the next event
            after = events[k + 1][0][0] if k + 1 < len(events) else plan.end_us
            rows += online.advance_time(data.draw(st.integers(key[0], after)))
    rows += online.finish(plan.end_us)
    got = pl.DataFrame(rows, schema=expected.schema) if rows else expected.clear()
    assert got.to_dicts() == expected.to_dicts()


def test_what_is_not_online_is_a_clear_error() -> None:
    request = _request({"type": "volume", "config": {"volume_threshold": 1.0}})
    request["operators"].append(
        {"name": "signed_volume", "stage": "per_event", "agg": "signed_volume", "source": "trades_src"}
    )
    request["mode"] = "tick_then_bar"
    with pytest.raises(PointlineError, match="only aggregate operators in mode bar_then_feature"):
        OnlinePipeline(request, symbol_id=SID)
    online = OnlinePipeline(_request({"type": "tick", "config": {"n_trades": 2}}), symbol_id=SID)
    with pytest.raises(PointlineError, match="unknown source 'book'"):
        online.add_event("book", {"ts_local_us": T0})
