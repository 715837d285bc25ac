"""Instrument metadata at ingest: a user's symbols file, or inference from names and observed decimals.

Inference (``metadata_source = "inferred"``) follows exchange conventions:

- base / quote from the symbol: ``BTCUSDT`` → BTC/USDT, ``BTC-USD`` → BTC/USD, ``XBTUSD`` → BTC/USD
  (``XBT`` is BitMEX's name for BTC), ``BTC-PERPETUAL`` → BTC/USD, ``BTCUSDT_240628`` → BTC/USDT;
- asset type: a date suffix (``_240628``, ``-28JUN24``) means ``future``; ``-C``/``-P`` strike suffixes
  mean ``option``; on derivative venues (``binance-futures``, ``bybit``, ``okex-swap``, ``bitmex``,
  ``deribit``, ``huobi-dm-swap``, ...) anything else is ``perpetual``; spot venues give ``spot``;
- derivatives quoted in USD (not a stablecoin) are inverse. Their ``contract_size`` is the USD face
  value of one unit of size: where the venue's sizes count contracts of its standard face value
  (:data:`INVERSE_CONTRACT_USD`: Binance COIN-M, Huobi and OKX coin-margined futures and swaps),
  100 USD for BTC and 10 USD for every other coin, as those venues specify; elsewhere (BitMEX,
  Bybit, Deribit, Kraken) sizes are in USD already, so 1. Spot and linear contracts get 1 base unit.
  Linear contracts on venues whose sizes count contracts of a per-instrument size (OKX
  ``BTC-USDT-SWAP`` is 0.01 BTC, Huobi linear swaps, Gate.io and KuCoin futures) cannot be inferred:
  pass a symbols file with their ``contract_size``.
- tick / lot size: ``10^-d`` for the most decimals observed in the first file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.lake import encoding
from pointline.lake.dim_symbol import ASSET_TYPES, SymbolInfo, symbol_id_for

Metadata = Mapping[tuple[str, str], Mapping[str, Any]]

DERIVATIVE_VENUES = frozenset(
    {
        "binance-futures",
        "binance-delivery",
        "bybit",
        "okex-swap",
        "okex-futures",
        "bitmex",
        "deribit",
        "huobi-dm",
        "huobi-dm-swap",
        "huobi-dm-linear-swap",
        "ftx",
        "dydx",
        "bitfinex-derivatives",
        "gate-io-futures",
        "kucoin-futures",
        "cryptofacilities",
    }
)
#: USD face value of one inverse contract, ``(BTC, any other coin)``, on venues whose sizes count
#: contracts (their published contract specifications; stable for years).
INVERSE_CONTRACT_USD: dict[str, tuple[float, float]] = {
    "binance-delivery": (100.0, 10.0),
    "huobi-dm": (100.0, 10.0),
    "huobi-dm-swap": (100.0, 10.0),
    "okex-futures": (100.0, 10.0),
    "okex-swap": (100.0, 10.0),
}
#: Venues whose linear contract sizes count contracts of a per-instrument size (OKX ``BTC-USDT-SWAP``
#: is 0.01 BTC a contract): inference cannot know it (see :func:`contract_size_note`).
CONTRACT_COUNT_VENUES = frozenset(
    {"okex-swap", "okex-futures", "huobi-dm-linear-swap", "gate-io-futures", "kucoin-futures"}
)
_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB", "DAI")
_ALIASES = {"XBT": "BTC"}
_DATE = re.compile(r"[-_](\d{6}|\d{1,2}[A-Z]{3}\d{2})$")
_OPTION = re.compile(r"-\d+(\.\d+)?-[CP]$")

SYMBOL_FILE_COLUMNS = (
    "exchange",
    "symbol",
    "tick_size",
    "lot_size",
    "contract_size",
    "is_inverse",
    "asset_type",
    "base_asset",
    "quote_asset",
)


def infer_names(exchange: str, symbol: str) -> dict[str, Any]:
    """Base, quote, asset type, inverse flag and contract size implied by the names.

    Example
    -------
    >>> infer_names("bitmex", "XBTUSD")["base_asset"], infer_names("bitmex", "XBTUSD")["is_inverse"]
    ('BTC', True)
    >>> infer_names("okex-swap", "ETH-USD-SWAP")["contract_size"]  # 10 USD a contract
    10.0
    """
    sym = symbol.upper()
    venue = exchange.lower()
    derivative = venue in DERIVATIVE_VENUES or "futures" in venue or "swap" in venue
    if _OPTION.search(sym):
        asset_type = "option"
    elif _DATE.search(sym):
        asset_type = "future"
    elif derivative or sym.endswith(("-PERPETUAL", "-SWAP", "_PERP", "-PERP")):
        asset_type = "perpetual"
    else:
        asset_type = "spot"
    core = _OPTION.sub("", sym)
    core = _DATE.sub("", core)
    core = re.sub(r"[-_](PERPETUAL|SWAP|PERP)$", "", core)
    base, quote = _split_pair(core)
    if sym.endswith("-PERPETUAL") or (
        quote is None and asset_type in ("future", "option") and venue == "deribit"
    ):
        quote = quote or "USD"
    is_inverse = asset_type != "spot" and quote == "USD"
    contract_size = 1.0
    if is_inverse and venue in INVERSE_CONTRACT_USD:
        btc, other = INVERSE_CONTRACT_USD[venue]
        contract_size = btc if base == "BTC" else other
    return {
        "base_asset": base,
        "quote_asset": quote,
        "asset_type": asset_type,
        "is_inverse": is_inverse,
        "contract_size": contract_size,
    }


def contract_size_note(info: SymbolInfo) -> str | None:
    """A warning for an inferred linear contract on a venue of :data:`CONTRACT_COUNT_VENUES` written
    in the venue's own symbology (``BTC-USDT-SWAP``, ``BTC_USDT``): its sizes count contracts of a
    size inference cannot know, so quote volumes and dollar bars need a symbols file. ``None``
    otherwise.

    Example
    -------
    >>> info = propose("okex-swap", "BTC-USDT-SWAP", (1, 5), (0, 3), 0)
    >>> contract_size_note(info) is not None, contract_size_note(propose("okex-swap", "BTCUSDT", (1, 5), (0, 3), 0))
    (True, None)
    """
    if info.metadata_source != "inferred" or info.is_inverse or info.asset_type == "spot":
        return None
    if info.exchange.lower() not in CONTRACT_COUNT_VENUES or not re.search(r"[-_]", info.symbol):
        return None
    return (
        f"{info.exchange} {info.symbol}: contract size unknown ({info.exchange} sizes count contracts of "
        "a per-instrument size); assumed 1 base unit: pass --symbols with its contract_size"
    )


def _split_pair(core: str) -> tuple[str | None, str | None]:
    parts = [p for p in re.split(r"[-_/]", core) if p]
    if len(parts) >= 2:
        return _ALIASES.get(parts[0], parts[0]), _ALIASES.get(parts[1], parts[1])
    # Longest quote first, but never leave a base shorter than 3 letters: XBTUSD is XBT/USD, not XB/TUSD.
    for quote in sorted(_QUOTES, key=len, reverse=True):
        if core.endswith(quote) and len(core) - len(quote) >= 3:
            base = core[: -len(quote)]
            return _ALIASES.get(base, base), quote
    if len(parts) == 1:
        return _ALIASES.get(parts[0], parts[0]), None
    return None, None


def propose(
    exchange: str,
    symbol: str,
    px_profile: tuple[int, int],
    qty_profile: tuple[int, int],
    first_ts_us: int,
    metadata: Metadata | None = None,
) -> SymbolInfo:
    """A ``dim_symbol`` candidate for an instrument from its first file.

    Parameters
    ----------
    px_profile, qty_profile
        ``(significant decimals, integer digits)`` of the instrument's prices / sizes in the file
        (:func:`pointline.lake.encoding.staged_profile`); they choose the exponents.
    first_ts_us
        Earliest ``ts_local_us`` (µs) of the instrument in the file: start of validity.
    metadata
        Parsed symbols file (:func:`load_symbols_file`); its row for the instrument wins over inference.
    """
    names = infer_names(exchange, symbol)
    meta = dict((metadata or {}).get((exchange.lower(), symbol.lower()), {}))
    (px_dec, px_digits), (qty_dec, qty_digits) = px_profile, qty_profile
    tick = _float(meta.get("tick_size"))
    lot = _float(meta.get("lot_size"))
    price_exp = encoding.choose_exponent(px_dec, px_digits, encoding.decimals_of_step(tick))
    qty_exp = encoding.choose_exponent(qty_dec, qty_digits, encoding.decimals_of_step(lot))
    contract = _float(meta.get("contract_size"))
    inverse = meta.get("is_inverse")
    return SymbolInfo(
        symbol_id=symbol_id_for(exchange, symbol),
        exchange=exchange,
        symbol=symbol,
        base_asset=meta.get("base_asset") or names["base_asset"],
        quote_asset=meta.get("quote_asset") or names["quote_asset"],
        asset_type=meta.get("asset_type") or names["asset_type"],
        tick_size=tick if tick is not None else 10.0**-px_dec,
        lot_size=lot if lot is not None else 10.0**-qty_dec,
        contract_size=contract if contract is not None else names["contract_size"],
        is_inverse=_bool(inverse) if inverse is not None else names["is_inverse"],
        price_exp=price_exp,
        qty_exp=qty_exp,
        metadata_source="file" if meta else "inferred",
        valid_from_us=first_ts_us,
    )


def load_symbols_file(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Read a symbols file (CSV or JSON list of objects) keyed by lower-cased ``(exchange, symbol)``.

    Columns: ``exchange``, ``symbol`` (required) and any of ``tick_size``, ``lot_size``,
    ``contract_size``, ``is_inverse``, ``asset_type``, ``base_asset``, ``quote_asset``.

    Example
    -------
    >>> load_symbols_file("symbols.csv")[("binance-futures", "btcusdt")]["tick_size"]  # doctest: +SKIP
    0.1
    """
    path = Path(path)
    if not path.is_file():
        raise PointlineError(f"symbols file {path} does not exist; expected a CSV or JSON file")
    try:
        if path.suffix.lower() == ".json":
            records = json.loads(path.read_text())
            if isinstance(records, dict):
                records = records.get("symbols", [records])
        else:
            records = pl.read_csv(path, infer_schema=False).to_dicts()
    except (ValueError, pl.exceptions.PolarsError) as exc:
        raise PointlineError(f"cannot read symbols file {path}: {exc}") from None
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict) or not rec.get("exchange") or not rec.get("symbol"):
            raise PointlineError(f"symbols file {path}, record {i}: 'exchange' and 'symbol' are required")
        unknown = set(rec) - set(SYMBOL_FILE_COLUMNS)
        if unknown:
            raise PointlineError(
                f"symbols file {path}: unknown column(s) {sorted(unknown)}; expected {', '.join(SYMBOL_FILE_COLUMNS)}"
            )
        kind = rec.get("asset_type")
        if kind not in (None, "") and kind not in ASSET_TYPES:
            raise PointlineError(f"symbols file {path}, record {i}: asset_type must be one of {ASSET_TYPES}")
        for size in ("tick_size", "lot_size", "contract_size"):
            value = rec.get(size)
            if value in (None, ""):
                continue
            number = _float(value)
            assert number is not None  # empty values were skipped
            if not math.isfinite(number) or number <= 0:
                raise PointlineError(
                    f"symbols file {path}, record {i} ({rec['exchange']} {rec['symbol']}): "
                    f"{size} must be a positive number, got {value!r}"
                )
        clean = {k: v for k, v in rec.items() if v not in (None, "") and k not in ("exchange", "symbol")}
        out[(str(rec["exchange"]).lower(), str(rec["symbol"]).lower())] = clean
    return out


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PointlineError(f"metadata value {value!r} is not a number") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise PointlineError(f"is_inverse must be true or false, got {value!r}")
