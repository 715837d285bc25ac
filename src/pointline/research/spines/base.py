"""The spine frame contract, the carried bar state and the builder interface (DESIGN.md §4).

Every builder is a state machine: ``initial_state`` opens bar 0 at the anchor, ``advance`` folds a
chunk of trades (in the total order) and returns the bars it completed, ``finish`` closes the
timeline. ``build_spine`` is exactly that fold over a single chunk, so one pass and any chunking
(by day, by rows, online one event at a time) give identical bars.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.lake.order import is_sorted_by
from pointline.research.timeline import TimeLike, to_us

Frame = pl.DataFrame | pl.LazyFrame
LakeArg = str | os.PathLike[str] | None

#: Column layout of a spine frame (docs/architecture.md); timestamps are µs on the ts_local_us clock.
SPINE_SCHEMA: dict[str, pl.DataType] = {
    "symbol_id": pl.Int64(),
    "bar_index": pl.Int64(),
    "bucket_start": pl.Int64(),
    "bucket_end": pl.Int64(),
    "ts": pl.Int64(),
    "close_file_id": pl.Int32(),
    "close_file_line_number": pl.Int32(),
    "is_complete": pl.Boolean(),
}
#: Extra columns of a ``split_trades=True`` spine: which part of the closing event (and of the
#: previous bar's closing event, "carry") lies in each bar. Used by ``assign_to_buckets``.
SPLIT_SCHEMA: dict[str, pl.DataType] = {
    "split_fraction": pl.Float64(),
    "split_qty_int": pl.Int64(),
    "carry_fraction": pl.Float64(),
    "carry_qty_int": pl.Int64(),
}


@dataclass(frozen=True)
class SpineState:
    """Everything a builder needs to continue a spine after a chunk; immutable.

    Attributes
    ----------
    config
        The spine config the state was opened with.
    symbol_id
        Instrument of the spine.
    anchor_ts_us
        Where the running state started (µs, ts_local_us clock).
    bar_index
        Index of the bar currently open.
    open_ts_us
        ``bucket_start`` of the open bar (µs).
    running
        Measure accumulated in the open bar (int for exact measures, float for notional).
    n_events
        Events seen in the open bar.
    last_key
        ``(ts_local_us, file_id, file_line_number)`` of the last event folded, to reject chunks
        out of order.
    qty_exp
        Decimal exponent of ``qty_int`` once known (volume measures are then exact integers).
    carry_fraction, carry_qty_int
        Part of the previous bar's closing event that lies in the open bar (``split_trades``).
    """

    config: Any
    symbol_id: int
    anchor_ts_us: int
    bar_index: int
    open_ts_us: int
    running: float | int = 0
    n_events: int = 0
    last_key: tuple[int, int, int] | None = None
    qty_exp: int | None = None
    carry_fraction: float = 0.0
    carry_qty_int: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> SpineState:
        """A copy of the state with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


class SpineBuilder(ABC):
    """Builds one symbol's spine; subclasses implement the state machine of one bar type."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    #: Whether ``build_spine`` needs trades (clock bars with ``emit_empty=True`` do not).
    needs_events: ClassVar[bool] = True

    def build_spine(
        self,
        *,
        symbol_id: int,
        start_ts_us: TimeLike,
        end_ts_us: TimeLike,
        config: Any,
        trades: Frame | None = None,
        lake: LakeArg = None,
        anchor_ts_us: TimeLike | None = None,
    ) -> pl.DataFrame:
        """Build the spine of ``symbol_id`` over ``[start_ts_us, end_ts_us)``.

        Parameters
        ----------
        symbol_id
            Instrument; written to the ``symbol_id`` column.
        start_ts_us, end_ts_us
            Timeline, µs since the epoch on the ``ts_local_us`` clock, half-open; or any time
            :func:`pointline.research.timeline.to_us` reads (``"2024-05-01"``, a datetime).
        config
            A config of this builder's type (e.g. ``VolumeBarConfig``).
        trades
            Trades in the total order (``ts_local_us``, ``file_id``, ``file_line_number`` plus the
            measure columns). ``None`` reads them from the lake with ``query.trades_by_id``.
            Rows outside ``[anchor, end_ts_us)`` are ignored.
        lake
            Lake location when trades are read from the lake.
        anchor_ts_us
            Where the running state starts (µs); default ``start_ts_us``; must be ``<= start_ts_us``.

        Returns
        -------
        pl.DataFrame
            The spine frame (docs/architecture.md), one row per bar ordered by ``bar_index``;
            the last, unfinished bar has ``is_complete = False``.

        Example
        -------
        >>> spine = get_builder("volume").build_spine(  # doctest: +SKIP
        ...     symbol_id=1, start_ts_us=0, end_ts_us=10**9, config=VolumeBarConfig(100.0), trades=df)
        """
        config = self.check_config(config)
        start_ts_us, end_ts_us = to_us(start_ts_us, name="start_ts_us"), to_us(end_ts_us, name="end_ts_us")
        anchor = start_ts_us if anchor_ts_us is None else to_us(anchor_ts_us, name="anchor_ts_us")
        if end_ts_us < start_ts_us:
            raise PointlineError(
                f"end_ts_us ({end_ts_us}) must be >= start_ts_us ({start_ts_us}); timelines are [start, end)"
            )
        if anchor > start_ts_us:
            raise PointlineError(f"anchor_ts_us ({anchor}) must be <= start_ts_us ({start_ts_us})")
        state = self.initial_state(config, anchor, symbol_id=symbol_id, start_ts_us=start_ts_us)
        parts = []
        if self.needs_events_for(config):
            events = trades if trades is not None else _read_trades(symbol_id, anchor, end_ts_us, lake)
            bars, state = self.advance(state, _within(sort_events(events), anchor, end_ts_us), lake=lake)
            parts.append(bars)
        parts.append(self.finish(state, end_ts_us))
        return pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]

    def check_config(self, config: Any) -> Any:
        """Return ``config`` if it is this builder's config type, else raise ``PointlineError``."""
        if not isinstance(config, self.config_class):
            raise PointlineError(
                f"spine {self.name!r} expects a {self.config_class.__name__}, got {type(config).__name__}"
            )
        return config

    def needs_events_for(self, config: Any) -> bool:
        """Whether bars depend on the events (clock bars with ``emit_empty=True`` do not)."""
        return self.needs_events

    @abstractmethod
    def initial_state(
        self, config: Any, anchor_ts_us: int, *, symbol_id: int = 0, start_ts_us: int | None = None
    ) -> SpineState:
        """State with bar 0 open at ``anchor_ts_us`` (µs, ts_local_us clock)."""

    @abstractmethod
    def advance(
        self, state: SpineState, trades: Frame, *, lake: LakeArg = None
    ) -> tuple[pl.DataFrame, SpineState]:
        """Fold a chunk of trades (total order, after the state's last event) into the state.

        Returns the bars the chunk completed (spine frame) and the new state.
        """

    @abstractmethod
    def finish(self, state: SpineState, end_ts_us: int) -> pl.DataFrame:
        """Bars still due at ``end_ts_us`` (µs): time closes up to it, then the unfinished bar."""


def _read_trades(symbol_id: int, start_us: int, end_us: int, lake: LakeArg) -> Frame:
    from pointline.research import query

    return query.trades_by_id(symbol_id, start_us, end_us, decoded=True, lazy=False, lake=lake)


def _within(events: pl.DataFrame, start_us: int, end_us: int) -> pl.DataFrame:
    """Rows of sorted ``events`` with ``start_us <= ts_local_us < end_us`` (a slice, no copy)."""
    ts = events["ts_local_us"].to_numpy()
    lo, hi = np.searchsorted(ts, [start_us, end_us], side="left")
    return events.slice(int(lo), int(hi - lo))


def _to_frame(events: Frame) -> pl.DataFrame:
    return events.collect() if isinstance(events, pl.LazyFrame) else events


def sort_events(events: Frame) -> pl.DataFrame:
    """Events with ``file_id``/``file_line_number`` (0 when absent) in the total order."""
    df = _to_frame(events)
    if "ts_local_us" not in df.columns:
        raise PointlineError(f"events need a 'ts_local_us' column (µs); got columns {df.columns}")
    missing = [c for c in ("file_id", "file_line_number") if c not in df.columns]
    if missing:
        df = df.with_columns(pl.lit(0, pl.Int32).alias(c) for c in missing)
    keys = ["ts_local_us", "file_id", "file_line_number"]
    return df if _is_sorted(df, keys) else df.sort(keys)


def _is_sorted(df: pl.DataFrame, keys: list[str]) -> bool:
    return is_sorted_by(df.with_columns(pl.col(keys).fill_null(0)), keys)


def event_keys(df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ts_local_us, file_id, file_line_number)`` as int64 / int32 numpy arrays."""
    return (
        df["ts_local_us"].cast(pl.Int64).to_numpy(),
        df["file_id"].cast(pl.Int32).fill_null(0).to_numpy(),
        df["file_line_number"].cast(pl.Int32).fill_null(0).to_numpy(),
    )


def check_chunk_order(state: SpineState, ts: np.ndarray, fid: np.ndarray, line: np.ndarray) -> None:
    """Reject a chunk that starts before the last event already folded into ``state``."""
    if state.last_key is None or ts.shape[0] == 0:
        return
    first = (int(ts[0]), int(fid[0]), int(line[0]))
    if first <= state.last_key:
        raise PointlineError(
            f"chunk starts at event {first} which is not after the last event already processed "
            f"{state.last_key}; chunks must follow each other in the order (ts_local_us, file_id, file_line_number)"
        )


def last_key(ts: np.ndarray, fid: np.ndarray, line: np.ndarray, default: tuple[int, int, int] | None):
    """Key of the chunk's last event, or ``default`` for an empty chunk."""
    if ts.shape[0] == 0:
        return default
    return (int(ts[-1]), int(fid[-1]), int(line[-1]))


def spine_frame(
    symbol_id: int,
    bar_index: np.ndarray,
    bucket_start: np.ndarray,
    ts: np.ndarray,
    close_file_id: np.ndarray | None,
    close_line: np.ndarray | None,
    has_close: np.ndarray | None,
    is_complete: bool,
    bucket_end: np.ndarray | None = None,
    split: dict[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Assemble a spine frame from column arrays (``has_close`` False → null close key)."""
    n = bar_index.shape[0]
    if close_file_id is None or close_line is None or has_close is None:
        fid = pl.repeat(None, n, dtype=pl.Int32, eager=True).alias("close_file_id")
        line = pl.repeat(None, n, dtype=pl.Int32, eager=True).alias("close_file_line_number")
    else:
        mask = pl.Series(~has_close)
        fid = pl.Series("close_file_id", close_file_id, pl.Int32).scatter(mask.arg_true(), None)
        line = pl.Series("close_file_line_number", close_line, pl.Int32).scatter(mask.arg_true(), None)
    cols: dict[str, pl.Series] = {
        "symbol_id": pl.Series("symbol_id", np.full(n, symbol_id, np.int64)),
        "bar_index": pl.Series("bar_index", bar_index, pl.Int64),
        "bucket_start": pl.Series("bucket_start", bucket_start, pl.Int64),
        "bucket_end": pl.Series("bucket_end", ts if bucket_end is None else bucket_end, pl.Int64),
        "ts": pl.Series("ts", ts, pl.Int64),
        "close_file_id": fid,
        "close_file_line_number": line,
        "is_complete": pl.Series("is_complete", np.full(n, is_complete, bool)),
    }
    if split is not None:
        for name, dtype in SPLIT_SCHEMA.items():
            cols[name] = pl.Series(name, split[name], dtype, strict=False)
            if dtype == pl.Float64:
                cols[name] = cols[name].fill_nan(None)
    return pl.DataFrame(cols)


def empty_spine(split: bool = False) -> pl.DataFrame:
    """A spine frame with no rows (``split`` adds the split columns)."""
    return pl.DataFrame(schema={**SPINE_SCHEMA, **(SPLIT_SCHEMA if split else {})})


def require_positive(config_name: str, field_name: str, value: object, *, integer: bool = False) -> None:
    """Raise ``PointlineError`` unless ``value`` is a positive (integer) number."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 or value != value:
        expected = "a positive integer" if integer else "a positive number"
        raise PointlineError(f"{config_name}.{field_name} must be {expected}, got {value!r}")
