"""The aggregation registry: the guide's custom classes register unchanged, names are checked."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import polars as pl
import pytest

from pointline.errors import PointlineError, PointlineWarning
from pointline.research.resample import (
    AggregateConfig,
    AggregationSpec,
    aggregate,
    get_aggregation,
    list_aggregations,
    register_aggregation,
)
from pointline.research.resample.registry import unknown_config_keys


def trade_bars() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol_id": [7, 7, 7, 7],
            "bar_index": [0, 0, 0, 1],
            "ts_local_us": [1, 2, 3, 11],
            "px_int": [100, 101, 99, 102],
            "qty_int": [10, 30, 20, 5],
            "side": [0, 1, 0, 1],
            "bucket_start": [0, 0, 0, 10],
            "bucket_end": [10, 10, 10, 20],
            "ts": [10, 10, 10, 20],
            "is_complete": [True, True, True, False],
        },
        schema_overrides={"side": pl.Int8},
    )


def test_guide_example_classes_register_unchanged_and_run() -> None:
    @register_aggregation
    class FlowImbalance(AggregationSpec):
        name = "flow_imbalance"
        required_columns = ["qty_int", "side"]  # noqa: RUF012
        mode_allowlist = ["bar_then_feature", "tick_then_bar"]  # noqa: RUF012

        def impl(self, config) -> list[pl.Expr]:  # type: ignore[no-untyped-def]
            buy_vol = pl.col("qty_int").filter(pl.col("side") == 0).sum()
            sell_vol = pl.col("qty_int").filter(pl.col("side") == 1).sum()
            return [((buy_vol - sell_vol) / (buy_vol + sell_vol)).fill_null(0).alias("flow_imbalance")]

    @register_aggregation
    class BookImbalanceTop5(AggregationSpec):
        name = "book_imbalance_top5"
        required_columns = ["bids_px_int", "bids_qty_int", "asks_px_int", "asks_qty_int"]  # noqa: RUF012
        mode_allowlist = ["event_joined", "bar_then_feature"]  # noqa: RUF012

        def impl(self, config) -> list[pl.Expr]:  # type: ignore[no-untyped-def]
            bid_depth = pl.col("bids_qty_int").list.slice(0, 5).list.sum()
            ask_depth = pl.col("asks_qty_int").list.slice(0, 5).list.sum()
            return [
                ((bid_depth - ask_depth) / (bid_depth + ask_depth)).fill_null(0).alias("book_imbalance_top5")
            ]

    @register_aggregation
    class RealizedVolatility(AggregationSpec):
        name = "realized_volatility"
        required_columns = ["px_int"]  # noqa: RUF012
        mode_allowlist = ["bar_then_feature", "tick_then_bar"]  # noqa: RUF012

        def impl(self, config) -> list[pl.Expr]:  # type: ignore[no-untyped-def]
            log_ret = pl.col("px_int").log().diff()
            return [log_ret.std().alias("realized_vol")]

    try:
        assert get_aggregation("flow_imbalance") is FlowImbalance
        out = aggregate(
            trade_bars(),
            AggregateConfig([{"agg": "flow_imbalance"}, {"agg": "realized_volatility"}]),
        )
        assert out["flow_imbalance"].to_list() == [(30 - 30) / 60, -1.0]
        assert out["realized_vol"][0] == pytest.approx(
            pl.Series([101 / 100, 99 / 101]).log().std()  # type: ignore[arg-type]
        )
        books = pl.DataFrame(
            {
                "symbol_id": [1, 1],
                "bar_index": [0, 0],
                "bids_px_int": [[10, 9], [10, 9]],
                "bids_qty_int": [[1, 1], [3, 1]],
                "asks_px_int": [[11, 12], [11, 12]],
                "asks_qty_int": [[1, 1], [1, 1]],
            }
        )
        # The guide's class computes one value per snapshot; the bar keeps the last snapshot's.
        got = aggregate(books, AggregateConfig([{"agg": "book_imbalance_top5"}], mode="event_joined"))
        assert got["book_imbalance_top5"].to_list() == [(4 - 2) / 6]
    finally:
        _restore_builtins()


def _restore_builtins() -> None:
    from pointline.research.resample.aggregations import books, trades

    register_aggregation(trades.FlowImbalance)
    register_aggregation(trades.RealizedVolatility)
    register_aggregation(books.BookImbalanceTop5)


def test_unknown_aggregation_lists_known_names_and_suggests_one() -> None:
    with pytest.raises(PointlineError, match="Did you mean 'trade_vwap'") as err:
        get_aggregation("trade_vwapp")
    assert "ohlcv" in str(err.value) and "microstructure" in str(err.value)


def test_unknown_aggregation_in_aggregate_is_an_error_not_skipped() -> None:
    with pytest.raises(PointlineError, match="unknown aggregation 'ohlc'"):
        aggregate(trade_bars(), AggregateConfig([{"agg": "ohlc"}]))


def test_every_builtin_is_registered_before_the_pipeline_is_imported() -> None:
    # A fresh interpreter: only the resample API imported, as in the guide's Option 2.
    code = (
        "import polars as pl\n"
        "from pointline.research.resample import AggregateConfig, aggregate, list_aggregations\n"
        "assert {'column_sum', 'column_mean', 'column_last', 'column_std'} <= set(list_aggregations())\n"
        "ev = pl.DataFrame({'symbol_id': [1, 1], 'bar_index': [0, 0], 'x': [1.0, 2.0]})\n"
        "out = aggregate(ev, AggregateConfig([{'agg': 'column_sum', 'config': {'column': 'x'}}]))\n"
        "assert out['x_sum'].to_list() == [3.0], out\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_config_key_the_aggregation_does_not_read_is_a_warning_naming_what_it_reads() -> None:
    plain = aggregate(trade_bars(), AggregateConfig([{"agg": "flow_imbalance"}]))
    with pytest.warns(PointlineWarning, match=r"'flow_imbalance' takes no config; got \['window'\]"):
        windowed = aggregate(
            trade_bars(), AggregateConfig([{"agg": "flow_imbalance", "config": {"window": 5}}])
        )
    assert windowed.equals(plain)  # ignored, as the warning says
    depth = get_aggregation("depth_weighted_mid")
    assert unknown_config_keys(depth, {"levels": 3}) is None
    assert unknown_config_keys(depth, {"level": 3}) == (
        "aggregation 'depth_weighted_mid' reads config keys ['levels']; got ['level']"
    )


def test_a_user_aggregation_without_declared_config_keys_takes_any_config() -> None:
    @register_aggregation
    class AnyConfig(AggregationSpec):
        name = "any_config_max_qty"
        required_columns = ["qty_int"]  # noqa: RUF012

        def impl(self, config):  # type: ignore[no-untyped-def]
            return [pl.col("qty_int").max().alias("max_qty")]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = aggregate(trade_bars(), AggregateConfig([{"agg": "any_config_max_qty", "config": {"x": 1}}]))
    assert out["max_qty"].to_list() == [30, 5]


def test_missing_column_error_names_column_and_source_table() -> None:
    with pytest.raises(
        PointlineError, match="aggregation 'spread_bps' needs column 'bid_px_int' from a quotes source"
    ):
        aggregate(trade_bars(), AggregateConfig([{"agg": "spread_bps"}]))


def test_mode_outside_allowlist_is_rejected() -> None:
    with pytest.raises(PointlineError, match="not allowed in mode 'event_joined'"):
        aggregate(trade_bars(), AggregateConfig([{"agg": "flow_imbalance"}], mode="event_joined"))


def test_every_builtin_named_by_the_guide_and_notebook_is_registered() -> None:
    names = set(list_aggregations())
    guide = {
        "trade_vwap",
        "ohlcv",
        "flow_imbalance",
        "trade_count",
        "avg_trade_size",
        "spread_bps",
        "book_imbalance_top5",
        "realized_volatility",
    }
    notebook = {
        "vol_imbalance",
        "dollar_imbalance",
        "large_imbalance",
        "large_vol_pct",
        "count_imbalance",
        "arrival_rate",
        "iti_cv",
        "burstiness",
        "trade_acceleration",
        "price_range",
        "close_vs_vwap",
        "kyle_lambda",
        "vol_profile_skew",
        "buy_volume",
        "sell_volume",
        "quote_volume",
        "microstructure",
    }
    assert guide | notebook <= names


def test_user_class_overrides_builtin_of_same_name() -> None:
    @register_aggregation
    class MyCount(AggregationSpec):
        name = "trade_count"

        def impl(self, config):  # type: ignore[no-untyped-def]
            return [(pl.len() * 2).alias("trade_count")]

    try:
        assert aggregate(trade_bars(), AggregateConfig([{"agg": "trade_count"}]))[
            "trade_count"
        ].to_list() == [6, 2]
    finally:
        from pointline.research.resample.aggregations import trades

        register_aggregation(trades.TradeCount)


def test_class_without_name_cannot_register() -> None:
    with pytest.raises(PointlineError, match="non-empty string `name`"):

        @register_aggregation
        class Nameless(AggregationSpec):
            pass


def test_a_column_chosen_by_config_that_the_frame_lacks_is_named_before_running():
    events = pl.DataFrame({"symbol_id": [1, 1], "bar_index": [0, 0], "px": [1.0, 2.0], "qty": [1.0, 1.0]})
    spec = {"agg": "column_sum", "config": {"column": "notional"}}
    with pytest.raises(PointlineError, match=r"'column_sum' reads column\(s\) \['notional'\]"):
        aggregate(events, AggregateConfig(agg_specs=[spec]))
