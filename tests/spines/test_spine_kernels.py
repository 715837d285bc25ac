"""The spine kernels on inputs larger than the property tests draw: many bars, long chunks."""

from __future__ import annotations

import numpy as np
import polars as pl
from spine_reference import reference_threshold_bars
from spine_trades import make_trades

from pointline.lake.order import is_sorted_by
from pointline.research.spines import HybridVolumeTimeConfig, VolumeBarConfig, get_builder
from pointline.research.spines.kernels import occupied_intervals


def _rows(n: int, seed: int) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.integers(0, 3, n))  # many equal timestamps
    lots = rng.integers(1, 30, n)
    return [(int(t), line, int(q) / 10) for line, (t, q) in enumerate(zip(ts, lots, strict=True), start=1)]


def _closes(spine) -> list[tuple]:
    return [
        (r["bucket_start"], r["ts"], r["close_file_line_number"], r["is_complete"])
        for r in spine.iter_rows(named=True)
    ]


def _expected(bars: list[dict]) -> list[tuple]:
    return [
        (b["bucket_start"], b["ts"], None if b["key"] is None else b["key"][1], b["complete"]) for b in bars
    ]


def test_volume_bars_beyond_the_initial_run_capacity_match_the_reference() -> None:
    rows = _rows(12_000, seed=1)
    end = rows[-1][0] + 1
    events = [(ts, 1, line, round(q * 10)) for ts, line, q in rows]
    spine = get_builder("volume").build_spine(
        symbol_id=7, start_ts_us=0, end_ts_us=end, config=VolumeBarConfig(1.5), trades=make_trades(rows)
    )
    assert spine.height > 5_000  # several doublings of the kernel's run buffer
    assert _closes(spine) == _expected(reference_threshold_bars(events, 15, 0, end))


def test_split_trades_closing_many_bars_each_match_the_reference() -> None:
    rows = _rows(3_000, seed=2)
    end = rows[-1][0] + 1
    events = [(ts, 1, line, round(q * 10)) for ts, line, q in rows]
    spine = get_builder("volume").build_spine(
        symbol_id=7,
        start_ts_us=0,
        end_ts_us=end,
        config=VolumeBarConfig(0.2, split_trades=True),
        trades=make_trades(rows),
    )
    assert spine.height > 10_000
    assert _closes(spine) == _expected(reference_threshold_bars(events, 2, 0, end, split=True))


def test_hybrid_time_closes_in_long_quiet_stretches_match_the_reference() -> None:
    rows = [(t * 1_000, line, 0.1) for line, t in enumerate(range(0, 9_000, 3), start=1)]
    end = rows[-1][0] + 1
    events = [(ts, 1, line, 1) for ts, line, _ in rows]
    spine = get_builder("hybrid_volume_time").build_spine(
        symbol_id=7,
        start_ts_us=0,
        end_ts_us=end,
        config=HybridVolumeTimeConfig(100.0, max_time_seconds=0.0007),
        trades=make_trades(rows),
    )
    assert _closes(spine) == _expected(reference_threshold_bars(events, 1000, 0, end, max_time=700))


def test_occupied_intervals_lists_each_interval_once_and_counts_the_last() -> None:
    ts = np.array([3, 5, 10, 12, 12, 29, 41, 41, 41], dtype=np.int64)
    ks, n_last = occupied_intervals(ts, 0, 10, 0)
    assert ks.tolist() == [0, 1, 2, 4]
    assert n_last == 3


def test_occupied_intervals_ignores_events_before_the_open_interval() -> None:
    ts = np.array([3, 5, 10, 12, 29], dtype=np.int64)
    ks, n_last = occupied_intervals(ts, 0, 10, 1)
    assert ks.tolist() == [1, 2]
    assert n_last == 1
    ks, n_last = occupied_intervals(ts, 0, 10, 5)
    assert ks.tolist() == []
    assert n_last == 0


def test_total_order_breaks_timestamp_ties_on_file_then_line() -> None:
    def ordered(ts: list[int], fid: list[int], line: list[int]) -> bool:
        frame = pl.DataFrame({"ts_local_us": ts, "file_id": fid, "file_line_number": line})
        return is_sorted_by(frame, ["ts_local_us", "file_id", "file_line_number"])

    ts = [1, 1, 1, 2]
    assert ordered(ts, [0, 1, 1, 0], [9, 1, 2, 0])
    assert not ordered(ts, [1, 0, 1, 0], [1, 9, 2, 0])
    assert not ordered(ts, [0, 0, 0, 0], [2, 1, 3, 0])
    assert not ordered(ts[::-1], [0, 0, 0, 0], [0, 1, 2, 3])
