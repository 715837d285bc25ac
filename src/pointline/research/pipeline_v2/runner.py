"""``pipeline(request)``: a JSON request in, a feature table and an accept/reject decision out.

Stages: validate → load inputs (one read of each source) → compute (:mod:`engine`) → gates
(:mod:`gates`, which recompute) → labels → metrics → artifacts (Parquet feature table + lineage
JSON). A request whose ``filters.symbol`` is a list runs once per symbol, and the tables are
concatenated in symbol order; the result is identical to running the symbols one after another.
``execution.executor`` says where the symbols run (:mod:`pointline.scale.executors`): ``local``
worker processes or ``threads`` of this process, at most ``execution.max_workers`` at once (one
symbol runs inline), or one Ray task each. A worker process or Ray task first installs the caller's
registered aggregations, per-event and derived features, spines, gates and metrics
(:mod:`pointline.research.registries`).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

import pointline
from pointline.errors import DataNotFoundError, PointlineError
from pointline.lake import dim_symbol, manifest, storage
from pointline.research import query, registries
from pointline.research.discovery import no_rows_message
from pointline.research.labels import add_labels
from pointline.research.pipeline_v2.columns import source_columns
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.engine import compute
from pointline.research.pipeline_v2.gates import (
    GateContext,
    GateResult,
    PitTally,
    Streamed,
    requested_gates,
    run_gate,
)
from pointline.research.pipeline_v2.hashing import frame_hash, request_hash
from pointline.research.pipeline_v2.metrics import compute_metrics
from pointline.research.pipeline_v2.notices import (
    coverage_notice,
    duplicate_input_notices,
    request_notices,
    span_notice,
    stale_counts,
    stale_messages,
    stale_state_notices,
)
from pointline.research.pipeline_v2.plan import Plan, Source, build_plan, expand_symbols, symbols_of
from pointline.research.pipeline_v2.sizing import stream_chunk_us
from pointline.research.pipeline_v2.streamed import (
    ChunkTally,
    chunk_bounds,
    chunk_read_start,
    compute_streamed,
)
from pointline.scale.executors import map_items

#: Gates run concurrently in this many threads (they only read the computed context).
GATE_THREADS = 2


@dataclass
class SymbolRun:
    """One symbol's computed table, gate outcomes and lineage facts."""

    symbol: str
    features: pl.DataFrame
    gates: dict[str, dict[str, Any]]
    reasons: list[str]
    inputs: list[dict[str, Any]]
    unassigned_ratio: float
    timings: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def load_inputs(
    plan: Plan, lake: str | None = None, *, whole: bool = False
) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
    """Read every source of ``plan`` (decoded, total order) and describe what was read.

    Only the columns the plan's operators reference are read (:mod:`.columns`) unless ``whole``.
    """
    frames: dict[str, pl.DataFrame] = {}
    described = []
    wanted = {} if whole else source_columns(plan)
    for name, source in plan.sources.items():
        start = plan.read_start_us(name)
        version = storage.table_version(source.table, lake)
        df = query.read_table(
            source.table,
            source.exchange,
            source.symbol,
            start,
            plan.end_us,
            decoded=True,
            columns=wanted.get(name),
            lake=lake,
        )
        assert isinstance(df, pl.DataFrame)
        frames[name] = df
        file_ids = set(df["file_id"].unique().to_list()) if df.height else set()
        described.append(_described(name, source, lake, version, df.height, file_ids))
    return frames, described


def _described(
    name: str, source: Source, lake: str | None, version: int | None, rows: int, file_ids: set[int]
) -> dict[str, Any]:
    """A source's entry in the lineage's ``inputs``: what was read, from which table version and files."""
    info = dim_symbol.resolve(source.exchange, source.symbol, lake=lake)
    return {
        "source": name,
        "table": source.table,
        "exchange": source.exchange,
        "symbol": info.symbol,
        "symbol_id": info.symbol_id,
        "delta_version": version,
        "rows": rows,
        "file_ids": sorted(int(f) for f in file_ids),
    }


def _no_trades(plan: Plan, lake: str | None) -> DataNotFoundError:
    primary, timeline = plan.sources[plan.primary], plan.request["timeline"]
    return DataNotFoundError(
        "pipeline: the bars are built from trades, and there are none: "
        + no_rows_message(
            "trades", primary.exchange, primary.symbol, (timeline["start"], timeline["end"]), lake=lake
        )
    )


def run_symbol(request: dict[str, Any], lake: str | None = None) -> SymbolRun:
    """Compute, gate and label one single-symbol request (streamed when :mod:`.sizing` says so)."""
    timings: dict[str, float] = {}
    plan = build_plan(request)
    setting = request.get("execution", {}).get("streaming", "auto")
    chunk_us = stream_chunk_us(plan, setting, pointline.get_lake(lake))
    if chunk_us is not None:
        return _run_streamed(plan, lake, chunk_us, timings)
    t0 = time.perf_counter()
    inputs, described = load_inputs(plan, lake)
    timings["load"] = time.perf_counter() - t0
    if inputs[plan.primary].height == 0:
        raise _no_trades(plan, lake)
    primary = plan.sources[plan.primary]
    symbol_id = dim_symbol.resolve(primary.exchange, primary.symbol, lake=lake).symbol_id

    t0 = time.perf_counter()
    whole = False
    try:
        result = compute(plan, inputs, symbol_id=symbol_id)
    except pl.exceptions.ColumnNotFoundError:
        # An operator read a column its expressions do not name (e.g. inside a UDF): read whole.
        whole = True
        inputs, described = load_inputs(plan, lake, whole=True)
        result = compute(plan, inputs, symbol_id=symbol_id)
    timings["compute"] = time.perf_counter() - t0
    timings.update({f"compute.{k}": v for k, v in result.timings.items()})

    ctx = GateContext(
        plan=plan,
        symbol_id=symbol_id,
        inputs=inputs,
        result=result,
        reload=lambda: load_inputs(plan, lake, whole=whole)[0],
    )
    gates, reasons = _run_gates(ctx, timings)
    features = _labelled(plan, result.features, timings)
    symbol = plan.sources[plan.primary].symbol
    notice = coverage_notice(plan, inputs[plan.primary])
    notices = ([notice] if notice else []) + stale_state_notices(plan, result.used_rows)
    return SymbolRun(symbol, features, gates, reasons, described, result.unassigned_ratio, timings, notices)


class LakeReader:
    """A streamed run's reader (:data:`~.streamed.Reader`) on the lake: decoded events of one
    source and chunk, only the columns the plan needs (all of them after ``whole``); it remembers
    what it read for the lineage."""

    def __init__(self, plan: Plan, lake: str | None, *, whole: bool = False) -> None:
        self.plan, self.lake = plan, lake
        self.wanted = {} if whole else source_columns(plan)
        self.versions = {s.table: storage.table_version(s.table, lake) for s in plan.sources.values()}
        self._read: dict[tuple[str, int, int], tuple[int, set[int]]] = {}

    def __call__(self, name: str, lo: int, hi: int) -> pl.DataFrame:
        source = self.plan.sources[name]
        df = query.read_table(
            source.table,
            source.exchange,
            source.symbol,
            lo,
            hi,
            decoded=True,
            columns=self.wanted.get(name),
            lake=self.lake,
        )
        assert isinstance(df, pl.DataFrame)
        self._read[(name, lo, hi)] = (df.height, set(df["file_id"].unique().to_list()))
        return df

    def has_read(self, name: str) -> bool:
        return any(n == name for n, _, _ in self._read)

    def described(self) -> list[dict[str, Any]]:
        """What :func:`load_inputs` says of its reads, over every chunk read (each once)."""
        out = []
        for name, source in self.plan.sources.items():
            reads = [v for (n, _, _), v in self._read.items() if n == name]
            rows, file_ids = sum(r for r, _ in reads), set().union(*(ids for _, ids in reads))
            out.append(_described(name, source, self.lake, self.versions[source.table], rows, file_ids))
        return out


def _run_streamed(plan: Plan, lake: str | None, chunk_us: int, timings: dict[str, float]) -> SymbolRun:
    """:func:`run_symbol` reading ``chunk_us`` of the timeline at a time (:mod:`.streamed`): the same
    table, in memory bounded by a chunk's events; the gates recompute from the lake chunk by chunk."""
    primary = plan.sources[plan.primary]
    symbol_id = dim_symbol.resolve(primary.exchange, primary.symbol, lake=lake).symbol_id
    chunks = chunk_bounds(plan, chunk_us)
    pit, stale = PitTally(), {}

    def on_used(used: dict[str, pl.DataFrame], spine: pl.DataFrame) -> None:
        pit.add(used, spine)
        stale_counts(used, stale)

    t0 = time.perf_counter()
    whole = False
    reader = LakeReader(plan, lake)
    tally = ChunkTally(on_used=on_used)
    label = primary.symbol
    try:
        result = compute_streamed(plan, reader, symbol_id=symbol_id, chunks=chunks, tally=tally, label=label)
    except pl.exceptions.ColumnNotFoundError:
        whole, pit, stale = True, PitTally(), {}
        reader, tally = LakeReader(plan, lake, whole=True), ChunkTally(on_used=on_used)
        result = compute_streamed(plan, reader, symbol_id=symbol_id, chunks=chunks, tally=tally, label=label)
    timings["compute"] = time.perf_counter() - t0
    if tally.first_primary_us is None:
        raise _no_trades(plan, lake)
    for name in plan.sources:  # sources no operator reads: read for the lineage only
        if not reader.has_read(name):
            for i, (lo, hi) in enumerate(chunks):
                reader(name, chunk_read_start(plan, name, i, lo), hi)
    ctx = GateContext(
        plan=plan,
        symbol_id=symbol_id,
        inputs={},
        result=result,
        reload=lambda: load_inputs(plan, lake, whole=whole)[0],
        stream=Streamed(
            reader=lambda: LakeReader(plan, lake, whole=whole), chunks=chunks, chunk_us=chunk_us, pit=pit
        ),
    )
    gates, reasons = _run_gates(ctx, timings)
    features = _labelled(plan, result.features, timings)
    notice = span_notice(plan, tally.first_primary_us, tally.last_primary_us)
    notices = ([notice] if notice else []) + stale_messages(plan, stale)
    timings["streamed_chunks"] = float(len(chunks))
    timings["streamed_chunk_hours"] = chunk_us / 3_600_000_000
    return SymbolRun(
        primary.symbol,
        features,
        gates,
        reasons,
        reader.described(),
        result.unassigned_ratio,
        timings,
        notices,
    )


def _run_gates(ctx: GateContext, timings: dict[str, float]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The request's gates, concurrently; outcomes in request order, and the reasons of failures."""
    gates: dict[str, dict[str, Any]] = {}
    reasons: list[str] = []
    names = requested_gates(ctx.plan.constraints)

    def timed_gate(name: str) -> tuple[GateResult, float]:
        t0 = time.perf_counter()
        return run_gate(name, ctx), time.perf_counter() - t0

    # Gates only read the context, so the recomputing ones overlap in threads (Polars, the Numba
    # kernels and Delta reads release the GIL); outcomes are gathered in request order.
    with ThreadPoolExecutor(max_workers=min(GATE_THREADS, max(1, len(names)))) as pool:
        outcomes = list(pool.map(timed_gate, names))
    for name, (outcome, seconds) in zip(names, outcomes, strict=True):
        timings[f"gate.{name}"] = seconds
        gates[name] = outcome.as_dict()
        reasons.extend(outcome.reasons)
    return gates, reasons


def _labelled(plan: Plan, features: pl.DataFrame, timings: dict[str, float]) -> pl.DataFrame:
    t0 = time.perf_counter()
    if plan.labels:
        features = add_labels(features, [dict(spec) for spec in plan.labels])
    timings["labels"] = time.perf_counter() - t0
    return features


def _run_symbol_task(tables: dict[str, dict[str, Any]], lake: str, request: dict[str, Any]) -> SymbolRun:
    """:func:`run_symbol` in a worker process or Ray task: the caller's registrations first."""
    registries.restore(tables)
    return run_symbol(request, lake)


def run_request(request: Any, *, lake: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Validate and execute a v2 request; return the output document (see docs/pipeline.md).

    Raises
    ------
    pointline.errors.ValidationError
        The request is invalid (every problem listed with its JSON path).
    """
    started = time.perf_counter()
    normalised = validate_quant_research_input_v2(request)
    lake_root = pointline.get_lake(lake)
    output_dir = Path(
        normalised.get("artifacts", {}).get("output_dir")
        or Path("pipeline_outputs") / normalised["request_id"]
    )
    if output_dir.exists() and not output_dir.is_dir():  # found before the run, not after it
        raise PointlineError(f"artifacts.output_dir {output_dir} is a file; expected a directory")
    singles = expand_symbols(normalised)
    executor = normalised.get("execution", {}).get("executor", "local")
    max_workers = normalised.get("execution", {}).get("max_workers")
    if executor == "threads":
        task: Callable[[dict[str, Any]], SymbolRun] = functools.partial(run_symbol, lake=lake_root)
    else:
        # Worker processes and Ray tasks start from the built-ins: the caller's registrations first
        # (in this process, inline, installing them is a no-op).
        task = functools.partial(_run_symbol_task, registries.snapshot(), lake_root)
    runs, execution = map_items(task, singles, executor=executor, max_workers=max_workers)

    features = (
        pl.concat([r.features for r in runs], how="vertical_relaxed") if len(runs) > 1 else runs[0].features
    )
    gate_names = list(dict.fromkeys(name for r in runs for name in r.gates))
    gate_results: dict[str, Any] = {}
    for name in gate_names:
        if len(runs) == 1:
            gate_results[name] = runs[0].gates[name]
        else:
            per_symbol = {r.symbol: r.gates[name] for r in runs}
            gate_results[name] = {
                "passed": all(g["passed"] for g in per_symbol.values()),
                "per_symbol": per_symbol,
            }
    passed = [n for n in gate_names if gate_results[n]["passed"]]
    failed = [n for n in gate_names if not gate_results[n]["passed"]]
    reasons = [reason for r in runs for reason in r.reasons]

    unassigned = max((r.unassigned_ratio for r in runs), default=0.0)
    t0 = time.perf_counter()
    labels = normalised.get("labels") or []
    context = {
        "unassigned_ratio": unassigned,
        "label_columns": [label["name"] for label in labels],
        # A label's horizon: rank IC's overlap correction (Newey-West lags = horizon - 1).
        "label_windows": {label["name"]: int(label["window"]) for label in labels if "window" in label},
    }
    metrics = compute_metrics(features, normalised.get("evaluation", {}).get("metrics", []), context)
    metrics_s = time.perf_counter() - t0

    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PointlineError(
            f"artifacts.output_dir {output_dir}: cannot create it ({exc.strerror})"
        ) from None
    # Named by the request's content too: the same request_id run for another symbol or window (the
    # guide's loop) gets its own files instead of overwriting the last run's; a rerun of the same
    # request writes the same files.
    stem = f"{normalised['request_id']}-{request_hash(normalised)[:12]}"
    table_path = output_dir / f"{stem}.features.parquet"
    features.write_parquet(table_path)
    paths = [str(table_path.resolve())]
    timings = {
        "total_s": time.perf_counter() - started,
        "metrics": metrics_s,
        "per_symbol": {r.symbol: r.timings for r in runs},
    }
    if normalised.get("artifacts", {}).get("emit_lineage", True):
        lineage = _lineage(normalised, runs, features, lake_root, timings, execution)
        lineage_path = output_dir / f"{stem}.lineage.json"
        lineage_path.write_text(json.dumps(lineage, indent=2, default=str))
        paths.append(str(lineage_path.resolve()))

    return {
        "schema_version": "2.0",
        "request_id": normalised["request_id"],
        "warnings": request_notices(normalised)
        + [n for r in runs for n in r.notices]
        + duplicate_input_notices([i for r in runs for i in r.inputs], manifest.read_manifest(lake_root)),
        "decision": {"status": "accept" if not failed else "reject", "reasons": reasons},
        "results": {"row_count": features.height, "columns": features.columns, "metrics": metrics},
        "quality_gates": {"passed_gates": passed, "failed_gates": failed, "gate_results": gate_results},
        "artifacts": {"paths": paths},
    }


def pipeline(request: Any, *, lake: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run a Pipeline v2 request (the guide's entry point); same as :func:`run_request`.

    Example
    -------
    >>> output = pipeline(request)  # doctest: +SKIP
    >>> output["decision"]["status"]  # doctest: +SKIP
    'accept'
    """
    return run_request(request, lake=lake)


def _lineage(
    request: dict[str, Any],
    runs: list[SymbolRun],
    features: pl.DataFrame,
    lake: str,
    timings: dict[str, Any],
    execution: dict[str, Any],
) -> dict[str, Any]:
    file_paths = _file_paths(lake, {fid for r in runs for i in r.inputs for fid in i["file_ids"]})
    inputs = []
    for r in runs:
        for item in r.inputs:
            inputs.append(
                {**item, "files": [{"file_id": f, "path": file_paths.get(f)} for f in item["file_ids"]]}
            )
    return {
        "request_id": request["request_id"],
        "request_hash": request_hash(request),
        "symbols": symbols_of(request),
        "lake": lake,
        "inputs": inputs,
        "output_hash": frame_hash(features),
        "package": {"name": "pointline", "version": pointline.__version__, "polars": pl.__version__},
        "execution": execution,
        "timings_s": timings,
    }


def _file_paths(lake: str, file_ids: set[int]) -> dict[int, str]:
    manifest = storage.read_all("_ingest_manifest", lake=lake)
    if manifest is None or not file_ids or "file_id" not in manifest.columns:
        return {}
    rows = (
        manifest.filter(pl.col("file_id").is_in(list(file_ids))).select("file_id", "path").unique("file_id")
    )
    return {int(f): str(p) for f, p in rows.iter_rows()}
