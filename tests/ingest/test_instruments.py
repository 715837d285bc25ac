"""Instrument metadata inferred from names: venues' contract conventions, pinned per venue."""

from __future__ import annotations

from pathlib import Path

import pytest

from pointline.ingest import ingest
from pointline.ingest.instruments import contract_size_note, infer_names, propose


@pytest.mark.parametrize(
    ("exchange", "symbol", "expected"),
    [
        # Linear: sizes in base units.
        ("binance-futures", "BTCUSDT", ("BTC", "USDT", "perpetual", False, 1.0)),
        ("binance", "ETHUSDT", ("ETH", "USDT", "spot", False, 1.0)),
        ("binance-futures", "BTCUSDT_240628", ("BTC", "USDT", "future", False, 1.0)),
        # Inverse, sizes already in USD.
        ("bitmex", "XBTUSD", ("BTC", "USD", "perpetual", True, 1.0)),
        ("bybit", "BTCUSD", ("BTC", "USD", "perpetual", True, 1.0)),
        ("deribit", "BTC-PERPETUAL", ("BTC", "USD", "perpetual", True, 1.0)),
        # Inverse, sizes counting contracts: 100 USD for BTC, 10 USD for other coins.
        ("huobi-dm-swap", "BTC-USD", ("BTC", "USD", "perpetual", True, 100.0)),
        ("huobi-dm-swap", "ETH-USD", ("ETH", "USD", "perpetual", True, 10.0)),
        ("okex-swap", "BTC-USD-SWAP", ("BTC", "USD", "perpetual", True, 100.0)),
        ("okex-futures", "ETH-USD-240628", ("ETH", "USD", "future", True, 10.0)),
        ("binance-delivery", "BTCUSD_PERP", ("BTC", "USD", "perpetual", True, 100.0)),
        ("binance-delivery", "SOLUSD_240628", ("SOL", "USD", "future", True, 10.0)),
    ],
)
def test_inferred_names_follow_each_venue_s_conventions(
    exchange: str, symbol: str, expected: tuple[str, str, str, bool, float]
) -> None:
    names = infer_names(exchange, symbol)
    got = tuple(names[k] for k in ("base_asset", "quote_asset", "asset_type", "is_inverse", "contract_size"))
    assert got == expected


@pytest.mark.parametrize(
    ("exchange", "symbol", "warned"),
    [
        ("okex-swap", "BTC-USDT-SWAP", True),  # 0.01 BTC a contract: not inferable
        ("huobi-dm-linear-swap", "ETH-USDT", True),
        ("gate-io-futures", "BTC_USDT", True),
        ("okex-swap", "BTC-USD-SWAP", False),  # inverse: the venue's face value is known
        ("okex-swap", "BTCUSDT", False),  # not the venue's symbology (e.g. a synthetic market)
        ("binance-futures", "BTCUSDT", False),  # sizes in base units
        ("okex", "BTC-USDT", False),  # spot
    ],
)
def test_linear_contracts_of_unknown_size_are_flagged(exchange: str, symbol: str, warned: bool) -> None:
    info = propose(exchange, symbol, (1, 5), (0, 3), 0)
    assert (contract_size_note(info) is not None) is warned
    with_file = propose(
        exchange, symbol, (1, 5), (0, 3), 0, {(exchange, symbol.lower()): {"contract_size": 0.01}}
    )
    assert contract_size_note(with_file) is None


def test_the_ingest_report_names_a_contract_of_unknown_size(tmp_path: Path) -> None:
    path = tmp_path / "okex-swap_trades_2024-05-01_BTC-USDT-SWAP.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "okex-swap,BTC-USDT-SWAP,1714521600000000,1714521600000100,1,buy,60000.1,3\n"
    )
    first = ingest([path], lake=tmp_path / "lake").files[0]
    assert first.status == "ingested"
    assert "BTC-USDT-SWAP: contract size unknown" in (first.reason or "")
