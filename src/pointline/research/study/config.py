"""Study configuration (YAML or JSON), validated with messages that name the field.

Example (YAML)::

    symbol: BTCUSDT
    exchanges: [binance-futures, bybit, okex-swap]
    start: 2025-11-01
    end: 2026-02-01
    interval: 5m
    thresholds: [1.0, 1.5, 2.0, 2.5]
    holdings: {15m: 3, 30m: 6, 1h: 12, 2h: 24}
    fees: {taker_bps: 5, maker_bps: 2}
    walk_forward: {split: 2025-12-31}
    parity: false
    out: study-out
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pointline.errors import PointlineError, ValidationError
from pointline.research.backtest.sweep import DEFAULT_HOLDINGS, DEFAULT_THRESHOLDS, DEFAULT_VOL_FILTERS
from pointline.research.study.inputs import CONSENSUS_FEATURES
from pointline.research.timeline import to_us
from pointline.scale.executors import EXECUTORS

_UNITS_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text, so a bad date is reported against its field."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_interval(value: str | int, *, field_name: str = "interval") -> int:
    """``"5m"`` / ``"1h"`` / ``"300s"`` / µs integer → µs.

    Example
    -------
    >>> parse_interval("5m")
    300000000
    """
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", str(value))
    if not match:
        raise ValidationError(
            f"{field_name}: expected a duration like '5m', '1h', '300s' or µs > 0, got {value!r}",
            [(field_name, "bad duration")],
        )
    return int(match.group(1)) * _UNITS_US[match.group(2)]


@dataclass
class StudyConfig:
    """Everything a study needs; see ``docs/research.md`` for each field.

    Timestamps: ``start`` / ``end`` / ``walk_forward.split`` are ISO dates or datetimes (UTC) or µs.
    """

    symbol: str = "BTCUSDT"
    exchanges: list[str] = field(default_factory=lambda: ["binance-futures", "bybit", "okex-swap"])
    start: str | int | None = None
    end: str | int | None = None
    lake: str | None = None
    interval: str | int = "5m"
    suffixes: dict[str, str] = field(default_factory=dict)
    consensus_features: list[str] = field(default_factory=lambda: list(CONSENSUS_FEATURES))
    features: list[str] = field(default_factory=lambda: [f"{f}_consensus" for f in CONSENSUS_FEATURES])
    rank_window: int = 864
    min_periods: int = 288
    sign: int = 1
    contrarian: bool = True
    horizons: dict[str, int] = field(
        default_factory=lambda: {"5m": 1, "15m": 3, "30m": 6, "1h": 12, "2h": 24}
    )
    thresholds: list[float] = field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    holdings: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HOLDINGS))
    vol_filters: dict[str, list[str] | None] = field(default_factory=lambda: dict(DEFAULT_VOL_FILTERS))
    fees: dict[str, float] = field(default_factory=lambda: {"taker_bps": 5.0, "maker_bps": 2.0})
    regime: dict[str, Any] = field(default_factory=dict)
    regime_min_obs: int = 200
    entry: str = "next_open"
    overlapping: bool = False
    min_trades: int = 50
    min_trades_oos: int = 20
    walk_forward: dict[str, Any] = field(default_factory=dict)
    parity: bool = False
    inputs: dict[str, str] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    out: str | None = None

    @property
    def interval_us(self) -> int:
        """Bar length in µs."""
        return parse_interval(self.interval)

    @property
    def fee_bps(self) -> float:
        """Round-trip fee in bps: taker (entry) + maker (exit)."""
        return float(self.fees.get("taker_bps", 0.0)) + float(self.fees.get("maker_bps", 0.0))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        """Build and validate a config from a mapping (unknown keys are errors)."""
        if not isinstance(data, dict):
            raise ValidationError(
                "study config: expected a mapping at the top level", [("$", "not a mapping")]
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(
                f"study config: unknown field(s) {unknown}; expected some of {sorted(known)}",
                [(f"$.{k}", "unknown field") for k in unknown],
            )
        cfg = cls(**data)
        cfg.validate()
        return cfg

    @classmethod
    def from_file(cls, path: str | Path) -> StudyConfig:
        """Read a ``.yaml`` / ``.yml`` / ``.json`` study config."""
        p = Path(path)
        if not p.is_file():
            raise ValidationError(f"study config: file not found: {p}", [("$", "missing file")])
        text = p.read_text()
        try:
            data = json.loads(text) if p.suffix.lower() == ".json" else yaml.load(text, Loader=_YamlLoader)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ValidationError(f"study config: cannot parse {p}: {exc}", [("$", "parse error")]) from None
        return cls.from_dict(data or {})

    def validate(self) -> None:
        """Raise :class:`ValidationError` listing every problem found (each names its field)."""
        problems = _type_problems(self)
        if problems:
            _raise(problems)
        if not self.exchanges:
            problems.append(("$.exchanges", "expected a non-empty list of exchange names"))
        elif len(set(self.exchanges)) != len(self.exchanges):
            problems.append(("$.exchanges", f"expected distinct exchange names, got {self.exchanges}"))
        if not self.features:
            problems.append(("$.features", "expected at least one signal feature"))
        if not (1 <= self.min_periods <= self.rank_window):
            problems.append(
                ("$.min_periods", f"expected 1 <= min_periods <= rank_window ({self.rank_window})")
            )
        if self.sign not in (1, -1):
            problems.append(("$.sign", "expected +1 or -1"))
        if self.entry not in ("next_open", "signal_close"):
            problems.append(("$.entry", "expected 'next_open' or 'signal_close'"))
        for section in ("horizons", "holdings"):
            bars_by_name = getattr(self, section)
            if not bars_by_name:
                problems.append((f"$.{section}", "expected at least one {name: bars} entry"))
            for name, bars in bars_by_name.items():
                if not _is_int(bars) or bars < 1:
                    problems.append((f"$.{section}.{name}", f"expected a positive bar count, got {bars!r}"))
        if not self.thresholds or any(not _is_number(t) or t < 0 for t in self.thresholds):
            problems.append(("$.thresholds", "expected a non-empty list of non-negative numbers"))
        if not self.vol_filters:
            problems.append(("$.vol_filters", "expected at least one {name: [regimes] or null} entry"))
        for name, regimes in self.vol_filters.items():
            if regimes is not None and (not _is_list_of(regimes, str) or not set(regimes) <= _REGIMES):
                problems.append(
                    (f"$.vol_filters.{name}", "expected null or a list of low_vol, normal, high_vol, warmup")
                )
        for key, value in self.fees.items():
            if key not in ("taker_bps", "maker_bps"):
                problems.append((f"$.fees.{key}", "unknown fee; expected taker_bps and/or maker_bps"))
            elif not _is_number(value) or value < 0:
                problems.append((f"$.fees.{key}", f"expected a non-negative number of bps, got {value!r}"))
        for name in ("min_trades", "min_trades_oos", "regime_min_obs"):
            if getattr(self, name) < 0:
                problems.append((f"$.{name}", "expected a non-negative count"))
        problems += _regime_problems(self.regime)
        problems += _walk_forward_problems(self.walk_forward)
        problems += _execution_problems(self.execution)
        problems += _span_problems(self.start, self.end)
        try:
            parse_interval(self.interval)
        except ValidationError:
            problems.append(("$.interval", f"expected a duration like '5m', got {self.interval!r}"))
        if problems:
            _raise(problems)


_REGIMES = {"low_vol", "normal", "high_vol", "warmup"}
_REGIME_INTS = ("short_bars", "long_bars", "min_history", "window_bars")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_time(v: Any) -> bool:
    return isinstance(v, str | dt.date) or _is_int(v)


def _is_list_of(v: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(v, list | tuple) and all(isinstance(x, kind) for x in v)


def _is_map_of(v: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, kind) for k, x in v.items())


#: Expected type of each field, checked before any value: ``(check, description)``.
_FIELD_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "symbol": (lambda v: isinstance(v, str) and bool(v.strip()), "a symbol name"),
    "exchanges": (lambda v: _is_list_of(v, str), "a list of exchange names"),
    "start": (lambda v: v is None or _is_time(v), "a date, datetime or µs integer"),
    "end": (lambda v: v is None or _is_time(v), "a date, datetime or µs integer"),
    "lake": (lambda v: v is None or isinstance(v, str | os.PathLike), "a lake path"),
    "interval": (lambda v: isinstance(v, str) or _is_int(v), "a duration like '5m'"),
    "suffixes": (lambda v: _is_map_of(v, str), "a mapping {exchange: suffix}"),
    "consensus_features": (lambda v: _is_list_of(v, str), "a list of feature names"),
    "features": (lambda v: _is_list_of(v, str), "a list of feature names"),
    "rank_window": (_is_int, "an integer number of bars"),
    "min_periods": (_is_int, "an integer number of bars"),
    "sign": (_is_int, "+1 or -1"),
    "contrarian": (lambda v: isinstance(v, bool), "true or false"),
    "horizons": (lambda v: _is_map_of(v, object), "a mapping {label: bars}"),
    "thresholds": (lambda v: isinstance(v, list | tuple), "a list of numbers"),
    "holdings": (lambda v: _is_map_of(v, object), "a mapping {label: bars}"),
    "vol_filters": (lambda v: _is_map_of(v, object), "a mapping {name: [regimes] or null}"),
    "fees": (lambda v: _is_map_of(v, object), "a mapping {taker_bps: x, maker_bps: y}"),
    "regime": (lambda v: _is_map_of(v, object), "a mapping of regime settings"),
    "entry": (lambda v: isinstance(v, str), "'next_open' or 'signal_close'"),
    "overlapping": (lambda v: isinstance(v, bool), "true or false"),
    "min_trades": (_is_int, "an integer trade count"),
    "min_trades_oos": (_is_int, "an integer trade count"),
    "regime_min_obs": (_is_int, "an integer bar count"),
    "walk_forward": (lambda v: _is_map_of(v, object), "a mapping {split: DATE} or {train_days, test_days}"),
    "parity": (lambda v: isinstance(v, bool), "true or false"),
    "inputs": (lambda v: _is_map_of(v, (str, os.PathLike)), "a mapping {exchange: parquet path}"),
    "execution": (lambda v: _is_map_of(v, object), "a mapping {executor: NAME, max_workers: N}"),
    "out": (lambda v: v is None or isinstance(v, str | os.PathLike), "an output directory"),
}


def _type_problems(cfg: StudyConfig) -> list[tuple[str, str]]:
    problems = []
    for name, (check, expected) in _FIELD_TYPES.items():
        value = getattr(cfg, name)
        if not check(value):
            problems.append((f"$.{name}", f"expected {expected}, got {value!r}"))
    return problems


def _regime_problems(regime: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    known = {"method", "quantiles", "min_fraction", *_REGIME_INTS}
    for key, value in regime.items():
        path = f"$.regime.{key}"
        if key not in known:
            problems.append((path, f"unknown setting; expected some of {sorted(known)}"))
        elif key == "method" and value not in ("expanding", "trailing"):
            problems.append((path, f"expected 'expanding' or 'trailing', got {value!r}"))
        elif key == "quantiles" and not (
            _is_list_of(value, (int, float)) and len(value) == 2 and 0 < value[0] < value[1] < 1
        ):
            problems.append((path, f"expected [low, high] with 0 < low < high < 1, got {value!r}"))
        elif key == "min_fraction" and not (_is_number(value) and 0 < value <= 1):
            problems.append((path, f"expected a number in (0, 1], got {value!r}"))
        elif key in _REGIME_INTS and not (_is_int(value) and value >= 1):
            problems.append((path, f"expected a positive number of bars, got {value!r}"))
    window, history = regime.get("window_bars", 288 * 30), regime.get("min_history", 288)
    if regime.get("method") == "trailing" and _is_int(window) and _is_int(history) and window < history:
        problems.append(
            (
                "$.regime.window_bars",
                f"expected at least min_history ({history}), got {window}: a trailing window that "
                "short never holds enough history and every bar stays 'warmup'",
            )
        )
    return problems


def _execution_problems(execution: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for key, value in execution.items():
        path = f"$.execution.{key}"
        if key not in ("executor", "max_workers"):
            problems.append((path, "unknown setting; expected executor and/or max_workers"))
        elif key == "executor" and value not in EXECUTORS:
            problems.append((path, f"expected one of {', '.join(EXECUTORS)}, got {value!r}"))
        elif key == "max_workers" and not (_is_int(value) and value >= 1):
            problems.append((path, f"expected a positive number of workers, got {value!r}"))
    return problems


def _walk_forward_problems(wf: dict[str, Any]) -> list[tuple[str, str]]:
    if not wf:
        return []
    problems = []
    known = {"split", "train_days", "test_days", "step_days", "anchored"}
    for key in sorted(set(wf) - known):
        problems.append((f"$.walk_forward.{key}", f"unknown setting; expected some of {sorted(known)}"))
    if not ({"split"} <= set(wf) or {"train_days", "test_days"} <= set(wf)):
        problems.append(("$.walk_forward", "expected {split: DATE} or {train_days: N, test_days: M}"))
    if "split" in wf:
        problems += _time_problems("walk_forward.split", wf["split"])
    for key in ("train_days", "test_days", "step_days"):
        if key in wf and not (_is_number(wf[key]) and wf[key] > 0):
            problems.append((f"$.walk_forward.{key}", f"expected a positive number of days, got {wf[key]!r}"))
    step, test = wf.get("step_days"), wf.get("test_days")
    if _is_number(step) and _is_number(test) and 0 < step < test:
        problems.append(
            (
                "$.walk_forward.step_days",
                f"expected at least test_days ({test}), got {step}: test windows would overlap and the "
                "out-of-sample totals count their trades twice",
            )
        )
    if "anchored" in wf and not isinstance(wf["anchored"], bool):
        problems.append(("$.walk_forward.anchored", f"expected true or false, got {wf['anchored']!r}"))
    return problems


def _time_problems(name: str, value: Any) -> list[tuple[str, str]]:
    try:
        to_us(value, name=name)
    except PointlineError as exc:
        return [(f"$.{name}", str(exc).removeprefix(f"{name}: "))]
    return []


def _span_problems(start: Any, end: Any) -> list[tuple[str, str]]:
    problems = [p for n, v in (("start", start), ("end", end)) if v is not None for p in _time_problems(n, v)]
    if not problems and start is not None and end is not None and to_us(end) <= to_us(start):
        problems.append(
            ("$.end", f"expected end after start (the range is [start, end)), got {start} .. {end}")
        )
    return problems


def _raise(problems: list[tuple[str, str]]) -> None:
    lines = "; ".join(f"{p}: {m}" for p, m in problems)
    raise ValidationError(f"study config is invalid: {lines}", problems)
