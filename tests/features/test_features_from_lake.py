"""notebook_features_from_lake: day chunks in parallel give the frame of one pass over the range."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from pointline.errors import PointlineError, SymbolNotFoundError
from pointline.ingest import ingest
from pointline.research import query
from pointline.research.features import notebook_features
from pointline.research.features.from_lake import chunk_edges, notebook_features_from_lake
from pointline.research.features.notebook import on_bucket_grid
from pointline.research.timeline import to_us
from pointline.synth import SynthConfig, generate_market

DAY_US = 86_400_000_000
MINUTE_US = 60_000_000
MARKET = SynthConfig(
    start=dt.date(2024, 3, 1),
    days=3,
    exchanges=("binance-futures", "bybit"),
    symbols=("BTCUSDT",),
    seed=11,
    trades_per_day=4_000,
    data_types=("trades",),
)


@pytest.fixture(scope="module")
def market_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both exchanges for three days, except bybit's middle day (a day without trades)."""
    root = tmp_path_factory.mktemp("from_lake")
    files = generate_market(root / "vendor", MARKET)
    kept = [f for f in files if not ("bybit" in f.name and "2024-03-02" in f.name)]
    assert len(kept) == len(files) - 1
    report = ingest(kept, lake=root / "lake")
    assert {f.status for f in report.files} == {"ingested"}
    return root / "lake"


def _one_pass(
    lake: Path, exchange: str, start: str, end: str, interval_us: int, **kw: object
) -> pl.DataFrame:
    trades = query.trades(exchange, "BTCUSDT", start, end, decoded=True, lake=lake)
    return notebook_features(trades, interval_us=interval_us, **kw)


@pytest.mark.parametrize("notebook_compatible", [False, True])
@pytest.mark.parametrize(
    ("start", "end", "interval_us"),
    [
        ("2024-03-01", "2024-03-04", 5 * MINUTE_US),
        # 7-minute buckets straddle midnight; the range starts and ends inside buckets.
        ("2024-03-01T03:02:30", "2024-03-03T17:41:00", 7 * MINUTE_US),
    ],
)
def test_day_chunks_equal_one_pass_over_the_range(
    market_lake: Path, start: str, end: str, interval_us: int, notebook_compatible: bool
) -> None:
    frames = notebook_features_from_lake(
        ["binance-futures", "bybit"],
        "btcusdt",
        start,
        end,
        interval_us=interval_us,
        notebook_compatible=notebook_compatible,
        max_workers=2,
        lake=market_lake,
    )
    assert list(frames) == ["binance-futures", "bybit"]
    for exchange, frame in frames.items():
        expected = _one_pass(
            market_lake, exchange, start, end, interval_us, notebook_compatible=notebook_compatible
        )
        assert frame.height > 100
        assert_frame_equal(frame, expected)


def test_a_day_without_trades_is_null_buckets_on_the_grid(market_lake: Path) -> None:
    frame = notebook_features_from_lake(
        "bybit", "BTCUSDT", "2024-03-01", "2024-03-04", max_workers=1, lake=market_lake
    )["bybit"]
    gap = frame.filter(pl.col("bucket_start").is_between(to_us("2024-03-02"), to_us("2024-03-03") - 1))
    assert gap.height == 288
    assert gap["trade_count"].unique().to_list() == [0]
    assert gap["vol_imbalance"].null_count() == 288
    assert frame["bucket_start"].diff().drop_nulls().unique().to_list() == [5 * MINUTE_US]


def test_contract_convention_comes_from_dim_symbol(tmp_path: Path) -> None:
    market = SynthConfig(
        start=dt.date(2024, 3, 1),
        days=1,
        exchanges=("bybit",),
        symbols=("BTCUSDT",),
        seed=5,
        trades_per_day=2_000,
        data_types=("trades",),
    )
    meta = tmp_path / "symbols.csv"
    meta.write_text(
        "exchange,symbol,tick_size,lot_size,contract_size,is_inverse,asset_type\n"
        "bybit,BTCUSDT,0.1,1,100,true,perpetual\n"
    )
    lake = tmp_path / "lake"
    ingest(generate_market(tmp_path / "vendor", market), lake=lake, symbols_file=meta)
    got = notebook_features_from_lake("bybit", "BTCUSDT", "2024-03-01", "2024-03-02", lake=lake)["bybit"]
    inverse = _one_pass(
        lake,
        "bybit",
        "2024-03-01",
        "2024-03-02",
        5 * MINUTE_US,
        notebook_compatible=False,
        contract_size=100.0,
        is_inverse=True,
    )
    assert_frame_equal(got, inverse)
    # Inverse: quote volume is the USD face value of the contracts, independent of the price.
    assert got["quote_volume"].drop_nulls().len() > 100
    assert_series_equal(got["quote_volume"], got["volume"] * 100, check_names=False)
    linear = notebook_features_from_lake(
        "bybit", "BTCUSDT", "2024-03-01", "2024-03-02", contract_size=1.0, is_inverse=False, lake=lake
    )["bybit"]
    assert_frame_equal(
        linear, _one_pass(lake, "bybit", "2024-03-01", "2024-03-02", 5 * MINUTE_US, notebook_compatible=False)
    )


def test_unknown_symbol_and_empty_range_are_clear_errors(market_lake: Path) -> None:
    with pytest.raises(SymbolNotFoundError, match="BTCUSDT"):
        notebook_features_from_lake("bybit", "BTCUSD", "2024-03-01", "2024-03-02", lake=market_lake)
    with pytest.raises(PointlineError, match="empty time range"):
        notebook_features_from_lake("bybit", "BTCUSDT", "2024-03-02", "2024-03-02", lake=market_lake)


def test_a_range_without_trades_gives_an_empty_frame(market_lake: Path) -> None:
    frame = notebook_features_from_lake("bybit", "BTCUSDT", "2024-03-02", "2024-03-03", lake=market_lake)[
        "bybit"
    ]
    assert frame.height == 0
    assert (
        frame.columns
        == _one_pass(
            market_lake, "bybit", "2024-03-01", "2024-03-02", 5 * MINUTE_US, notebook_compatible=False
        ).columns
    )


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(-3 * DAY_US, 3 * DAY_US),
    span=st.integers(1, 5 * DAY_US),
    interval_us=st.sampled_from([1, 7 * MINUTE_US, 5 * MINUTE_US, 3_600_000_000, 5 * DAY_US]),
)
def test_chunk_edges_cut_only_on_bucket_boundaries(start: int, span: int, interval_us: int) -> None:
    edges = chunk_edges(start, start + span, interval_us)
    assert edges[0] == start and edges[-1] == start + span
    assert all(a < b for a, b in itertools.pairwise(edges))
    for edge in edges[1:-1]:
        assert edge % interval_us == 0
        assert edge // DAY_US * DAY_US + DAY_US - edge <= interval_us or edge % DAY_US == 0


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 90_000_000), min_size=1, max_size=300),
    cuts=st.lists(st.integers(0, 200), max_size=4),
    seed=st.integers(0, 2**16),
)
def test_pieces_on_the_grid_equal_one_pass(gaps: list[int], cuts: list[int], seed: int) -> None:
    # Any cut of the trades at bucket boundaries, computed piece by piece and put on one grid,
    # is the one-pass frame: the invariant the day chunks rely on.
    interval = 5 * MINUTE_US
    rng = np.random.default_rng(seed)
    ts = np.cumsum(gaps)
    trades = pl.DataFrame(
        {
            "ts_local_us": ts,
            "px": 100 + rng.normal(0, 1, len(ts)).round(2),
            "qty": rng.integers(1, 100, len(ts)) / 10,
            "side": rng.integers(0, 3, len(ts)),
        }
    )
    bounds = sorted({c * interval for c in cuts})
    pieces = [
        trades.filter((pl.col("ts_local_us") >= lo) & (pl.col("ts_local_us") < hi))
        for lo, hi in zip([0, *bounds], [*bounds, int(ts[-1]) + 1], strict=True)
    ]
    frames = [notebook_features(p, interval, notebook_compatible=False) for p in pieces if p.height]
    assert_frame_equal(
        on_bucket_grid(pl.concat(frames), interval),
        notebook_features(trades, interval, notebook_compatible=False),
    )


def test_worker_processes_give_the_same_frames_as_threads(market_lake: Path) -> None:
    kw = {"interval_us": 5 * MINUTE_US, "max_workers": 2, "lake": market_lake}
    threads = notebook_features_from_lake(
        ["binance-futures", "bybit"], "BTCUSDT", "2024-03-01", "2024-03-04", **kw
    )
    local = notebook_features_from_lake(
        ["binance-futures", "bybit"], "BTCUSDT", "2024-03-01", "2024-03-04", executor="local", **kw
    )
    for exchange in threads:
        assert_frame_equal(local[exchange], threads[exchange])
