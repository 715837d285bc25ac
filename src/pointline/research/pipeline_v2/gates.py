"""Quality gates that recompute instead of trusting declarations (DESIGN.md §6).

Each gate is a function ``gate(ctx) -> GateResult`` registered by name. The runner decides which
gates a request asks for (:func:`requested_gates`) and runs them in registry order.

- ``pit_ordering_check``: every input row used by a bar lies inside the bar (assigned events:
  ``bucket_start ≤ ts_local_us ≤ ts``, strictly before ``ts`` for bars closed on time; as-of state:
  at or before ``ts``, strictly before for bars closed on time), and the output is strictly ordered
  by ``(ts, bar_index)``.
- ``lookahead_check``: inputs are cut right after the boundary of several bars (10 % and 30 % of
  the complete bars and one more in the first 40 % chosen from the data); the features are
  recomputed on the truncated inputs and every bar up to the cut must be identical. Labels are excluded: they
  look ahead by definition.
- ``reproducibility_check``: inputs are read from the lake again and recomputed; the content hash
  must match.
- ``partition_safety_check``: UTC-day-chunked execution with carried state
  (:mod:`pointline.research.pipeline_v2.chunked`) must equal the one-pass table.
- ``online_parity_check`` (opt-in, ``constraints.check_online_parity``): every source's events
  replayed one at a time through the online path (:func:`pointline.online.pipeline.replay`) must
  give the same table; fails with a reason for what the online path does not take.
- ``max_unassigned_ratio``: the share of events that found no bar is at most the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.research.pipeline_v2 import streamed
from pointline.research.pipeline_v2.chunked import compute_chunked
from pointline.research.pipeline_v2.engine import EngineResult, compute
from pointline.research.pipeline_v2.hashing import differing_columns, frame_hash
from pointline.research.pipeline_v2.plan import Plan
from pointline.research.pipeline_v2.streamed import (
    Reader,
    chunk_bounds,
    compute_streamed,
)
from pointline.research.timeline import us_to_iso


@dataclass
class GateResult:
    """Outcome of one gate: ``passed``, details for the output, and reasons when it failed."""

    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, **self.details, **({"reasons": self.reasons} if self.reasons else {})}


@dataclass
class PitTally:
    """:func:`pit_counts` summed over the chunks of a streamed run."""

    per_source: dict[str, int] = field(default_factory=dict)
    checked: int = 0

    def add(self, used_rows: dict[str, pl.DataFrame], spine: pl.DataFrame) -> None:
        per_source, checked = pit_counts(used_rows, spine)
        for source, bad in per_source.items():
            self.per_source[source] = self.per_source.get(source, 0) + bad
        self.checked += checked


@dataclass
class Streamed:
    """A streamed run's inputs (:mod:`pointline.research.pipeline_v2.streamed`): gates recompute
    from the lake chunk by chunk instead of from events in memory."""

    #: A reader on the lake (each call re-reads: the reproducibility gate's fresh read).
    reader: Callable[[], Reader]
    chunks: list[tuple[int, int]]
    chunk_us: int
    pit: PitTally


@dataclass
class GateContext:
    """What a gate may look at and recompute.

    In a streamed run (``stream`` set) the events are not held: ``inputs`` is empty and
    ``result.used_rows`` too; a gate reads through ``stream.reader()`` chunk by chunk."""

    plan: Plan
    symbol_id: int
    inputs: dict[str, pl.DataFrame]
    result: EngineResult
    reload: Callable[[], dict[str, pl.DataFrame]]
    stream: Streamed | None = None


GateFn = Callable[[GateContext], GateResult]
_GATES: dict[str, GateFn] = {}


def register_gate(name: str) -> Callable[[GateFn], GateFn]:
    """Register a gate under ``name`` (replacing any previous one)."""

    def wrap(fn: GateFn) -> GateFn:
        _GATES[name] = fn
        return fn

    return wrap


def list_gates() -> list[str]:
    """Registered gate names in the order they run."""
    return list(_GATES)


def requested_gates(constraints: dict[str, Any]) -> list[str]:
    """The gates a request's ``constraints`` ask for."""
    names = []
    if constraints.get("require_pit_ordering", True):
        names.append("pit_ordering_check")
    if constraints.get("forbid_lookahead", True):
        names.append("lookahead_check")
    skip_repro = (
        constraints.get("skip_reproducibility_check", False)
        or constraints.get("check_reproducibility") is False
    )
    if not skip_repro:
        names.append("reproducibility_check")
    if constraints.get("partition_safety", True):
        names.append("partition_safety_check")
    if constraints.get("check_online_parity", False):
        names.append("online_parity_check")
    if constraints.get("max_unassigned_ratio") is not None:
        names.append("max_unassigned_ratio")
    return names


def run_gate(name: str, ctx: GateContext) -> GateResult:
    """Run one registered gate."""
    return _GATES[name](ctx)


def _close_keys(spine: pl.DataFrame) -> pl.DataFrame:
    return spine.select("symbol_id", "bar_index", pl.col("close_file_id").is_null().alias("_time_close"))


def pit_counts(used_rows: dict[str, pl.DataFrame], spine: pl.DataFrame) -> tuple[dict[str, int], int]:
    """Per source, the used rows outside their bar; and how many rows were checked."""
    closes = _close_keys(spine) if "close_file_id" in spine.columns else None
    checked = 0
    per_source: dict[str, int] = {}
    for source, used in used_rows.items():
        rows = used.filter(pl.col("bar_index").is_not_null() & pl.col("ts_local_us").is_not_null())
        if closes is not None:
            rows = rows.join(closes, on=["symbol_id", "bar_index"], how="left")
        else:
            rows = rows.with_columns(pl.lit(False).alias("_time_close"))
        before_end = (
            pl.when(pl.col("_time_close"))
            .then(pl.col("ts_local_us") < pl.col("ts"))
            .otherwise(pl.col("ts_local_us") <= pl.col("ts"))
        )
        inside = (
            before_end
            if source.endswith(":asof")
            else before_end & (pl.col("ts_local_us") >= pl.col("bucket_start"))
        )
        per_source[source] = rows.filter(~inside.fill_null(False)).height
        checked += rows.height
    return per_source, checked


@register_gate("pit_ordering_check")
def pit_ordering_check(ctx: GateContext) -> GateResult:
    features = ctx.result.features
    if ctx.stream is not None:
        per_source, checked = ctx.stream.pit.per_source, ctx.stream.pit.checked
    else:
        per_source, checked = pit_counts(ctx.result.used_rows, ctx.result.spine)
    violations = sum(per_source.values())
    ordered = features.select(
        ((pl.col("ts").diff() >= 0) & (pl.col("bar_index").diff() > 0)).fill_null(True).all()
    ).item()
    reasons = []
    if violations:
        worst = ", ".join(f"{s}: {n}" for s, n in per_source.items() if n)
        reasons.append(f"pit_ordering_check: {violations} input row(s) used outside their bar ({worst})")
    if not ordered:
        reasons.append("pit_ordering_check: output rows are not strictly ordered by (ts, bar_index)")
    return GateResult(
        passed=not reasons,
        details={"violations": violations, "checked_rows": checked, "output_ordered": bool(ordered)},
        reasons=reasons,
    )


#: Where the lookahead gate cuts, as fractions of the complete bars (plus one salted cut).
CUT_FRACTIONS = (0.1, 0.3)


def _cut_bars(ctx: GateContext) -> list[int]:
    complete = ctx.result.features.filter(pl.col("is_complete"))["bar_index"].to_list()
    if len(complete) < 2:
        return []
    # A recompute costs in proportion to how much input precedes its cut, and a bar that reads the
    # future changes whichever cut follows it; so the cuts sit in the first half of the range.
    picks = {complete[int(f * (len(complete) - 1))] for f in CUT_FRACTIONS}
    salt = int(frame_hash(ctx.result.spine.select("ts").head(1))[:8], 16)
    picks.add(complete[salt % max(1, (len(complete) * 2) // 5)])
    return sorted(picks)


def truncate_inputs(
    inputs: dict[str, pl.DataFrame], primary: str, boundary: dict[str, Any]
) -> dict[str, pl.DataFrame]:
    """Inputs as they were known right after a bar's boundary ``(ts, close_file_id, close_file_line_number)``.

    Events strictly before ``ts`` are kept. At exactly ``ts``: nothing if the bar closed on time;
    otherwise the primary source keeps events up to the closing one in total order and the other
    sources keep every row (state at or before ``ts`` is known to an event-closed bar).
    """
    ts, fid, line = boundary["ts"], boundary.get("close_file_id"), boundary.get("close_file_line_number")
    out = {}
    for name, df in inputs.items():
        before = pl.col("ts_local_us") < ts
        if fid is None:
            keep = before
        elif name == primary:
            at = (pl.col("ts_local_us") == ts) & (
                (pl.col("file_id") < fid)
                | ((pl.col("file_id") == fid) & (pl.col("file_line_number") <= line))
            )
            keep = before | at
        else:
            keep = pl.col("ts_local_us") <= ts
        out[name] = df.filter(keep)
    return out


@register_gate("lookahead_check")
def lookahead_check(ctx: GateContext) -> GateResult:
    cuts = _cut_bars(ctx)
    full = ctx.result.features
    spine = ctx.result.spine
    checks = []
    reasons = []
    for k in cuts:
        boundary = spine.filter(pl.col("bar_index") == k).row(0, named=True)
        if ctx.stream is None:
            truncated = truncate_inputs(ctx.inputs, ctx.plan.primary, boundary)
            again = compute(ctx.plan, truncated, symbol_id=ctx.symbol_id).features
        else:
            again = _streamed_until(ctx, ctx.stream, boundary)
        left = full.filter(pl.col("bar_index") <= k)
        right = again.filter(pl.col("bar_index") <= k)
        if right.columns != left.columns:
            right = right.select([c for c in left.columns if c in right.columns])
        bad = differing_columns(left, right)
        checks.append({"cut_bar": k, "cut_ts": us_to_iso(boundary["ts"]), "differing_columns": bad})
        if bad:
            reasons.append(
                f"lookahead_check: column(s) {bad} change for bars closed before {us_to_iso(boundary['ts'])} "
                f"(bar {k}) when later inputs are removed — they use information from after the bar's ts"
            )
    details = {"cuts": checks, "n_cuts": len(cuts)}
    if not cuts:
        details["note"] = "fewer than two complete bars: nothing to cut"
    return GateResult(passed=not reasons, details=details, reasons=reasons)


def _recompute(
    ctx: GateContext, gate: str, read: Reader, chunks: list[tuple[int, int]], last_chunk: int | None = None
) -> pl.DataFrame:
    """A gate's streamed run of the request (progress records named after the gate)."""
    symbol = ctx.plan.sources[ctx.plan.primary].symbol
    return compute_streamed(
        ctx.plan,
        read,
        symbol_id=ctx.symbol_id,
        chunks=chunks,
        last_chunk=last_chunk,
        label=f"{symbol} {gate}",
    ).features


def _streamed_until(ctx: GateContext, stream: Streamed, boundary: dict[str, Any]) -> pl.DataFrame:
    """A streamed run on the inputs as known right after ``boundary`` (:func:`truncate_inputs`
    applied to each chunk read), stopped after the chunk holding it."""
    read = stream.reader()
    cut = next(
        i for i, (lo, hi) in enumerate(stream.chunks) if boundary["ts"] < hi or i == len(stream.chunks) - 1
    )

    def truncated(name: str, lo: int, hi: int) -> pl.DataFrame:
        return truncate_inputs({name: read(name, lo, hi)}, ctx.plan.primary, boundary)[name]

    return _recompute(ctx, "lookahead_check", truncated, stream.chunks, last_chunk=cut)


@register_gate("reproducibility_check")
def reproducibility_check(ctx: GateContext) -> GateResult:
    first = frame_hash(ctx.result.features)
    if ctx.stream is None:
        again = compute(ctx.plan, ctx.reload(), symbol_id=ctx.symbol_id).features
    else:
        again = _recompute(ctx, "reproducibility_check", ctx.stream.reader(), ctx.stream.chunks)
    second = frame_hash(again)
    reasons = (
        []
        if first == second
        else [
            f"reproducibility_check: a rerun gave a different content hash; columns differ: {differing_columns(ctx.result.features, again)}"
        ]
    )
    return GateResult(passed=first == second, details={"hash": first, "rerun_hash": second}, reasons=reasons)


@register_gate("partition_safety_check")
def partition_safety_check(ctx: GateContext) -> GateResult:
    if ctx.stream is None:
        chunked = compute_chunked(ctx.plan, ctx.inputs, symbol_id=ctx.symbol_id).features
    else:
        # This run's chunk edges fall halfway between the run's own (noons for days): every chunk
        # edge of one run lies inside a chunk of the other.
        length = ctx.stream.chunk_us
        offset = chunk_bounds(ctx.plan, length, offset_us=length // 2)
        chunked = _recompute(ctx, "partition_safety_check", ctx.stream.reader(), offset)
    full = ctx.result.features
    if chunked.columns != full.columns and set(chunked.columns) == set(full.columns):
        chunked = chunked.select(full.columns)
    bad = differing_columns(full, chunked)
    if not bad:
        reasons = []
    elif ctx.stream is None:
        reasons = [f"partition_safety_check: day-chunked execution differs from one pass in {bad}"]
    else:
        reasons = [
            "partition_safety_check: the streamed run differs from one whose chunk edges fall halfway "
            f"between its own in {bad}: "
            "some state does not survive a chunk edge (a per-event feature sees at most the last "
            f"{streamed.PER_EVENT_CARRY} events of the chunk before); run with execution.streaming 'never' if it fits in memory"
        ]
    return GateResult(
        passed=not bad, details={"differing_columns": bad, "rows": full.height}, reasons=reasons
    )


@register_gate("online_parity_check")
def online_parity_check(ctx: GateContext) -> GateResult:
    from pointline.online.pipeline import replay  # the online path builds on this package

    full = ctx.result.features
    inputs, end_us = ctx.inputs, None
    if ctx.stream is not None:
        # Replayed over the first chunk (a day): the bars it completes are compared.
        read, (_, end_us) = ctx.stream.reader(), ctx.stream.chunks[0]
        inputs = {name: read(name, ctx.plan.read_start_us(name), end_us) for name in ctx.plan.sources}
    try:
        online = replay(ctx.plan.request, inputs, symbol_id=ctx.symbol_id, end_ts_us=end_us)
    except PointlineError as exc:
        return GateResult(passed=False, reasons=[f"online_parity_check: {exc}"])
    if end_us is not None:
        online = online.filter(pl.col("is_complete") & (pl.col("ts") < end_us))
        full = full.filter(pl.col("bar_index").is_in(online["bar_index"].implode()))
    if online.height == full.height and set(online.columns) == set(full.columns):
        online = online.select(full.columns).cast(full.schema)  # type: ignore[arg-type]
        bad = differing_columns(full, online)
    else:
        bad = sorted(set(online.columns) ^ set(full.columns)) or ["row count"]
    reasons = (
        []
        if not bad
        else [f"online_parity_check: events replayed one at a time give a different table ({bad})"]
    )
    return GateResult(
        passed=not bad,
        details={"differing_columns": bad, "rows": full.height, "online_rows": online.height},
        reasons=reasons,
    )


@register_gate("max_unassigned_ratio")
def max_unassigned_ratio(ctx: GateContext) -> GateResult:
    limit = float(ctx.plan.constraints.get("max_unassigned_ratio", 1.0))
    ratio = ctx.result.unassigned_ratio
    passed = ratio <= limit
    reasons = (
        [] if passed else [f"max_unassigned_ratio: {ratio:.4%} of events found no bar (limit {limit:.4%})"]
    )
    return GateResult(passed=passed, details={"unassigned_ratio": ratio, "limit": limit}, reasons=reasons)
