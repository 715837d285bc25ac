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


DAY = 86_400_000_000
HOUR = 3_600_000_000
BAR = 300_000_000


def test_calendar_sharpe_counts_days_without_trades():
    # Four whole UTC days of 5-minute bars (known at 00:05 of day 0 ... 00:00 of day 4).
    m = trade_metrics(
        np.array([10.0, 10.0]), np.array([12 * HOUR, DAY + 12 * HOUR]), span=(BAR, 4 * DAY), holding_bars=1
    )
    daily = np.array([10.0, 10.0, 0.0, 0.0])
    assert m["sharpe"] == pytest.approx(daily.mean() / daily.std(ddof=1) * np.sqrt(365))


def test_calendar_sharpe_leaves_out_a_partial_last_day():
    # Bars from 00:00 of day 0 to 03:00 of day 3: days 0-2 are whole, day 3 has three hours.
    net = np.array([10.0, -5.0, 20.0, 4.0])
    exits = np.array([12 * HOUR, DAY + 12 * HOUR, 2 * DAY + 12 * HOUR, 3 * DAY + HOUR])
    m = trade_metrics(net, exits, span=(BAR, 3 * DAY + 3 * HOUR), holding_bars=1)
    # Daily PnL of the whole days: [10, -5, 20]; mean 25/3, sample variance 1425/9.
    assert m["sharpe"] == pytest.approx(25 / np.sqrt(1425) * np.sqrt(365), rel=1e-12)
    assert m["total_pnl_bps"] == 29.0  # the partial day's trade counts in every other metric
    # Bars added after the last whole day, with or without trades, leave the Sharpe alone.
    longer = trade_metrics(
        np.append(net, 100.0),
        np.append(exits, 3 * DAY + 20 * HOUR),
        span=(BAR, 3 * DAY + 21 * HOUR),
        holding_bars=1,
    )
    assert longer["sharpe"] == m["sharpe"]


def test_calendar_sharpe_leaves_out_a_partial_first_day_and_dates_a_bar_by_its_interval():
    # Bars from 13:00 of day 0 (first known at 13:05) to the bar that ends at 00:00 of day 3.
    # Whole days: 1 and 2. The last trade exits at the close of the bar ending at 00:00 of day 3,
    # a price printed on day 2.
    net = np.array([50.0, -5.0, 20.0])
    exits = np.array([14 * HOUR, DAY + 6 * HOUR, 3 * DAY])
    m = trade_metrics(net, exits, span=(13 * HOUR + BAR, 3 * DAY), holding_bars=1)
    assert m["sharpe"] == pytest.approx(7.5 / (12.5 * np.sqrt(2)) * np.sqrt(365), rel=1e-12)  # days [-5, 20]
    # Bars labelled by their start (the notebook's bucket_start): same bars, one interval earlier.
    by_start = trade_metrics(
        net, exits - BAR, span=(13 * HOUR, 3 * DAY - BAR), holding_bars=1, ts_label="start"
    )
    assert by_start["sharpe"] == m["sharpe"]


def test_calendar_sharpe_is_zero_under_two_whole_days():
    m = trade_metrics(
        np.array([10.0, -5.0]), np.array([HOUR, DAY + HOUR]), span=(BAR, DAY + 12 * HOUR), holding_bars=1
    )
    assert m["sharpe"] == 0.0


def test_turnover_counts_two_units_per_round_trip_over_the_covered_days():
    # Three trades on bars covering exactly two UTC days: 6 units traded in 2 days.
    exits = np.array([HOUR, 2 * HOUR, DAY + HOUR])
    m = trade_metrics(np.array([1.0, 2.0, 3.0]), exits, span=(BAR, 2 * DAY), holding_bars=1)
    assert (m["covered_days"], m["turnover_per_day"]) == (2.0, 3.0)
    # The same trades on bars covering two and a half days (a partial day counts by its length).
    m = trade_metrics(np.array([1.0, 2.0, 3.0]), exits, span=(BAR, 2 * DAY + 12 * HOUR), holding_bars=1)
    assert (m["covered_days"], m["turnover_per_day"]) == (2.5, 2.4)
    # Without trades: no turnover, and the bars still cover their days.
    none = trade_metrics(np.array([]), np.array([], dtype=np.int64), span=(BAR, 2 * DAY), holding_bars=1)
    assert (none["covered_days"], none["turnover_per_day"], none["n_trades"]) == (2.0, 0.0, 0.0)
    # Without bars (an empty walk-forward window): no days either.
    empty = backtest_fixed_holding(_bars([1.0], [1.0], [1.0]).clear(), regime_col=None).metrics
    assert (empty["covered_days"], empty["turnover_per_day"]) == (0.0, 0.0)


def test_fees_per_day_are_turnover_times_half_the_round_trip_fee():
    rng = np.random.default_rng(3)
    n = 2 * 288
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    res = backtest_fixed_holding(
        _bars(rng.normal(size=n), px, px), threshold=1.0, holding_bars=3, fee_bps=7.0, regime_col=None
    )
    m, tr = res.metrics, res.trades
    assert m["covered_days"] == 2.0 and m["turnover_per_day"] == pytest.approx(2 * tr.height / 2.0)
    fees_per_day = float((tr["gross_bps"] - tr["net_bps"]).sum()) / m["covered_days"]
    assert fees_per_day == pytest.approx(m["turnover_per_day"] * 7.0 / 2)


def _reference_turnover(trades: pl.DataFrame, ts: np.ndarray, entry: str, interval: int) -> float:
    """Units traded per day, from a position ledger: every trade is its own unit, held from its fill
    at the entry bar's open (``next_open``) or close (``signal_close``) to the exit bar's close. On a
    half-bar clock (2k = open of bar k, 2k + 1 = its close) sum |change| of each unit's position."""
    index = {int(t): k for k, t in enumerate(ts)}
    steps = 2 * ts.size + 1
    traded = 0.0
    for row in trades.iter_rows(named=True):
        held_from = 2 * index[row["entry_ts"]] + (0 if entry == "next_open" else 1)
        held_to = 2 * index[row["exit_ts"]] + 1
        position = [row["direction"] if held_from <= k < held_to else 0 for k in range(steps)]
        traded += sum(abs(b - a) for a, b in zip([0, *position[:-1]], position, strict=True))
    return traded / (ts.size * interval / DAY)  # a complete grid: every bar covers one interval


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 400),
    holding=st.integers(1, 12),
    threshold=st.sampled_from([0.5, 1.0, 2.0]),
    entry=st.sampled_from(["next_open", "signal_close"]),
    overlapping=st.booleans(),
)
def test_turnover_equals_a_position_ledger(
    seed: int, n: int, holding: int, threshold: float, entry: str, overlapping: bool
) -> None:
    rng = np.random.default_rng(seed)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    bars = _bars(rng.normal(size=n), px * np.exp(rng.normal(0, 1e-4, n)), px)
    res = backtest_fixed_holding(
        bars, threshold=threshold, holding_bars=holding, entry=entry, overlapping=overlapping, regime_col=None
    )
    expected = _reference_turnover(res.trades, bars["ts"].to_numpy(), entry, BAR)
    assert res.metrics["turnover_per_day"] == pytest.approx(expected, rel=1e-12)


def test_sweep_has_one_row_per_configuration_in_notebook_order():
    rng = np.random.default_rng(0)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 500)))
    s = prepare_series(_bars(rng.normal(size=500), px, px), regime_col=None)
    out = sweep(s, vol_filters={"all": None, "also": None})
    assert out.height == 32
    assert {"turnover_per_day", "covered_days"} <= set(out.columns)
    assert (out["turnover_per_day"] == 2 * out["n_trades"] / out["covered_days"]).all()
    assert out.select("vol_filter", "threshold", "holding").row(1) == ("all", 1.0, "30m")


def test_bad_holding_is_a_user_error():
    bars = _bars([1.0], [1.0], [1.0])
    with pytest.raises(PointlineError, match="holding_bars"):
        backtest_fixed_holding(bars, holding_bars=0, regime_col=None)


def _reference_metrics(
    net: np.ndarray,
    exit_ts: np.ndarray,
    span: tuple[int, int],
    holding: int,
    interval: int = BAR,
    ts_label: str = "end",
) -> dict:
    """The metrics with plain NumPy, straight from their definitions."""
    n = net.size
    if n == 0:
        return {}
    std = float(net.std(ddof=1)) if n > 1 else float("nan")
    cum = np.concatenate(([0.0], np.cumsum(net)))
    lag = interval if ts_label == "end" else 0
    covered = (span[0] - lag, span[1] - lag + interval)  # first bar's open to last bar's close
    whole = [
        d
        for d in range(covered[0] // DAY - 1, covered[1] // DAY + 2)
        if covered[0] <= d * DAY and (d + 1) * DAY <= covered[1]
    ]
    exit_day = (exit_ts - lag) // DAY  # the UTC day of the exit bar's interval
    daily = np.array([net[exit_day == d].sum() for d in whole])
    sharpe = 0.0
    if daily.size >= 2:
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
        "covered_days": (covered[1] - covered[0]) / DAY,
        "turnover_per_day": 2 * n / ((covered[1] - covered[0]) / DAY),
        "sharpe_per_trade": float(net.mean() / std * np.sqrt(252 * (DAY / interval) / holding))
        if n > 1 and std > 0
        else 0.0,
    }


@settings(max_examples=100, deadline=None)
@given(
    # Quarter-bps values sum exactly, so both summation orders agree on degenerate (zero-variance) cases.
    pnl=st.lists(st.integers(-2000, 2000).map(lambda k: k / 4), min_size=1, max_size=40),
    first_bar=st.integers(-300, 300),
    n_bars=st.integers(1, 1500),
    interval_min=st.sampled_from([1, 5, 15, 60]),
    holding=st.integers(1, 24),
    ts_label=st.sampled_from(["end", "start"]),
    data=st.data(),
)
def test_metrics_equal_a_numpy_reference(
    pnl: list[float], first_bar: int, n_bars: int, interval_min: int, holding: int, ts_label: str, data
) -> None:
    interval = interval_min * 60_000_000
    ts = (first_bar + np.arange(n_bars, dtype=np.int64)) * interval  # a bar grid from any hour of a day
    net = np.array(pnl, dtype=np.float64)
    exit_ts = np.sort(
        ts[data.draw(st.lists(st.integers(0, n_bars - 1), min_size=net.size, max_size=net.size))]
    )
    span = (int(ts[0]), int(ts[-1]))
    got = trade_metrics(
        net, exit_ts, span=span, holding_bars=holding, interval_us=interval, ts_label=ts_label
    )
    for key, value in _reference_metrics(net, exit_ts, span, holding, interval, ts_label).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key
