"""A pipeline request's bar features, one event at a time, from every source it reads.

:class:`OnlinePipeline` takes the JSON request the batch pipeline runs (one symbol) and events of
its sources (trades, quotes, book snapshots) in the order they were received. It emits each bar's
row with exactly the columns and values of the pipeline's feature table for that bar (labels
excepted: they look forward). The bars come from the primary trades source through the spine
builder's own state machine (:class:`~pointline.online.folder.SpineFolder`); a bar's features come
from the engine's own function (:func:`~pointline.research.pipeline_v2.engine.features_on_spine`)
on the events held for it: ``bucket`` operators see the source's events in the bar, ``asof_backward``
operators the state known at the bar's ``ts``.

**When a bar is emitted.** A bar's state features depend on every event up to its ``ts``, and
another source's event at that very microsecond may arrive after the trade that closed the bar.
So a bar is emitted once the stream has moved past its ``ts``: with the first event of a later
timestamp, or :meth:`OnlinePipeline.advance_time` past it. (:class:`~pointline.online.OnlineBars`,
trade features only, emits with the closing trade itself.)

Not online: ``per_event`` and ``derive`` operators (they read history across bars), other modes
than ``bar_then_feature``, ``split_trades`` spines.

:func:`replay` feeds recorded events (what the pipeline reads) through it: the pipeline's
``online_parity_check`` gate compares that table with the batch one.

Example
-------
>>> online = OnlinePipeline(request, symbol_id=sid)  # doctest: +SKIP
>>> for source, event in stream:  # doctest: +SKIP
...     for row in online.add_event(source, event):
...         act(row)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from pointline.errors import PointlineError
from pointline.online.folder import EventOrder, SpineFolder, event_types, events_frame
from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2
from pointline.research.pipeline_v2.engine import features_on_spine
from pointline.research.pipeline_v2.plan import build_plan, symbols_of
from pointline.research.spines import spine_config_from_dict


class OnlinePipeline:
    """One symbol's pipeline features, fed events of its sources in the total order.

    Parameters
    ----------
    request
        A v2 pipeline request (validated here) for one symbol.
    symbol_id
        The primary instrument's id (every row carries it), as the batch path resolves it.
    anchor_ts_us
        Where bar 0 opens (default: the request's timeline start, as the batch path).
    lake
        Lake a spine reads instrument facts from (dollar bars without ``contract_size``).
    """

    def __init__(
        self,
        request: Mapping[str, Any],
        *,
        symbol_id: int,
        anchor_ts_us: int | None = None,
        lake: str | None = None,
    ) -> None:
        normalised = validate_quant_research_input_v2(dict(request))
        if len(symbols_of(normalised)) != 1:
            raise PointlineError("an OnlinePipeline follows one symbol; give each symbol its own")
        self.plan = build_plan(normalised)
        unsupported = [op.name for op in self.plan.operators if op.stage in ("per_event", "derive")]
        if unsupported or self.plan.mode != "bar_then_feature":
            raise PointlineError(
                "online: only aggregate operators in mode bar_then_feature; "
                f"mode {self.plan.mode!r}, per_event/derive operators {unsupported}"
            )
        config = spine_config_from_dict(self.plan.spine_type, self.plan.spine_config)
        anchor = self.plan.start_us if anchor_ts_us is None else anchor_ts_us
        self.folder = SpineFolder(
            self.plan.spine_type, config, anchor_ts_us=anchor, symbol_id=symbol_id, lake=lake
        )
        self.symbol_id = symbol_id
        self._types = {name: event_types(s.table) for name, s in self.plan.sources.items()}
        self._held: dict[str, list[dict[str, Any]]] = {name: [] for name in self.plan.sources}
        self._columns: dict[str, list[str]] = {}
        self._ready: list[pl.DataFrame] = []  # closed bars waiting for the stream to pass their ts
        self._last: pl.DataFrame | None = None  # the last bar emitted (spine row)
        self._order = EventOrder()

    def add_event(self, source: str, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take the next event of ``source`` (a source name of the request); the rows of the bars
        the stream has now moved past, oldest first."""
        if source not in self._held:
            raise PointlineError(f"unknown source {source!r}; the request's sources: {', '.join(self._held)}")
        row = self._order.admit(event)
        self._columns.setdefault(source, list(row))
        self._held[source].append(row)
        if source == self.plan.primary:
            self._queue(self.folder.add(row))
        return self._emit_before(int(row["ts_local_us"]))

    def advance_time(self, now_us: int) -> list[dict[str, Any]]:
        """From a timer: bars closed by time, and every bar whose ``ts`` is before ``now_us``."""
        self._order.check_time(now_us)
        self._queue(self.folder.fold())
        self._queue(self.folder.closed_by(now_us))
        return self._emit_before(now_us)

    def finish(self, end_ts_us: int) -> list[dict[str, Any]]:
        """End of the stream at ``end_ts_us``: every remaining bar, the unfinished one last, as the
        batch path emits them at its timeline end."""
        self._queue(self.folder.fold())
        self._queue(self.folder.finish(end_ts_us))
        return self._emit_before(None)

    def _queue(self, bars: pl.DataFrame | None) -> None:
        if bars is not None and bars.height:
            self._ready.append(bars)

    def _emit_before(self, ts: int | None) -> list[dict[str, Any]]:
        if not self._ready:
            return []
        ready = pl.concat(self._ready)
        due = ready if ts is None else ready.filter(pl.col("ts") < ts)
        if due.height == 0:
            return []
        rest = ready.slice(due.height)
        self._ready = [rest] if rest.height else []
        inputs = {
            # Every source's events are the primary instrument's here (the engine attaches a
            # reference instrument's state to the primary's bars the same way).
            name: events_frame(
                rows, self._types[name], self._columns.get(name, list(self._types[name]))
            ).with_columns(pl.lit(self.symbol_id, dtype=pl.Int64).alias("symbol_id"))
            for name, rows in self._held.items()
        }
        # The last bar emitted goes first as context: events at its close belong to it (its close
        # key decides ties), exactly as on the whole spine. Its row is not emitted again.
        spine = due if self._last is None else pl.concat([self._last, due])
        features, _, _ = features_on_spine(self.plan, spine, inputs, self.symbol_id)
        self._last = due.tail(1)
        self._release(int(due["ts"].max()))  # type: ignore[arg-type]
        first = int(due["bar_index"].min())  # type: ignore[arg-type]
        return features.filter(pl.col("bar_index") >= first).sort("bar_index").to_dicts()

    def _release(self, last_ts: int) -> None:
        """Drop the events no later bar can use: keep, per source, the last event before
        ``last_ts`` (the state a later bar may still see) and every event from ``last_ts`` on."""
        for name, rows in self._held.items():
            first = 0
            for i in range(len(rows) - 1, -1, -1):
                if int(rows[i]["ts_local_us"]) < last_ts:
                    first = i
                    break
            self._held[name] = rows[first:]


def replay(
    request: Mapping[str, Any],
    inputs: Mapping[str, pl.DataFrame],
    *,
    symbol_id: int,
    end_ts_us: int | None = None,
    lake: str | None = None,
) -> pl.DataFrame:
    """The online path's feature table for recorded events: every source's events merged in the
    total order ``(ts_local_us, file_id, file_line_number)`` and fed one at a time to an
    :class:`OnlinePipeline`, then finished at ``end_ts_us`` (default: the request's timeline end).

    ``inputs`` maps source names to decoded events (what the pipeline reads); the result has the
    columns of the pipeline's feature table without labels.
    """
    online = OnlinePipeline(request, symbol_id=symbol_id, lake=lake)
    drop = {"exchange", "date", "symbol"}
    stream = sorted(
        (
            (int(row["ts_local_us"]), int(row.get("file_id") or 0), int(row.get("file_line_number") or 0)),
            name,
            {k: v for k, v in row.items() if k not in drop},
        )
        for name, frame in inputs.items()
        for row in frame.iter_rows(named=True)
    )
    rows: list[dict[str, Any]] = []
    for _, name, event in stream:
        rows += online.add_event(name, event)
    rows += online.finish(online.plan.end_us if end_ts_us is None else end_ts_us)
    return pl.DataFrame(rows)
