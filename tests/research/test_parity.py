"""Notebook parity: the study's parity mode reproduces the notebook's own numbers on the same input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pointline.research.study import StudyConfig, build_study_frame, synthetic_feature_frames
from pointline.research.study.run import _analyse

from . import notebook_reference as ref

N_BARS = 4000
SPLIT = "2025-11-10"


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return ref.notebook_frames(synthetic_feature_frames(N_BARS, seed=7, effect=0.4, drop_ratio=0.003))


@pytest.fixture(scope="module")
def reference(frames):
    return ref.reference_frame(frames)


@pytest.fixture(scope="module")
def analysis(frames):
    cfg = StudyConfig(parity=True, walk_forward={"split": SPLIT})
    return _analyse(frames, cfg, parity=True, progress=lambda _m: None)


def test_parity_frame_matches_notebook_merge_regime_and_signal(frames, reference):
    ours = build_study_frame(frames, StudyConfig(), parity=True)
    assert ours["bucket_start"].to_list() == reference["timestamp_us"].tolist()
    assert ours["vol_regime"].to_list() == reference["vol_regime"].astype(str).tolist()
    for col in ("composite", "signal", "fwd_15m", "vol_imbalance_consensus_rank"):
        np.testing.assert_allclose(
            ours[col].fill_null(np.nan).to_numpy(), reference[col].to_numpy(dtype=float), rtol=1e-9, atol=1e-9
        )


def test_parity_sweep_reproduces_the_notebooks_48_configurations(analysis, reference):
    theirs = ref.sweep(reference)
    ours = analysis.sweep
    assert ours.height == 48
    assert ours["n_trades"].to_list() == theirs["n_trades"].tolist()
    for col in ("total_pnl_bps", "avg_pnl_bps", "win_rate"):
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(
        ours["sharpe_per_trade"].to_numpy(), theirs["sharpe"].to_numpy(), rtol=1e-9, atol=1e-7
    )


def test_parity_decile_and_regime_spreads_match_the_notebook(analysis, reference):
    spreads, regimes = ref.decile_tables(reference)
    ours = {r["horizon"]: r for r in analysis.decile_spreads.iter_rows(named=True)}
    for h, v in spreads.items():
        assert ours[h]["spread_bps"] == pytest.approx(v, rel=1e-9)
        assert ours[h]["net_bps"] == pytest.approx(v - 7.0, rel=1e-9)  # the notebook's one round trip
    table = {r["horizon"]: r for r in analysis.regime_spreads.iter_rows(named=True)}
    for h, row in regimes.items():
        for regime, v in row.items():
            got = table[h][regime]
            assert (got is None and np.isnan(v)) or got == pytest.approx(v, rel=1e-9)


def test_parity_walk_forward_picks_on_test_window_like_the_notebook(analysis, reference):
    from pointline.research.timeline import to_us

    best, is_trades = ref.walk_forward(reference, to_us(SPLIT))
    fold = analysis.walk_forward.folds.row(0, named=True)
    assert (fold["vol_filter"], fold["threshold"], fold["holding"]) == (
        best["vol_filter"],
        best["threshold"],
        best["holding"],
    )
    assert fold["oos_n_trades"] == best["n_trades"]
    assert fold["oos_total_pnl_bps"] == pytest.approx(best["total_pnl_bps"], rel=1e-9)
    assert fold["is_n_trades"] == len(is_trades)
    assert fold["is_total_pnl_bps"] == pytest.approx(is_trades["net_return_bps"].sum(), rel=1e-9)
