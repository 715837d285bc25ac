"""Clock bars: fixed-length intervals ``[anchor + k·step, anchor + (k+1)·step)`` tiling time.

``ts = bucket_end``; an event exactly at a bar's end belongs to the next bar (null close key).
``bar_index`` is ``k``, the interval number counted from the anchor, so it is the same whatever
the chunking; with ``emit_empty=False`` empty intervals are skipped and indices have gaps.
At the timeline end: a bar ending exactly at ``end_ts_us`` is complete; a bar straddling it is
emitted with ``is_complete=False``, ``ts = end_ts_us`` (all it can know) and its nominal
``bucket_end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.spines.base import (
    Frame,
    LakeArg,
    SpineBuilder,
    SpineState,
    check_chunk_order,
    empty_spine,
    event_keys,
    last_key,
    require_positive,
    sort_events,
    spine_frame,
)
from pointline.research.spines.kernels import occupied_intervals
from pointline.research.spines.registry import register_spine

_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h|d)\s*$")
_UNIT_US = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "min": 60_000_000, "h": 3_600_000_000}
_UNIT_US["d"] = 24 * _UNIT_US["h"]
#: Refuse spines that would not fit in memory (e.g. a 1 µs step over a month).
MAX_BARS = 50_000_000


#: Longest clock step (100 years in µs): bar times stay far inside Int64.
MAX_STEP_US = 100 * 366 * 86_400_000_000


@dataclass(frozen=True)
class ClockConfig:
    """Clock bar parameters: give exactly one of ``step_seconds``, ``step_us`` or ``step``.

    Parameters
    ----------
    step_seconds
        Bar length in seconds (resolved to whole µs).
    step_us
        Bar length in µs.
    emit_empty
        Emit bars for intervals without trades (default); ``False`` skips them.
    step
        Bar length as text: ``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1d"``.

    Example
    -------
    >>> ClockConfig(step="5m").resolved_step_us
    300000000
    """

    step_seconds: float | None = None
    step_us: int | None = None
    emit_empty: bool = True
    step: str | None = None

    def __post_init__(self) -> None:
        given = [n for n in ("step_seconds", "step_us", "step") if getattr(self, n) is not None]
        if len(given) != 1:
            raise PointlineError(
                f"ClockConfig needs exactly one of step_seconds, step_us or step (e.g. step='5m'); got {given or 'none'}"
            )
        if self.step_us is not None:
            require_positive("ClockConfig", "step_us", self.step_us, integer=True)
        if self.step_seconds is not None:
            require_positive("ClockConfig", "step_seconds", self.step_seconds)
        if self.resolved_step_us < 1:
            raise PointlineError(
                f"ClockConfig: the step must be at least 1 µs, got {given[0]}={getattr(self, given[0])!r}"
            )
        if self.resolved_step_us > MAX_STEP_US:
            raise PointlineError(
                f"ClockConfig: the step must be at most 100 years, got {given[0]}={getattr(self, given[0])!r}"
            )

    @property
    def resolved_step_us(self) -> int:
        """Bar length in µs."""
        if self.step_us is not None:
            return int(self.step_us)
        if self.step_seconds is not None:
            return round(self.step_seconds * 1_000_000)
        match = _STEP.match(str(self.step).lower())
        if not match:
            raise PointlineError(
                f"ClockConfig.step: cannot read {self.step!r}; expected a number and a unit "
                "(us, ms, s, m, h, d), e.g. '5m' or '500ms'"
            )
        return round(float(match.group(1)) * _UNIT_US[match.group(2)])


@register_spine
class ClockBuilder(SpineBuilder):
    """Clock bars (``get_builder("clock")``); see :class:`ClockConfig`."""

    name = "clock"
    config_class = ClockConfig

    def needs_events_for(self, config: Any) -> bool:
        """Only ``emit_empty=False`` needs to see trades."""
        return not config.emit_empty

    def initial_state(
        self, config: Any, anchor_ts_us: int, *, symbol_id: int = 0, start_ts_us: int | None = None
    ) -> SpineState:
        """Open the interval containing ``start_ts_us`` (default the anchor) on the anchor's grid.

        Example
        -------
        >>> get_builder("clock").initial_state(ClockConfig(step="1m"), 0, start_ts_us=90_000_000).bar_index
        1
        """
        config = self.check_config(config)
        step = config.resolved_step_us
        k = 0 if start_ts_us is None else max(0, (start_ts_us - anchor_ts_us) // step)
        return SpineState(
            config=config,
            symbol_id=symbol_id,
            anchor_ts_us=anchor_ts_us,
            bar_index=k,
            open_ts_us=anchor_ts_us + k * step,
        )

    def advance(
        self, state: SpineState, trades: Frame, *, lake: LakeArg = None
    ) -> tuple[pl.DataFrame, SpineState]:
        """Bars that ended at or before the chunk's last event (events at a bar's end open the next).

        Events before the open interval (before the timeline start) are ignored.
        """
        df = sort_events(trades)
        ts, fid, line = event_keys(df)
        check_chunk_order(state, ts, fid, line)
        step = state.config.resolved_step_us
        k_occupied, n_in_last = occupied_intervals(ts, state.anchor_ts_us, step, state.bar_index)
        if k_occupied.shape[0] == 0:
            return empty_spine(), state.replace(last_key=last_key(ts, fid, line, state.last_key))
        k_last = int(k_occupied[-1])
        if state.config.emit_empty:
            ks = np.arange(state.bar_index, k_last, dtype=np.int64)
        else:
            occupied = k_occupied[:-1]
            if state.n_events > 0 and (occupied.shape[0] == 0 or occupied[0] != state.bar_index):
                occupied = (
                    np.concatenate([[state.bar_index], occupied]) if state.bar_index < k_last else occupied
                )
            ks = occupied.astype(np.int64)
        bars = self._bars(state, ks, True)
        in_last = int(n_in_last) + (state.n_events if k_last == state.bar_index else 0)
        return bars, state.replace(
            bar_index=k_last,
            open_ts_us=state.anchor_ts_us + k_last * step,
            n_events=in_last,
            last_key=last_key(ts, fid, line, state.last_key),
        )

    def finish(self, state: SpineState, end_ts_us: int) -> pl.DataFrame:
        """Complete bars ending at or before ``end_ts_us`` (µs), then the straddling bar if any."""
        step = state.config.resolved_step_us
        n_complete = (end_ts_us - state.anchor_ts_us) // step
        last = max(n_complete, state.bar_index)
        if state.config.emit_empty:
            if last - state.bar_index > MAX_BARS:
                raise PointlineError(
                    f"clock spine would have {last - state.bar_index} bars (step {step} µs); "
                    f"more than {MAX_BARS}: use a longer step or a shorter timeline"
                )
            ks = np.arange(state.bar_index, n_complete, dtype=np.int64)
        else:
            has = state.n_events > 0 and state.bar_index < n_complete
            ks = np.array([state.bar_index] if has else [], np.int64)
        parts = [self._bars(state, ks, True)]
        straddle = max(n_complete, state.bar_index)
        bar_start = state.anchor_ts_us + straddle * step
        if bar_start < end_ts_us and (
            state.config.emit_empty or (straddle == state.bar_index and state.n_events > 0)
        ):
            end = np.array([end_ts_us], np.int64)
            parts.append(
                spine_frame(
                    state.symbol_id,
                    np.array([straddle], np.int64),
                    np.array([bar_start], np.int64),
                    end,
                    None,
                    None,
                    None,
                    False,
                    bucket_end=end + (bar_start + step - end_ts_us),
                )
            )
        return pl.concat(parts)

    def _bars(self, state: SpineState, ks: np.ndarray, complete: bool) -> pl.DataFrame:
        step = state.config.resolved_step_us
        start = state.anchor_ts_us + ks * step
        return spine_frame(state.symbol_id, ks, start, start + step, None, None, None, complete)
