"""Assemble the market: for each symbol and day one efficient price, then each exchange's trades,
quotes and book snapshots, written as Tardis CSV.gz files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pointline.errors import PointlineError
from pointline.synth.arrivals import hawkes_cluster_times
from pointline.synth.book import (
    MS_PER_DAY,
    Touch,
    book_levels,
    latency_us,
    quote_update_ms,
    touch_at,
    trade_prices,
    venue_log_mid,
)
from pointline.synth.config import (
    TRADE_ID_STRIDE,
    US_PER_DAY,
    SynthConfig,
    day_number,
    instrument_for,
    rng_for,
)
from pointline.synth.flow import buy_probability, trade_sides, trade_sizes
from pointline.synth.price import N_WINDOWS, WINDOW_S, AssetDay, asset_day
from pointline.synth.writer import (
    tardis_file_name,
    write_book_snapshots,
    write_quotes,
    write_trades,
)


@dataclass(frozen=True)
class VenueDay:
    """One exchange's view of one symbol-day. ``*_ms`` are exchange-clock ms after midnight UTC."""

    exchange: str
    symbol: str
    day: dt.date
    trade_ms: np.ndarray
    is_buy: np.ndarray
    trade_px: np.ndarray
    trade_qty: np.ndarray
    touch: Touch
    snap_ms: np.ndarray


def simulate_venue_day(
    config: SynthConfig, asset: AssetDay, venue_index: int, symbol: str, with_books: bool = True
) -> VenueDay:
    """Trades, touch updates and snapshot times of exchange ``config.exchanges[venue_index]``.

    Depends only on ``(config, exchange, symbol, day)`` and the (seed-only) ``asset`` path.
    """
    exchange = config.exchanges[venue_index]
    inst = instrument_for(symbol)
    dn = day_number(asset.day)
    rate = np.repeat(asset.intensity, 60) * (config.trades_per_day / 86_400.0)
    # Same stream as price.leader_arrivals, so the leader's trades are the impulse clock.
    arrivals_rng = rng_for(config.seed, "arrivals", exchange, symbol, dn)
    t_s, parent, gen = hawkes_cluster_times(arrivals_rng, rate, config.hawkes_branching)
    rng = rng_for(config.seed, "venue", exchange, symbol, dn)
    window = np.minimum((t_s // WINDOW_S).astype(np.int64), N_WINDOWS - 1)
    venue_flow = rng.standard_normal(N_WINDOWS)
    p_buy = buy_probability(asset.core.flow, venue_flow, config.flow_loading, config.venue_flow_loading)
    is_buy = trade_sides(rng, window, parent, gen, p_buy)
    order = np.argsort(t_s, kind="stable")
    trade_ms = np.maximum(1, np.floor(t_s[order] * 1000.0).astype(np.int64))
    is_buy = is_buy[order]
    qty = trade_sizes(rng, trade_ms.size, inst.median_lots) * inst.lot_int

    q_ms = quote_update_ms(rng, trade_ms, rate, config.quotes_per_trade)
    lag_s = 0.0 if venue_index == 0 else config.lead_lag_ms / 1000.0
    log_mid = venue_log_mid(rng, asset, lag_s, config.venue_noise_bps, q_ms / 1000.0)
    touch = touch_at(rng, q_ms, log_mid, asset.vol_rel, venue_index, inst)
    interval_ms = round(config.book_interval_s * 1000)
    snap_ms = np.arange(0, MS_PER_DAY, interval_ms, dtype=np.int64) if with_books else np.empty(0, np.int64)
    return VenueDay(
        exchange=exchange,
        symbol=symbol,
        day=asset.day,
        trade_ms=trade_ms,
        is_buy=is_buy,
        trade_px=trade_prices(touch, trade_ms, is_buy),
        trade_qty=qty,
        touch=touch,
        snap_ms=snap_ms,
    )


def iter_venue_days(config: SynthConfig, with_books: bool = True) -> Iterator[VenueDay]:
    """Every (symbol, day, exchange) of ``config`` in generation order, without writing files."""
    for symbol in config.symbols:
        for day in config.dates:
            asset = asset_day(config, symbol, day)
            for j in range(len(config.exchanges)):
                yield simulate_venue_day(config, asset, j, symbol, with_books)


def _write_venue_day(out_dir: Path, config: SynthConfig, vd: VenueDay, venue_index: int) -> list[Path]:
    inst = instrument_for(vd.symbol)
    dn = day_number(vd.day)
    day_us = dn * US_PER_DAY
    # A separate stream so the latency path never shifts the market's random draws.
    lat_rng = rng_for(config.seed, "latency", vd.exchange, vd.symbol, dn)
    knots = latency_us(lat_rng, venue_index, np.arange(0, MS_PER_DAY + 1, 60_000, dtype=np.int64))

    def clocks(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        exch = day_us + ms * 1000
        lat = np.rint(np.interp(ms / 60_000.0, np.arange(knots.size), knots)).astype(np.int64)
        return exch, np.maximum.accumulate(exch + lat) if exch.size else exch

    paths = []
    name = tardis_file_name
    if "trades" in config.data_types:
        exch, local = clocks(vd.trade_ms)
        ids = dn * TRADE_ID_STRIDE + np.arange(vd.trade_ms.size, dtype=np.int64)
        paths.append(
            write_trades(
                out_dir / name(vd.exchange, "trades", vd.day, vd.symbol),
                vd.exchange,
                vd.symbol,
                exch,
                local,
                ids,
                vd.is_buy,
                vd.trade_px,
                vd.trade_qty,
                inst.price_exp,
                inst.qty_exp,
            )
        )
    t = vd.touch
    if "quotes" in config.data_types:
        exch, local = clocks(t.ms)
        paths.append(
            write_quotes(
                out_dir / name(vd.exchange, "quotes", vd.day, vd.symbol),
                vd.exchange,
                vd.symbol,
                exch,
                local,
                t.bid_px,
                t.bid_qty,
                t.ask_px,
                t.ask_qty,
                inst.price_exp,
                inst.qty_exp,
            )
        )
    if "book_snapshot_25" in config.data_types:
        book_rng = rng_for(config.seed, "book", vd.exchange, vd.symbol, dn)
        levels = book_levels(book_rng, t, vd.snap_ms, inst)
        exch, local = clocks(vd.snap_ms)
        paths.append(
            write_book_snapshots(
                out_dir / name(vd.exchange, "book_snapshot_25", vd.day, vd.symbol),
                vd.exchange,
                vd.symbol,
                exch,
                local,
                levels,
                inst.price_exp,
                inst.qty_exp,
            )
        )
    return paths


def generate_market(out_dir: str | Path, config: SynthConfig | None = None) -> list[Path]:
    """Write a synthetic market as Tardis.dev CSV.gz files and return their paths, sorted.

    One file per exchange × data type (``trades``, ``quotes``, ``book_snapshot_25``: those in
    ``config.data_types``) × day × symbol, named ``{exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz``.
    ``timestamp`` is the exchange clock and ``local_timestamp`` the receive clock (µs since the
    epoch, local ≥ exchange); rows are in ``local_timestamp`` order. A day's files depend only on
    ``(config.seed, exchange, symbol, date)`` and the model parameters, not on which other days are
    generated.

    Parameters
    ----------
    out_dir:
        Directory to write into (created if missing); existing files of the same name are replaced.
    config:
        What to generate; ``SynthConfig()`` by default.

    Returns
    -------
    list[Path]
        The files written, sorted.

    Example
    -------
    >>> import datetime as dt, tempfile
    >>> cfg = SynthConfig(start=dt.date(2024, 1, 1), days=1, exchanges=("bybit",),
    ...                   symbols=("BTCUSDT",), trades_per_day=2_000)
    >>> [p.name for p in generate_market(tempfile.mkdtemp(), cfg)][0]
    'bybit_book_snapshot_25_2024-01-01_BTCUSDT.csv.gz'
    """
    config = config or SynthConfig()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PointlineError(f"output path {out} exists and is not a directory; expected a directory")
    out.mkdir(parents=True, exist_ok=True)

    def one_day(symbol: str, day: dt.date) -> list[Path]:
        asset = asset_day(config, symbol, day)
        written = []
        for j in range(len(config.exchanges)):
            vd = simulate_venue_day(config, asset, j, symbol, "book_snapshot_25" in config.data_types)
            written.extend(_write_venue_day(out, config, vd, j))
        return written

    # Each (symbol, day) depends on nothing else (see above): they run on SYNTH_THREADS threads
    # (NumPy, zlib and Polars release the GIL), with the same files as one after another.
    tasks = [(symbol, day) for symbol in config.symbols for day in config.dates]
    with ThreadPoolExecutor(max_workers=min(SYNTH_THREADS, len(tasks)) or 1) as pool:
        parts = list(pool.map(lambda task: one_day(*task), tasks))
    return sorted(p for part in parts for p in part)


#: Threads generating (symbol, day) pairs at once.
SYNTH_THREADS = min(4, os.cpu_count() or 1)
