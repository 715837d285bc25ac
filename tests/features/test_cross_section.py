"""Cross-sectional alignment: as-of backward on a common clock, suffixes, spreads, consensus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pointline.errors import PointlineError
from pointline.research.features import add_spreads, align_cross_section, consensus_mean


def series(ts: list[int], flow: list[float], ret: list[float] | None = None) -> pl.DataFrame:
    return pl.DataFrame({"ts": ts, "flow_imbalance": flow, "ret_5bar": ret or [0.0] * len(ts)})


def test_guide_btc_eth_sol_example_on_a_time_bucket_grid() -> None:
    btc = series([100, 180, 260], [0.1, 0.2, 0.3], [0.01, 0.02, 0.03])
    eth = series([90, 205, 250], [0.5, 0.6, 0.7], [0.05, 0.06, 0.07])
    sol = series([150, 301], [-0.1, -0.2])
    out = align_cross_section({"btc": btc, "eth": eth, "sol": sol}, base="btc", time_bucket_us=100)
    assert out["time_bucket"].to_list() == [100, 200, 300]
    assert out["flow_imbalance"].to_list() == [0.1, 0.2, 0.3]
    assert out["flow_imbalance_eth"].to_list() == [0.5, 0.5, 0.7]  # eth's 205 bar is unknown at 200
    assert out["flow_imbalance_sol"].to_list() == [None, -0.1, -0.1]  # sol's 301 bar is unknown at 300
    out = add_spreads(
        out,
        {
            "btc_eth_flow_spread": ("flow_imbalance", "flow_imbalance_eth"),
            "btc_eth_momentum_spread": ("ret_5bar", "ret_5bar_eth"),
        },
    )
    assert out["btc_eth_flow_spread"].to_list() == pytest.approx([-0.4, -0.3, -0.4])
    assert out["btc_eth_momentum_spread"].to_list() == pytest.approx([-0.04, -0.03, -0.04])


def test_no_column_uses_a_bar_known_after_the_clock_instant() -> None:
    rng = np.random.default_rng(0)
    frames = {
        k: series(sorted(rng.choice(10_000, 50, replace=False).tolist()), rng.random(50).tolist())
        for k in "abc"
    }
    out = align_cross_section(frames, base="a", time_bucket_us=250)
    for key in ("b", "c"):
        known = out.filter(pl.col(f"bar_ts_{key}").is_not_null())
        assert (known[f"bar_ts_{key}"] <= known["ts"]).all()
    assert (out.drop_nulls("bar_ts")["bar_ts"] <= out.drop_nulls("bar_ts")["ts"]).all()


def test_base_clock_mode_joins_others_as_of_backward() -> None:
    out = align_cross_section({"btc": series([10, 20], [0.1, 0.2]), "eth": series([15], [0.5])}, base="btc")
    assert out["flow_imbalance_eth"].to_list() == [None, 0.5]
    assert out["bar_ts_eth"].to_list() == [None, 15]


def test_base_bars_sharing_a_ts_stay_one_row_each_and_see_the_latest_other_bar() -> None:
    # Event bars close at one instant when a trade closes several of them; each base bar stays one
    # row, and the other series contributes its LAST bar known at that instant (bar order, not input order).
    btc = pl.DataFrame(
        {"bar_index": [0, 1, 2, 3], "ts": [10, 20, 20, 30], "flow_imbalance": [0.1, 0.2, 0.3, 0.4]}
    )
    eth = pl.DataFrame({"bar_index": [0, 1, 2], "ts": [15, 20, 20], "flow_imbalance": [0.5, 0.6, 0.7]})
    out = align_cross_section({"btc": btc.reverse(), "eth": eth.reverse()}, base="btc")
    assert out["bar_index"].to_list() == [0, 1, 2, 3]
    assert out["flow_imbalance"].to_list() == [0.1, 0.2, 0.3, 0.4]
    assert out["flow_imbalance_eth"].to_list() == [None, 0.7, 0.7, 0.7]
    grid = align_cross_section({"btc": btc, "eth": eth}, base="btc", time_bucket_us=10)
    assert grid["flow_imbalance"].to_list() == [0.1, 0.3, 0.4]


def test_staleness_limit_drops_old_bars() -> None:
    out = align_cross_section(
        {"btc": series([10, 100], [0.1, 0.2]), "eth": series([5], [0.5])}, base="btc", max_staleness_us=20
    )
    assert out["flow_imbalance_eth"].to_list() == [0.5, None]


def test_notebook_consensus_matches_pandas_merge_and_mean() -> None:
    rng = np.random.default_rng(1)
    feats = ["vol_imbalance", "close_vs_vwap"]
    frames = {}
    for ex in ("bn", "bb", "okx"):
        ts = np.sort(rng.choice(np.arange(0, 3_000_000_000, 300_000_000), 8, replace=False))
        frames[ex] = pl.DataFrame({"timestamp_us": ts, **{f: rng.standard_normal(8) for f in feats}})
    df = align_cross_section(
        {"bn": frames["bn"].rename({f: f"{f}_bn" for f in feats}), "bb": frames["bb"], "okx": frames["okx"]},
        base="bn",
        on="timestamp_us",
        exact=True,
    )
    for f in feats:
        df = consensus_mean(df, f, ["_bn", "_bb", "_okx"])
    # The notebook: pandas inner merges on timestamp_us, then (bn + bb + okx) / 3.
    p = {k: v.to_pandas() for k, v in frames.items()}
    ref = (
        p["bn"].merge(p["bb"], on="timestamp_us", suffixes=("_bn", "_bb")).merge(p["okx"], on="timestamp_us")
    )
    ref = ref.rename(columns={f: f"{f}_okx" for f in feats})
    for f in feats:
        ref[f"{f}_consensus"] = (ref[f"{f}_bn"] + ref[f"{f}_bb"] + ref[f"{f}_okx"]) / 3
    assert df["timestamp_us"].to_list() == ref["timestamp_us"].tolist()
    for f in feats:
        np.testing.assert_allclose(
            df[f"{f}_consensus"].to_numpy(), ref[f"{f}_consensus"].to_numpy(), rtol=1e-14
        )
    assert isinstance(ref, pd.DataFrame)


def test_unknown_base_and_missing_columns_are_errors() -> None:
    with pytest.raises(PointlineError, match="base 'x'"):
        align_cross_section({"a": series([1], [0.0])}, base="x")
    with pytest.raises(PointlineError, match="_zz"):
        consensus_mean(pl.DataFrame({"f_a": [1.0]}), "f", ["_a", "_zz"])
