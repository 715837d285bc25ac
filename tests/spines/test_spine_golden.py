"""Golden tests: hand-computed bars from small handmade trade tables (docs/bars.md)."""

from __future__ import annotations

import polars as pl
import pytest
from spine_trades import make_trades

from pointline.errors import PointlineError
from pointline.research.spines import (
    ClockConfig,
    DollarBarConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)


def build(name, config, trades, start=0, end=100, anchor=None):
    return get_builder(name).build_spine(
        symbol_id=7, start_ts_us=start, end_ts_us=end, config=config, trades=trades, anchor_ts_us=anchor
    )


def rows(spine, *cols):
    cols = cols or ("bar_index", "bucket_start", "bucket_end", "ts", "close_file_line_number", "is_complete")
    return [tuple(r) for r in spine.select(cols).iter_rows()]


def test_volume_bar_closes_on_crossing_trade():
    trades = make_trades([(10, 1, 0.4), (20, 2, 0.5), (30, 3, 0.3), (40, 4, 0.2)])
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades)
    # 0.4 + 0.5 = 0.9 < 1; the third trade makes 1.2 >= 1 and closes bar 0 at its ts.
    assert rows(spine)[0] == (0, 0, 30, 30, 3, True)


def test_volume_bar_closes_when_total_equals_threshold():
    trades = make_trades([(10, 1, 0.4), (20, 2, 0.6), (30, 3, 0.3)])
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades)
    assert rows(spine)[0] == (0, 0, 20, 20, 2, True)


def test_no_overshoot_carry():
    # Bar 0 closes at 1.5 (overshoot 0.5 is dropped): bar 1 needs a full 1.0 again.
    trades = make_trades([(10, 1, 1.5), (20, 2, 0.6), (30, 3, 0.3), (40, 4, 0.1)])
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades)
    assert rows(spine) == [(0, 0, 10, 10, 1, True), (1, 10, 40, 40, 4, True), (2, 40, 100, 100, None, False)]


def test_bucket_start_is_previous_close_and_bar0_starts_at_anchor():
    trades = make_trades([(10, 1, 1.0), (25, 2, 1.0)])
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades, start=5)
    assert spine["bucket_start"].to_list() == [5, 10, 25]
    assert spine["bucket_end"].to_list() == spine["ts"].to_list()


def test_last_bar_incomplete():
    trades = make_trades([(10, 1, 1.0), (20, 2, 0.5)])
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades, end=50)
    last = spine.row(-1, named=True)
    assert (last["bucket_start"], last["ts"], last["bucket_end"]) == (10, 50, 50)
    assert last["close_file_id"] is None and last["close_file_line_number"] is None
    assert last["is_complete"] is False
    assert spine["is_complete"].to_list() == [True, False]


def test_no_incomplete_bar_when_last_close_is_at_end():
    spine = build(
        "hybrid_volume_time", HybridVolumeTimeConfig(1.0, max_time_seconds=50e-6), make_trades([]), end=100
    )
    assert rows(spine, "ts", "is_complete") == [(50, True), (100, True)]


def test_spine_columns_and_types_follow_the_contract():
    spine = build("volume", VolumeBarConfig(1.0), make_trades([(10, 1, 1.0)]))
    assert spine.schema == pl.Schema(
        {
            "symbol_id": pl.Int64,
            "bar_index": pl.Int64,
            "bucket_start": pl.Int64,
            "bucket_end": pl.Int64,
            "ts": pl.Int64,
            "close_file_id": pl.Int32,
            "close_file_line_number": pl.Int32,
            "is_complete": pl.Boolean,
        }
    )
    assert spine["symbol_id"].to_list() == [7, 7]


def test_tick_bar_closes_on_nth_trade():
    trades = make_trades([(10, 1, 5.0), (10, 2, 5.0), (12, 3, 5.0), (15, 4, 5.0), (18, 5, 5.0)])
    spine = build("tick", TickBarConfig(n_trades=2), trades)
    assert rows(spine) == [(0, 0, 10, 10, 2, True), (1, 10, 15, 15, 4, True), (2, 15, 100, 100, None, False)]


def test_dollar_bar_uses_price_times_qty_times_contract_size():
    # Notional with contract_size 10: 100*1*10=1000, 110*1*10=1100 -> 2100 >= 2000 closes.
    trades = make_trades([(10, 1, 1.0, 100.0), (20, 2, 1.0, 110.0), (30, 3, 3.0, 100.0)])
    config = DollarBarConfig(notional_threshold=2000.0, contract_size=10.0, is_inverse=False)
    assert rows(build("dollar", config, trades), "ts", "is_complete") == [
        (20, True),
        (30, True),
        (100, False),
    ]


def test_dollar_bar_inverse_notional_ignores_price():
    # Inverse: 100 USD per contract; 3 + 4 contracts = 700 USD >= 600 at any price.
    trades = make_trades([(10, 1, 3.0, 60000.0), (20, 2, 4.0, 1.0), (30, 3, 1.0, 1.0)])
    config = DollarBarConfig(notional_threshold=600.0, contract_size=100.0, is_inverse=True)
    assert rows(build("dollar", config, trades), "ts", "is_complete") == [(20, True), (100, False)]


def test_float_qty_sums_close_exact_thresholds():
    # 10 trades of 0.1 sum to 0.9999999999999999 in Float64; the bar still closes on the 10th.
    trades = make_trades([(i, i, 0.1) for i in range(1, 11)]).drop("qty_int")
    spine = build("volume", VolumeBarConfig(volume_threshold=1.0), trades)
    assert rows(spine, "ts", "is_complete")[0] == (10, True)


def test_volume_threshold_off_the_lot_grid_rounds_up():
    # qty_exp=1 (0.1 lots): a 0.25 threshold needs 3 lots = 0.3.
    trades = make_trades([(10, 1, 0.2), (20, 2, 0.1), (30, 3, 0.1)])
    assert rows(build("volume", VolumeBarConfig(0.25), trades), "ts")[0] == (20,)


def test_split_trades_exact_threshold():
    trades = make_trades([(10, 1, 0.4), (20, 2, 0.9), (30, 3, 0.7)])
    spine = build("volume", VolumeBarConfig(1.0, split_trades=True), trades)
    # Bar 0: 0.4 + 0.6 of trade 2 (2/3 of it); bar 1: 0.3 left of trade 2 + 0.7 of trade 3 (all of it).
    assert rows(spine, "ts", "close_file_line_number", "split_qty_int", "carry_qty_int", "is_complete") == [
        (20, 2, 6, 0, True),
        (30, 3, 7, 3, True),
        (100, None, None, 0, False),
    ]
    assert spine["split_fraction"].to_list()[:2] == pytest.approx([6 / 9, 1.0])
    assert spine["carry_fraction"].to_list() == pytest.approx([0.0, 3 / 9, 0.0])


def test_split_large_trade_closes_several_bars_at_same_ts():
    trades = make_trades([(10, 1, 0.5), (20, 2, 2.7)])
    spine = build("volume", VolumeBarConfig(1.0, split_trades=True), trades)
    assert rows(spine, "bucket_start", "ts", "close_file_line_number", "split_qty_int", "is_complete") == [
        (0, 20, 2, 5, True),
        (20, 20, 2, 10, True),
        (20, 20, 2, 10, True),
        (20, 100, None, None, False),
    ]
    assert spine["carry_qty_int"].to_list() == [0, 0, 0, 2]


def test_hybrid_time_close_needs_no_trade():
    # max_time = 30 µs: no trade between 0 and 70, bars close at 30 and 60 on time.
    trades = make_trades([(70, 1, 0.2), (75, 2, 1.0)])
    spine = build("hybrid_volume_time", HybridVolumeTimeConfig(1.0, max_time_seconds=30e-6), trades)
    assert rows(spine) == [
        (0, 0, 30, 30, None, True),
        (1, 30, 60, 60, None, True),
        (2, 60, 75, 75, 2, True),
        (3, 75, 100, 100, None, False),
    ]


def test_hybrid_volume_close_restarts_the_timer():
    trades = make_trades([(10, 1, 1.0), (35, 2, 0.1)])
    spine = build("hybrid_volume_time", HybridVolumeTimeConfig(1.0, max_time_seconds=30e-6), trades)
    assert rows(spine, "ts", "close_file_line_number") == [(10, 1), (40, None), (70, None), (100, None)]
    assert spine["is_complete"].to_list() == [True, True, True, True]


def test_hybrid_trade_at_deadline_opens_next_bar():
    trades = make_trades([(10, 1, 0.5), (30, 2, 0.6)])
    spine = build("hybrid_volume_time", HybridVolumeTimeConfig(1.0, max_time_seconds=30e-6), trades)
    # The time close at 30 happens before the trade at 30, which starts bar 1 with 0.6.
    assert rows(spine, "ts", "close_file_line_number")[:2] == [(30, None), (60, None)]


def test_clock_tiles_from_anchor():
    spine = build("clock", ClockConfig(step_us=30), None, start=0, end=90)
    assert rows(spine) == [
        (0, 0, 30, 30, None, True),
        (1, 30, 60, 60, None, True),
        (2, 60, 90, 90, None, True),
    ]


def test_clock_grid_follows_anchor_before_start():
    spine = build("clock", ClockConfig(step_us=30), None, start=45, end=100, anchor=15)
    assert rows(spine, "bar_index", "bucket_start", "ts") == [(1, 45, 75), (2, 75, 100)]


def test_clock_straddling_last_bar_incomplete():
    spine = build("clock", ClockConfig(step_us=30), None, start=0, end=70)
    assert rows(spine)[-1] == (2, 60, 90, 70, None, False)


def test_clock_emit_empty_false_skips_empty_intervals():
    trades = make_trades([(5, 1, 1.0), (70, 2, 1.0), (95, 3, 1.0)])
    spine = build("clock", ClockConfig(step_us=30, emit_empty=False), trades, end=100)
    assert rows(spine, "bar_index", "bucket_start", "bucket_end", "ts", "is_complete") == [
        (0, 0, 30, 30, True),
        (2, 60, 90, 90, True),
        (3, 90, 120, 100, False),
    ]


def test_clock_step_string():
    assert ClockConfig(step="5m").resolved_step_us == 300_000_000
    assert ClockConfig(step="250ms").resolved_step_us == 250_000
    assert ClockConfig(step_seconds=1.5).resolved_step_us == 1_500_000


def test_trades_outside_anchor_to_end_are_ignored():
    trades = make_trades([(5, 1, 5.0), (20, 2, 1.0), (100, 3, 5.0)])
    spine = build("volume", VolumeBarConfig(1.0), trades, start=10, end=100)
    assert rows(spine, "ts", "is_complete") == [(20, True), (100, False)]


def test_unsorted_trades_are_put_in_total_order():
    trades = make_trades([(20, 2, 1.0), (10, 1, 1.0), (20, 1, 0.5)])
    assert rows(build("tick", TickBarConfig(2), trades), "ts", "close_file_line_number")[0] == (20, 1)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: VolumeBarConfig(volume_threshold=0), "volume_threshold must be a positive number"),
        (lambda: VolumeBarConfig(volume_threshold=-1.0), "volume_threshold"),
        (lambda: TickBarConfig(n_trades=0), "n_trades must be a positive integer"),
        (lambda: TickBarConfig(n_trades=2.5), "positive integer"),
        (lambda: DollarBarConfig(notional_threshold=float("nan")), "notional_threshold"),
        (lambda: HybridVolumeTimeConfig(1.0, max_time_seconds=0), "max_time_seconds"),
        (lambda: ClockConfig(), "exactly one of"),
        (lambda: ClockConfig(step="5 parsecs"), "cannot read"),
        (lambda: ClockConfig(step_us=-5), "step_us"),
        (lambda: ClockConfig(step_seconds=1e20), "at most 100 years"),
    ],
)
def test_invalid_configs_raise_clear_errors(factory, message):
    with pytest.raises(PointlineError, match=message):
        factory()


@pytest.mark.parametrize(
    ("name", "config"),
    [("volume", VolumeBarConfig(volume_threshold=1e300)), ("tick", TickBarConfig(n_trades=10**30))],
)
def test_a_threshold_beyond_exact_integer_sums_is_a_clear_error(name, config):
    with pytest.raises(PointlineError, match="beyond what a bar can sum exactly"):
        build(name, config, make_trades([(1, 2, 1.0)]))


def test_timeline_may_be_given_as_dates_as_in_the_guide():
    t0 = 1_714_521_600_000_000  # 2024-05-01
    trades = make_trades([(t0 + 5, 2, 1.0), (t0 + 9, 3, 1.0)])
    by_date = get_builder("volume").build_spine(
        symbol_id=7,
        start_ts_us="2024-05-01",
        end_ts_us="2024-05-02",
        config=VolumeBarConfig(1.0),
        trades=trades,
    )
    by_us = build("volume", VolumeBarConfig(1.0), trades, start=t0, end=t0 + 86_400_000_000)
    assert by_date.equals(by_us) and by_date["ts"].to_list()[:2] == [t0 + 5, t0 + 9]


def test_wrong_config_type_is_rejected():
    with pytest.raises(PointlineError, match="expects a VolumeBarConfig"):
        build("volume", TickBarConfig(3), make_trades([]))


def test_anchor_after_start_is_rejected():
    with pytest.raises(PointlineError, match="anchor_ts_us"):
        build("volume", VolumeBarConfig(1.0), make_trades([]), start=10, anchor=20)


def test_missing_measure_columns_are_reported():
    trades = make_trades([(10, 1, 1.0)]).drop("qty", "qty_int")
    with pytest.raises(PointlineError, match="'qty'"):
        build("volume", VolumeBarConfig(1.0), trades)
