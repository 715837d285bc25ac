"""The pipeline's JSON contract: request / output schemas, validation with readable errors, defaults.

A request is checked in two passes and every problem of both is reported at once:

1. the JSON Schema shipped with the package (``schemas/request_v2.schema.json``, draft 2020-12):
   shapes, types, ranges, enums, unknown keys (with a "did you mean" hint);
2. semantic checks the schema cannot express: unique source / operator / label names, operator
   sources that exist, ``timeline.start < timeline.end``, table ↔ aggregation compatibility when the
   aggregation registry knows the aggregation, finite numbers, one clock step, consistent symbol lists.

Each problem is a ``(json_path, message)`` pair such as
``("$.spine.config.volume_threshold", "expected a number > 0, got -5")``.
A valid request is returned as a normalised copy with every default filled in (see docs/pipeline.md).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from pointline.errors import PointlineError, ValidationError
from pointline.lake.schema import EVENT_TABLES, decoded_name
from pointline.research.timeline import to_us

Problem = tuple[str, str]

#: Default ``join_strategy`` per source table: trade events are bucketed into bars, state tables
#: (quotes, books) are attached as of each bar's known-at time.
DEFAULT_JOIN_STRATEGY: dict[str, str] = {
    "trades": "bucket",
    "quotes": "asof_backward",
    "book_snapshot_25": "asof_backward",
}
#: Where artifacts go when ``artifacts.output_dir`` is not given (relative to the working directory).
DEFAULT_OUTPUT_ROOT = "pointline_runs"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@cache
def _schema_text(name: str) -> str:
    return resources.files("pointline.research.pipeline_v2").joinpath("schemas", name).read_text("utf-8")


def load_request_schema() -> dict[str, Any]:
    """The request JSON Schema (draft 2020-12) shipped with the package, as a fresh dict.

    Returns
    -------
    dict
        The parsed ``request_v2.schema.json``; mutating it does not affect validation.

    Example
    -------
    >>> load_request_schema()["properties"]["schema_version"]["const"]
    '2.0'
    """
    return json.loads(_schema_text("request_v2.schema.json"))


def load_output_schema() -> dict[str, Any]:
    """The output JSON Schema (draft 2020-12) shipped with the package, as a fresh dict.

    Example
    -------
    >>> sorted(load_output_schema()["required"])
    ['artifacts', 'decision', 'quality_gates', 'results']
    """
    return json.loads(_schema_text("output_v2.schema.json"))


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(_schema_text(name)))


def validate_quant_research_input_v2(request: Any) -> dict[str, Any]:
    """Validate a pipeline request and return a normalised copy with every default filled in.

    Parameters
    ----------
    request
        The parsed JSON request (a dict). It is never mutated.

    Returns
    -------
    dict
        A deep copy of ``request`` with defaults filled (``mode``, ``timeline.ts_col``, spine config
        flags, operator ``stage`` / ``agg`` / ``join_strategy`` / ``config``, label ``type`` /
        ``normalization`` / ``min_periods``, ``evaluation``, ``constraints`` (both reproducibility
        spellings), ``artifacts``, ``execution``). Timestamps stay ISO strings; their clock is
        ``timeline.ts_col`` and a datetime without an offset is UTC.

    Raises
    ------
    pointline.errors.ValidationError
        One error listing every problem as ``<json path>: <what was expected>``; ``.problems`` holds
        the ``(path, message)`` pairs.

    Example
    -------
    >>> req = {"schema_version": "2.0", "request_id": "r1",
    ...        "timeline": {"start": "2024-05-01", "end": "2024-05-02"},
    ...        "sources": [{"name": "t", "table": "trades",
    ...                     "filters": {"exchange": "binance-futures", "symbol": "BTCUSDT"}}],
    ...        "spine": {"type": "volume", "config": {"volume_threshold": 100.0}}}
    >>> validate_quant_research_input_v2(req)["spine"]["config"]["use_absolute_volume"]
    True
    """
    if not isinstance(request, dict):
        problem = ("$", f"expected a JSON object (the request), got {_render(request)}")
        raise ValidationError(format_problems([problem], "pipeline request"), [problem])
    problems = schema_problems(request, _validator("request_v2.schema.json"))
    problems += semantic_problems(request)
    problems = _unique_sorted(problems)
    if problems:
        raise ValidationError(format_problems(problems, "pipeline request"), problems)
    return _normalise(request)


def validate_output_v2(output: Any) -> dict[str, Any]:
    """Check a pipeline output against ``output_v2.schema.json``.

    Parameters
    ----------
    output
        What the runner is about to return.

    Returns
    -------
    dict
        ``output`` itself (unchanged) when it is valid.

    Raises
    ------
    pointline.errors.ValidationError
        Every problem with its JSON path, as for requests.

    Example
    -------
    >>> validate_output_v2({"decision": {"status": "accept", "reasons": []},
    ...     "results": {"row_count": 0, "columns": [], "metrics": {}},
    ...     "quality_gates": {"passed_gates": [], "failed_gates": [], "gate_results": {}},
    ...     "artifacts": {"paths": []}})["decision"]["status"]
    'accept'
    """
    if not isinstance(output, dict):
        problem = ("$", f"expected a JSON object (the output), got {_render(output)}")
        raise ValidationError(format_problems([problem], "pipeline output"), [problem])
    problems = schema_problems(output, _validator("output_v2.schema.json"))
    gates = output.get("quality_gates")
    if isinstance(gates, dict) and isinstance(gates.get("passed_gates"), list):
        failed = gates.get("failed_gates")
        failed_names = set(map(str, failed)) if isinstance(failed, list) else set()
        for name in sorted(set(map(str, gates["passed_gates"])) & failed_names):
            problems.append(("$.quality_gates", f"gate {name!r} is listed as both passed and failed"))
    problems = _unique_sorted(problems)
    if problems:
        raise ValidationError(format_problems(problems, "pipeline output"), problems)
    return output


def format_problems(problems: list[Problem], what: str = "pipeline request") -> str:
    """One message listing every problem, one per line: ``<json path>: <message>``."""
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return f"invalid {what} ({count}):\n" + "\n".join(f"  {path}: {msg}" for path, msg in problems)


# --- schema errors → (path, message) ---------------------------------------------------------------


def schema_problems(instance: Any, validator: Draft202012Validator) -> list[Problem]:
    """Translate every JSON Schema violation of ``instance`` into ``(json_path, message)`` pairs."""
    root = validator.schema
    problems: list[Problem] = []
    for error in validator.iter_errors(instance):
        problems.extend(_translate(error, root))
    return problems


def _translate(error: SchemaError, root: dict[str, Any]) -> list[Problem]:
    path = _json_path(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if kind in ("anyOf", "oneOf") and error.context:
        # The alternative whose type the value has says best what is wrong with it (a negative
        # threshold: "a number > 0", not the whole list of alternatives).
        matched = [e for e in error.context if e.validator != "type"]
        if matched:
            return [p for e in matched for p in _translate(e, root)]
    if kind == "required":
        props = schema.get("properties", {})
        return [
            (_join(path, key), "required field is missing" + _expected_suffix(props.get(key), root))
            for key in error.validator_value
            if isinstance(instance, dict) and key not in instance
        ]
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            out.append(
                (_join(path, key), f"unknown field; {did_you_mean}allowed fields: {', '.join(allowed)}")
            )
        return out
    if kind == "enum" and isinstance(instance, str):
        options = [str(v) for v in error.validator_value]
        hint = difflib.get_close_matches(instance, options, n=1, cutoff=0.6)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        return [(path, f"expected {_describe(schema, root)}, got {_render(instance)}{suffix}")]
    if kind == "uniqueItems":
        return [(path, f"expected distinct items, got duplicates in {_render(instance)}")]
    if kind in ("minItems", "maxItems") and "x-expected" not in schema:
        return [(path, f"expected at least {error.validator_value} item(s), got {_render(instance)}")]
    if kind in _DESCRIBED:
        return [(path, f"expected {_describe(schema, root)}, got {_render(instance)}")]
    return [(path, error.message)]


_DESCRIBED = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "pattern",
        "minLength",
        "maxLength",
        "anyOf",
        "oneOf",
        "minItems",
        "maxItems",
        "multipleOf",
        "format",
    }
)
_TYPE_NOUN = {
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "boolean": "true or false",
    "null": "null",
    "number": "a number",
    "integer": "an integer",
}


def _expected_suffix(schema: Any, root: dict[str, Any]) -> str:
    return f"; expected {_describe(schema, root)}" if isinstance(schema, dict) else ""


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` chains (the shipped schemas only use ``#/$defs/...``)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _describe(schema: Any, root: dict[str, Any]) -> str:
    """What a value matching ``schema`` looks like, in words ("a number > 0", "one of ...")."""
    schema = _resolve(schema, root)
    if "x-expected" in schema:
        return str(schema["x-expected"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        noun = _TYPE_NOUN[kind]
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{noun} between {low} and {high}"
        bounds = [
            f"{op} {schema[key]}"
            for key, op in (
                ("exclusiveMinimum", ">"),
                ("minimum", ">="),
                ("exclusiveMaximum", "<"),
                ("maximum", "<="),
            )
            if key in schema
        ]
        return " and ".join([f"{noun} {bounds[0]}", *bounds[1:]]) if bounds else noun
    if kind == "string" and schema.get("minLength"):
        return "a non-empty string"
    if isinstance(kind, str):
        return _TYPE_NOUN.get(kind, kind)
    return "a valid value"


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path = _join(path, part)
    return path


def _join(path: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    text = str(key)
    return f"{path}.{text}" if _IDENTIFIER.match(text) else f"{path}[{json.dumps(text)}]"


def _render(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unique_sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (_path_key(p[0]), p[1]))


def _path_key(path: str) -> list[tuple[int, Any]]:
    """Sort key that orders ``[2]`` before ``[10]``."""
    return [(0, int(tok)) if tok.isdigit() else (1, tok) for tok in re.findall(r"\d+|[^\[\].\d]+", path)]


# --- semantic checks ------------------------------------------------------------------------------


def semantic_problems(request: dict[str, Any]) -> list[Problem]:
    """Problems the schema cannot see. Defensive: parts with the wrong shape are skipped here
    because the schema pass already reports them."""
    problems: list[Problem] = []
    problems += _non_finite_numbers(request, "$")
    sources = _dicts(request.get("sources"))
    tables = {s["name"]: s.get("table") for _, s in sources if isinstance(s.get("name"), str)}
    problems += _duplicates(sources, "sources")
    problems += _timeline_problems(request.get("timeline"))
    problems += _source_problems(sources)
    problems += _spine_problems(request.get("spine"))
    problems += _per_symbol_problems(request)
    operators = _dicts(request.get("operators"))
    problems += _duplicates(operators, "operators")
    mode = request.get("mode", "bar_then_feature")
    for i, op in operators:
        problems += _operator_problems(i, op, tables, mode if isinstance(mode, str) else "bar_then_feature")
    labels = _dicts(request.get("labels"))
    problems += _duplicates(labels, "labels")
    label_names = [lab["name"] for _, lab in labels if isinstance(lab.get("name"), str)]
    evaluation = request.get("evaluation")
    metrics = _dicts(evaluation.get("metrics")) if isinstance(evaluation, dict) else []
    for i, metric in metrics:
        label = metric.get("label")
        if not isinstance(label, str) or metric.get("type") != "rank_ic":
            continue
        if label not in label_names and "horizon" not in metric:
            problems.append(
                (
                    f"$.evaluation.metrics[{i}].label",
                    f"expected the name of a declared label{_hint(label, label_names)} or an explicit "
                    f"'horizon', got {label!r}",
                )
            )
    constraints = request.get("constraints")
    if isinstance(constraints, dict):
        skip, check = constraints.get("skip_reproducibility_check"), constraints.get("check_reproducibility")
        if isinstance(skip, bool) and isinstance(check, bool) and skip == check:
            problems.append(
                (
                    "$.constraints.check_reproducibility",
                    f"contradicts skip_reproducibility_check={json.dumps(skip)}; give only one of the two",
                )
            )
    return problems


def _dicts(items: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, x) for i, x in enumerate(items) if isinstance(x, dict)] if isinstance(items, list) else []


def _hint(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    listing = f" (known: {', '.join(known)})" if known else ""
    return f"{listing}; did you mean {match[0]!r}?" if match else listing


def _duplicates(items: list[tuple[int, dict[str, Any]]], collection: str) -> list[Problem]:
    first: dict[str, int] = {}
    out = []
    for i, item in items:
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            out.append(
                (
                    f"$.{collection}[{i}].name",
                    f"expected a unique name, got {name!r} (also used by $.{collection}[{first[name]}])",
                )
            )
        else:
            first[name] = i
    return out


def _non_finite_numbers(value: Any, path: str) -> list[Problem]:
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"expected a finite number, got {value}")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite_numbers(v, _join(path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite_numbers(v, _join(path, i))]
    return []


def _timeline_problems(timeline: Any) -> list[Problem]:
    if not isinstance(timeline, dict):
        return []
    parsed: dict[str, int] = {}
    out: list[Problem] = []
    iso = _validator("request_v2.schema.json").schema["$defs"]["time"]["pattern"]
    for key in ("start", "end"):
        value = timeline.get(key)
        if not isinstance(value, str) or not re.match(iso, value):
            continue  # the schema pass reports non-ISO text
        try:
            parsed[key] = to_us(value, name=f"timeline.{key}")
        except PointlineError:
            out.append((f"$.timeline.{key}", f"expected a real calendar date/time, got {_render(value)}"))
    if len(parsed) == 2 and parsed["start"] >= parsed["end"]:
        out.append(
            (
                "$.timeline.end",
                f"expected a time after timeline.start ({timeline['start']}), got {timeline['end']!r}",
            )
        )
    return out


def _source_problems(sources: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    out: list[Problem] = []
    known = all(_is_table(s.get("table")) for _, s in sources)
    if sources and known and not any(s.get("table") == "trades" for _, s in sources):
        out.append(
            ("$.sources", 'expected at least one source with table "trades" (bars are built from trades)')
        )
    lists = [
        (i, s["filters"]["symbol"])
        for i, s in sources
        if isinstance(s.get("filters"), dict) and isinstance(s["filters"].get("symbol"), list)
    ]
    for i, symbols in lists[1:]:
        if symbols != lists[0][1]:
            out.append(
                (
                    f"$.sources[{i}].filters.symbol",
                    f"expected the same symbol list as $.sources[{lists[0][0]}].filters.symbol "
                    "(a request fans out over one list of symbols), or a single symbol string",
                )
            )
    return out


_BUILTIN_SPINES = ("clock", "tick", "volume", "dollar", "hybrid_volume_time")


def _per_symbol_problems(request: dict[str, Any]) -> list[Problem]:
    """A spine setting given per symbol (``{"BTCUSDT": 100, "ETHUSDT": 2000}``) names exactly the
    request's symbols."""
    spine = request.get("spine")
    config = spine.get("config") if isinstance(spine, dict) else None
    if not isinstance(config, dict) or not any(isinstance(v, dict) for v in config.values()):
        return []
    try:
        from pointline.research.pipeline_v2.plan import symbols_of

        symbols = symbols_of(request)
    except (KeyError, TypeError, IndexError):  # malformed sources: the schema pass reports them
        return []
    out: list[Problem] = []
    for key, value in config.items():
        if not isinstance(value, dict):
            continue
        missing = [s for s in symbols if s not in value]
        extra = [s for s in value if s not in symbols]
        if missing or extra:
            parts = ([f"no value for {', '.join(missing)}"] if missing else []) + (
                [f"{', '.join(extra)} not among the request's symbols ({', '.join(symbols)})"]
                if extra
                else []
            )
            out.append((f"$.spine.config.{key}", "; ".join(parts)))
    return out


def _spine_problems(spine: Any) -> list[Problem]:
    if (
        isinstance(spine, dict)
        and isinstance(spine.get("type"), str)
        and spine["type"] not in _BUILTIN_SPINES
    ):
        return _custom_spine_problems(spine)
    if (
        not isinstance(spine, dict)
        or spine.get("type") != "clock"
        or not isinstance(spine.get("config"), dict)
    ):
        return []
    given = [k for k in ("step", "step_seconds") if k in spine["config"]]
    if len(given) != 1:
        got = "both" if given else "neither"
        return [
            ("$.spine.config", f"expected exactly one of 'step' (e.g. \"5m\") or 'step_seconds', got {got}")
        ]
    return []


def _operator_problems(i: int, op: dict[str, Any], tables: dict[str, Any], mode: str) -> list[Problem]:
    source = op.get("source")
    if not isinstance(source, str):
        return []
    if source not in tables:
        hint = _hint(source, sorted(tables))
        return [(f"$.operators[{i}].source", f"expected the name of a source{hint}, got {source!r}")]
    agg = op.get("agg", op.get("name"))
    table = tables[source]
    if op.get("stage", "aggregate") == "derive" or not isinstance(agg, str) or not _is_table(table):
        return []
    spec = _known_aggregation(agg)
    if spec is None:
        return []
    out: list[Problem] = []
    allowlist = getattr(spec, "mode_allowlist", None)
    if isinstance(allowlist, list | tuple) and allowlist and mode not in allowlist:
        out.append(
            (
                f"$.operators[{i}].agg",
                f"aggregation {agg!r} runs in modes {', '.join(map(str, allowlist))}; the request's mode is {mode!r}",
            )
        )
    required = getattr(spec, "required_columns", None)
    # In event_joined mode the events carry columns joined from other sources, so the table alone
    # does not decide which columns exist.
    if mode != "event_joined" and isinstance(required, list | tuple):
        other_tables = set().union(*(_table_columns(t) for t in EVENT_TABLES if t != table))
        missing = [c for c in required if isinstance(c, str) and c not in _table_columns(table)]
        # Only columns that belong to another event table prove a mismatch; anything else
        # (bar columns, instrument metadata) is the engine's business.
        if any(c in other_tables for c in missing):
            needed = [c for c in required if isinstance(c, str) and c in other_tables | _table_columns(table)]
            fits = [t for t in EVENT_TABLES if all(c in _table_columns(t) for c in needed)]
            want = (
                f"a source with table {' or '.join(map(repr, fits))}" if fits else "a source providing them"
            )
            out.append(
                (
                    f"$.operators[{i}].source",
                    f"aggregation {agg!r} needs columns {', '.join(missing)} that table {table!r} of source "
                    f"{source!r} lacks; expected {want}",
                )
            )
    return out


#: Columns every bucketed event frame carries besides the table's own (docs/architecture.md).
_BAR_COLUMNS = frozenset({"symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "is_complete"})


def _is_table(value: Any) -> bool:
    return isinstance(value, str) and value in EVENT_TABLES


def _custom_spine_problems(spine: dict[str, Any]) -> list[Problem]:
    """A spine type added with ``register_spine`` is checked against the live registry and its config class."""
    from pointline.research.spines import list_spines, spine_config_from_dict

    known = list_spines()
    if spine["type"] not in known:
        return [
            (
                "$.spine.type",
                f"expected one of {', '.join(known)}, got {spine['type']!r}{_hint(spine['type'], known)}",
            )
        ]
    if isinstance(spine.get("config"), dict):
        try:
            spine_config_from_dict(spine["type"], spine["config"])
        except PointlineError as exc:
            return [("$.spine.config", f"expected a valid {spine['type']!r} config: {exc}")]
    return []


def _table_columns(table: str) -> set[str]:
    columns = EVENT_TABLES[table].columns
    return set(columns) | {decoded_name(c) for c in columns if c.endswith("_int")} | _BAR_COLUMNS


def _known_aggregation(name: str) -> Any | None:
    """The registered aggregation called ``name``, or None when the registry cannot tell.

    The registry is dynamic (users register aggregations at import time) and the runner checks
    unknown names itself, so any failure here only means "not knowable now".
    """
    try:
        from pointline.research.resample.registry import get_aggregation

        return get_aggregation(name)
    except Exception:
        return None


# --- defaults --------------------------------------------------------------------------------------


def _normalise(request: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(request)
    root = _validator("request_v2.schema.json").schema
    _fill_defaults(out, root, root)
    tables = {s["name"]: s["table"] for s in out["sources"]}
    for op in out["operators"]:
        op.setdefault("agg", op["name"])
        if "source" in op and "join_strategy" not in op:
            op["join_strategy"] = DEFAULT_JOIN_STRATEGY[tables[op["source"]]]
    constraints = out["constraints"]
    if "skip_reproducibility_check" in constraints:
        constraints["check_reproducibility"] = not constraints["skip_reproducibility_check"]
    else:
        constraints["check_reproducibility"] = constraints.get("check_reproducibility", True)
        constraints["skip_reproducibility_check"] = not constraints["check_reproducibility"]
    out["artifacts"].setdefault("output_dir", f"{DEFAULT_OUTPUT_ROOT}/{out['request_id']}")
    return out


def _fill_defaults(instance: Any, schema: Any, root: dict[str, Any]) -> None:
    """Fill ``default`` values declared in the schema, following ``$ref``, ``items`` and ``if/then``."""
    schema = _resolve(schema, root)
    if isinstance(instance, dict):
        for key, sub in schema.get("properties", {}).items():
            if not isinstance(sub, dict):
                continue
            default = sub.get("default", _resolve(sub, root).get("default"))
            if key not in instance and "default" in {**_resolve(sub, root), **sub}:
                instance[key] = copy.deepcopy(default)
            if key in instance:
                _fill_defaults(instance[key], sub, root)
        for branch in schema.get("allOf", []):
            _fill_defaults(instance, branch, root)
        if "if" in schema and "then" in schema and Draft202012Validator(schema["if"]).is_valid(instance):
            _fill_defaults(instance, schema["then"], root)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            _fill_defaults(item, schema["items"], root)
