"""Instrument metadata inferred from names: venues' contract conventions, pinned per venue."""

from __future__ import annotations

import pytest

from pointline.ingest.instruments import infer_names


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
