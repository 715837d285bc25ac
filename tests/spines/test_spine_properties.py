"""Property tests: chunking invariance, the Numba kernels against a slow reference, conservation."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from spine_reference import reference_threshold_bars
from spine_trades import make_trades

from pointline.research.spines import (
    ClockConfig,
    DollarBarConfig,
    HybridVolumeTimeConfig,
    TickBarConfig,
    VolumeBarConfig,
    get_builder,
)

END = 2_000

# Trades: increasing (ts, line) with frequent equal timestamps and qty on a 0.1 grid.
trade_lists = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 35)), min_size=0, max_size=60).map(
    lambda xs: _to_rows(xs)
)


def _to_rows(xs):
    rows, ts = [], 0
    for line, (gap, lots) in enumerate(xs, start=1):
        ts += gap if gap > 8 else 0  # many ties at the same ts
        rows.append((ts, line, lots / 10))
    return rows


configs = st.sampled_from(
    [
        ("volume", VolumeBarConfig(1.0)),
        ("volume", VolumeBarConfig(0.7, split_trades=True)),
        ("tick", TickBarConfig(3)),
        ("dollar", DollarBarConfig(150.0, contract_size=1.0, is_inverse=False)),
        ("dollar", DollarBarConfig(95.0, split_trades=True, contract_size=1.0, is_inverse=False)),
        ("hybrid_volume_time", HybridVolumeTimeConfig(2.0, max_time_seconds=45e-6)),
        ("clock", ClockConfig(step_us=37)),
        ("clock", ClockConfig(step_us=50, emit_empty=False)),
    ]
)


@settings(max_examples=60, deadline=None)
@given(rows=trade_lists, named=configs, cuts=st.lists(st.integers(0, 60), max_size=4))
def test_one_pass_equals_any_chunking_with_carried_state(rows, named, cuts):
    name, config = named
    builder = get_builder(name)
    trades = make_trades(rows)
    one_pass = builder.build_spine(symbol_id=7, start_ts_us=0, end_ts_us=END, config=config, trades=trades)
    assert _row_chunked(builder, config, trades, 0, cuts).equals(one_pass)


def _row_chunked(builder, config, trades: pl.DataFrame, anchor: int, cuts: list[int]) -> pl.DataFrame:
    """The spine built by ``advance`` over ``trades`` cut at the row indices ``cuts``, then ``finish``."""
    state = builder.initial_state(config, anchor, symbol_id=7, start_ts_us=anchor)
    parts = []
    bounds = sorted({0, trades.height, *[min(c, trades.height) for c in cuts]})
    for lo, hi in itertools.pairwise(bounds):
        bars, state = builder.advance(state, trades.slice(lo, hi - lo))
        parts.append(bars)
    parts.append(builder.finish(state, END))
    return pl.concat(parts, how="diagonal_relaxed")


@settings(max_examples=60, deadline=None)
@given(
    rows=trade_lists, named=configs, anchor=st.integers(0, 300), cuts=st.lists(st.integers(0, 60), max_size=3)
)
def test_incremental_form_from_an_anchor_inside_the_first_chunk_equals_one_pass(rows, named, anchor, cuts):
    """Whole chunks (e.g. days) fed from an anchor inside the first one: the trades before the
    anchor are in no bar, as in build_spine, which never reads them."""
    name, config = named
    builder = get_builder(name)
    trades = make_trades(rows)
    one_pass = builder.build_spine(
        symbol_id=7, start_ts_us=anchor, end_ts_us=END, config=config, trades=trades
    )
    assert _row_chunked(builder, config, trades, anchor, cuts).equals(one_pass)


@settings(max_examples=40, deadline=None)
@given(rows=trade_lists, day=st.integers(50, 400))
def test_day_chunks_with_carried_state_equal_one_pass(rows, day):
    """Chunks cut on time (as by UTC day) rather than by rows."""
    builder = get_builder("hybrid_volume_time")
    config = HybridVolumeTimeConfig(1.5, max_time_seconds=60e-6)
    trades = make_trades(rows)
    one_pass = builder.build_spine(symbol_id=7, start_ts_us=0, end_ts_us=END, config=config, trades=trades)
    state = builder.initial_state(config, 0, symbol_id=7)
    parts = []
    for lo in range(0, END, day):
        bars, state = builder.advance(
            state, trades.filter(pl.col("ts_local_us").is_between(lo, lo + day - 1))
        )
        parts.append(bars)
    parts.append(builder.finish(state, END))
    assert pl.concat(parts).equals(one_pass)


def _as_reference(spine: pl.DataFrame, split: bool) -> list[dict]:
    out = []
    for r in spine.iter_rows(named=True):
        key = None if r["close_file_id"] is None else (r["close_file_id"], r["close_file_line_number"])
        bar = {"bucket_start": r["bucket_start"], "ts": r["ts"], "key": key, "complete": r["is_complete"]}
        if split:
            bar["split"] = r["split_qty_int"]
            bar["carry"] = r["carry_qty_int"]
        out.append(bar)
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=trade_lists,
    lots=st.integers(1, 40),
    split=st.booleans(),
    max_time=st.sampled_from([None, 25, 60]),
)
def test_numba_builder_matches_slow_reference(rows, lots, split, max_time):
    trades = make_trades(rows)
    events = [(ts, 1, line, round(q * 10)) for ts, line, q in rows]
    expected = reference_threshold_bars(events, lots, 0, END, split=split, max_time=max_time)
    if max_time:
        config = HybridVolumeTimeConfig(lots / 10, max_time_seconds=max_time / 1e6)
        name, split = "hybrid_volume_time", False
        expected = reference_threshold_bars(events, lots, 0, END, max_time=max_time)
    else:
        config, name = VolumeBarConfig(lots / 10, split_trades=split), "volume"
    spine = get_builder(name).build_spine(
        symbol_id=7, start_ts_us=0, end_ts_us=END, config=config, trades=trades
    )
    got = _as_reference(spine, split)
    if split:
        measures = {(1, line): round(q * 10) for _, line, q in rows}
        for bar in expected:
            bar["split"] = None if bar["split"] is None else int(bar["split"] * measures[bar["key"]])
        for i, bar in enumerate(expected):
            prev_key = expected[i - 1]["key"] if i else None
            bar["carry"] = int(bar["carry"] * measures[prev_key]) if bar["carry"] else 0
            got[i]["carry"] = got[i]["carry"] or 0
    assert got == expected


@settings(max_examples=50, deadline=None)
@given(rows=trade_lists, lots=st.integers(1, 40))
def test_complete_volume_bars_reach_threshold_and_split_bars_hold_exactly_it(rows, lots):
    trades = make_trades(rows)
    builder = get_builder("volume")
    from pointline.research.resample import assign_to_buckets

    plain = builder.build_spine(
        symbol_id=7, start_ts_us=0, end_ts_us=END, config=VolumeBarConfig(lots / 10), trades=trades
    )
    per_bar = (
        assign_to_buckets(trades, plain).group_by("bar_index", "is_complete").agg(pl.col("qty_int").sum())
    )
    assert (per_bar.filter("is_complete")["qty_int"] >= lots).all()
    assert (per_bar.filter(~pl.col("is_complete"))["qty_int"] < lots).all()

    split = builder.build_spine(
        symbol_id=7,
        start_ts_us=0,
        end_ts_us=END,
        config=VolumeBarConfig(lots / 10, split_trades=True),
        trades=trades,
    )
    bucketed = assign_to_buckets(trades, split)
    per_bar = bucketed.group_by("bar_index", "is_complete").agg(pl.col("qty_int").sum(), pl.col("qty").sum())
    assert (per_bar.filter("is_complete")["qty_int"] == lots).all()
    assert (per_bar.filter(~pl.col("is_complete"))["qty_int"] < lots).all()
    assert bucketed["qty_int"].sum() == trades["qty_int"].sum()
    assert abs(bucketed["qty"].sum() - trades["qty"].sum()) < 1e-9
    by_trade = bucketed.group_by("file_line_number").agg(pl.col("split_fraction").sum())
    assert ((by_trade["split_fraction"] - 1.0).abs() < 1e-12).all()
