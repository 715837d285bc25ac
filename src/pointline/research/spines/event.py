"""Threshold bars: the state machine shared by tick, volume, dollar and hybrid volume/time bars.

A bar closes on the event that makes its running total reach the threshold (``>=``); that event
belongs to the closing bar, ``ts`` is its ``ts_local_us`` and the next bar starts from zero
(overshoot is not carried). With ``split_trades`` the closing event is split so every complete bar
holds exactly the threshold. Hybrid bars also close on time, ``max_time`` after the bar opened.
Subclasses only say how an event contributes to the total (:meth:`ThresholdBarBuilder.measure`).
"""

from __future__ import annotations

from abc import abstractmethod
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
    sort_events,
    spine_frame,
)
from pointline.research.spines.kernels import threshold_runs

#: Relative slack for Float64 totals: a float sum that misses the threshold by rounding noise
#: (1000 × 0.1 = 99.99999999999986) still closes the bar.
FLOAT_REL_TOL = 1e-9
#: Largest integer threshold: running totals of Int64 contributions stay exact below it.
_MAX_INT_THRESHOLD = 2**62


@dataclass(frozen=True)
class Measure:
    """Per-event contributions of one chunk and the threshold in the same units.

    ``is_qty_int`` marks an exact ``qty_int`` measure, for which split portions are exact integers.
    """

    values: np.ndarray
    threshold: int | float
    is_qty_int: bool = False

    @property
    def tol(self) -> int | float:
        return 0 if self.values.dtype.kind == "i" else float(self.threshold) * FLOAT_REL_TOL


class ThresholdBarBuilder(SpineBuilder):
    """Event-driven bars closed by a running total with reset (plus optional time closes)."""

    def split(self, config: Any) -> bool:
        """Whether closing events are split across bars."""
        return bool(getattr(config, "split_trades", False))

    def max_time_us(self, config: Any) -> int:
        """Hybrid time limit in µs; 0 means bars never close on time."""
        return 0

    @abstractmethod
    def measure(self, state: SpineState, events: pl.DataFrame, lake: LakeArg) -> tuple[Measure, SpineState]:
        """Contributions of ``events`` to the running total (and the state with any scale learned)."""

    def initial_state(
        self, config: Any, anchor_ts_us: int, *, symbol_id: int = 0, start_ts_us: int | None = None
    ) -> SpineState:
        """Bar 0 open at ``anchor_ts_us`` (µs, ts_local_us clock) with an empty running total.

        Example
        -------
        >>> state = get_builder("volume").initial_state(VolumeBarConfig(100.0), 0)  # doctest: +SKIP
        """
        config = self.check_config(config)
        return SpineState(
            config=config,
            symbol_id=symbol_id,
            anchor_ts_us=anchor_ts_us,
            bar_index=0,
            open_ts_us=anchor_ts_us,
        )

    def advance(
        self, state: SpineState, trades: Frame, *, lake: LakeArg = None
    ) -> tuple[pl.DataFrame, SpineState]:
        """Fold one chunk of trades (total order, after the state's last event) into the state.

        Parameters
        ----------
        state
            From :meth:`initial_state` or a previous :meth:`advance`.
        trades
            Trades with ``ts_local_us`` (µs), ``file_id``, ``file_line_number`` and the measure
            columns of this bar type; those before the anchor are ignored.
        lake
            Used only to look up instrument metadata the frame does not carry.

        Returns
        -------
        (bars, state)
            The bars completed by the chunk (spine frame) and the state to continue from.

        Example
        -------
        >>> bars, state = builder.advance(state, day1)  # doctest: +SKIP
        """
        config = state.config
        df = sort_events(trades)
        ts, fid, line = event_keys(df)
        check_chunk_order(state, ts, fid, line)
        chunk_last = last_key(ts, fid, line, state.last_key)
        # Trades before the anchor are in no bar (build_spine never reads them): the running
        # state starts at the anchor however the trades are chunked.
        first = int(np.searchsorted(ts, state.anchor_ts_us, side="left"))
        if first:
            df, ts, fid, line = df.slice(first), ts[first:], fid[first:], line[first:]
        split = self.split(config)
        if df.height == 0:
            return empty_spine(split), state.replace(last_key=chunk_last)
        measure, state = self.measure(state, df, lake)
        values = measure.values
        dtype = values.dtype.type
        if np.issubdtype(values.dtype, np.integer) and measure.threshold > _MAX_INT_THRESHOLD:
            raise PointlineError(
                f"spine {self.name!r}: the threshold {config} is {measure.threshold:.3g} in the "
                "instrument's integer units, beyond what a bar can sum exactly (2**62); use a smaller one"
            )
        run_idx, run_ts, run_count, run_step, run_first, run_carry, open_ts, running = threshold_runs(
            ts,
            values,
            dtype(measure.threshold),
            dtype(measure.tol),
            self.max_time_us(config),
            split,
            state.open_ts_us,
            dtype(state.running),
        )
        counts = run_count
        n_bars = int(counts.sum())
        run_of_bar = np.repeat(np.arange(counts.shape[0]), counts)
        starts = np.cumsum(counts) - counts
        pos = np.arange(n_bars) - starts[run_of_bar]
        bar_ts = run_ts[run_of_bar] + pos * run_step[run_of_bar]
        idx = run_idx[run_of_bar]
        has_close = idx >= 0
        safe = np.maximum(idx, 0)
        split_cols = None
        new_carry = (state.carry_fraction, state.carry_qty_int)
        if split:
            split_cols, new_carry = _split_columns(
                state, measure, run_of_bar, pos, idx, has_close, run_idx, run_first, run_carry, starts, counts
            )
        bars = spine_frame(
            state.symbol_id,
            state.bar_index + np.arange(n_bars),
            np.concatenate([[state.open_ts_us], bar_ts[:-1]]) if n_bars else bar_ts,
            bar_ts,
            fid[safe],
            line[safe],
            has_close,
            True,
            split=split_cols,
        )
        new_running = running.item() if hasattr(running, "item") else running
        state = state.replace(
            bar_index=state.bar_index + n_bars,
            open_ts_us=int(open_ts),
            running=new_running,
            last_key=chunk_last,
            carry_fraction=new_carry[0],
            carry_qty_int=new_carry[1],
        )
        return bars, state

    def finish(self, state: SpineState, end_ts_us: int) -> pl.DataFrame:
        """Time closes due by ``end_ts_us`` (hybrid), then the unfinished bar.

        The unfinished bar ``[open, end_ts_us]`` has ``ts = bucket_end = end_ts_us``, a null close
        key and ``is_complete = False``; it is omitted only when it would be empty of time
        (the previous bar closed exactly at ``end_ts_us``).

        Parameters
        ----------
        state
            State after the last chunk.
        end_ts_us
            Timeline end (µs, ts_local_us clock, exclusive).

        Returns
        -------
        pl.DataFrame
            Spine rows (complete time closes, then the incomplete bar).
        """
        split = self.split(state.config)
        max_time = self.max_time_us(state.config)
        open_ts, bar_index = state.open_ts_us, state.bar_index
        parts = []
        if max_time > 0 and end_ts_us >= open_ts + max_time:
            # A time close exactly at end_ts_us is complete: every event before it has been seen.
            r = (end_ts_us - open_ts) // max_time
            ts = open_ts + max_time * np.arange(1, r + 1, dtype=np.int64)
            parts.append(
                spine_frame(
                    state.symbol_id,
                    bar_index + np.arange(r),
                    np.concatenate([[open_ts], ts[:-1]]),
                    ts,
                    None,
                    None,
                    None,
                    True,
                    split=_carry_only(state, r) if split else None,
                )
            )
            open_ts, bar_index = int(ts[-1]), bar_index + r
            state = state.replace(carry_fraction=0.0, carry_qty_int=None)
        if open_ts < end_ts_us:
            end = np.array([end_ts_us], np.int64)
            parts.append(
                spine_frame(
                    state.symbol_id,
                    np.array([bar_index]),
                    np.array([open_ts]),
                    end,
                    None,
                    None,
                    None,
                    False,
                    split=_carry_only(state, 1) if split else None,
                )
            )
        if not parts:
            return empty_spine(split)
        return pl.concat(parts) if len(parts) > 1 else parts[0]


def _carry_only(state: SpineState, n: int) -> dict[str, np.ndarray]:
    carry = np.zeros(n)
    carry_int = np.zeros(n, np.int64)
    carry[0] = state.carry_fraction
    carry_int[0] = state.carry_qty_int or 0
    return {
        "split_fraction": np.full(n, np.nan),
        "split_qty_int": np.full(n, None),
        "carry_fraction": carry,
        "carry_qty_int": carry_int if state.carry_qty_int is not None else np.full(n, None),
    }


def _split_columns(
    state: SpineState,
    measure: Measure,
    run_of_bar: np.ndarray,
    pos: np.ndarray,
    idx: np.ndarray,
    has_close: np.ndarray,
    run_idx: np.ndarray,
    run_first: np.ndarray,
    run_carry: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
) -> tuple[dict[str, np.ndarray], tuple[float, int | None]]:
    """Which part of each closing event lies in each bar (first bar of a run: the remainder of
    the open bar; further bars: exactly the threshold), and the carry into the following bar."""
    values = measure.values
    n_bars = idx.shape[0]
    event_measure = values[np.maximum(idx, 0)].astype(np.float64)
    portion = np.where(pos == 0, run_first[run_of_bar], measure.threshold).astype(values.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(
            has_close & (event_measure != 0), portion / event_measure, np.where(has_close, 1.0, np.nan)
        )
    carry = np.zeros(n_bars)
    carry_int = np.zeros(n_bars, np.int64)
    if n_bars:
        carry[0] = state.carry_fraction
        carry_int[0] = state.carry_qty_int or 0
    # The bar right after an event run holds that event's leftover.
    after = starts + counts
    ev = (run_idx >= 0) & (run_carry > 0)
    inside = ev & (after < n_bars)
    carry_measure = values[np.maximum(run_idx, 0)].astype(np.float64)
    carry[after[inside]] = run_carry[inside] / carry_measure[inside]
    if measure.is_qty_int:
        carry_int[after[inside]] = run_carry[inside]
    new_carry: tuple[float, int | None] = (state.carry_fraction, state.carry_qty_int)
    if run_idx.shape[0]:
        last = run_idx.shape[0] - 1
        if n_bars and after[last] >= n_bars:
            if ev[last]:
                frac = float(run_carry[last] / carry_measure[last])
                new_carry = (frac, int(run_carry[last]) if measure.is_qty_int else None)
            else:
                new_carry = (0.0, 0 if measure.is_qty_int else None)
    cols = {
        "split_fraction": fraction,
        "split_qty_int": np.where(has_close, portion, 0) if measure.is_qty_int else np.full(n_bars, None),
        "carry_fraction": carry,
        "carry_qty_int": carry_int if measure.is_qty_int else np.full(n_bars, None),
    }
    if measure.is_qty_int:
        cols["split_qty_int"] = pl.Series(cols["split_qty_int"]).scatter(np.flatnonzero(~has_close), None)
    return cols, new_carry
