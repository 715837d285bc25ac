"""assign_to_buckets / assign_with_stats: the boundary-key rule of docs/architecture.md."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spine_reference import reference_assign
from spine_trades import make_trades
from test_spine_properties import END, configs, trade_lists

from pointline.errors import PointlineError
from pointline.research.resample import assign_to_buckets
from pointline.research.resample.assign import assign_with_stats
from pointline.research.spines import (
    ClockConfig,
    DollarBarConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)


def spine_of(name, config, trades, start=0, end=100, symbol_id=7):
    return get_builder(name).build_spine(
        symbol_id=symbol_id, start_ts_us=start, end_ts_us=end, config=config, trades=trades
    )


def test_tie_at_close_ts_goes_by_line():
    # Three trades at ts 20; the bar closes on line 3; line 4 at the same ts opens the next bar.
    trades = make_trades([(10, 1, 0.5), (20, 2, 0.2), (20, 3, 0.4), (20, 4, 0.9), (30, 5, 0.1)])
    spine = spine_of("volume", VolumeBarConfig(1.0), trades)
    out = assign_to_buckets(trades, spine)
    assert out.select("file_line_number", "bar_index").rows() == [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)]


def test_one_trade_bars_at_the_same_ts_each_get_their_trade():
    trades = make_trades([(20, 1, 1.0), (20, 2, 1.0), (20, 3, 1.0)])
    out = assign_to_buckets(trades, spine_of("tick", TickBarConfig(1), trades))
    assert out["bar_index"].to_list() == [0, 1, 2]


def test_clock_event_at_bucket_end_goes_to_next_bar():
    trades = make_trades([(29, 1, 1.0), (30, 2, 1.0), (59, 3, 1.0), (60, 4, 1.0)])
    out = assign_to_buckets(trades, spine_of("clock", ClockConfig(step_us=30), None))
    assert out.select("ts_local_us", "bar_index", "bucket_start", "ts").rows() == [
        (29, 0, 0, 30),
        (30, 1, 30, 60),
        (59, 1, 30, 60),
        (60, 2, 60, 90),
    ]


def test_hybrid_time_close_sends_trades_at_its_ts_to_next_bar():
    trades = make_trades([(10, 1, 0.5), (30, 2, 0.6)])
    spine = spine_of("hybrid_volume_time", HybridVolumeTimeConfig(1.0, max_time_seconds=30e-6), trades)
    out = assign_to_buckets(trades, spine)
    assert out.select("file_line_number", "bar_index", "ts").rows() == [(1, 0, 30), (2, 1, 60)]


def test_events_outside_the_spine_are_unassigned_and_counted():
    trades = make_trades([(5, 1, 1.0), (10, 2, 1.0), (20, 3, 1.0), (100, 4, 1.0), (120, 5, 1.0)])
    spine = spine_of("tick", TickBarConfig(1), trades, start=10, end=100)
    out, stats = assign_with_stats(trades, spine)
    assert out["file_line_number"].to_list() == [2, 3]
    assert (stats.n_events, stats.n_assigned, stats.n_unassigned) == (5, 2, 3)
    assert stats.unassigned_ratio == pytest.approx(0.6)


def test_events_in_skipped_clock_intervals_are_unassigned():
    trades = make_trades([(5, 1, 1.0), (95, 2, 1.0)])
    spine = spine_of("clock", ClockConfig(step_us=30, emit_empty=False), trades, end=120)
    quotes = pl.DataFrame({"ts_local_us": [7, 40, 70, 96], "bid_px": [1.0, 2.0, 3.0, 4.0]})
    out, stats = assign_with_stats(quotes, spine)
    assert out.select("ts_local_us", "bar_index").rows() == [(7, 0), (96, 3)]
    assert stats.n_unassigned == 2


def test_quotes_without_file_keys_are_assigned_with_keys_zero():
    trades = make_trades([(20, 1, 1.0), (40, 2, 1.0)])
    spine = spine_of("volume", VolumeBarConfig(1.0), trades)
    quotes = pl.DataFrame({"ts_local_us": [20, 21, 40], "bid_px": [1.0, 2.0, 3.0]})
    out = assign_to_buckets(quotes, spine)
    # Key (20, 0, 0) sorts before the close key (20, 1, 1): it is in bar 0.
    assert out.select("ts_local_us", "symbol_id", "bar_index").rows() == [(20, 7, 0), (21, 7, 1), (40, 7, 1)]
    assert out.columns[:2] == ["symbol_id", "ts_local_us"]


@pytest.mark.parametrize("given_order", [[0, 1, 2], [2, 1, 0]])
def test_null_file_keys_count_as_zero_in_any_input_order(given_order):
    # Bar 0 closes on (20, 1, 5). A quote at ts 20 with null keys is (20, 0, 0): before the close
    # key, so in bar 0, and first in the output; (20, 2, 0) is after it, in bar 1.
    trades = make_trades([(10, 1, 0.5), (20, 5, 0.5), (30, 6, 1.0)])
    spine = spine_of("volume", VolumeBarConfig(1.0), trades)
    quotes = pl.DataFrame(
        {
            "ts_local_us": [20, 20, 25],
            "file_id": [2, None, 2],
            "file_line_number": [0, None, 1],
            "v": [1, 2, 3],
        },
        schema={"ts_local_us": pl.Int64, "file_id": pl.Int32, "file_line_number": pl.Int32, "v": pl.Int64},
    )
    out = assign_to_buckets(quotes[given_order], spine)
    assert out.select("v", "bar_index").rows() == [(2, 0), (1, 1), (3, 1)]


def test_several_symbols_match_on_symbol_id():
    a = make_trades([(10, 1, 1.0), (30, 2, 1.0)], symbol_id=1)
    b = make_trades([(20, 3, 1.0), (25, 4, 1.0), (50, 5, 1.0)], symbol_id=2)
    spine = pl.concat(
        [
            spine_of("tick", TickBarConfig(2), a, symbol_id=1),
            spine_of("tick", TickBarConfig(2), b, symbol_id=2),
        ]
    )
    out = assign_to_buckets(pl.concat([b, a]), spine)
    assert out.select("symbol_id", "ts_local_us", "bar_index", "ts").rows() == [
        (1, 10, 0, 30),
        (1, 30, 0, 30),
        (2, 20, 0, 25),
        (2, 25, 0, 25),
        (2, 50, 1, 100),
    ]


def test_split_trade_rows_prorate_qty_exactly():
    trades = make_trades([(10, 1, 0.5), (20, 2, 2.7), (30, 3, 0.4)])
    spine = spine_of("volume", VolumeBarConfig(1.0, split_trades=True), trades)
    out = assign_to_buckets(trades, spine)
    assert out.select("file_line_number", "bar_index", "qty_int", "split_fraction").rows() == [
        (1, 0, 5, 1.0),
        (2, 0, 5, pytest.approx(5 / 27)),
        (2, 1, 10, pytest.approx(10 / 27)),
        (2, 2, 10, pytest.approx(10 / 27)),
        (2, 3, 2, pytest.approx(2 / 27)),
        (3, 3, 4, 1.0),
    ]
    assert out["qty"].sum() == pytest.approx(3.6)


def test_lazy_input_gives_lazy_output():
    trades = make_trades([(10, 1, 1.0)])
    out = assign_to_buckets(trades.lazy(), spine_of("tick", TickBarConfig(1), trades))
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["bar_index"].to_list() == [0]


def test_events_with_bar_columns_are_rejected():
    trades = make_trades([(10, 1, 1.0)]).with_columns(pl.lit(0).alias("bar_index"))
    with pytest.raises(PointlineError, match="bar column"):
        assign_to_buckets(trades, spine_of("tick", TickBarConfig(1), trades))


@settings(max_examples=50, deadline=None)
@given(rows=trade_lists, named=configs, quote_ts=st.lists(st.integers(-10, END + 10), max_size=20))
def test_assignment_matches_linear_scan_and_stays_inside_bars(rows, named, quote_ts):
    name, config = named
    trades = make_trades(rows)
    spine = spine_of(name, config, trades, end=END)
    quotes = pl.DataFrame(
        {"ts_local_us": quote_ts, "file_id": [2] * len(quote_ts), "file_line_number": range(len(quote_ts))},
        schema={"ts_local_us": pl.Int64, "file_id": pl.Int32, "file_line_number": pl.Int32},
    ).sort("ts_local_us")
    bars = [
        {"bucket_start": r["bucket_start"], "ts": r["ts"], "key": None if r["close_file_id"] is None
         else (r["close_file_id"], r["close_file_line_number"])}
        for r in spine.iter_rows(named=True)
    ]  # fmt: skip
    for events in (trades, quotes):
        keys = list(zip(events["ts_local_us"], events["file_id"], events["file_line_number"], strict=True))
        expected = reference_assign(keys, bars)
        out, stats = assign_with_stats(events.drop("qty", "qty_int", strict=False), spine)
        want = sorted(
            (k, spine["bar_index"][i]) for k, i in zip(keys, expected, strict=True) if i is not None
        )
        got = list(zip(zip(out["ts_local_us"], out["file_id"], out["file_line_number"], strict=True),
                       out["bar_index"], strict=True))  # fmt: skip
        assert got == want
        assert stats.n_unassigned == sum(i is None for i in expected)
        assert (out["bucket_start"] <= out["ts_local_us"]).all()
        assert (out["ts_local_us"] <= out["ts"]).all()
        null_key = out.join(spine.select("bar_index", "close_file_id"), on="bar_index")[
            "close_file_id"
        ].is_null()
        assert (out.filter(null_key)["ts_local_us"] < out.filter(null_key)["ts"]).all()


@settings(max_examples=40, deadline=None)
@given(rows=trade_lists, notional=st.sampled_from([37.0, 95.0, 250.0]))
def test_split_dollar_bars_conserve_qty_int_exactly(rows, notional):
    trades = make_trades([(ts, line, q, 100.0 + line % 7) for ts, line, q in rows])
    config = DollarBarConfig(notional, split_trades=True, contract_size=1.0, is_inverse=False)
    out = assign_to_buckets(trades, spine_of("dollar", config, trades, end=END))
    assert out["qty_int"].sum() == trades["qty_int"].sum()
    assert (out["qty_int"] >= 0).all()
    per_trade = out.group_by("file_line_number").agg(pl.col("qty_int").sum(), pl.col("split_fraction").sum())
    expected = trades.select("file_line_number", pl.col("qty_int").alias("want"))
    joined = per_trade.join(expected, on="file_line_number")
    assert (joined["qty_int"] == joined["want"]).all()
    notional_per_bar = out.group_by("bar_index", "is_complete").agg(
        (pl.col("qty") * pl.col("px")).sum().alias("n")
    )
    complete = notional_per_bar.filter("is_complete")["n"]
    assert ((complete - notional).abs() < 1e-6 * notional).all()
