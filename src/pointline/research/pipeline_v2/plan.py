"""A validated request, normalised into the plan the engine executes.

The plan is a pure description: which sources to read (one symbol each), which spine, which
operators per source and stage, which labels. Multi-symbol requests are expanded into one plan
per symbol by :func:`expand_symbols`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pointline.errors import ValidationError
from pointline.research.pipeline_v2.contract import DEFAULT_JOIN_STRATEGY
from pointline.research.timeline import to_us

#: How far before the timeline start state sources (quotes, books, a second trades source) are
#: read, so the first bars see the state in force when the timeline opens (µs).
STATE_LOOKBACK_US = 3_600_000_000


@dataclass(frozen=True)
class Source:
    """One input: a lake table filtered to a single instrument."""

    name: str
    table: str
    exchange: str
    symbol: str


@dataclass(frozen=True)
class Operator:
    """One operator of the request (``stage`` aggregate | derive | per_event)."""

    name: str
    stage: str
    agg: str
    source: str | None
    config: dict[str, Any]
    join_strategy: str
    output_name: str | None
    output_prefix: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs to compute one symbol's feature table."""

    request: dict[str, Any]
    mode: str
    start_us: int
    end_us: int
    sources: dict[str, Source]
    primary: str
    spine_type: str
    spine_config: dict[str, Any]
    operators: tuple[Operator, ...]
    labels: tuple[dict[str, Any], ...]
    constraints: dict[str, Any] = field(default_factory=dict)

    def operators_for(self, source: str, stage: str = "aggregate") -> list[Operator]:
        return [op for op in self.operators if op.source == source and op.stage == stage]

    def read_start_us(self, source: str) -> int:
        """Where a source's read starts: the timeline start for the primary trades, an hour
        (:data:`STATE_LOOKBACK_US`) earlier for the state sources."""
        is_state = self.sources[source].table != "trades" or source != self.primary
        return self.start_us - STATE_LOOKBACK_US if is_state else self.start_us

    @property
    def derive_operators(self) -> list[Operator]:
        return [op for op in self.operators if op.stage == "derive"]


def symbols_of(request: dict[str, Any]) -> list[str]:
    """The symbols a request runs over: the list given in the first list-valued ``filters.symbol``."""
    for source in request["sources"]:
        symbol = source["filters"]["symbol"]
        if isinstance(symbol, list):
            return list(symbol)
    return [request["sources"][0]["filters"]["symbol"]]


def expand_symbols(request: dict[str, Any]) -> list[dict[str, Any]]:
    """One request per symbol: every list-valued ``filters.symbol`` is replaced by that symbol.

    Sources with a single string symbol (e.g. a reference instrument) stay as they are.
    """
    out = []
    for symbol in symbols_of(request):
        single = copy.deepcopy(request)
        for source in single["sources"]:
            if isinstance(source["filters"]["symbol"], list):
                source["filters"]["symbol"] = symbol
        out.append(single)
    return out


def _spine_config_for(request: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The spine config of one symbol: a setting given per symbol (``{"BTCUSDT": 100.0, ...}``)
    becomes that symbol's value."""
    config = dict(request["spine"].get("config") or {})
    return {k: (v[symbol] if isinstance(v, dict) else v) for k, v in config.items()}


def build_plan(request: dict[str, Any]) -> Plan:
    """Normalise a validated single-symbol request into a :class:`Plan`."""
    sources = {
        s["name"]: Source(s["name"], s["table"], s["filters"]["exchange"], s["filters"]["symbol"])
        for s in request["sources"]
    }
    primary = next((s.name for s in sources.values() if s.table == "trades"), None)
    if primary is None:
        raise ValidationError(
            "$.sources: expected at least one source with table 'trades' (bars are built from trades)",
            [("$.sources", "expected at least one trades source")],
        )
    operators = []
    for raw in request.get("operators", []):
        source = raw.get("source")
        table = sources[source].table if source in sources else None
        operators.append(
            Operator(
                name=raw["name"],
                stage=raw.get("stage", "aggregate"),
                agg=raw.get("agg", raw["name"]),
                source=source,
                config=dict(raw.get("config") or {}),
                join_strategy=raw.get("join_strategy")
                or DEFAULT_JOIN_STRATEGY.get(table or "trades", "bucket"),
                output_name=raw.get("output_name"),
                output_prefix=raw.get("output_prefix"),
            )
        )
    timeline = request["timeline"]
    return Plan(
        request=request,
        mode=request.get("mode", "bar_then_feature"),
        start_us=to_us(timeline["start"], name="timeline.start"),
        end_us=to_us(timeline["end"], name="timeline.end"),
        sources=sources,
        primary=primary,
        spine_type=request["spine"]["type"],
        spine_config=_spine_config_for(request, sources[primary].symbol),
        operators=tuple(operators),
        labels=tuple(request.get("labels", [])),
        constraints=dict(request.get("constraints") or {}),
    )
