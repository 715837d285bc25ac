"""aggregate(): grouping per (symbol_id, bar_index), spine join, renames, kernel aggregations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research.features import notebook_features
from pointline.research.resample import AggregateConfig, aggregate
from pointline.research.resample.aggregations.notebook import NOTEBOOK_COLUMNS

INTERVAL = 1_000_000
KEYS_AND_BAR = ["symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "is_complete"]


def clock_bucketed(n: int = 3000, seed: int = 0, symbols: tuple[int, ...] = (1,)) -> pl.DataFrame:
    """Trades of each symbol on 1-second clock bars (the assign_to_buckets contract)."""
    rng = np.random.default_rng(seed)
    parts = []
    for sid in symbols:
        ts = np.sort(rng.integers(0, 60 * INTERVAL, n))
        parts.append(
            pl.DataFrame(
                {
                    "symbol_id": np.full(n, sid, dtype=np.int64),
                    "ts_local_us": ts,
                    "file_id": np.zeros(n, dtype=np.int32),
                    "file_line_number": np.arange(n, dtype=np.int32),
                    "px": np.round(100 + np.cumsum(rng.choice([-0.5, 0, 0.5], n)), 1),
                    "qty": rng.choice([0.1, 0.2, 1.0, 2.5], n),
                    "side": rng.choice(np.array([0, 1, 2], dtype=np.int8), n),
                }
            )
        )
    ev = pl.concat(parts)
    return ev.with_columns(bar_index=pl.col("ts_local_us") // INTERVAL).with_columns(
        bucket_start=pl.col("bar_index") * INTERVAL,
        bucket_end=(pl.col("bar_index") + 1) * INTERVAL,
        ts=(pl.col("bar_index") + 1) * INTERVAL,
        is_complete=pl.lit(True),
    )


def test_microstructure_aggregation_equals_notebook_builder_on_clock_bars() -> None:
    ev = clock_bucketed()
    out = aggregate(ev, AggregateConfig([{"agg": "microstructure"}]))
    nb = notebook_features(ev, INTERVAL)
    assert out.select(NOTEBOOK_COLUMNS).equals(nb.select(NOTEBOOK_COLUMNS))


def test_single_notebook_feature_equals_its_column_in_the_group() -> None:
    ev = clock_bucketed()
    both = aggregate(
        ev, AggregateConfig([{"agg": "kyle_lambda"}, {"agg": "microstructure", "output_prefix": "m_"}])
    )
    assert both["kyle_lambda"].equals(both["m_kyle_lambda"], check_names=False)


def test_each_symbol_is_aggregated_separately() -> None:
    ev = clock_bucketed(symbols=(1, 2))
    out = aggregate(ev, AggregateConfig([{"agg": "trade_count"}]))
    per_symbol = out.group_by("symbol_id").agg(pl.col("trade_count").sum()).sort("symbol_id")
    assert per_symbol["trade_count"].to_list() == [3000, 3000]


def test_spine_keeps_empty_bars_with_zero_count_and_null_features() -> None:
    ev = clock_bucketed().filter(pl.col("bar_index") != 5)
    spine = pl.DataFrame({"symbol_id": [1] * 60, "bar_index": range(60)}).with_columns(
        bucket_start=pl.col("bar_index") * INTERVAL,
        bucket_end=(pl.col("bar_index") + 1) * INTERVAL,
        ts=(pl.col("bar_index") + 1) * INTERVAL,
        is_complete=pl.lit(True),
    )
    out = aggregate(ev, AggregateConfig([{"agg": "trade_count"}, {"agg": "trade_vwap"}], spine=spine))
    assert out.height == 60
    empty = out.filter(pl.col("bar_index") == 5).row(0, named=True)
    assert empty["trade_count"] == 0 and empty["vwap"] is None and empty["ts"] == 6 * INTERVAL


def test_a_renamed_trade_count_is_still_zero_on_empty_spine_bars() -> None:
    # docs/features.md's own example prefixes the notebook features ("nb_"); the count keeps its meaning.
    ev = clock_bucketed().filter(pl.col("bar_index") != 5)
    spine = clock_bucketed().select(KEYS_AND_BAR).unique().sort("bar_index")
    specs = [
        {"agg": "trade_count", "output_name": "n_trades"},
        {"agg": "microstructure", "output_prefix": "nb_"},
    ]
    empty = (
        aggregate(ev, AggregateConfig(specs, spine=spine)).filter(pl.col("bar_index") == 5).row(0, named=True)
    )
    assert empty["n_trades"] == 0 and empty["nb_trade_count"] == 0
    assert empty["nb_vol_imbalance"] is None


def test_lazy_and_eager_input_agree() -> None:
    ev = clock_bucketed()
    cfg = AggregateConfig([{"agg": "ohlcv"}, {"agg": "microstructure", "output_prefix": "nb_"}])
    assert aggregate(ev.lazy(), cfg).equals(aggregate(ev, cfg))


def test_event_order_inside_bar_is_total_order_not_input_order() -> None:
    ev = clock_bucketed()
    cfg = AggregateConfig([{"agg": "ohlcv"}, {"agg": "microstructure", "output_prefix": "nb_"}])
    assert aggregate(ev.sample(fraction=1.0, shuffle=True, seed=3), cfg).equals(aggregate(ev, cfg))


def test_unassigned_events_are_ignored() -> None:
    ev = clock_bucketed()
    extra = ev.head(5).with_columns(pl.lit(None, dtype=pl.Int64).alias("bar_index"))
    cfg = AggregateConfig([{"agg": "trade_count"}])
    assert aggregate(pl.concat([ev, extra]), cfg).equals(aggregate(ev, cfg))


def test_output_name_and_prefix_rename_columns() -> None:
    ev = clock_bucketed()
    out = aggregate(
        ev,
        AggregateConfig(
            [{"agg": "trade_vwap", "output_name": "bar_vwap"}, {"agg": "ohlcv", "output_prefix": "t_"}]
        ),
    )
    assert out.columns[-6:] == ["bar_vwap", "t_open", "t_high", "t_low", "t_close", "t_volume"]


def test_clashing_outputs_are_an_error_suggesting_prefix() -> None:
    with pytest.raises(PointlineError, match="output_prefix"):
        aggregate(clock_bucketed(), AggregateConfig([{"agg": "ohlcv"}, {"agg": "microstructure"}]))


def test_unknown_spec_key_is_an_error() -> None:
    with pytest.raises(PointlineError, match="unknown key"):
        aggregate(clock_bucketed(), AggregateConfig([{"agg": "ohlcv", "window": 5}]))


def test_bad_mode_is_an_error() -> None:
    with pytest.raises(PointlineError, match="unknown mode"):
        aggregate(clock_bucketed(), AggregateConfig([{"agg": "ohlcv"}], mode="bars"))


def test_bucketed_frame_without_keys_is_an_error() -> None:
    with pytest.raises(PointlineError, match="assign_to_buckets"):
        aggregate(pl.DataFrame({"px": [1.0]}), AggregateConfig([{"agg": "ohlcv"}]))


def test_microstructure_config_sets_quote_quantity_convention() -> None:
    ev = clock_bucketed()
    lin = aggregate(ev, AggregateConfig([{"agg": "quote_volume"}]))
    big = aggregate(ev, AggregateConfig([{"agg": "quote_volume", "config": {"contract_size": 10.0}}]))
    np.testing.assert_allclose(
        big["quote_volume"].to_numpy(), 10 * lin["quote_volume"].to_numpy(), rtol=1e-12
    )
