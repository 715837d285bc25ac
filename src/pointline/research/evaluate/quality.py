"""Feature quality checks (the guide's ``validate_features``), computed, never printed.

Per feature: null ratio (nulls and NaNs over rows), Augmented Dickey-Fuller test (statsmodels
``adfuller``, constant only, lag order chosen by AIC up to ``adf_maxlag``), and the share of
values more than ``outlier_sigma`` standard deviations from the mean. Across features: the Pearson
correlation matrix on pair-complete rows and its largest off-diagonal absolute value.

The z-scores here use full-sample moments: this is a description of a finished sample, never an
input to a signal.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from statsmodels.tsa.stattools import adfuller

from pointline.errors import PointlineError


@dataclass(frozen=True)
class FeatureQuality:
    """Result of :func:`validate_features`.

    Attributes
    ----------
    table
        One row per feature: ``feature``, ``null_ratio``, ``null_ok``, ``adf_stat``, ``adf_p``,
        ``stationary``, ``outlier_ratio``, ``outlier_ok``.
    corr
        Correlation matrix (a ``feature`` column, then one column per feature).
    max_corr
        Largest absolute off-diagonal correlation (NaN with fewer than two features).
    checks
        The guide's summary flags: ``null_ratio_ok``, ``all_stationary``, ``outlier_ratio_ok``,
        ``features_independent``, ``max_feature_corr``.
    """

    table: pl.DataFrame
    corr: pl.DataFrame
    max_corr: float
    checks: dict[str, float | bool]


def validate_features(
    df: pl.DataFrame,
    features: Sequence[str],
    *,
    null_ratio_max: float = 0.01,
    adf_alpha: float = 0.05,
    adf_maxlag: int | None = 12,
    outlier_sigma: float = 5.0,
    outlier_ratio_max: float = 0.001,
    corr_max: float = 0.9,
) -> FeatureQuality:
    """Run the quality checks on ``features``.

    Parameters
    ----------
    df
        Bars in time order.
    features
        Numeric feature columns.
    null_ratio_max, adf_alpha, outlier_sigma, outlier_ratio_max, corr_max
        Thresholds of the guide (1 % nulls, p < 0.05, 5 sigma, 0.1 % outliers, |corr| < 0.9).
    adf_maxlag
        Largest ADF lag tried (``None``: statsmodels' default ``12 * (n/100) ** 0.25``, slow on long series).

    Returns
    -------
    FeatureQuality

    Example
    -------
    >>> x = np.random.default_rng(0).normal(size=500)
    >>> validate_features(pl.DataFrame({"a": x, "b": -x}), ["a", "b"]).max_corr
    1.0
    """
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise PointlineError(f"validate_features: column(s) {missing} not in frame")
    rows = []
    n = max(df.height, 1)
    for f in features:
        x = df[f].cast(pl.Float64).fill_null(np.nan).to_numpy()
        finite = x[np.isfinite(x)]
        null_ratio = float((~np.isfinite(x)).sum() / n)
        adf_stat = adf_p = float("nan")
        if finite.size > 20 and finite.std() > 0:
            with warnings.catch_warnings():
                # statsmodels 0.15 announces a change of adfuller's return type; we read [0] and [1] only
                warnings.simplefilter("ignore", FutureWarning)
                res = adfuller(finite, maxlag=adf_maxlag, autolag="AIC")
            adf_stat, adf_p = float(res[0]), float(res[1])
        sd = finite.std(ddof=1) if finite.size > 1 else 0.0
        outliers = float((np.abs(finite - finite.mean()) > outlier_sigma * sd).sum() / n) if sd > 0 else 0.0
        rows.append(
            {
                "feature": f,
                "null_ratio": null_ratio,
                "null_ok": null_ratio < null_ratio_max,
                "adf_stat": adf_stat,
                "adf_p": adf_p,
                "stationary": bool(adf_p < adf_alpha) if np.isfinite(adf_p) else False,
                "outlier_ratio": outliers,
                "outlier_ok": outliers < outlier_ratio_max,
            }
        )
    table = pl.DataFrame(rows)
    mat = np.eye(len(features))
    cols = df.select([pl.col(f).cast(pl.Float64).fill_nan(None) for f in features])
    for i, a in enumerate(features):
        for j in range(i + 1, len(features)):
            pair = cols.select(a, features[j]).drop_nulls()
            r = pair.select(pl.corr(a, features[j])).item() if pair.height > 1 else None
            mat[i, j] = mat[j, i] = np.nan if r is None else r
    off = np.abs(mat[~np.eye(len(features), dtype=bool)]) if len(features) > 1 else np.array([])
    max_corr = float(np.nanmax(off)) if off.size and np.isfinite(off).any() else float("nan")
    corr = pl.DataFrame({"feature": list(features), **{f: mat[:, i] for i, f in enumerate(features)}})
    checks: dict[str, float | bool] = {
        "null_ratio_ok": bool(table["null_ok"].all()),
        "all_stationary": bool(table["stationary"].all()),
        "outlier_ratio_ok": bool(table["outlier_ok"].all()),
        "max_feature_corr": max_corr,
        "features_independent": bool(max_corr < corr_max) if np.isfinite(max_corr) else True,
    }
    return FeatureQuality(table=table, corr=corr, max_corr=max_corr, checks=checks)
