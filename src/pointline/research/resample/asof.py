"""Attaching as-of state (quotes, book snapshots) to bars (DESIGN.md §4).

The state attached to a bar is the last state row known at the bar's ``ts`` (µs, ts_local_us clock):

- a bar that closed **on time** (null close key: clock bars, hybrid time closes, the unfinished last
  bar) sees state **strictly before** ``ts`` — a row at exactly ``ts`` belongs to the next bar;
- a bar that closed **on an event** sees state **at or before** ``ts``.

``strict=True`` / ``False`` forces one rule for every bar. Among several state rows with the same
``ts_local_us`` the last in ``(file_id, file_line_number)`` order wins. With ``tolerance_us``, a row
older than that (``ts - state ts > tolerance_us``) is treated as missing: every attached column and
the age are null.
"""

from __future__ import annotations

import polars as pl

from pointline.errors import PointlineError
from pointline.lake.order import sort_if_needed

Frame = pl.DataFrame | pl.LazyFrame

#: State columns that describe the row rather than the market state; not attached by default.
KEY_COLUMNS = (
    "symbol_id",
    "ts_local_us",
    "ts_exch_us",
    "file_id",
    "file_line_number",
    "exchange",
    "symbol",
    "date",
)


def attach_asof(
    spine: pl.DataFrame,
    state: Frame,
    *,
    columns: list[str] | None = None,
    strict: bool | None = None,
    tolerance_us: int | None = None,
    prefix: str = "",
) -> pl.DataFrame:
    """Attach to each bar the last state row known at its ``ts``, per ``symbol_id``.

    Parameters
    ----------
    spine
        Spine frame (or any frame with ``symbol_id``, ``ts`` and the close key columns), one row
        per bar; its row order is kept.
    state
        State events with ``ts_local_us`` (µs) and ``symbol_id`` (optional when the spine has one
        symbol); ``file_id`` / ``file_line_number`` break ties at equal ``ts_local_us``.
    columns
        State columns to attach; default every column except the keys (``symbol_id``,
        ``ts_local_us``, ``ts_exch_us``, ``file_id``, ``file_line_number``, ``exchange``, ``symbol``, ``date``).
    strict
        ``True``: state strictly before ``ts``; ``False``: at or before ``ts``; ``None`` (default):
        strictly before for bars with a null close key (closed on time), at or before otherwise.
    tolerance_us
        Oldest usable state in µs before ``ts``; older rows count as missing.
    prefix
        Prepended to every attached column name and to ``state_age_us``.

    Returns
    -------
    pl.DataFrame
        The spine with the state columns and ``<prefix>state_age_us`` (``ts`` − state
        ``ts_local_us``, µs; null when no usable state).

    Example
    -------
    >>> bars = attach_asof(spine, quotes, columns=["bid_px", "ask_px"], tolerance_us=5_000_000)  # doctest: +SKIP
    """
    lf = state.lazy()
    names = lf.collect_schema().names()
    if "ts_local_us" not in names:
        raise PointlineError(f"state has no 'ts_local_us' column; got columns {names}")
    if tolerance_us is not None and (isinstance(tolerance_us, bool) or tolerance_us < 0):
        raise PointlineError(f"tolerance_us must be a non-negative number of µs, got {tolerance_us!r}")
    for needed in ("symbol_id", "ts"):
        if needed not in spine.columns:
            raise PointlineError(f"spine has no {needed!r} column; build it with a spine builder")
    if columns is None:
        columns = [c for c in names if c not in KEY_COLUMNS]
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise PointlineError(f"state has no column(s) {unknown}; available: {names}")
    out_names = [prefix + c for c in [*columns, "state_age_us"]]
    clash = [c for c in out_names if c in spine.columns]
    if clash:
        raise PointlineError(f"spine already has column(s) {clash}; pass another prefix")
    if "symbol_id" not in names:
        symbols = spine["symbol_id"].unique()
        if symbols.len() > 1:
            raise PointlineError("state has no 'symbol_id' column but the spine holds several symbols")
        lf = lf.with_columns(pl.lit(symbols[0] if symbols.len() else 0, pl.Int64).alias("symbol_id"))
    order = [c for c in ("file_id", "file_line_number") if c in names]
    # Resolve which state row each bar sees on the keys alone, then gather only those rows: state
    # frames can be wide (25-level book lists) and sorting them whole is the expensive part.
    state = lf.with_row_index("_state_row").collect()
    keys = sort_if_needed(
        state.select("_state_row", pl.col("symbol_id").cast(pl.Int64), "ts_local_us", *order),
        ["symbol_id", "ts_local_us", *order],
    )
    # Of rows sharing (symbol_id, ts_local_us), the last in the total order is the state at that time.
    last_of_time = (pl.col("ts_local_us") != pl.col("ts_local_us").shift(-1)) | (
        pl.col("symbol_id") != pl.col("symbol_id").shift(-1)
    )
    right = keys.filter(last_of_time.fill_null(True)).select(
        "symbol_id", pl.col("ts_local_us").cast(pl.Int64).alias("_state_ts"), "_state_row"
    )
    bars = spine.with_row_index("_bar_row").with_columns(pl.col("symbol_id").cast(pl.Int64))
    has_key = [c for c in ("close_file_id", "close_file_line_number") if c in spine.columns]
    if strict is None:
        closed_on_time = pl.all_horizontal(pl.col(c).is_null() for c in has_key) if has_key else pl.lit(True)
    else:
        closed_on_time = pl.lit(bool(strict))
    bars = bars.with_columns(closed_on_time.alias("_strict")).sort("symbol_id", "ts")
    results = []
    for strict_rows in (True, False):
        part = bars.filter(pl.col("_strict") == strict_rows)
        if part.height:
            results.append(
                part.join_asof(
                    right,
                    left_on="ts",
                    right_on="_state_ts",
                    by="symbol_id",
                    strategy="backward",
                    allow_exact_matches=not strict_rows,
                    check_sortedness=False,
                )
            )
    joined = (
        pl.concat(results)
        if results
        else bars.with_columns(
            pl.lit(None, pl.Int64).alias("_state_ts"), pl.lit(None, pl.UInt32).alias("_state_row")
        )
    )
    age = pl.col("ts") - pl.col("_state_ts")
    usable = age.is_not_null() if tolerance_us is None else age <= tolerance_us
    joined = joined.with_columns(
        pl.when(usable).then(pl.col("_state_row")).alias("_state_row"),
        pl.when(usable).then(age).alias(prefix + "state_age_us"),
    ).sort("_bar_row")
    rows = joined.get_column("_state_row").cast(pl.UInt32)
    gathered = state.select(pl.col(c).gather(rows).alias(prefix + c) for c in columns)
    out = joined.drop("_bar_row", "_strict", "_state_ts", "_state_row")
    age_col = out.get_column(prefix + "state_age_us")
    return pl.concat([out.drop(prefix + "state_age_us"), gathered], how="horizontal").with_columns(age_col)
