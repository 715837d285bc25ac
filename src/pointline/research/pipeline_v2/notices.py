"""Notices: what a valid request asks for that may not do what its author thinks.

The run goes on; each notice is one plain sentence in the output's ``warnings`` list (and printed
by ``pointline run``):

- an operator ``config`` key its aggregation does not read (ignored; e.g. a ``window`` on a per-bar
  aggregation);
- a source that reads another instrument than the bars' (a *reference instrument*: its features
  describe that instrument at each bar, which is what a cross-asset feature wants and what a loop
  that changes only the trades source's symbol does not);
- a timeline reaching more than a day beyond the primary trades read (the bars only cover the data;
  the last, unfinished bar stays open to the timeline end);
- an as-of source whose state at some bars is older than :data:`STALE_STATE_US` (its last quote or
  snapshot before a gap in its data fills every bar of the gap);
- inputs read from files the ingest flagged ``possible duplicate data`` (the same trades landed
  twice, or two markets mixed for one instrument).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pointline.research.pipeline_v2.plan import Plan, expand_symbols
from pointline.research.timeline import us_to_iso

#: A timeline reaching further than this beyond the primary trades read gets a notice (µs).
COVERAGE_SLACK_US = 86_400_000_000
#: As-of state older than this at a bar gets a notice (µs).
STALE_STATE_US = 300_000_000


def request_notices(normalised: dict[str, Any]) -> list[str]:
    """Notices decided by the request alone: ignored config keys, reference-instrument sources."""
    out = _config_notices(normalised)
    for single in expand_symbols(normalised):
        out += _reference_notices(single)
    return list(dict.fromkeys(out))


def coverage_notice(plan: Plan, trades: pl.DataFrame) -> str | None:
    """A notice when the primary trades read leave more than :data:`COVERAGE_SLACK_US` of the
    timeline uncovered at either end (``None`` otherwise, or without trades)."""
    if trades.height == 0:
        return None
    first, last = int(trades["ts_local_us"].min()), int(trades["ts_local_us"].max())  # type: ignore[arg-type]
    return span_notice(plan, first, last)


def span_notice(plan: Plan, first: int | None, last: int | None) -> str | None:
    """:func:`coverage_notice` from the first and last primary trade times (``None`` without trades)."""
    if first is None or last is None:
        return None
    if first - plan.start_us <= COVERAGE_SLACK_US and plan.end_us - last <= COVERAGE_SLACK_US:
        return None
    source = plan.sources[plan.primary]
    return (
        f"{source.symbol} on {source.exchange}: the timeline is [{us_to_iso(plan.start_us)}, {us_to_iso(plan.end_us)}) "
        f"but its trades run from {us_to_iso(first)} to {us_to_iso(last)}; bars cover only the data (the last, "
        "unfinished bar stays open to the timeline end)"
    )


def stale_state_notices(plan: Plan, used_rows: dict[str, pl.DataFrame]) -> list[str]:
    """Per as-of source: a notice when the state attached to some bars is older than
    :data:`STALE_STATE_US` (``used_rows[<source>:asof]`` holds each bar's ``ts`` and the state's
    ``ts_local_us``)."""
    return stale_messages(plan, stale_counts(used_rows))


#: Per as-of source key: (bars with stale state, bars, the oldest state's age in µs).
StaleCounts = dict[str, tuple[int, int, int]]


def stale_counts(used_rows: dict[str, pl.DataFrame], into: StaleCounts | None = None) -> StaleCounts:
    """The counts :func:`stale_messages` words, added to ``into`` (a streamed run adds its chunks)."""
    out = into if into is not None else {}
    for key, rows in used_rows.items():
        if not key.endswith(":asof") or rows.height == 0:
            continue
        age = rows.select((pl.col("ts") - pl.col("ts_local_us")).alias("age"))["age"]
        stale, oldest = int((age > STALE_STATE_US).sum()), int(age.max() or 0)  # type: ignore[arg-type]
        before = out.get(key, (0, 0, 0))
        out[key] = (before[0] + stale, before[1] + rows.height, max(before[2], oldest))
    return out


def stale_messages(plan: Plan, counts: StaleCounts) -> list[str]:
    out = []
    symbol = plan.sources[plan.primary].symbol
    for key, (stale, rows, oldest) in counts.items():
        if stale:
            out.append(
                f"{symbol}: source {key.removesuffix(':asof')!r} gives {stale} of {rows} bars state "
                f"older than {STALE_STATE_US // 60_000_000} minutes (the oldest {oldest / 60e6:.1f} minutes): "
                "its last event before a gap fills every bar of the gap"
            )
    return out


def duplicate_input_notices(inputs: list[dict[str, Any]], ledger: pl.DataFrame) -> list[str]:
    """A notice per source whose rows come from a file the ingest flagged as possible duplicate
    data (``inputs``: the lineage's input descriptions, with ``file_ids``; ``ledger``: the ingest
    ledger)."""
    flagged = ledger.filter(pl.col("reason").str.contains("possible duplicate data", literal=True))
    if flagged.height == 0:
        return []
    reasons = dict(zip(flagged["file_id"].to_list(), flagged["reason"].to_list(), strict=True))
    out = []
    for item in inputs:
        hits = [f for f in item.get("file_ids", []) if f in reasons]
        if hits:
            detail = reasons[hits[0]].split("possible duplicate data: ", 1)[-1]
            out.append(
                f"source {item['source']!r} ({item['symbol']} {item['table']}) reads {len(hits)} file(s) the "
                f"ingest flagged as possible duplicate data, e.g. file_id {hits[0]}: {detail}; the same events "
                "may be counted twice"
            )
    return out


def _config_notices(request: dict[str, Any]) -> list[str]:
    from pointline.research.resample.registry import get_aggregation, unknown_config_keys

    out = []
    for op in request.get("operators", []):
        config = op.get("config") or {}
        if op.get("stage", "aggregate") != "aggregate" or not config:
            continue
        try:
            spec = get_aggregation(op.get("agg", op["name"]))
        except Exception:  # unknown names are the runner's error to report
            continue
        unknown = unknown_config_keys(spec, config)
        if unknown:
            out.append(f"operator {op['name']!r}: {unknown}; ignored")
    return out


def _reference_notices(single: dict[str, Any]) -> list[str]:
    sources = single["sources"]
    primary = next((s for s in sources if s["table"] == "trades"), None)
    if primary is None:
        return []
    bars = (primary["filters"]["exchange"], primary["filters"]["symbol"])
    out = []
    for source in sources:
        instrument = (source["filters"]["exchange"], source["filters"]["symbol"])
        if source is primary or instrument == bars:
            continue
        out.append(
            f"source {source['name']!r} reads {instrument[1]} on {instrument[0]}, not the bars' instrument "
            f"({bars[1]} on {bars[0]}): its features describe {instrument[1]} at each {bars[1]} bar "
            f"(a reference instrument); to follow each symbol, give it the same symbol as {primary['name']!r}"
        )
    return out
