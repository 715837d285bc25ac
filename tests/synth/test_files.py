"""The generated files look like Tardis.dev downloads and are internally consistent."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from pointline.synth.config import instrument_for

TYPES = ("trades", "quotes", "book_snapshot_25")


def read(path: Path) -> pd.DataFrame:
    """Read a generated file keeping prices and amounts as text (exactness checks)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _files(paths: list[Path], data_type: str) -> list[Path]:
    return [p for p in paths if f"_{data_type}_" in p.name]


def test_one_file_per_exchange_type_day_symbol_with_tardis_names(small_market):
    config, out, paths = small_market
    expected = sorted(
        out / f"{ex}_{dt_}_{day.isoformat()}_{sym}.csv.gz"
        for ex in config.exchanges
        for dt_ in TYPES
        for day in config.dates
        for sym in config.symbols
    )
    assert paths == expected
    assert all(p.is_file() for p in paths)


def test_headers_are_exactly_tardis_headers(small_market, tardis_dir):
    _, _, paths = small_market
    real = {
        "trades": (tardis_dir / "trades.csv").read_text().splitlines()[0],
        "quotes": (tardis_dir / "quotes.csv").read_text().splitlines()[0],
        "book_snapshot_25": (tardis_dir / "binance-futures_book_snapshot_25_BTCUSDT.csv")
        .read_text()
        .splitlines()[0],
    }
    for data_type, header in real.items():
        for path in _files(paths, data_type):
            with gzip.open(path, "rt") as fh:
                assert fh.readline().rstrip("\n") == header, path.name


def test_local_timestamp_not_before_exchange_and_rows_sorted_by_it(small_market):
    _, _, paths = small_market
    for path in paths:
        frame = pd.read_csv(path, usecols=["timestamp", "local_timestamp"])
        assert (frame.local_timestamp >= frame.timestamp).all(), path.name
        assert frame.local_timestamp.is_monotonic_increasing, path.name
        day_start = pd.Timestamp(path.name.split("_")[-2], tz="UTC").value // 1000
        assert frame.timestamp.between(day_start, day_start + 86_400_000_000 - 1).all()


def test_trade_ids_increase_per_exchange_symbol_across_days(small_market):
    config, _, paths = small_market
    for ex in config.exchanges:
        for sym in config.symbols:
            ids = np.concatenate(
                [
                    pd.read_csv(p, usecols=["id"]).id.to_numpy()
                    for p in _files(paths, "trades")
                    if p.name.startswith(f"{ex}_") and p.name.endswith(f"_{sym}.csv.gz")
                ]
            )
            assert (np.diff(ids) > 0).all()


def test_prices_and_amounts_are_exact_decimals_on_tick_and_lot_grid(small_market):
    _, _, paths = small_market
    for path in paths:
        inst = instrument_for(path.name.split("_")[-1].removesuffix(".csv.gz"))
        tick, lot = (
            Decimal(inst.tick_int).scaleb(-inst.price_exp),
            Decimal(inst.lot_int).scaleb(-inst.qty_exp),
        )
        frame = read(path)
        price_cols = [c for c in frame.columns if c.endswith("price")]
        amount_cols = [c for c in frame.columns if c.endswith("amount")]
        for cols, grid in ((price_cols, tick), (amount_cols, lot)):
            values = pd.unique(frame[cols].to_numpy().ravel())
            for text in values:
                assert "e" not in text.lower() and text == text.strip(), text
                value = Decimal(text)
                assert value > 0 and value % grid == 0, (path.name, text)
                assert not ("." in text and text.endswith("0")), text


def test_sides_are_buy_or_sell(small_market):
    _, _, paths = small_market
    for path in _files(paths, "trades"):
        assert set(read(path).side) <= {"buy", "sell"}


def test_quotes_are_never_crossed(small_market):
    _, _, paths = small_market
    for path in _files(paths, "quotes"):
        q = pd.read_csv(path)
        assert (q.ask_price > q.bid_price).all(), path.name
        assert ((q.ask_amount > 0) & (q.bid_amount > 0)).all()


def test_buys_hit_the_ask_and_sells_the_bid_in_force(small_market):
    _, _, paths = small_market
    for path in _files(paths, "trades"):
        trades = pd.read_csv(path)
        quotes = pd.read_csv(Path(str(path).replace("_trades_", "_quotes_")))
        merged = pd.merge_asof(trades, quotes, on="local_timestamp", allow_exact_matches=False)
        assert merged.ask_price.notna().all()
        buys = merged.side == "buy"
        assert np.allclose(merged.price[buys], merged.ask_price[buys], rtol=0, atol=1e-9)
        assert np.allclose(merged.price[~buys], merged.bid_price[~buys], rtol=0, atol=1e-9)


def test_book_levels_are_strictly_ordered_positive_and_top_matches_quote(small_market):
    _, _, paths = small_market
    for path in _files(paths, "book_snapshot_25"):
        book = pd.read_csv(path)
        asks = book[[f"asks[{i}].price" for i in range(25)]].to_numpy()
        bids = book[[f"bids[{i}].price" for i in range(25)]].to_numpy()
        sizes = book[[c for c in book.columns if c.endswith("amount")]].to_numpy()
        assert (np.diff(asks, axis=1) > 0).all() and (np.diff(bids, axis=1) < 0).all()
        assert (asks[:, 0] > bids[:, 0]).all() and (sizes > 0).all()
        quotes = pd.read_csv(Path(str(path).replace("_book_snapshot_25_", "_quotes_")))
        merged = pd.merge_asof(book, quotes, on="local_timestamp")
        assert np.allclose(merged["asks[0].price"], merged.ask_price, rtol=0, atol=1e-9)
        assert np.allclose(merged["bids[0].amount"], merged.bid_amount, rtol=0, atol=1e-9)


def test_quotes_are_not_more_numerous_than_trades_by_much(small_market):
    _, _, paths = small_market
    for path in _files(paths, "trades"):
        n_trades = len(pd.read_csv(path, usecols=["id"]))
        n_quotes = len(pd.read_csv(Path(str(path).replace("_trades_", "_quotes_")), usecols=["timestamp"]))
        assert 0.3 * n_trades <= n_quotes <= 1.2 * n_trades
