"""``aggregate``: evaluate registered aggregations per bar of a bucketed frame (DESIGN.md §5).

A bucketed frame (what ``assign_to_buckets`` returns, docs/architecture.md) holds events with
``symbol_id``, ``bar_index``, ``bucket_start``, ``bucket_end``, ``ts``, ``is_complete`` attached.
``aggregate`` groups it by ``(symbol_id, bar_index)`` with the events of each bar in total order
``(ts_local_us, file_id, file_line_number)`` and returns one row per bar: the bar columns and every
requested feature. With a spine, empty bars are kept (features null, ``trade_count`` 0).

An expression that yields one value per event instead of aggregating (the guide's
``BookImbalanceTop5`` example) is reduced to its value at the bar's last event: the state known when
the bar closes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pointline.errors import PointlineError, PointlineWarning
from pointline.lake.order import sort_if_needed
from pointline.lake.schema import EVENT_ORDER
from pointline.research.resample.registry import (
    MODES,
    AggregationSpec,
    KernelAggregationSpec,
    get_aggregation,
    unknown_config_keys,
)

#: Group keys of a bar.
KEYS: tuple[str, ...] = ("symbol_id", "bar_index")
#: Bar columns copied from the bucketed frame (or the spine) into the result.
BAR_COLUMNS: tuple[str, ...] = ("bucket_start", "bucket_end", "ts", "is_complete")

_SPEC_KEYS = {"agg", "config", "output_name", "output_prefix"}
# Keys a pipeline operator carries that do not change the computation.
_PIPELINE_KEYS = {"name", "stage", "source", "join_strategy"}


@dataclass
class AggregateConfig:
    """What ``aggregate`` computes.

    Parameters
    ----------
    agg_specs:
        One dict per aggregation: ``{"agg": name}`` plus optional ``"config"`` (dict passed to
        ``impl``), ``"output_name"`` (renames the aggregation's first output column) and
        ``"output_prefix"`` (prepended to its other output columns, or all of them when no
        ``output_name``). Pipeline operator keys ``name``, ``stage``, ``source``,
        ``join_strategy`` are accepted and ignored.
    mode:
        Pipeline mode (``bar_then_feature``, ``tick_then_bar``, ``event_joined``); every
        aggregation must allow it.
    spine:
        Optional spine frame; when given the result has one row per spine bar, empty ones included.

    Example
    -------
    >>> cfg = AggregateConfig(agg_specs=[{"agg": "trade_vwap"}, {"agg": "ohlcv"}])
    """

    agg_specs: list[dict[str, Any]]
    mode: str = "bar_then_feature"
    spine: pl.DataFrame | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Resolved:
    spec: AggregationSpec
    config: dict[str, Any]
    renames: dict[str, str]
    label: str = ""  # how messages name it: the pipeline operator's name, else the aggregation's


def aggregate(bucketed: pl.DataFrame | pl.LazyFrame, config: AggregateConfig) -> pl.DataFrame:
    """One row per ``(symbol_id, bar_index)`` with bar columns and the requested features.

    Parameters
    ----------
    bucketed:
        Events with ``symbol_id``, ``bar_index`` and bar columns attached (rows with a null
        ``bar_index`` are unassigned and ignored). Eager or lazy.
    config:
        The aggregations, mode and optional spine.

    Returns
    -------
    pl.DataFrame
        Sorted by ``(symbol_id, bar_index)``: ``symbol_id``, ``bar_index``, the bar columns present
        (``bucket_start``, ``bucket_end``, ``ts`` — µs, receive clock; ``ts`` is when the row is
        known — and ``is_complete``), then feature columns in request order.

    Raises
    ------
    PointlineError
        Unknown aggregation or mode, a mode an aggregation does not allow, a missing input
        column (named, with the source table it comes from), or clashing output names.

    Example
    -------
    >>> ev = pl.DataFrame({"symbol_id": [1, 1, 1], "bar_index": [0, 0, 1],
    ...                    "px": [10.0, 11.0, 12.0], "qty": [1.0, 3.0, 2.0]})
    >>> aggregate(ev, AggregateConfig([{"agg": "trade_vwap"}]))["vwap"].to_list()
    [10.75, 12.0]
    """
    if not isinstance(config, AggregateConfig):
        raise PointlineError(f"aggregate expects config=AggregateConfig(...), got {type(config).__name__}")
    if config.mode not in MODES:
        raise PointlineError(f"unknown mode {config.mode!r}; expected one of {list(MODES)}")
    lazy = bucketed.lazy()
    columns = lazy.collect_schema().names()
    missing_keys = [k for k in KEYS if k not in columns]
    if missing_keys:
        raise PointlineError(
            f"bucketed frame lacks {missing_keys}; pass the output of assign_to_buckets "
            f"(columns present: {columns})"
        )
    resolved = [_resolve(item, i, config.mode, columns) for i, item in enumerate(config.agg_specs)]
    _check_unique_outputs(resolved)

    order = [c for c in EVENT_ORDER if c in columns]
    events = lazy.filter(pl.col("bar_index").is_not_null())
    bar_cols = [c for c in BAR_COLUMNS if c in columns]
    exprs = [pl.col(c).first() for c in bar_cols]
    for r in resolved:
        if not isinstance(r.spec, KernelAggregationSpec):
            exprs.extend(_named(e, r.renames) for e in r.spec.impl(r.config))
    # Bucketed frames usually arrive in (symbol, bar, total order) already; skip the sort then.
    frame = sort_if_needed(events.collect(), [*KEYS, *order])
    result = _group_by_bar(frame, exprs)
    result = _last_of_per_event(result, frame, exprs)
    result = _add_kernel_outputs(result, frame, resolved)
    feature_cols = [new for r in resolved for new in r.renames.values()]
    result = result.select(*KEYS, *bar_cols, *feature_cols).sort(list(KEYS))
    if config.spine is not None:
        # A trade count is 0 on an empty bar under whatever name the request gave it.
        counts = [new for r in resolved for old, new in r.renames.items() if old == "trade_count"]
        result = _onto_spine(result, config.spine, bar_cols, feature_cols, counts)
    return result


def _resolve(item: Any, index: int, mode: str, columns: list[str]) -> _Resolved:
    if not isinstance(item, dict) or "agg" not in item:
        raise PointlineError(f"agg_specs[{index}] must be a dict with an 'agg' key, got {item!r}")
    unknown = set(item) - _SPEC_KEYS - _PIPELINE_KEYS
    if unknown:
        raise PointlineError(
            f"agg_specs[{index}] has unknown key(s) {sorted(unknown)}; expected {sorted(_SPEC_KEYS)}"
        )
    cls = get_aggregation(item["agg"])
    spec = cls()
    if mode not in cls.mode_allowlist:
        raise PointlineError(
            f"aggregation {cls.name!r} is not allowed in mode {mode!r}; it allows {list(cls.mode_allowlist)}"
        )
    for col in cls.required_columns:
        if col not in columns:
            source = f" from a {cls.source_table} source" if cls.source_table else ""
            raise PointlineError(
                f"aggregation {cls.name!r} needs column {col!r}{source}; "
                f"the bucketed frame has columns {columns}"
            )
    cfg = item.get("config") or {}
    if not isinstance(cfg, dict):
        raise PointlineError(f"agg_specs[{index}]['config'] must be a dict, got {cfg!r}")
    unknown = unknown_config_keys(cls, cfg)
    if unknown:
        warnings.warn(f"agg_specs[{index}]: {unknown}; ignored", PointlineWarning, stacklevel=4)
    label = f"operator {item['name']!r}" if isinstance(item.get("name"), str) else f"aggregation {cls.name!r}"
    if isinstance(spec, KernelAggregationSpec):
        outputs = list(cls.outputs)  # type: ignore[attr-defined]
    else:
        exprs = spec.impl(cfg)
        outputs = [e.meta.output_name() for e in exprs]
        # Columns chosen by the config (``column_sum``'s ``column``) or read beyond ``required_columns``.
        read = {c for e in exprs for c in e.meta.root_names() if not (c.startswith("^") and c.endswith("$"))}
        missing = sorted(read - set(columns))
        if missing:
            raise PointlineError(
                f"{label} reads column(s) {missing}, which the bucketed frame does not have "
                f"(columns: {columns})"
            )
    return _Resolved(spec, cfg, _renames(outputs, item, index), label)


def _renames(outputs: list[str], item: dict[str, Any], index: int) -> dict[str, str]:
    prefix = item.get("output_prefix") or ""
    name = item.get("output_name")
    if not isinstance(prefix, str) or (name is not None and not isinstance(name, str)):
        raise PointlineError(f"agg_specs[{index}]: output_name/output_prefix must be strings")
    renames = {out: prefix + out for out in outputs}
    if name and outputs:
        renames[outputs[0]] = name
    return renames


def _check_unique_outputs(resolved: list[_Resolved]) -> None:
    seen: dict[str, str] = {}
    for r in resolved:
        for out in r.renames.values():
            if out in seen or out in (*KEYS, *BAR_COLUMNS):
                other = seen.get(out, "the bar columns")
                raise PointlineError(
                    f"output column {out!r} of {r.label} clashes with {other}; "
                    "give one of them another 'output_name' (first output) or an 'output_prefix' (all outputs)"
                )
            seen[out] = r.label


def _named(expr: pl.Expr, renames: dict[str, str]) -> pl.Expr:
    return expr.alias(renames[expr.meta.output_name()])


def _group_by_bar(frame: pl.DataFrame, exprs: list[pl.Expr]) -> pl.DataFrame:
    """Per-bar aggregation of a frame sorted by ``KEYS``. With one symbol (the usual case) the
    groups are contiguous runs of a sorted ``bar_index``, which Polars aggregates as slices,
    about twice as fast as hashing two keys; several symbols group on both keys."""
    sid = frame["symbol_id"]
    if frame.height and sid.null_count() == 0 and sid.min() == sid.max():
        by_bar = frame.with_columns(pl.col("bar_index").set_sorted()).group_by(
            "bar_index", maintain_order=True
        )
        out = by_bar.agg(exprs)
        return out.select(pl.lit(sid[0], dtype=sid.dtype).alias("symbol_id"), pl.all())
    return frame.group_by(list(KEYS), maintain_order=True).agg(exprs)


def _last_of_per_event(result: pl.DataFrame, frame: pl.DataFrame, exprs: list[pl.Expr]) -> pl.DataFrame:
    # An expression that is not an aggregation (the guide's BookImbalanceTop5 computes one value
    # per snapshot) yields a list per bar; its value at the bar's last event is the state known at
    # close. Detected by the dtype: X per event in a select, List(X) per bar in the group_by.
    per_event = frame.clear().select(exprs).schema
    fix = [
        name
        for name, dtype in per_event.items()
        if result.schema[name] == pl.List(dtype) and name not in BAR_COLUMNS
    ]
    return result.with_columns(pl.col(c).list.last() for c in fix) if fix else result


def _add_kernel_outputs(result: pl.DataFrame, frame: pl.DataFrame, resolved: list[_Resolved]) -> pl.DataFrame:
    # One kernel pass per distinct (kernel, config): the notebook features share one pass.
    cache: dict[tuple[Any, str], pl.DataFrame] = {}
    for r in resolved:
        if not isinstance(r.spec, KernelAggregationSpec):
            continue
        kernel = type(r.spec).kernel
        key = (kernel, repr(sorted(r.config.items())))
        if key not in cache:
            cache[key] = kernel(frame, r.config)
        computed = cache[key].select(*KEYS, *(pl.col(o).alias(n) for o, n in r.renames.items()))
        result = result.join(computed, on=list(KEYS), how="left", maintain_order="left")
    return result


def _onto_spine(
    result: pl.DataFrame,
    spine: pl.DataFrame,
    bar_cols: list[str],
    feature_cols: list[str],
    count_cols: list[str],
) -> pl.DataFrame:
    missing = [k for k in KEYS if k not in spine.columns]
    if missing:
        raise PointlineError(f"spine lacks {missing}; pass the frame a spine builder returned")
    spine_bar_cols = [c for c in BAR_COLUMNS if c in spine.columns]
    base = spine.select(*KEYS, *spine_bar_cols)
    joined = base.join(result.drop(bar_cols), on=list(KEYS), how="left", maintain_order="left")
    if count_cols:
        joined = joined.with_columns(pl.col(c).fill_null(0) for c in count_cols)
    return joined.select(*KEYS, *spine_bar_cols, *feature_cols).sort(list(KEYS))
