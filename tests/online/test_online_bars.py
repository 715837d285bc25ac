"""Online bars equal the batch path's: the same bars, the same feature values, bit for bit, whether
fed one trade at a time, with timer calls in between, or ended at any time."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.online import OnlineBars, VolumeBarTracker
from pointline.research.resample.aggregate import AggregateConfig, aggregate
from pointline.research.resample.assign import assign_to_buckets
from pointline.research.spines import (
    ClockConfig,
    DollarBarConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)

SID = 7
S = 1_000_000  # µs per second
FEATURES = ["trade_vwap", "ohlcv", "flow_imbalance", "vol_imbalance", "trade_count", "realized_volatility"]

SPINES = st.one_of(
    st.builds(lambda n: ("tick", TickBarConfig(n_trades=n)), st.integers(1, 6)),
    st.builds(lambda v: ("volume", VolumeBarConfig(volume_threshold=v)), st.sampled_from([0.5, 1.0, 2.5])),
    st.builds(lambda s: ("clock", ClockConfig(step_us=s * S)), st.integers(1, 5)),
    st.builds(
        lambda v, t: ("hybrid_volume_time", HybridVolumeTimeConfig(volume_threshold=v, max_time_seconds=t)),
        st.sampled_from([1.0, 3.0]),
        st.integers(1, 4),
    ),
    st.builds(
        lambda n: ("dollar", DollarBarConfig(notional_threshold=n, contract_size=1.0, is_inverse=False)),
        st.sampled_from([50.0, 200.0]),
    ),
)


def _trades(draw: Any, n: int) -> pl.DataFrame:
    gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))  # 0: a tie on ts_local_us
    lots = draw(st.lists(st.integers(1, 900), min_size=n, max_size=n))  # qty in 0.001 lots
    ticks = draw(st.lists(st.integers(999_000, 1_001_000), min_size=n, max_size=n))  # px in 0.01
    sides = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    ts, t = [], 10 * S
    for g in gaps:
        t += g * S // 2
        ts.append(t)
    return pl.DataFrame(
        {
            "ts_local_us": ts,
            "file_id": [1] * n,
            "file_line_number": list(range(2, n + 2)),
            "side": sides,
            "px_int": ticks,
            "qty_int": lots,
            "px": [p / 100 for p in ticks],
            "qty": [q / 1000 for q in lots],
        },
        schema={
            "ts_local_us": pl.Int64,
            "file_id": pl.Int32,
            "file_line_number": pl.Int32,
            "side": pl.Int8,
            "px_int": pl.Int64,
            "qty_int": pl.Int64,
            "px": pl.Float64,
            "qty": pl.Float64,
        },
    )


def _batch(spine: str, config: Any, trades: pl.DataFrame, anchor: int, end: int) -> pl.DataFrame:
    bars = get_builder(spine).build_spine(
        symbol_id=SID, start_ts_us=anchor, end_ts_us=end, config=config, trades=trades
    )
    bucketed = assign_to_buckets(trades.with_columns(pl.lit(SID, dtype=pl.Int64).alias("symbol_id")), bars)
    return aggregate(bucketed, AggregateConfig(agg_specs=[{"agg": a} for a in FEATURES], spine=bars))


@settings(max_examples=30, deadline=None)
@given(SPINES, st.data())
def test_online_bars_equal_the_batch_path(spine_config: tuple[str, Any], data: st.DataObject) -> None:
    spine, config = spine_config
    trades = _trades(data.draw, data.draw(st.integers(0, 40)))
    anchor = 10 * S
    end = (int(trades["ts_local_us"].max()) if trades.height else anchor) + data.draw(st.integers(1, 4)) * S
    expected = _batch(spine, config, trades, anchor, end)
    closes = expected.filter(pl.col("is_complete"))["ts"].to_list()

    def emitted_by(now: int) -> None:
        """Every bar that closed before ``now`` is out already: emission is never late."""
        assert len(rows) >= sum(ts < now for ts in closes), (now, len(rows))

    online = OnlineBars(spine, config, FEATURES, anchor_ts_us=anchor, symbol_id=SID)
    rows: list[dict[str, Any]] = []
    for k, trade in enumerate(trades.iter_rows(named=True)):
        rows += online.add_trade(trade)
        emitted_by(trade["ts_local_us"])
        after = trades["ts_local_us"][k + 1] if k + 1 < trades.height else end
        if data.draw(st.booleans()):  # a timer firing between this trade and the next
            now = data.draw(st.integers(trade["ts_local_us"], after))
            rows += online.advance_time(now)
            emitted_by(now)
    rows += online.finish(end)
    got = pl.DataFrame(rows, schema=expected.schema) if rows else expected.clear()
    assert got.to_dicts() == expected.to_dicts()
    assert got["is_complete"].to_list()[:-1] == [True] * (got.height - 1)


def test_bars_are_emitted_by_the_trade_that_closes_them() -> None:
    """Golden: a volume bar closes on the trade that reaches the threshold, which belongs to it;
    the next bar starts from zero (no overshoot carried), as the guide's tracker does."""
    tracker = VolumeBarTracker(threshold=1.0)
    sizes = [0.4, 0.5, 0.3, 0.9, 2.0]
    closed = [
        tracker.add_trade({"ts_local_us": i, "px": 100.0 + i, "qty": q, "side": i % 2})
        for i, q in enumerate(sizes)
    ]
    assert [c is not None for c in closed] == [False, False, True, False, True]
    first, second = closed[2], closed[4]
    assert first is not None and second is not None
    assert (first["bucket_start"], first["ts"], first["trade_count"]) == (0, 2, 3)
    assert (second["bucket_start"], second["ts"], second["trade_count"]) == (2, 4, 2)
    assert first["vwap"] == pytest.approx((100 * 0.4 + 101 * 0.5 + 102 * 0.3) / 1.2)
    assert second["vol_imbalance"] == pytest.approx((2.0 - 0.9) / 2.9)  # buy 2.0 (side 0), sell 0.9
    # The guide's own keys: its bar starts at its first trade; its flow imbalance is vol_imbalance.
    assert (first["bar_start_ts"], second["bar_start_ts"]) == (0, 3)
    assert second["flow_imbalance"] == second["vol_imbalance"]


def test_volume_bar_tracker_bar_start_ignores_trades_before_its_anchor() -> None:
    # A trade before an explicit anchor is in no bar (as in the batch path), so it cannot be the
    # first trade of bar 0 either.
    tracker = VolumeBarTracker(threshold=1.0, anchor_ts_us=10)
    assert tracker.add_trade({"ts_local_us": 5, "px": 100.0, "qty": 0.7, "side": 0}) is None
    assert tracker.add_trade({"ts_local_us": 12, "px": 101.0, "qty": 0.6, "side": 0}) is None
    bar = tracker.add_trade({"ts_local_us": 15, "px": 102.0, "qty": 0.5, "side": 1})
    assert bar is not None
    assert (bar["bucket_start"], bar["bar_start_ts"], bar["trade_count"]) == (10, 12, 2)


def test_clock_bars_close_on_a_timer_without_trades() -> None:
    online = OnlineBars("clock", ClockConfig(step_us=10), ["trade_count", "trade_vwap"], anchor_ts_us=0)
    assert online.add_trade({"ts_local_us": 3, "px": 1.0, "qty": 1.0}) == []
    rows = online.advance_time(35)
    assert [(r["bar_index"], r["ts"], r["trade_count"], r["vwap"]) for r in rows] == [
        (0, 10, 1, 1.0),
        (1, 20, 0, None),
        (2, 30, 0, None),
    ]
    assert [r["bar_index"] for r in online.add_trade({"ts_local_us": 41, "px": 2.0, "qty": 1.0})] == [3]


@pytest.mark.parametrize(
    ("spine", "config"), [("tick", TickBarConfig(n_trades=1)), ("clock", ClockConfig(step_us=1))]
)
def test_trades_before_the_anchor_are_in_no_bar_as_in_the_batch_path(spine: str, config: Any) -> None:
    schema = {"ts_local_us": pl.Int64, "file_id": pl.Int32, "file_line_number": pl.Int32, "side": pl.Int8,
              "px_int": pl.Int64, "qty_int": pl.Int64, "px": pl.Float64, "qty": pl.Float64}  # fmt: skip
    # The trade at 5 is before the anchor: the batch path never reads it.
    trades = pl.DataFrame(
        [(5, 1, 1, 0, 9950, 100, 99.5, 0.1), (10, 1, 2, 1, 9800, 200, 98.0, 0.2)], schema=schema, orient="row"
    )
    expected = _batch(spine, config, trades, anchor=10, end=12)
    online = OnlineBars(spine, config, FEATURES, anchor_ts_us=10, symbol_id=SID)
    rows = [row for trade in trades.iter_rows(named=True) for row in online.add_trade(trade)]
    rows += online.finish(12)
    assert rows == expected.to_dicts()


def test_out_of_order_trades_and_unsupported_spines_are_clear_errors() -> None:
    online = OnlineBars("tick", TickBarConfig(n_trades=5), ["trade_count"], anchor_ts_us=0)
    online.add_trade({"ts_local_us": 10, "px": 1.0, "qty": 1.0, "file_id": 1, "file_line_number": 3})
    with pytest.raises(PointlineError, match="is not after the previous one"):
        online.add_trade({"ts_local_us": 9, "px": 1.0, "qty": 1.0, "file_id": 1, "file_line_number": 4})
    with pytest.raises(PointlineError, match="split_trades=True spines are not supported online"):
        OnlineBars("volume", VolumeBarConfig(1.0, split_trades=True), ["trade_count"], anchor_ts_us=0)
