"""``build_feature_frame``: the guide's exploration entry point, on the pipeline's engine.

It turns a :class:`FeatureRunConfig` into a v2 request, validates it and runs the same engine as
``pipeline`` for one symbol, returning the feature table directly (no artifacts written). Gates
are off by default for speed; ``run_gates=True`` runs the ones the pipeline would and raises if
any fails.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import polars as pl

import pointline
from pointline.errors import PointlineError
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.runner import run_symbol
from pointline.research.resample.registry import get_aggregation
from pointline.research.spines import get_builder, list_spines
from pointline.research.timeline import TimeLike, to_us, us_to_iso

_SOURCE_NAMES = {"trades": "trades_src", "quotes": "quotes_src", "book_snapshot_25": "book_src"}


@dataclass
class FeatureRunConfig:
    """What to compute for one instrument.

    Parameters
    ----------
    exchange, symbol
        The instrument (exact lookup).
    start, end
        Half-open timeline ``[start, end)`` (ISO dates/datetimes or µs; a bare date is midnight UTC).
    spine
        A spine config (``VolumeBarConfig(...)``, ``ClockConfig(step="5m")``, …) or a request-style
        ``{"type": ..., "config": {...}}`` dict.
    aggregations
        Names (``"trade_vwap"``) or dicts (``{"agg": "spread_bps", "source": "quotes"}``); the source
        table defaults to the aggregation's ``source_table`` (trades when it has none).
    derived
        Derived feature names (``"vwap_reversion"``, ``"ret_1bar"``, …).
    labels
        Label specs as in the request (``{"name", "type": "forward_return", "window", "column"}``).
    mode
        ``bar_then_feature`` (default), ``tick_then_bar`` or ``event_joined``.
    run_gates
        Run the pipeline's gates too (raises :class:`PointlineError` when one fails).

    Example
    -------
    >>> cfg = FeatureRunConfig("binance-futures", "BTCUSDT", "2024-05-01", "2024-05-02",
    ...                        spine=VolumeBarConfig(volume_threshold=100.0),
    ...                        aggregations=["trade_vwap", "ohlcv", "flow_imbalance"])  # doctest: +SKIP
    >>> build_feature_frame(cfg)  # doctest: +SKIP
    """

    exchange: str
    symbol: str
    start: TimeLike
    end: TimeLike
    spine: Any
    aggregations: list[str | dict[str, Any]] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "bar_then_feature"
    run_gates: bool = False
    lake: str | os.PathLike[str] | None = None


def build_feature_frame(config: FeatureRunConfig) -> pl.DataFrame:
    """Compute the feature table of ``config`` (bar columns, features, derived features, labels).

    Returns
    -------
    pl.DataFrame
        One row per bar ordered by ``bar_index``; ``ts`` (µs, ts_local_us clock) is when the row is known.
    """
    request = feature_request(config)
    normalised = validate_quant_research_input_v2(request)
    run = run_symbol(normalised, pointline.get_lake(config.lake))
    if run.reasons:
        raise PointlineError("quality gates failed: " + "; ".join(run.reasons))
    return run.features


def feature_request(config: FeatureRunConfig) -> dict[str, Any]:
    """The v2 request equivalent to ``config`` (what ``build_feature_frame`` validates and runs)."""
    specs = [{"agg": a} if isinstance(a, str) else dict(a) for a in config.aggregations]
    tables = {"trades"}
    operators = []
    for spec in specs:
        table = (
            spec.pop("source", None)
            or getattr(get_aggregation(spec["agg"]), "source_table", None)
            or "trades"
        )
        tables.add(table)
        operators.append(
            {
                "name": spec.get("output_name") or spec["agg"],
                "stage": "aggregate",
                "source": _SOURCE_NAMES[table],
                **spec,
            }
        )
    operators += [{"name": d, "stage": "derive", "agg": d} for d in config.derived]
    on = config.run_gates
    return {
        "schema_version": "2.0",
        "request_id": "build_feature_frame",
        "mode": config.mode,
        "timeline": {
            "start": us_to_iso(to_us(config.start, name="start")),
            "end": us_to_iso(to_us(config.end, name="end")),
        },
        "sources": [
            {
                "name": _SOURCE_NAMES[t],
                "table": t,
                "filters": {"exchange": config.exchange, "symbol": config.symbol},
            }
            for t in ("trades", "quotes", "book_snapshot_25")
            if t in tables
        ],
        "spine": _spine_dict(config.spine),
        "operators": operators,
        "labels": list(config.labels),
        "constraints": {
            "forbid_lookahead": on,
            "require_pit_ordering": on,
            "skip_reproducibility_check": not on,
            "partition_safety": on,
            "max_unassigned_ratio": 1.0,
        },
        "artifacts": {"emit_lineage": False},
    }


def _spine_dict(spine: Any) -> dict[str, Any]:
    if isinstance(spine, dict):
        return spine
    for name in list_spines():
        if isinstance(spine, get_builder(name).config_class):
            values = {k: v for k, v in dataclasses.asdict(spine).items() if v is not None}
            if "step_us" in values:
                values["step_seconds"] = values.pop("step_us") / 1e6
            return {"type": name, "config": values}
    raise PointlineError(f"spine must be a spine config (e.g. VolumeBarConfig) or a dict, got {spine!r}")
