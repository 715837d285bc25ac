"""Fixed-holding backtest rules, metrics and sweep (golden cases)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.research.backtest import backtest_fixed_holding, prepare_series, sweep, trade_metrics


def _bars(signal, open_, close):
    n = len(signal)
    return pl.DataFrame({"ts": np.arange(n) * 300_000_000, "signal": signal, "open": open_, "close": close})


def test_contrarian_short_enters_at_next_open_and_exits_at_close_h_bars_later():
    bars = _bars([2.0, 0, 0, 0, 0], [100.0, 101.0, 99.0, 98.0, 97.0], [100.0, 100.0, 98.0, 97.0, 96.0])
    res = backtest_fixed_holding(bars, threshold=1.5, holding_bars=2, fee_bps=7.0, regime_col=None)
    t = res.trades.row(0, named=True)
    assert (t["direction"], t["entry_price"], t["exit_price"]) == (-1, 101.0, 98.0)
    assert t["net_bps"] == pytest.approx((1 - 98 / 101) * 1e4 - 7.0)


def test_entry_at_signal_close_is_the_notebook_rule():
    bars = _bars([-2.0, 0, 0], [1.0, 1.0, 1.0], [100.0, 101.0, 102.0])
    res = backtest_fixed_holding(
        bars, threshold=1.0, holding_bars=2, fee_bps=0.0, entry="signal_close", regime_col=None
    )
    assert res.trades["gross_bps"].to_list() == pytest.approx([200.0])
    assert res.trades["direction"].to_list() == [1]


def test_one_position_at_a_time_unless_overlapping():
    sig = [2.0, 2.0, 2.0, 2.0, 0, 0, 0]
    px = [100.0] * 7
    one = backtest_fixed_holding(_bars(sig, px, px), threshold=1, holding_bars=2, regime_col=None)
    many = backtest_fixed_holding(
        _bars(sig, px, px), threshold=1, holding_bars=2, regime_col=None, overlapping=True
    )
    assert one.trades["signal_ts"].to_list() == [0, 600_000_000]
    assert many.trades.height == 4


def test_exit_over_a_missing_price_moves_to_the_next_priced_bar():
    bars = _bars([2.0, 0, 0, 0], [100.0, 100.0, np.nan, 90.0], [100.0, 100.0, np.nan, 90.0])
    res = backtest_fixed_holding(bars, threshold=1, holding_bars=2, fee_bps=0.0, regime_col=None)
    assert res.trades["exit_ts"].to_list() == [900_000_000]


def test_regime_filter_blocks_entries_outside_the_allowed_regimes():
    bars = _bars([2.0, 2.0, 0, 0, 0], [100.0] * 5, [100.0] * 5).with_columns(
        pl.Series("vol_regime", ["high_vol", "low_vol", "low_vol", "low_vol", "low_vol"])
    )
    res = backtest_fixed_holding(bars, threshold=1, holding_bars=2, vol_filter=["low_vol"])
    assert res.trades["signal_ts"].to_list() == [300_000_000]


def test_metrics_drawdown_counts_a_losing_first_trade_and_profit_factor():
    m = trade_metrics(np.array([-10.0, 30.0, -5.0]), np.zeros(3, dtype=np.int64), span=(0, 0), holding_bars=1)
    assert m["max_drawdown_bps"] == -10.0
    assert m["profit_factor"] == pytest.approx(2.0)
    assert m["win_rate"] == pytest.approx(1 / 3)


def test_calendar_sharpe_counts_days_without_trades():
    day = 86_400_000_000
    m = trade_metrics(np.array([10.0, 10.0]), np.array([0, day]), span=(0, 3 * day), holding_bars=1)
    daily = np.array([10.0, 10.0, 0.0, 0.0])
    assert m["sharpe"] == pytest.approx(daily.mean() / daily.std(ddof=1) * np.sqrt(365))


def test_sweep_has_one_row_per_configuration_in_notebook_order():
    rng = np.random.default_rng(0)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 500)))
    s = prepare_series(_bars(rng.normal(size=500), px, px), regime_col=None)
    out = sweep(s, vol_filters={"all": None, "also": None})
    assert out.height == 32
    assert out.select("vol_filter", "threshold", "holding").row(1) == ("all", 1.0, "30m")


def test_bad_holding_is_a_user_error():
    bars = _bars([1.0], [1.0], [1.0])
    with pytest.raises(PointlineError, match="holding_bars"):
        backtest_fixed_holding(bars, holding_bars=0, regime_col=None)


def _reference_metrics(net: np.ndarray, exit_ts: np.ndarray, span: tuple[int, int], holding: int) -> dict:
    """The metrics with plain NumPy, straight from their definitions (5-minute bars)."""
    from pointline.research.backtest.metrics import US_PER_DAY

    n = net.size
    if n == 0:
        return {}
    std = float(net.std(ddof=1)) if n > 1 else float("nan")
    cum = np.concatenate(([0.0], np.cumsum(net)))
    first_day = span[0] // US_PER_DAY
    n_days = span[1] // US_PER_DAY - first_day + 1
    sharpe = 0.0
    if n_days >= 2:
        days = np.clip(exit_ts // US_PER_DAY - first_day, 0, n_days - 1)
        daily = np.bincount(days, weights=net, minlength=n_days)
        sd = daily.std(ddof=1)
        sharpe = float(daily.mean() / sd * np.sqrt(365.0)) if sd > 0 else 0.0
    return {
        "n_trades": float(n),
        "total_pnl_bps": float(net.sum()),
        "avg_pnl_bps": float(net.mean()),
        "median_pnl_bps": float(np.median(net)),
        "std_pnl_bps": std,
        "win_rate": float((net > 0).mean()),
        "profit_factor": float(net[net > 0].sum()) / max(float(-net[net < 0].sum()), 1e-10),
        "max_drawdown_bps": float((cum - np.maximum.accumulate(cum)).min()),
        "sharpe": sharpe,
        "sharpe_per_trade": float(net.mean() / std * np.sqrt(252 * 288 / holding))
        if n > 1 and std > 0
        else 0.0,
    }


@settings(max_examples=60, deadline=None)
@given(
    # Quarter-bps values sum exactly, so both summation orders agree on degenerate (zero-variance) cases.
    pnl=st.lists(st.integers(-2000, 2000).map(lambda k: k / 4), min_size=1, max_size=40),
    days=st.integers(1, 5),
    holding=st.integers(1, 24),
)
def test_metrics_equal_a_numpy_reference(pnl: list[float], days: int, holding: int) -> None:
    from pointline.research.backtest.metrics import US_PER_DAY

    net = np.array(pnl, dtype=np.float64)
    exit_ts = np.linspace(0, days * US_PER_DAY - 1, num=net.size).astype(np.int64)
    span = (0, days * US_PER_DAY - 1)
    got = trade_metrics(net, exit_ts, span=span, holding_bars=holding)
    for key, value in _reference_metrics(net, exit_ts, span, holding).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key
