"""Assigning events to bars: the boundary-key rule of docs/architecture.md, vectorised.

An event with order key ``k = (ts_local_us, file_id, file_line_number)`` belongs to the first bar
whose boundary ``(ts, close_file_id, close_file_line_number)`` is ``>= k``; a null close key (a bar
closed on time) means "strictly before ``ts``". Events before the bar's ``bucket_start`` (before
the first bar, or in an interval a clock spine skipped with ``emit_empty=False``) or after the last
boundary are unassigned and counted.

The rule is evaluated with one ``join_asof`` on ``ts`` (first bar with ``ts >= event ts``) plus a
second ``join_asof`` on the packed ``(file_id, file_line_number)`` key only for the events whose
``ts`` equals a bar's ``ts`` (ties), which are few.

Splits: on a ``split_trades=True`` spine, a trade whose key is a bar's close key is emitted once per
bar it is split into, with ``split_fraction`` and prorated ``qty`` / ``qty_int`` (exact integer
portions summing to the trade's ``qty_int``). All other rows get ``split_fraction = 1.0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pointline.errors import PointlineError

Frame = pl.DataFrame | pl.LazyFrame

BAR_COLUMNS = ("bar_index", "bucket_start", "bucket_end", "ts", "is_complete")
_SPLIT_COLUMNS = ("split_fraction", "split_qty_int", "carry_fraction", "carry_qty_int")
_NULL_KEY = -(2**63)


@dataclass(frozen=True)
class AssignStats:
    """How many events found a bar.

    Attributes
    ----------
    n_events
        Input events.
    n_assigned
        Events inside some bar (a split trade counts once).
    n_unassigned
        Events before the first bar, after the last boundary, or in a skipped interval.
    unassigned_ratio
        ``n_unassigned / n_events`` (0.0 when there are no events).
    """

    n_events: int
    n_assigned: int
    n_unassigned: int
    unassigned_ratio: float


def assign_with_stats(
    events: Frame, spine: pl.DataFrame, ts_col: str = "ts_local_us"
) -> tuple[Frame, AssignStats]:
    """Attach each event to its bar and count the events that have none.

    Parameters
    ----------
    events
        Trades, quotes or book snapshots with ``ts_col`` (µs); ``file_id`` and
        ``file_line_number`` are treated as 0 when absent; ``symbol_id`` is required when the
        spine holds several symbols.
    spine
        A spine frame (docs/architecture.md), one or several symbols.
    ts_col
        Event time column (µs on the same clock as the spine's ``ts``, normally ``ts_local_us``).

    Returns
    -------
    (bucketed, stats)
        ``bucketed`` is of the input's kind (a ``LazyFrame`` input is executed once for the counts
        and returned lazy): the assigned events with ``symbol_id``, ``bar_index``,
        ``bucket_start``, ``bucket_end``, ``ts``, ``is_complete`` (all µs / ts_local_us clock),
        ordered by ``(symbol_id, ts_col, file_id, file_line_number)``; ``stats`` the counts.

    Example
    -------
    >>> bucketed, stats = assign_with_stats(trades, spine)  # doctest: +SKIP
    >>> stats.unassigned_ratio  # doctest: +SKIP
    0.0
    """
    lazy = isinstance(events, pl.LazyFrame)
    plan, _ = _plan(events.lazy(), spine, ts_col)
    full = plan.collect()
    n_events = int(full["_row"].n_unique()) if full.height else 0
    assigned = full.filter(pl.col("_assigned"))
    n_assigned = int(assigned["_row"].n_unique()) if assigned.height else 0
    stats = AssignStats(
        n_events=n_events,
        n_assigned=n_assigned,
        n_unassigned=n_events - n_assigned,
        unassigned_ratio=(n_events - n_assigned) / n_events if n_events else 0.0,
    )
    out = assigned.drop("_row", "_assigned")
    return (out.lazy() if lazy else out), stats


def assign_to_buckets(events: Frame, spine: pl.DataFrame, ts_col: str = "ts_local_us") -> Frame:
    """Attach each event to the bar containing it; events outside every bar are dropped.

    Same rule and output as :func:`assign_with_stats` (which also reports how many events were
    dropped). A ``LazyFrame`` input stays a lazy plan (nothing is executed).

    Parameters
    ----------
    events
        Event frame (trades, quotes, book snapshots) with ``ts_col`` in µs.
    spine
        Spine frame of one or several symbols.
    ts_col
        Event time column, default ``ts_local_us``.

    Returns
    -------
    DataFrame or LazyFrame
        Events with ``symbol_id``, ``bar_index``, ``bucket_start``, ``bucket_end``, ``ts``,
        ``is_complete`` attached (plus ``split_fraction`` on a ``split_trades`` spine).

    Example
    -------
    >>> bucketed = assign_to_buckets(trades, spine, ts_col="ts_local_us")  # doctest: +SKIP
    """
    if isinstance(events, pl.LazyFrame):
        plan, _ = _plan(events, spine, ts_col)
        return plan.filter(pl.col("_assigned")).drop("_row", "_assigned")
    return assign_with_stats(events, spine, ts_col)[0]


def _plan(events: pl.LazyFrame, spine: pl.DataFrame, ts_col: str) -> tuple[pl.LazyFrame, bool]:
    """All events (assigned or not) with bar columns, ``_row`` and ``_assigned``; and whether split."""
    columns = events.collect_schema().names()
    _check_inputs(columns, spine, ts_col)
    if "symbol_id" not in columns:
        symbols = spine["symbol_id"].unique()
        if symbols.len() > 1:
            raise PointlineError(
                "events have no 'symbol_id' column but the spine holds several symbols "
                f"({symbols.to_list()}); add symbol_id to the events"
            )
        events = events.with_columns(pl.lit(symbols[0] if symbols.len() else 0, pl.Int64).alias("symbol_id"))
    fid = pl.col("file_id") if "file_id" in columns else pl.lit(0)
    line = pl.col("file_line_number") if "file_line_number" in columns else pl.lit(0)
    ev = (
        events.with_columns(
            pl.col(ts_col).cast(pl.Int64).alias("_ets"),
            fid.cast(pl.Int32).fill_null(0).alias("_fid"),
            line.cast(pl.Int32).fill_null(0).alias("_line"),
        )
        .with_columns(_packed(pl.col("_fid"), pl.col("_line")).alias("_ekey"))
        .sort("symbol_id", "_ets", "_fid", "_line")
        .with_row_index("_row")
    )
    sp = spine.sort("symbol_id", "bar_index")
    sp = sp.with_columns(
        pl.col("bar_index").shift(-1).over("symbol_id").alias("_next"),
        pl.when(pl.col("close_file_id").is_null() | pl.col("close_file_line_number").is_null())
        .then(pl.lit(_NULL_KEY, pl.Int64))
        .otherwise(_packed(pl.col("close_file_id"), pl.col("close_file_line_number")))
        .alias("_bkey"),
    )
    bars = sp.select("symbol_id", *BAR_COLUMNS).lazy()
    attrs = [c for c in BAR_COLUMNS if c not in ("bar_index", "ts")]
    # Per distinct bar ts: the first bar there (with its columns) and the bar after the last one.
    groups = (
        sp.group_by("symbol_id", "ts", maintain_order=True)
        .agg(
            pl.col("bar_index").first(),
            *[pl.col(c).first() for c in attrs],
            pl.col("_next").last().alias("_after"),
        )
        .with_columns(pl.col("ts").alias("_bts"))
        .sort("symbol_id", "_bts")
        .lazy()
    )
    symbols = spine["symbol_id"].unique()
    if symbols.len() == 1:
        # One symbol: a plain as-of join (much faster than grouping by symbol); rows of other
        # symbols get no bar.
        found = ev.join_asof(
            groups.drop("symbol_id"),
            left_on="_ets",
            right_on="_bts",
            strategy="forward",
            check_sortedness=False,
        ).with_columns(
            pl.when(pl.col("symbol_id") == symbols[0]).then(pl.col(c)).alias(c)
            for c in ["_bts", "_after", *BAR_COLUMNS]
        )
    else:
        found = ev.join_asof(
            groups,
            left_on="_ets",
            right_on="_bts",
            by="symbol_id",
            strategy="forward",
            check_sortedness=False,
        )
    tie = pl.col("_bts") == pl.col("_ets")
    plain = found.filter(tie.not_() | pl.col("_bts").is_null())
    closes = (
        sp.filter(pl.col("_bkey") != _NULL_KEY)
        .select("symbol_id", pl.col("ts").alias("_bts"), "_bkey", pl.col("bar_index").alias("_tie_bar"))
        .sort("_bkey")
        .lazy()
    )
    tied = (
        found.filter(tie)
        .drop(*BAR_COLUMNS)
        .sort("_ekey")
        .join_asof(
            closes,
            left_on="_ekey",
            right_on="_bkey",
            by=["symbol_id", "_bts"],
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(pl.coalesce("_tie_bar", "_after").alias("bar_index"))
        .drop("_bkey", "_tie_bar")
        .join(bars, on=["symbol_id", "bar_index"], how="left")
    )
    out = pl.concat([plain, tied], how="diagonal").drop("_bts", "_after")
    split = all(c in spine.columns for c in _SPLIT_COLUMNS) and ("qty" in columns or "qty_int" in columns)
    if split:
        out = _explode_splits(out, sp, columns, bars)
    out = out.with_columns(
        (pl.col("bar_index").is_not_null() & (pl.col("_ets") >= pl.col("bucket_start"))).alias("_assigned")
    ).sort(["_row", "bar_index"] if split else ["_row"])
    keep = [c for c in columns if c not in BAR_COLUMNS]
    if "symbol_id" not in keep:
        keep.insert(0, "symbol_id")
    extra = ["split_fraction"] if split else []
    return out.select(*keep, *BAR_COLUMNS, *extra, "_row", "_assigned"), split


def _packed(fid: pl.Expr, line: pl.Expr) -> pl.Expr:
    """(file_id, file_line_number) as one Int64 with the same order."""
    return fid.cast(pl.Int64) * 4_294_967_296 + (line.cast(pl.Int64) + 2_147_483_648)


def _explode_splits(
    out: pl.LazyFrame, sp: pl.DataFrame, columns: list[str], bars: pl.LazyFrame
) -> pl.LazyFrame:
    """One row per (trade, bar) portion for trades split across bars."""
    own = sp.filter(pl.col("close_file_id").is_not_null()).select(
        "symbol_id",
        pl.col("ts").alias("_sts"),
        pl.col("close_file_id").alias("_sfid"),
        pl.col("close_file_line_number").alias("_sline"),
        pl.col("bar_index").alias("_sbar"),
        pl.col("split_fraction").fill_null(1.0).alias("_sfrac"),
        pl.col("split_qty_int").alias("_sqint"),
    )
    prev = sp.with_columns(
        pl.col("ts").shift(1).over("symbol_id").alias("_sts"),
        pl.col("close_file_id").shift(1).over("symbol_id").alias("_sfid"),
        pl.col("close_file_line_number").shift(1).over("symbol_id").alias("_sline"),
    )
    carried = prev.filter((pl.col("carry_fraction") > 0) & pl.col("_sfid").is_not_null()).select(
        "symbol_id",
        "_sts",
        "_sfid",
        "_sline",
        pl.col("bar_index").alias("_sbar"),
        pl.col("carry_fraction").alias("_sfrac"),
        pl.col("carry_qty_int").alias("_sqint"),
    )
    portions = pl.concat([own, carried]).lazy()
    keys_left, keys_right = ["symbol_id", "_ets", "_fid", "_line"], ["symbol_id", "_sts", "_sfid", "_sline"]
    split_rows = out.join(portions, left_on=keys_left, right_on=keys_right, how="inner").sort("_row", "_sbar")
    frac = pl.col("_sfrac")
    updates = [pl.col("_sbar").alias("bar_index"), frac.alias("split_fraction")]
    if "qty" in columns:
        updates.append((pl.col("qty") * frac).alias("qty"))
    if "qty_int" in columns:
        # Exact portions: given by the spine on an integer measure, else cumulative rounding so
        # that the portions of one trade always add up to its qty_int.
        cum = frac.cum_sum().over("_row")
        is_last = pl.int_range(pl.len()).over("_row") == pl.len().over("_row") - 1
        cum = pl.when(is_last).then(pl.lit(1.0)).otherwise(cum)
        total = pl.col("qty_int").cast(pl.Float64)
        rounded = (total * cum).round(0) - (total * (cum - frac)).round(0)
        exact = pl.col("_sqint").is_not_null().all().over("_row")
        updates.append(
            pl.when(exact)
            .then(pl.col("_sqint"))
            .otherwise(rounded.cast(pl.Int64))
            .cast(pl.Int64)
            .alias("qty_int")
        )
    split_rows = (
        split_rows.with_columns(updates)
        .drop("_sfrac", "_sqint", "_sbar", *[c for c in BAR_COLUMNS if c != "bar_index"])
        .join(bars, on=["symbol_id", "bar_index"], how="left")
    )
    rest = out.join(portions, left_on=keys_left, right_on=keys_right, how="anti").with_columns(
        pl.lit(1.0).alias("split_fraction")
    )
    return pl.concat([rest, split_rows], how="diagonal_relaxed")


def _check_inputs(columns: list[str], spine: pl.DataFrame, ts_col: str) -> None:
    if ts_col not in columns:
        raise PointlineError(f"events have no time column {ts_col!r}; got columns {columns}")
    needed = ["symbol_id", "bar_index", "bucket_start", "bucket_end", "ts", "close_file_id",
              "close_file_line_number", "is_complete"]  # fmt: skip
    missing = [c for c in needed if c not in spine.columns]
    if missing:
        raise PointlineError(f"spine is missing column(s) {missing}; build it with a spine builder")
    clash = [c for c in BAR_COLUMNS if c in columns]
    if clash:
        raise PointlineError(f"events already have bar column(s) {clash}; drop them before assigning")
