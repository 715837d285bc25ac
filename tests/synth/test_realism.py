"""Stylised facts the generator promises: seasonality, heavy tails, volatility-dependent spreads,
one efficient price seen by every exchange with the first one leading."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from scipy.stats import kurtosis

from pointline.synth import SynthConfig
from pointline.synth.market import iter_venue_days

CFG = SynthConfig(
    start=dt.date(2024, 3, 4),
    days=4,
    exchanges=("binance-futures", "bybit"),
    symbols=("BTCUSDT",),
    seed=9,
    trades_per_day=5_000,
)


def _venue_days(cfg=CFG):
    return list(iter_venue_days(cfg, with_books=False))


def test_us_afternoon_is_ten_to_forty_times_busier_than_asian_night():
    hours = np.concatenate([vd.trade_ms // 3_600_000 for vd in _venue_days()])
    counts = np.bincount(hours, minlength=24)
    ratio = counts[14:17].sum() / counts[2:5].sum()
    assert 10 <= ratio <= 40, counts


def test_trade_sizes_are_heavy_tailed_with_whales():
    sizes = np.concatenate([vd.trade_qty for vd in _venue_days()]).astype(float)
    assert kurtosis(sizes) > 20
    assert sizes.max() > 50 * np.median(sizes)


def test_spreads_widen_when_volatility_is_high():
    cfg = dataclasses.replace(CFG, exchanges=("bybit",), days=2)
    from pointline.synth.price import asset_day

    wide, narrow = [], []
    for day in cfg.dates:
        asset = asset_day(cfg, "BTCUSDT", day)
        vd = next(v for v in iter_venue_days(dataclasses.replace(cfg, start=day, days=1), False))
        spread = (vd.touch.ask_px - vd.touch.bid_px).astype(float)
        vol = asset.vol_rel[vd.touch.ms // 60_000]
        wide.append(spread[vol > np.quantile(vol, 0.8)])
        narrow.append(spread[vol < np.quantile(vol, 0.2)])
    assert np.concatenate(wide).mean() > 1.5 * np.concatenate(narrow).mean()


def test_exchanges_share_one_price_and_the_first_leads():
    leader, follower = (v for v in _venue_days(dataclasses.replace(CFG, days=1, trades_per_day=40_000)))
    grid = np.arange(0, 86_400_000, 100)

    def mid(vd):
        idx = np.searchsorted(vd.touch.ms, grid, side="right") - 1
        return np.log((vd.touch.ask_px[idx] + vd.touch.bid_px[idx]) / 2.0)

    a, b = mid(leader), mid(follower)
    assert np.max(np.abs(a - b)) < 0.01  # same price within 1 %
    ra, rb = np.diff(a[::5]), np.diff(b[::5])  # 500 ms returns
    lead = np.corrcoef(ra[:-1], rb[1:])[0, 1]
    lag = np.corrcoef(rb[:-1], ra[1:])[0, 1]
    assert lead > lag + 0.05
