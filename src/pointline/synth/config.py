"""Configuration of the synthetic market: the user-facing :class:`SynthConfig`, instrument specs,
and the stable seed derivation every random stream uses.

Every random number of the generator comes from a ``numpy.random.Generator`` seeded by
:func:`derive_seed` from ``(seed, purpose, exchange?, symbol, day)`` through BLAKE2b, never from
Python's salted ``hash()``, so the same configuration writes byte-identical files on any machine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np

from pointline.errors import ValidationError

#: Days are numbered from this UTC date; trade ids and day seeds use the number.
EPOCH_DATE = dt.date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
#: Trade ids of one exchange-symbol-day start at ``day_number * TRADE_ID_STRIDE``.
TRADE_ID_STRIDE = 10_000_000
MAX_TRADES_PER_DAY = 2_000_000
#: Tardis data types the generator can write, in file-name order.
DATA_TYPES = ("trades", "quotes", "book_snapshot_25")


@dataclass(frozen=True)
class Instrument:
    """Static description of one synthetic instrument (the same on every exchange).

    Parameters
    ----------
    price_exp, qty_exp:
        Decimal exponents: price = ``px_int / 10**price_exp``, size = ``qty_int / 10**qty_exp``.
    tick_int, lot_int:
        Tick and lot size in those integer units (``1`` = one unit of the last decimal).
    start_price:
        Reference level of the efficient price (quote currency per base unit).
    daily_vol:
        Standard deviation of one day's log return of the efficient price.
    median_lots:
        Median trade size of the log-normal body, in lots.
    """

    price_exp: int
    qty_exp: int
    tick_int: int
    lot_int: int
    start_price: float
    daily_vol: float
    median_lots: float

    @property
    def tick(self) -> float:
        return self.tick_int / 10**self.price_exp

    @property
    def lot(self) -> float:
        return self.lot_int / 10**self.qty_exp


#: Known instruments; other symbols fall back to :data:`GENERIC_INSTRUMENT`.
INSTRUMENTS: dict[str, Instrument] = {
    "BTCUSDT": Instrument(1, 3, 1, 1, 60_000.0, 0.030, 8.0),
    "ETHUSDT": Instrument(2, 3, 1, 1, 3_000.0, 0.040, 150.0),
    "SOLUSDT": Instrument(3, 2, 10, 1, 150.0, 0.055, 200.0),
}
GENERIC_INSTRUMENT = Instrument(2, 3, 1, 1, 100.0, 0.045, 500.0)


def instrument_for(symbol: str) -> Instrument:
    """The instrument spec of ``symbol`` (case-insensitive), or the generic one."""
    return INSTRUMENTS.get(symbol.upper(), GENERIC_INSTRUMENT)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate and how (all fields have defaults).

    Parameters
    ----------
    start:
        First UTC date generated.
    days:
        Number of consecutive days.
    exchanges:
        Tardis exchange ids; the first one leads the others by ``lead_lag_ms``.
    symbols:
        Exchange-native symbols; one efficient price per symbol shared by all exchanges.
    seed:
        Master seed; together with exchange, symbol and date it fixes every random draw.
    trades_per_day:
        Expected number of trades per exchange per symbol per day.
    contrarian_strength:
        Size of the planted transient impact, in units of the local 5-minute volatility per unit of
        the latent flow factor (``0`` switches the effect off exactly). See ``docs/synthetic-market.md``.
    book_interval_s:
        Seconds between ``book_snapshot_25`` rows (exchange clock, aligned to midnight UTC).
    quotes_per_trade:
        Expected top-of-book updates per trade (quote rows ≈ this × trade rows).
    lead_lag_ms:
        Delay in ms with which the non-leading exchanges observe the efficient price.
    impact_half_life_min:
        Half-life (minutes) of the transient impact's mean reversion.
    permanent_impact:
        Permanent price impact per unit of flow factor, in units of the 5-minute volatility.
    data_types:
        Which files to write, a subset of :data:`DATA_TYPES`. The simulated market is the same
        whatever is written (a trades-only run writes the very trade files of a full run).
    """

    start: dt.date = dt.date(2024, 1, 1)
    days: int = 1
    exchanges: tuple[str, ...] = ("binance-futures", "bybit", "okex-swap")
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    seed: int = 7
    trades_per_day: int = 50_000
    contrarian_strength: float = 0.6
    book_interval_s: float = 10.0
    quotes_per_trade: float = 0.8
    lead_lag_ms: float = 300.0
    impact_half_life_min: float = 30.0
    permanent_impact: float = 0.25
    data_types: tuple[str, ...] = DATA_TYPES
    # Internal knobs with documented defaults; rarely changed.
    flow_loading: float = 0.6
    venue_flow_loading: float = 0.3
    hawkes_branching: float = 0.7
    seasonality_contrast: float = 20.0
    venue_noise_bps: float = 0.5

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if not isinstance(self.start, dt.date) or isinstance(self.start, dt.datetime):
            problems.append(("start", f"expected a datetime.date, got {self.start!r}"))
        if not isinstance(self.days, int) or self.days < 1:
            problems.append(("days", f"expected an integer >= 1, got {self.days!r}"))
        if not self.exchanges or len(set(self.exchanges)) != len(self.exchanges):
            problems.append(("exchanges", f"expected distinct exchange names, got {self.exchanges!r}"))
        if not self.symbols or len(set(self.symbols)) != len(self.symbols):
            problems.append(("symbols", f"expected distinct symbols, got {self.symbols!r}"))
        for name in (*self.exchanges, *self.symbols):
            if not name or "_" in name or "/" in name or name != name.strip():
                problems.append(("exchanges/symbols", f"{name!r} cannot appear in a Tardis file name"))
        if not 1 <= self.trades_per_day <= MAX_TRADES_PER_DAY:
            problems.append(
                ("trades_per_day", f"expected 1..{MAX_TRADES_PER_DAY}, got {self.trades_per_day!r}")
            )
        if not self.contrarian_strength >= 0:
            problems.append(("contrarian_strength", f"expected >= 0, got {self.contrarian_strength!r}"))
        if not 0.1 <= self.book_interval_s <= 86_400:
            problems.append(("book_interval_s", f"expected 0.1..86400 s, got {self.book_interval_s!r}"))
        if not 0 < self.quotes_per_trade <= 5:
            problems.append(("quotes_per_trade", f"expected 0 < x <= 5, got {self.quotes_per_trade!r}"))
        if not 0 <= self.lead_lag_ms <= 10_000:
            problems.append(("lead_lag_ms", f"expected 0..10000 ms, got {self.lead_lag_ms!r}"))
        if not 0 < self.impact_half_life_min <= 1_440:
            problems.append(("impact_half_life_min", f"expected 0..1440, got {self.impact_half_life_min!r}"))
        if not 0 <= self.hawkes_branching < 0.95:
            problems.append(("hawkes_branching", f"expected 0 <= x < 0.95, got {self.hawkes_branching!r}"))
        if (
            not self.data_types
            or len(set(self.data_types)) != len(self.data_types)
            or not set(self.data_types) <= set(DATA_TYPES)
        ):
            problems.append(
                ("data_types", f"expected distinct names among {DATA_TYPES}, got {self.data_types!r}")
            )
        if not self.seasonality_contrast >= 1:
            problems.append(("seasonality_contrast", f"expected >= 1, got {self.seasonality_contrast!r}"))
        if problems:
            detail = "; ".join(f"{path}: {msg}" for path, msg in problems)
            raise ValidationError(f"invalid SynthConfig: {detail}", problems)

    @property
    def dates(self) -> list[dt.date]:
        """The generated UTC dates, in order."""
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01 (UTC)."""
    return (day - EPOCH_DATE).days


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed from the master seed and labels, stable across processes and machines.

    Example
    -------
    >>> derive_seed(7, "price", "BTCUSDT", 19723) == derive_seed(7, "price", "BTCUSDT", 19723)
    True
    """
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """A ``numpy`` Generator for one named stream (see :func:`derive_seed`)."""
    return np.random.default_rng(derive_seed(seed, *parts))
