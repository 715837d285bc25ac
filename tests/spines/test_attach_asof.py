"""attach_asof: the last state known at each bar's ts (strict for time closes)."""

from __future__ import annotations

import polars as pl
import pytest
from spine_trades import make_trades

from pointline.errors import PointlineError
from pointline.research.resample import attach_asof
from pointline.research.spines import ClockConfig, VolumeBarConfig, get_builder


def quotes(rows, symbol_id=7):
    """``(ts_local_us, line, bid_px)`` rows."""
    return pl.DataFrame(
        {
            "symbol_id": [symbol_id] * len(rows),
            "ts_local_us": [r[0] for r in rows],
            "file_id": [2] * len(rows),
            "file_line_number": [r[1] for r in rows],
            "bid_px": [r[2] for r in rows],
        },
        schema_overrides={"file_id": pl.Int32, "file_line_number": pl.Int32},
    )


@pytest.fixture
def clock_spine():
    return get_builder("clock").build_spine(
        symbol_id=7, start_ts_us=0, end_ts_us=90, config=ClockConfig(step_us=30)
    )


@pytest.fixture
def volume_spine():
    trades = make_trades([(30, 1, 1.0), (60, 2, 1.0)])
    return get_builder("volume").build_spine(
        symbol_id=7, start_ts_us=0, end_ts_us=90, config=VolumeBarConfig(1.0), trades=trades
    )


def test_clock_bar_sees_state_strictly_before_ts(clock_spine):
    out = attach_asof(clock_spine, quotes([(10, 1, 1.0), (30, 2, 2.0), (59, 3, 3.0)]))
    assert out.select("ts", "bid_px", "state_age_us").rows() == [(30, 1.0, 20), (60, 3.0, 1), (90, 3.0, 31)]


def test_event_bar_sees_state_at_or_before_ts(volume_spine):
    out = attach_asof(volume_spine, quotes([(10, 1, 1.0), (30, 2, 2.0), (61, 3, 3.0)]))
    # The last bar is unfinished (ts = timeline end, closed "on time"): strict.
    assert out.select("ts", "bid_px").rows() == [(30, 2.0), (60, 2.0), (90, 3.0)]


def test_strict_flag_overrides_the_spine_rule(volume_spine):
    out = attach_asof(volume_spine, quotes([(10, 1, 1.0), (30, 2, 2.0)]), strict=True)
    assert out["bid_px"].to_list() == [1.0, 2.0, 2.0]


def test_same_ts_state_rows_take_the_last_by_line(clock_spine):
    out = attach_asof(clock_spine, quotes([(10, 5, 5.0), (10, 2, 2.0), (10, 9, 9.0)]))
    assert out["bid_px"].to_list() == [9.0, 9.0, 9.0]


@pytest.mark.parametrize("given_order", [[0, 1], [1, 0]])
def test_same_ts_state_rows_with_null_keys_sort_first_in_any_input_order(clock_spine, given_order):
    state = quotes([(10, 5, 5.0), (10, 6, 6.0)]).with_columns(
        pl.when(pl.col("bid_px") == 6.0).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("file_id", "file_line_number")
    )
    out = attach_asof(clock_spine, state[given_order])
    assert out["bid_px"].to_list() == [5.0, 5.0, 5.0]


def test_stale_state_beyond_tolerance_is_null(clock_spine):
    out = attach_asof(clock_spine, quotes([(10, 1, 1.0), (55, 2, 2.0)]), tolerance_us=20)
    assert out.select("bid_px", "state_age_us").rows() == [(1.0, 20), (2.0, 5), (None, None)]


def test_no_state_before_first_bar_gives_nulls(clock_spine):
    out = attach_asof(clock_spine, quotes([(70, 1, 1.0)]))
    assert out["bid_px"].to_list() == [None, None, 1.0]


def test_matches_per_symbol_and_keeps_spine_order():
    build = get_builder("clock").build_spine
    spine = pl.concat(
        [
            build(symbol_id=1, start_ts_us=0, end_ts_us=60, config=ClockConfig(step_us=30)),
            build(symbol_id=2, start_ts_us=0, end_ts_us=60, config=ClockConfig(step_us=30)),
        ]
    )
    state = pl.concat([quotes([(5, 1, 1.0)], symbol_id=1), quotes([(40, 1, 2.0)], symbol_id=2)])
    out = attach_asof(spine, state, columns=["bid_px"], prefix="q_")
    assert out.select("symbol_id", "ts", "q_bid_px").rows() == [
        (1, 30, 1.0),
        (1, 60, 1.0),
        (2, 30, None),
        (2, 60, 2.0),
    ]
    assert "q_state_age_us" in out.columns


def test_unknown_state_column_is_an_error(clock_spine):
    with pytest.raises(PointlineError, match="no column"):
        attach_asof(clock_spine, quotes([(1, 1, 1.0)]), columns=["ask_px"])
