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


def _daily_sharpe(daily: list[float]) -> float:
    d = np.asarray(daily)
    return float(d.mean() / d.std(ddof=1) * np.sqrt(365))


def test_a_day_missing_from_the_bars_is_not_covered():
    # Days 0 and 2 of 5-minute bars (known at 00:05 ... 00:00 of the next day); day 1 is not in the frame.
    rng = np.random.default_rng(8)
    ts = np.concatenate([BAR * np.arange(1, 289), 2 * DAY + BAR * np.arange(1, 289)])
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, ts.size)))
    bars = pl.DataFrame({"ts": ts, "signal": rng.normal(size=ts.size), "open": px, "close": px})
    res = backtest_fixed_holding(bars, threshold=1.0, holding_bars=3, regime_col=None)
    m, tr = res.metrics, res.trades
    assert m["covered_days"] == 2.0  # not 3: nothing covers day 1
    assert m["turnover_per_day"] == pytest.approx(2 * tr.height / 2.0)
    exit_day = (tr["exit_ts"] - BAR) // DAY
    daily = [float(tr.filter(exit_day == d)["net_bps"].sum()) for d in (0, 2)]
    assert m["sharpe"] == pytest.approx(_daily_sharpe(daily), rel=1e-12)  # two days, no 0 for day 1


def test_a_hole_inside_a_day_counts_by_its_length_and_keeps_the_day_in_the_sharpe():
    # Three whole days of bars but for a six-hour hole on day 1 (the bars opening 06:00-11:55).
    ts = BAR * np.arange(1, 3 * 288 + 1)
    ts = ts[(ts <= DAY + 6 * HOUR) | (ts > DAY + 12 * HOUR)]
    net = np.array([10.0, 99.0, -4.0])
    exits = np.array([HOUR, DAY + 13 * HOUR, 2 * DAY + HOUR])
    m = trade_metrics(net, exits, bar_ts=ts, holding_bars=1)
    assert m["covered_days"] == 2.75 and m["turnover_per_day"] == pytest.approx(6 / 2.75)
    # Unlike a partial first or last day, which depends on where the data was cut, day 1 stays.
    assert m["sharpe"] == pytest.approx(_daily_sharpe([10.0, 99.0, -4.0]), rel=1e-12)


def test_bars_on_a_complete_grid_have_the_metrics_of_their_span():
    net = np.array([10.0, 99.0, -4.0])
    exits = np.array([HOUR, DAY + 13 * HOUR, 2 * DAY + HOUR])
    grid = trade_metrics(net, exits, bar_ts=BAR * np.arange(1, 3 * 288 + 1), holding_bars=1)
    assert grid == trade_metrics(net, exits, span=(BAR, 3 * DAY), holding_bars=1)


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
    bars: np.ndarray,
    holding: int,
    interval: int = BAR,
    ts_label: str = "end",
) -> dict:
    """The metrics with plain NumPy, straight from their definitions (``bars``: every bar's ts, on a grid).

    Sharpe days: the whole UTC days of the span some bar covers; covered days: the bars' intervals."""
    n = net.size
    if n == 0:
        return {}
    std = float(net.std(ddof=1)) if n > 1 else float("nan")
    cum = np.concatenate(([0.0], np.cumsum(net)))
    lag = interval if ts_label == "end" else 0
    opens = np.unique(bars) - lag  # each bar covers [open, open + interval)
    covered_days = opens.size * interval / DAY

    def covered_in(d: int) -> int:  # µs of UTC day d inside some bar's interval
        inside = np.minimum(opens + interval, (d + 1) * DAY) - np.maximum(opens, d * DAY)
        return int(np.clip(inside, 0, None).sum())

    span = (int(opens[0]), int(opens[-1]) + interval)  # first bar's open to last bar's close
    whole = [
        d
        for d in range(span[0] // DAY - 1, span[1] // DAY + 2)
        if span[0] <= d * DAY and (d + 1) * DAY <= span[1] and covered_in(d) > 0
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
        "covered_days": covered_days,
        "turnover_per_day": 2 * n / covered_days,
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
    for key, value in _reference_metrics(net, exit_ts, ts, holding, interval, ts_label).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key


@settings(max_examples=100, deadline=None)
@given(
    pnl=st.lists(st.integers(-2000, 2000).map(lambda k: k / 4), min_size=1, max_size=40),
    first_bar=st.integers(-300, 300),
    n_bars=st.integers(1, 1500),
    interval_min=st.sampled_from([1, 5, 7, 15, 60]),  # 7-minute bars straddle midnights
    ts_label=st.sampled_from(["end", "start"]),
    drop=st.sampled_from([0.0, 0.01, 0.3]),
    hole=st.tuples(st.integers(0, 1500), st.integers(0, 800)),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_metrics_on_bars_with_gaps_equal_a_numpy_reference(
    pnl: list[float],
    first_bar: int,
    n_bars: int,
    interval_min: int,
    ts_label: str,
    drop: float,
    hole: tuple[int, int],
    seed: int,
    data,
) -> None:
    interval = interval_min * 60_000_000
    grid = np.arange(n_bars)
    keep = (np.random.default_rng(seed).random(n_bars) >= drop) & ~((grid >= hole[0]) & (grid < sum(hole)))
    keep[0] = True  # some bars: a backtest without bars has no trades
    ts = (first_bar + grid[keep].astype(np.int64)) * interval
    net = np.array(pnl, dtype=np.float64)
    picks = data.draw(st.lists(st.integers(0, ts.size - 1), min_size=net.size, max_size=net.size))
    exit_ts = np.sort(ts[picks])
    got = trade_metrics(
        net, exit_ts, bar_ts=ts[::-1], holding_bars=3, interval_us=interval, ts_label=ts_label
    )
    for key, value in _reference_metrics(net, exit_ts, ts, 3, interval, ts_label).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key


def test_trade_metrics_takes_either_a_span_or_the_bars():
    net, exits = np.array([1.0]), np.array([BAR])
    with pytest.raises(PointlineError, match="either span"):
        trade_metrics(net, exits, holding_bars=1)
    with pytest.raises(PointlineError, match="either span"):
        trade_metrics(net, exits, span=(BAR, BAR), bar_ts=np.array([BAR]), holding_bars=1)
    with pytest.raises(PointlineError, match="no bars"):
        trade_metrics(net, exits, bar_ts=np.array([], dtype=np.int64), holding_bars=1)
