"""Evaluation metrics of a pipeline run, computed on the final feature frame.

Metrics live in a registry (``@register_metric("name")``); :func:`compute_metrics` runs the
request's ``evaluation.metrics`` list and returns one JSON-ready dict:

.. code-block:: python

    {
        "row_count": 1234,
        "null_ratio": {"flow_imbalance": 0.0, "spread_bps": 0.002},
        "label_distribution": {"forward_return_5bar": {"count": ..., "mean": ..., "p50": ...}},
        "rank_ic": {"flow_imbalance": {"forward_return_5bar": {"ic": ..., "t_stat": ..., ...}}},
        "unassigned_ratio": 0.0,
    }

A metric function takes ``(df, spec, context)`` and returns the value stored under its name; dict
values of several specs of one metric are merged. ``context`` is what the runner knows beyond the
frame: ``unassigned_ratio`` (float), ``label_columns`` (list of label names) and ``label_windows``
(label name → horizon in bars).

**Rank IC and overlapping horizons.** A ``window``-bar forward return overlaps the next
``window - 1`` labels, so the usual Spearman p-value overstates significance. ``rank_ic`` reports
both the i.i.d. figures (``t_stat_iid``, ``p_value_iid``, identical to ``scipy.stats.spearmanr``)
and a Newey-West (HAC, Bartlett kernel) t-statistic with ``lags = horizon - 1`` (``t_stat``,
``p_value``, two-sided, normal) for the slope of the standardised label ranks on the standardised
feature ranks — that slope is exactly the rank IC. Rows are used in the frame's order (per symbol,
in time order, as the runner writes them).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from pointline.errors import ValidationError

MetricFn = Callable[[pl.DataFrame, dict[str, Any], dict[str, Any]], Any]
QUANTILES: dict[str, float] = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}

#: The metrics a request may name (the request schema's enum lists exactly these).
BUILTIN_METRICS: tuple[str, ...] = (
    "row_count",
    "null_ratio",
    "label_distribution",
    "rank_ic",
    "unassigned_ratio",
)

_METRICS: dict[str, MetricFn] = {}


def register_metric(name: str) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding a metric function ``fn(df, spec, context) -> JSON value`` under ``name``.

    Example
    -------
    >>> @register_metric("max_ts")
    ... def max_ts(df, spec, context):
    ...     return int(df["ts"].max())
    """

    def add(fn: MetricFn) -> MetricFn:
        existing = _METRICS.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"metric {name!r} is already registered (by {existing.__qualname__})")
        _METRICS[name] = fn
        return fn

    return add


def list_metrics() -> list[str]:
    """Names of the registered metrics, sorted."""
    return sorted(_METRICS)


def get_metric(name: str) -> MetricFn:
    """The metric registered as ``name``; unknown names raise with a suggestion."""
    if not isinstance(name, str) or name not in _METRICS:
        message = _unknown_metric_message(name)
        raise ValidationError(f"unknown metric: {message}", [("type", message)])
    return _METRICS[name]


def compute_metrics(
    df: pl.DataFrame, metric_specs: list[dict[str, Any]], context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run a request's ``evaluation.metrics`` on the feature frame.

    Parameters
    ----------
    df
        The final feature frame (features and label columns, rows per symbol in ``ts`` order).
    metric_specs
        Dicts with ``type`` plus the metric's own fields (``columns``, ``column``, ``feature``,
        ``label``, ``horizon``), as in the request schema.
    context
        Run facts the frame does not hold: ``unassigned_ratio``, ``label_columns``,
        ``label_windows``.

    Returns
    -------
    dict
        Metric name → value (see the module docstring), JSON-serialisable; NaN is reported as None.

    Raises
    ------
    pointline.errors.ValidationError
        Unknown metric type or a column the frame lacks, with the spec's JSON path.

    Example
    -------
    >>> df = pl.DataFrame({"x": [1.0, None, 3.0]})
    >>> compute_metrics(df, [{"type": "row_count"}, {"type": "null_ratio", "columns": ["x"]}])
    {'row_count': 3, 'null_ratio': {'x': 0.3333333333333333}}
    """
    context = context or {}
    out: dict[str, Any] = {}
    for i, spec in enumerate(metric_specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if not isinstance(kind, str) or kind not in _METRICS:
            path, message = f"$.evaluation.metrics[{i}].type", _unknown_metric_message(kind)
            raise ValidationError(f"{path}: {message}", [(path, message)])
        try:
            value = _METRICS[kind](df, spec, context)
        except ValidationError as exc:
            problems = [(f"$.evaluation.metrics[{i}]" + _suffix(path), msg) for path, msg in exc.problems]
            raise ValidationError(
                "\n".join(f"{path}: {msg}" for path, msg in problems) or str(exc), problems
            ) from None
        out[kind] = _merge(out.get(kind), value)
    return out


def _unknown_metric_message(name: Any) -> str:
    hint = difflib.get_close_matches(str(name), list(_METRICS), n=1)
    suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"expected one of {', '.join(list_metrics())}, got {name!r}{suffix}"


def _suffix(path: str) -> str:
    return "" if path in ("", "$") else (path if path.startswith(("[", ".")) else f".{path}")


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return new


def _require_columns(df: pl.DataFrame, columns: list[str], field: str) -> None:
    for j, name in enumerate(columns):
        if name not in df.columns:
            hint = difflib.get_close_matches(name, df.columns, n=1)
            suffix = f"; did you mean {hint[0]!r}?" if hint else ""
            path = f"{field}[{j}]" if field == "columns" else field
            raise ValidationError(
                f"column {name!r} is not in the feature table{suffix}",
                [(path, f"expected a column of the feature table, got {name!r}{suffix}")],
            )


def _missing_count(series: pl.Series) -> int:
    """Nulls, plus NaNs in float columns (both mean 'no value' to a researcher)."""
    missing = series.null_count()
    if series.dtype.is_float():
        missing += int(series.is_nan().sum())
    return missing


def _clean(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@register_metric("row_count")
def row_count(df: pl.DataFrame, spec: dict[str, Any], context: dict[str, Any]) -> int:
    """Number of rows (bars) of the feature frame."""
    return df.height


@register_metric("null_ratio")
def null_ratio(df: pl.DataFrame, spec: dict[str, Any], context: dict[str, Any]) -> dict[str, float | None]:
    """Share of missing values (null, or NaN in float columns) per column; None for an empty frame.

    ``spec["columns"]`` lists the columns; without it, every column of the frame.
    """
    columns = spec.get("columns") or df.columns
    _require_columns(df, columns, "columns")
    if df.height == 0:
        return dict.fromkeys(columns)
    return {name: _missing_count(df[name]) / df.height for name in columns}


@register_metric("label_distribution")
def label_distribution(df: pl.DataFrame, spec: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Distribution of label columns: count, missing, mean, std (ddof 1), min, max, quantiles.

    Statistics use the finite values only; ``count`` is their number and ``missing`` the nulls,
    NaNs and infinities. Quantiles ``p01 .. p99`` interpolate linearly (as ``numpy.quantile``).
    Columns: ``spec["column"]`` and/or ``spec["columns"]``, else ``context["label_columns"]``.
    """
    columns = [*([spec["column"]] if "column" in spec else []), *spec.get("columns", [])]
    field = "column" if "column" in spec else "columns"
    if not columns:
        columns = list(context.get("label_columns") or [])
    if not columns:
        raise ValidationError(
            "label_distribution needs 'column' or 'columns' (the request declares no labels)",
            [("column", "expected a label column name (the request declares no labels)")],
        )
    _require_columns(df, columns, field)
    out = {}
    for name in columns:
        values = df[name].cast(pl.Float64)
        finite = values.filter(values.is_finite())
        summary: dict[str, Any] = {"count": finite.len(), "missing": df.height - finite.len()}
        summary["mean"] = _clean(finite.mean()) if finite.len() else None
        summary["std"] = _clean(finite.std()) if finite.len() > 1 else None
        summary["min"] = _clean(finite.min()) if finite.len() else None
        summary["max"] = _clean(finite.max()) if finite.len() else None
        for key, q in QUANTILES.items():
            summary[key] = _clean(finite.quantile(q, interpolation="linear")) if finite.len() else None
        out[name] = summary
    return out


@register_metric("rank_ic")
def rank_ic(df: pl.DataFrame, spec: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Spearman rank IC of a feature against a label, with i.i.d. and Newey-West significance.

    Rows where either value is missing (null, NaN, ±inf) are dropped. ``horizon`` comes from
    ``spec["horizon"]``, else ``context["label_windows"][label]``, else 1; the Newey-West lag is
    ``horizon - 1``. Returns ``{feature: {label: {...}}}`` with ``n``, ``ic``, ``t_stat``,
    ``p_value``, ``t_stat_iid``, ``p_value_iid``, ``horizon``, ``hac_lags`` (None where undefined:
    fewer than 3 rows or a constant series).
    """
    feature, label = spec["feature"], spec["label"]
    _require_columns(df, [feature], "feature")
    _require_columns(df, [label], "label")
    horizon = int(spec.get("horizon") or (context.get("label_windows") or {}).get(label) or 1)
    pair = df.select(pl.col(feature).cast(pl.Float64).alias("x"), pl.col(label).cast(pl.Float64).alias("y"))
    pair = pair.filter(pl.col("x").is_finite() & pl.col("y").is_finite())
    x, y = pair["x"].to_numpy(), pair["y"].to_numpy()
    result = rank_ic_stats(x, y, horizon)
    return {feature: {label: result}}


def rank_ic_stats(x: np.ndarray, y: np.ndarray, horizon: int = 1) -> dict[str, Any]:
    """Rank IC statistics of two aligned, finite series (see :func:`rank_ic`).

    Parameters
    ----------
    x, y
        Feature and label values in time order, same length, no missing values.
    horizon
        Label horizon in bars; the Newey-West lag is ``horizon - 1``.

    Example
    -------
    >>> rank_ic_stats(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))["ic"]
    0.8
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import, most runs need none of it

    n = len(x)
    lags = max(horizon - 1, 0)
    out: dict[str, Any] = {
        "n": n,
        "ic": None,
        "t_stat": None,
        "p_value": None,
        "t_stat_iid": None,
        "p_value_iid": None,
        "horizon": horizon,
        "hac_lags": lags,
    }
    if n < 3:
        return out
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return out
    zx = (rx - rx.mean()) / rx.std()
    zy = (ry - ry.mean()) / ry.std()
    ic = float(np.mean(zx * zy))
    out["ic"] = ic
    if abs(ic) < 1.0:
        t_iid = ic * math.sqrt((n - 2) / (1.0 - ic * ic))
        out["t_stat_iid"] = t_iid
        out["p_value_iid"] = float(2.0 * stats.t.sf(abs(t_iid), n - 2))
    # OLS of zy on [1, zx]: X'X is diag(n, n), so the slope's HAC variance is S_11 / n².
    score = zx * (zy - ic * zx)
    s11 = float(score @ score)
    for lag in range(1, min(lags, n - 1) + 1):
        s11 += 2.0 * (1.0 - lag / (lags + 1.0)) * float(score[lag:] @ score[:-lag])
    if s11 > 0:
        t_nw = ic / (math.sqrt(s11) / n)
        out["t_stat"] = t_nw
        out["p_value"] = float(2.0 * stats.norm.sf(abs(t_nw)))
    return out


@register_metric("unassigned_ratio")
def unassigned_ratio(df: pl.DataFrame, spec: dict[str, Any], context: dict[str, Any]) -> float | None:
    """Share of input events outside every bar, as measured by the runner (``context``); None if unknown."""
    value = context.get("unassigned_ratio")
    return None if value is None else float(value)
