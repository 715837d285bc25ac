"""Returns on the time grid, causal regimes, rolling-rank composite (against pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import PointlineError
from pointline.research.composite import composite_signal, rolling_pct_rank
from pointline.research.regime import vol_regime
from pointline.research.returns import bar_returns, forward_returns

M5 = 300_000_000


def test_forward_return_is_null_when_the_bar_at_t_plus_h_is_missing():
    bars = pl.DataFrame({"ts": [0, M5, 2 * M5, 4 * M5], "close": [100.0, 101.0, 102.0, 104.0]})
    out = forward_returns(bars, "close", {"5m": M5, "10m": 2 * M5})
    assert out["fwd_5m"].to_list() == pytest.approx([0.01, 1 / 101, None, None], nan_ok=True)
    assert out["fwd_10m"].to_list()[:3] == pytest.approx([0.02, None, 104 / 102 - 1], nan_ok=True)


def test_bar_return_never_spans_a_gap():
    bars = pl.DataFrame({"ts": [M5, 2 * M5, 4 * M5], "close": [100.0, 102.0, 103.0]})
    assert bar_returns(bars, "close", M5)["returns"].to_list()[1:] == pytest.approx([0.02, None], nan_ok=True)


def test_forward_returns_rejects_duplicate_bars():
    with pytest.raises(PointlineError, match="unique"):
        forward_returns(pl.DataFrame({"ts": [0, 0], "close": [1.0, 2.0]}), "close", {"x": 1})


def _returns(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"r": rng.normal(0, 1e-3, n) * np.exp(np.sin(np.arange(n) / 300))})


@pytest.mark.parametrize("method", ["expanding", "trailing"])
def test_regime_label_at_a_bar_ignores_every_later_bar(method):
    df = _returns(2500, 1)
    full = vol_regime(df, "r", method=method, window_bars=1000)
    cut = 1700
    perturbed = df.with_columns(
        pl.when(pl.int_range(pl.len()) > cut).then(pl.col("r") * 50).otherwise(pl.col("r"))
    )
    again = vol_regime(perturbed, "r", method=method, window_bars=1000)
    assert full["vol_regime"][: cut + 1].to_list() == again["vol_regime"][: cut + 1].to_list()
    assert set(full["vol_regime"].unique()) == {"warmup", "low_vol", "normal", "high_vol"}


def test_full_sample_regime_equals_the_notebooks_qcut():
    df = _returns(1500, 2)
    ours = vol_regime(df, "r", method="full_sample")
    pdf = df.to_pandas()
    ratio = pdf["r"].rolling(12).std() / pdf["r"].rolling(288).std().clip(lower=1e-10)
    lab = pd.qcut(ratio.dropna(), q=[0, 0.3, 0.7, 1.0], labels=["low_vol", "normal", "high_vol"])
    expected = lab.reindex(pdf.index).astype(object).where(ratio.notna(), "warmup")
    assert ours["vol_regime"].to_list() == expected.tolist()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.integers(-3, 3).map(float), st.just(float("nan"))), min_size=1, max_size=60),
    st.integers(1, 12),
    st.integers(1, 12),
)
def test_rolling_rank_matches_pandas_rank_pct_with_ties_and_gaps(values, window, minp):
    minp = min(minp, window)
    x = np.array(values)
    expected = pd.Series(x).rolling(window, min_periods=minp).rank(pct=True).to_numpy()
    np.testing.assert_allclose(rolling_pct_rank(x, window, minp), expected, equal_nan=True)


def test_composite_matches_pandas_rank_mean_zscore():
    rng = np.random.default_rng(3)
    df = pl.DataFrame({"a": rng.normal(size=900), "b": rng.normal(size=900)})
    out = composite_signal(df, ["a", "b"], window=200, min_periods=50, sign=-1)
    pdf = df.to_pandas()
    comp = pd.concat([pdf[c].rolling(200, min_periods=50).rank(pct=True) for c in "ab"], axis=1).mean(axis=1)
    roll = comp.rolling(200, min_periods=50)
    z = -(comp - roll.mean()) / roll.std().clip(lower=1e-10)
    np.testing.assert_allclose(out["signal"].fill_null(np.nan).to_numpy(), z.to_numpy(), rtol=1e-9, atol=1e-9)


def test_composite_rejects_a_missing_feature():
    with pytest.raises(PointlineError, match="not in frame"):
        composite_signal(pl.DataFrame({"a": [1.0]}), ["a", "nope"])
