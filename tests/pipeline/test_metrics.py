"""Evaluation metrics against hand / NumPy / SciPy / statsmodels computations."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from pointline.errors import ValidationError
from pointline.research.pipeline_v2.metrics import (
    compute_metrics,
    list_metrics,
    rank_ic_stats,
    register_metric,
)


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "flow_imbalance": [0.1, None, -0.2, 0.3, float("nan"), 0.0],
            "spread_bps": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "fwd": [0.01, 0.02, None, -0.01, 0.03, 0.0],
        }
    )


def test_row_count_is_the_number_of_bars() -> None:
    assert compute_metrics(frame(), [{"type": "row_count"}]) == {"row_count": 6}


def test_null_ratio_counts_nulls_and_nans_per_listed_column() -> None:
    out = compute_metrics(frame(), [{"type": "null_ratio", "columns": ["flow_imbalance", "spread_bps"]}])
    assert out == {"null_ratio": {"flow_imbalance": 2 / 6, "spread_bps": 0.0}}


def test_null_ratio_defaults_to_every_column() -> None:
    out = compute_metrics(frame(), [{"type": "null_ratio"}])
    assert out["null_ratio"] == {"flow_imbalance": 2 / 6, "spread_bps": 0.0, "fwd": 1 / 6}


def test_null_ratio_of_an_empty_frame_is_undefined() -> None:
    out = compute_metrics(frame().head(0), [{"type": "null_ratio", "columns": ["fwd"]}])
    assert out == {"null_ratio": {"fwd": None}}


def test_label_distribution_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0.0, 0.01, 500)
    df = pl.DataFrame({"fwd": [*values.tolist(), None, float("nan")]})
    dist = compute_metrics(df, [{"type": "label_distribution", "column": "fwd"}])["label_distribution"]["fwd"]
    assert dist["count"] == 500 and dist["missing"] == 2
    assert math.isclose(dist["mean"], values.mean(), rel_tol=1e-12)
    assert math.isclose(dist["std"], values.std(ddof=1), rel_tol=1e-12)
    assert dist["min"] == values.min() and dist["max"] == values.max()
    for key, q in {
        "p01": 0.01,
        "p05": 0.05,
        "p25": 0.25,
        "p50": 0.5,
        "p75": 0.75,
        "p95": 0.95,
        "p99": 0.99,
    }.items():
        assert math.isclose(dist[key], float(np.quantile(values, q)), rel_tol=1e-12), key


def test_label_distribution_hand_computed_small_case() -> None:
    df = pl.DataFrame({"fwd": [1.0, 2.0, 3.0, 4.0, 5.0]})
    dist = compute_metrics(df, [{"type": "label_distribution", "column": "fwd"}])["label_distribution"]["fwd"]
    assert (dist["mean"], dist["min"], dist["max"], dist["p50"], dist["p25"]) == (3.0, 1.0, 5.0, 3.0, 2.0)
    assert math.isclose(dist["std"], math.sqrt(2.5))
    assert math.isclose(dist["p01"], 1.04)


def test_label_distribution_defaults_to_the_declared_labels() -> None:
    out = compute_metrics(frame(), [{"type": "label_distribution"}], {"label_columns": ["fwd"]})
    assert list(out["label_distribution"]) == ["fwd"]
    with pytest.raises(ValidationError):
        compute_metrics(frame(), [{"type": "label_distribution"}])


def test_rank_ic_matches_scipy_spearman() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = 0.2 * x + rng.normal(size=300)
    y[::7] = np.round(y[::7], 1)  # some ties
    df = pl.DataFrame({"feat": x, "lab": y})
    res = compute_metrics(df, [{"type": "rank_ic", "feature": "feat", "label": "lab"}])["rank_ic"]["feat"][
        "lab"
    ]
    expected = stats.spearmanr(x, y)
    assert res["n"] == 300
    assert math.isclose(res["ic"], expected.statistic, rel_tol=1e-10)
    assert math.isclose(res["p_value_iid"], expected.pvalue, rel_tol=1e-8)


def test_rank_ic_drops_rows_with_a_missing_side() -> None:
    res = compute_metrics(frame(), [{"type": "rank_ic", "feature": "flow_imbalance", "label": "fwd"}])
    result = res["rank_ic"]["flow_imbalance"]["fwd"]
    # rows kept: (0.1, 0.01), (0.3, -0.01), (0.0, 0.0) → ranks x [2, 3, 1], y [3, 1, 2]
    assert result["n"] == 3
    assert math.isclose(result["ic"], stats.spearmanr([2, 3, 1], [3, 1, 2]).statistic)


@pytest.mark.parametrize("horizon", [1, 5, 10])
def test_rank_ic_newey_west_t_stat_matches_statsmodels_hac(horizon: int) -> None:
    rng = np.random.default_rng(horizon)
    n = 400
    x = rng.normal(size=n)
    # overlapping forward sums make the label autocorrelated, as real h-bar returns are
    shocks = rng.normal(size=n + horizon)
    y = 0.1 * x + np.array([shocks[t : t + horizon].sum() for t in range(n)])
    res = rank_ic_stats(x, y, horizon)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    zx, zy = (rx - rx.mean()) / rx.std(), (ry - ry.mean()) / ry.std()
    fit = sm.OLS(zy, sm.add_constant(zx)).fit(
        cov_type="HAC", cov_kwds={"maxlags": horizon - 1, "use_correction": False}
    )
    assert res["hac_lags"] == horizon - 1
    assert math.isclose(fit.params[1], res["ic"], rel_tol=1e-10)
    assert math.isclose(fit.tvalues[1], res["t_stat"], rel_tol=1e-8)
    assert math.isclose(fit.pvalues[1], res["p_value"], rel_tol=1e-6, abs_tol=1e-300)


def test_rank_ic_horizon_comes_from_the_label_window_in_context() -> None:
    rng = np.random.default_rng(2)
    df = pl.DataFrame({"feat": rng.normal(size=50), "lab": rng.normal(size=50)})
    spec = {"type": "rank_ic", "feature": "feat", "label": "lab"}
    res = compute_metrics(df, [spec], {"label_windows": {"lab": 5}})["rank_ic"]["feat"]["lab"]
    assert (res["horizon"], res["hac_lags"]) == (5, 4)


def test_rank_ic_is_undefined_for_constant_or_tiny_inputs() -> None:
    assert rank_ic_stats(np.ones(10), np.arange(10.0))["ic"] is None
    assert rank_ic_stats(np.arange(2.0), np.arange(2.0))["ic"] is None


def test_several_rank_ic_specs_are_merged() -> None:
    rng = np.random.default_rng(3)
    df = pl.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30), "y": rng.normal(size=30)})
    out = compute_metrics(
        df,
        [
            {"type": "rank_ic", "feature": "a", "label": "y"},
            {"type": "rank_ic", "feature": "b", "label": "y"},
        ],
    )
    assert sorted(out["rank_ic"]) == ["a", "b"]


def test_unassigned_ratio_comes_from_the_runner_context() -> None:
    spec = [{"type": "unassigned_ratio"}]
    assert compute_metrics(frame(), spec, {"unassigned_ratio": 0.002}) == {"unassigned_ratio": 0.002}
    assert compute_metrics(frame(), spec) == {"unassigned_ratio": None}


def test_unknown_metric_is_an_error_with_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        compute_metrics(frame(), [{"type": "row_count"}, {"type": "rank_icc"}])
    ((path, message),) = info.value.problems
    assert path == "$.evaluation.metrics[1].type" and "did you mean 'rank_ic'" in message


def test_missing_column_is_an_error_with_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        compute_metrics(frame(), [{"type": "null_ratio", "columns": ["spread_bps", "spred_bps"]}])
    ((path, message),) = info.value.problems
    assert path == "$.evaluation.metrics[0].columns[1]" and "did you mean 'spread_bps'" in message


def test_registered_metric_runs_and_names_are_listed() -> None:
    @register_metric("test_max_spread")
    def max_spread(df: pl.DataFrame, spec: dict, context: dict) -> float:
        return float(df["spread_bps"].max())

    assert "test_max_spread" in list_metrics()
    assert compute_metrics(frame(), [{"type": "test_max_spread"}]) == {"test_max_spread": 6.0}
    with pytest.raises(ValueError, match="already registered"):
        register_metric("row_count")(max_spread)
