"""Built-in trade, quote and book aggregations against hand-computed bars."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pointline.research.resample import AggregateConfig, aggregate

TRADES = pl.DataFrame(
    {
        "symbol_id": [1] * 5,
        "bar_index": [0, 0, 0, 1, 1],
        "ts_local_us": [1_000_000, 2_000_000, 4_000_000, 10_000_000, 12_000_000],
        "file_id": [0] * 5,
        "file_line_number": [0, 1, 2, 3, 4],
        "px": [100.0, 102.0, 101.0, 105.0, 104.0],
        "qty": [1.0, 2.0, 1.0, 0.5, 1.5],
        "px_int": [1000, 1020, 1010, 1050, 1040],
        "qty_int": [10, 20, 10, 5, 15],
        "side": pl.Series([0, 1, 0, 2, 1], dtype=pl.Int8),
        "bucket_start": [0, 0, 0, 5_000_000, 5_000_000],
        "bucket_end": [5_000_000] * 3 + [15_000_000] * 2,
        "ts": [5_000_000] * 3 + [15_000_000] * 2,
        "is_complete": [True] * 5,
    }
)


def run(specs: list[dict], frame: pl.DataFrame = TRADES, **kw: object) -> pl.DataFrame:
    return aggregate(frame, AggregateConfig(specs, **kw))  # type: ignore[arg-type]


def test_trade_vwap_is_qty_weighted_price() -> None:
    assert run([{"agg": "trade_vwap"}])["vwap"].to_list() == [
        pytest.approx((100 + 204 + 101) / 4),
        pytest.approx((52.5 + 156) / 2),
    ]


def test_ohlcv_uses_first_and_last_trade_in_total_order() -> None:
    out = run([{"agg": "ohlcv"}], TRADES.reverse())
    assert out.select("open", "high", "low", "close", "volume").rows() == [
        (100.0, 102.0, 100.0, 101.0, 4.0),
        (105.0, 105.0, 104.0, 104.0, 2.0),
    ]


def test_flow_imbalance_ignores_unknown_side() -> None:
    assert run([{"agg": "flow_imbalance"}])["flow_imbalance"].to_list() == [0.0, -1.0]


def test_trade_count_avg_size_and_bar_duration() -> None:
    out = run([{"agg": "trade_count"}, {"agg": "avg_trade_size"}, {"agg": "bar_duration"}])
    assert out["trade_count"].to_list() == [3, 2]
    assert out["avg_trade_size"].to_list() == [pytest.approx(4 / 3), 1.0]
    assert out["bar_duration_seconds"].to_list() == [5.0, 10.0]


def test_realized_vol_is_std_of_log_price_changes() -> None:
    out = run([{"agg": "realized_volatility"}])
    r = [math.log(1020 / 1000), math.log(1010 / 1020)]
    mean = sum(r) / 2
    assert out["realized_vol"][0] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in r)))
    assert out["realized_vol"][1] is None  # one log return: no sample std


def test_bar_columns_come_from_the_bucketed_frame() -> None:
    out = run([{"agg": "trade_count"}])
    assert out.columns[:6] == ["symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "is_complete"]
    assert out["ts"].to_list() == [5_000_000, 15_000_000]


QUOTES = pl.DataFrame(
    {
        "symbol_id": [1] * 4,
        "bar_index": [0, 0, 0, 1],
        "ts_local_us": [0, 2, 8, 12],
        "bid_px_int": [9_990, 9_980, None, 10_000],
        "ask_px_int": [10_010, 10_020, 10_030, 10_002],
        "bid_px": [99.90, 99.80, None, 100.00],
        "ask_px": [100.10, 100.20, 100.30, 100.02],
        "bid_qty": [1.0, 3.0, None, 2.0],
        "ask_qty": [3.0, 1.0, 1.0, 2.0],
        "ts": [10, 10, 10, 20],
    }
)


def test_spread_bps_weights_each_quote_by_time_in_force_and_skips_one_sided() -> None:
    out = run([{"agg": "spread_bps"}], QUOTES)
    s0 = 20 / 10_000 * 1e4  # in force 2 µs
    s1 = 40 / 10_000 * 1e4  # in force 6 µs; the one-sided quote at 8 is skipped
    assert out["spread_bps"][0] == pytest.approx((s0 * 2 + s1 * 6) / 8)
    assert out["spread_bps_last"][0] == pytest.approx(s1)
    assert out["spread_bps"][1] == pytest.approx(2 / 10_001 * 1e4)


def test_mid_and_microprice_use_last_two_sided_quote() -> None:
    out = run([{"agg": "mid_px"}, {"agg": "microprice"}], QUOTES)
    assert out["mid_px"].to_list() == [pytest.approx(100.0), pytest.approx(100.01)]
    assert out["microprice"][0] == pytest.approx((99.80 * 1.0 + 100.20 * 3.0) / 4.0)


BOOKS = pl.DataFrame(
    {
        "symbol_id": [1, 1],
        "bar_index": [0, 0],
        "bids_qty_int": [[1, 1], [6, 1, 1, 1, 1, 1]],
        "asks_qty_int": [[9, 9], [2, 2, 2, 2, 2, 2]],
        "bids_px_int": [[99, 98], [99, 98, 97, 96, 95, 94]],
        "asks_px_int": [[101, 102], [101, 102, 103, 104, 105, 106]],
        "bids_px": [[9.9, 9.8], [9.9, 9.8, 9.7, 9.6, 9.5, 9.4]],
        "asks_px": [[10.1, 10.2], [10.1, 10.2, 10.3, 10.4, 10.5, 10.6]],
        "bids_qty": [[1.0, 1.0], [6.0, 1.0, 1.0, 1.0, 1.0, 1.0]],
        "asks_qty": [[9.0, 9.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]],
    }
)


def test_book_imbalances_use_last_snapshot_top_levels() -> None:
    specs = [{"agg": "book_imbalance_top1"}, {"agg": "book_imbalance_top5"}, {"agg": "book_imbalance_top25"}]
    out = run(specs, BOOKS).row(0, named=True)
    assert out["book_imbalance_top1"] == pytest.approx((6 - 2) / 8)
    assert out["book_imbalance_top5"] == pytest.approx((10 - 10) / 20)
    assert out["book_imbalance_top25"] == pytest.approx((11 - 12) / 23)


def test_depth_weighted_mid_averages_side_vwaps() -> None:
    out = run([{"agg": "depth_weighted_mid", "config": {"levels": 2}}], BOOKS)
    bid = (9.9 * 6 + 9.8 * 1) / 7
    ask = (10.1 * 2 + 10.2 * 2) / 4
    assert out["depth_weighted_mid"].item() == pytest.approx((bid + ask) / 2)
