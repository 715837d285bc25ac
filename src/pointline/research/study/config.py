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
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pointline.errors import ValidationError
from pointline.research.backtest.sweep import DEFAULT_HOLDINGS, DEFAULT_THRESHOLDS, DEFAULT_VOL_FILTERS
from pointline.research.study.inputs import CONSENSUS_FEATURES

_UNITS_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


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
    entry: str = "next_open"
    overlapping: bool = False
    min_trades: int = 50
    min_trades_oos: int = 20
    walk_forward: dict[str, Any] = field(default_factory=dict)
    parity: bool = False
    inputs: dict[str, str] = field(default_factory=dict)
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
            data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ValidationError(f"study config: cannot parse {p}: {exc}", [("$", "parse error")]) from None
        return cls.from_dict(data or {})

    def validate(self) -> None:
        """Raise :class:`ValidationError` listing every problem found."""
        problems: list[tuple[str, str]] = []
        if not self.exchanges or not all(isinstance(e, str) for e in self.exchanges):
            problems.append(("$.exchanges", "expected a non-empty list of exchange names"))
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
        for name, bars in {**self.horizons, **self.holdings}.items():
            if not isinstance(bars, int) or bars < 1:
                problems.append(
                    (f"$.horizons/holdings.{name}", f"expected a positive bar count, got {bars!r}")
                )
        if not self.thresholds or any(not isinstance(t, int | float) or t < 0 for t in self.thresholds):
            problems.append(("$.thresholds", "expected a non-empty list of non-negative numbers"))
        for name, regimes in self.vol_filters.items():
            if regimes is not None and not set(regimes) <= {"low_vol", "normal", "high_vol", "warmup"}:
                problems.append(
                    (f"$.vol_filters.{name}", "regimes must be low_vol, normal, high_vol or warmup")
                )
        wf = self.walk_forward
        if wf and not ({"split"} <= set(wf) or {"train_days", "test_days"} <= set(wf)):
            problems.append(("$.walk_forward", "expected {split: DATE} or {train_days: N, test_days: M}"))
        try:
            parse_interval(self.interval)
        except ValidationError:
            problems.append(("$.interval", f"expected a duration like '5m', got {self.interval!r}"))
        if problems:
            lines = "; ".join(f"{p}: {m}" for p, m in problems)
            raise ValidationError(f"study config is invalid: {lines}", problems)
