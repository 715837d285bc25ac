"""From a staged file to lake rows: exact encoding, row validation, ordering.

Row checks, first failing wins: the format's own reason (``unparseable`` timestamp or names,
``unknown_side``), a ``non_positive`` timestamp (at or before the epoch), a missing required value
(``unparseable``), the encoder's ``unparseable`` / ``precision`` / ``overflow``, ``non_positive``
price or size, ``crossed`` quote (bid ≥ ask).
Good rows get ``symbol_id``, ``file_id``, ``date`` (UTC date of ``ts_local_us``) and are sorted by
``(symbol_id, ts_local_us, file_id, file_line_number)``; equal timestamps keep the file's order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from pointline.ingest import instruments
from pointline.ingest.registry import (
    REASON_CROSSED,
    REASON_NON_POSITIVE,
    REASON_UNPARSEABLE,
    Parsed,
    reason_column,
)
from pointline.lake import decimal_scan, encoding
from pointline.lake.dim_symbol import SymbolInfo, symbol_id_for
from pointline.lake.schema import STORAGE_ORDER, event_table


@dataclass(frozen=True)
class Pair:
    """A price column and its size column in the staged frame, and their lake names."""

    px: str
    qty: str
    px_int: str
    qty_int: str


def value_pairs(parsed: Parsed) -> list[Pair]:
    """The (price, size) text column pairs a staged frame holds."""
    if parsed.table == "trades":
        return [Pair("px", "qty", "px_int", "qty_int")]
    if parsed.table == "quotes":
        return [Pair(f"{s}_px", f"{s}_qty", f"{s}_px_int", f"{s}_qty_int") for s in ("bid", "ask")]
    return [
        Pair(f"{s}_px_{i}", f"{s}_qty_{i}", f"{s}_px_int_{i}", f"{s}_qty_int_{i}")
        for i in range(parsed.levels)
        for s in ("bid", "ask")
    ]


def stage(parsed: Parsed) -> Parsed:
    """Split every price/size text column into digits and decimals once (see
    :func:`pointline.lake.encoding.stage_decimals`): profiling new instruments and encoding both
    start from them. Idempotent."""
    texts = [c for p in value_pairs(parsed) for c in (p.px, p.qty)]
    todo = [c for c in texts if f"{c}{encoding.RAW_SUFFIX}" not in parsed.frame.columns]
    if not todo:
        return parsed
    return dataclasses.replace(parsed, frame=encoding.stage_decimals(parsed.frame, todo))


def instruments_in(parsed: Parsed) -> list[tuple[str, str]]:
    """Distinct ``(exchange, symbol)`` of the file's rows, in first-seen order (kept on ``parsed``)."""
    if parsed.instruments is not None:
        return parsed.instruments
    frame = parsed.frame
    if frame.height == 0:
        parsed.instruments = []
        return []
    # Most files hold one instrument: two vectorised comparisons instead of a hash-based unique.
    first = frame.select(pl.col("exchange", "symbol").first()).row(0)
    same = frame.select(
        ((pl.col("exchange") == first[0]) & (pl.col("symbol") == first[1])).all(ignore_nulls=False)
    ).item()
    if same and None not in first:
        parsed.instruments, parsed.uniform = [(str(first[0]), str(first[1]))], True
        return parsed.instruments
    pairs = frame.select("exchange", "symbol").drop_nulls().unique(maintain_order=True)
    parsed.instruments = [(str(e), str(s)) for e, s in pairs.iter_rows()]
    return parsed.instruments


@dataclass(frozen=True)
class Profile:
    """What a new ``dim_symbol`` version is proposed from: the ``(significant decimals, integer
    digits)`` of an instrument's prices and sizes (see
    :func:`pointline.lake.encoding.staged_profile`) and its first receive time in the file."""

    px: tuple[int, int]
    qty: tuple[int, int]
    first_ts: int

    def merge(self, other: Profile) -> Profile:
        """The profile of both parts of a file (a file read in batches)."""
        return Profile(
            px=(max(self.px[0], other.px[0]), max(self.px[1], other.px[1])),
            qty=(max(self.qty[0], other.qty[0]), max(self.qty[1], other.qty[1])),
            first_ts=min(self.first_ts, other.first_ts),
        )


def profile_instruments(
    parsed: Parsed, known: set[int], metadata: instruments.Metadata | None
) -> dict[tuple[str, str], Profile]:
    """The profiles of the file's instruments that need a ``dim_symbol`` proposal: new ones
    (exponents from this file) and, when a symbols file is given, known ones it names (so a
    metadata change opens a version). Rows already known bad are not profiled."""
    parsed = stage(parsed)
    pairs = value_pairs(parsed)
    wanted = instruments_to_propose(parsed, known, metadata)
    out = {}
    for key, rows in _rows_of(parsed, wanted):
        if rows.height == 0:
            continue
        out[key] = Profile(
            px=encoding.staged_profile(rows, [p.px for p in pairs]),
            qty=encoding.staged_profile(rows, [p.qty for p in pairs]),
            first_ts=int(rows["ts_local_us"].min()),  # type: ignore[arg-type]
        )
    return out


def instruments_to_propose(
    parsed: Parsed, known: set[int], metadata: instruments.Metadata | None
) -> list[tuple[str, str]]:
    """The file's instruments that need a ``dim_symbol`` proposal (see :func:`profile_instruments`)."""
    wanted = []
    for exchange, symbol in instruments_in(parsed):
        has_meta = bool(metadata) and (exchange.lower(), symbol.lower()) in metadata  # type: ignore[operator]
        if symbol_id_for(exchange, symbol) not in known or has_meta:
            wanted.append((exchange, symbol))
    return wanted


def proposals(
    profiles: Mapping[tuple[str, str], Profile], metadata: instruments.Metadata | None
) -> list[SymbolInfo]:
    """``dim_symbol`` candidates from :func:`profile_instruments`."""
    return [
        instruments.propose(exchange, symbol, p.px, p.qty, p.first_ts, metadata)
        for (exchange, symbol), p in profiles.items()
    ]


def propose_symbols(
    parsed: Parsed, known: set[int], metadata: instruments.Metadata | None
) -> list[SymbolInfo]:
    """``dim_symbol`` candidates: new instruments (exponents from this file) and, when a symbols file
    is given, known ones (so a metadata change opens a version)."""
    return proposals(profile_instruments(parsed, known, metadata), metadata)


#: Above this many instruments to profile, one ``partition_by`` beats a filter per instrument.
_PARTITION_FROM = 4


def _rows_of(parsed: Parsed, wanted: list[tuple[str, str]]) -> list[tuple[tuple[str, str], pl.DataFrame]]:
    """The rows not already known bad of each wanted instrument (a grouped file of hundreds of
    symbols is split in one pass, not filtered once per symbol)."""
    frame = parsed.frame
    if not wanted:
        return []
    if parsed.uniform and frame["_reason"].null_count() == frame.height:
        return [(wanted[0], frame)]  # one instrument, no bad row: every row, no copy
    good = (
        frame.filter(pl.col("_reason").is_null()) if frame["_reason"].null_count() < frame.height else frame
    )
    if len(wanted) <= _PARTITION_FROM:
        return [((e, s), good.filter((pl.col("exchange") == e) & (pl.col("symbol") == s))) for e, s in wanted]
    groups = good.partition_by(["exchange", "symbol"], as_dict=True, maintain_order=True)
    return [(key, groups[key]) for key in wanted if key in groups]


def to_lake_rows(
    parsed: Parsed, infos: Mapping[int, SymbolInfo], file_id: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Encode and validate a staged file.

    Parameters
    ----------
    infos
        Current ``dim_symbol`` version of every instrument in the file, by ``symbol_id``.
    file_id
        The file's ledger id.

    Returns
    -------
    ``(good, bad)``: ``good`` has the table's lake columns in storage order; ``bad`` has
    ``_row`` (index into ``parsed.source``), ``file_line_number`` and ``reason``.
    """
    spec = event_table(parsed.table)
    parsed = stage(parsed)
    frame = parsed.frame.with_row_index("_row")
    keys = pl.DataFrame(
        [(sid, i.exchange, i.symbol, i.price_exp, i.qty_exp) for sid, i in infos.items()],
        schema={"symbol_id": pl.Int64, "_ex": pl.Utf8, "_sym": pl.Utf8, "_pexp": pl.Int32, "_qexp": pl.Int32},
        orient="row",
    )
    if keys.height == 1 and parsed.uniform and instruments_in(parsed) == [(keys["_ex"][0], keys["_sym"][0])]:
        frame = frame.with_columns(pl.lit(keys["symbol_id"][0], dtype=pl.Int64).alias("symbol_id"))
    elif keys.height == 1:
        frame = frame.with_columns(
            pl.when((pl.col("exchange") == keys["_ex"][0]) & (pl.col("symbol") == keys["_sym"][0]))
            .then(pl.lit(keys["symbol_id"][0], dtype=pl.Int64))
            .alias("symbol_id")
        )
    else:
        frame = frame.join(
            keys, left_on=["exchange", "symbol"], right_on=["_ex", "_sym"], how="left", maintain_order="left"
        )
    pairs = value_pairs(parsed)
    if keys.height == 1:
        exps: tuple[int | np.ndarray, int | np.ndarray] = (int(keys["_pexp"][0]), int(keys["_qexp"][0]))
    else:
        # One exponent per row (a grouped file of many instruments encodes in one pass). A row of an
        # unknown instrument gets 0: the symbol check rejects it as unparseable before any encoder
        # reason is looked at.
        exps = (frame["_pexp"].fill_null(0).to_numpy(), frame["_qexp"].fill_null(0).to_numpy())
        frame = frame.drop("_pexp", "_qexp")
    if parsed.table == "book_snapshot_25" and keys.height == 1:
        lists = _clean_book_lists(frame, pairs, exps)
        if lists is not None:  # every row clean: no per-level columns, no row-wise checks
            return _lake_order(frame.hstack(lists), spec.schema, file_id), no_bad_rows()
    specs = []
    for pair in pairs:
        specs += [(pair.px, pair.px_int, exps[0]), (pair.qty, pair.qty_int, exps[1])]
    encoded = encoding.encode_columns(frame, specs)
    checked = encoded.with_columns(reason_column(encoded, _checks(parsed.table, pairs)))
    bad = checked.filter(pl.col("_reason").is_not_null()).select(
        "_row", "file_line_number", pl.col("_reason").alias("reason")
    )
    good = checked.filter(pl.col("_reason").is_null()) if bad.height else checked
    if parsed.table == "book_snapshot_25":
        good = good.hstack(level_lists(good, pairs))
    return _lake_order(good, spec.schema, file_id), bad.sort("_row")


def _lake_order(good: pl.DataFrame, schema: Mapping[str, pl.DataType], file_id: int) -> pl.DataFrame:
    """The table's columns (with ``file_id`` and ``date``) in storage order."""
    good = good.with_columns(
        pl.lit(file_id, dtype=pl.Int32).alias("file_id"), _date_of(good["ts_local_us"]).alias("date")
    ).select([pl.col(c).cast(t) for c, t in schema.items()])
    if not _already_ordered(good):
        good = good.sort(list(STORAGE_ORDER), maintain_order=True)
    return good


def _date_of(ts_local_us: pl.Series) -> pl.Expr:
    """The rows' UTC receive date: one constant when they all fall on one day (a daily file), which
    costs nothing to hold and leaves one partition to find."""
    low, high = ts_local_us.min(), ts_local_us.max()
    if isinstance(low, int) and isinstance(high, int) and low // _DAY_US == high // _DAY_US:
        return pl.lit(dt.date(1970, 1, 1) + dt.timedelta(days=low // _DAY_US), dtype=pl.Date)
    return pl.from_epoch("ts_local_us", time_unit="us").dt.date()


_DAY_US = 86_400_000_000


def no_bad_rows() -> pl.DataFrame:
    """The ``bad`` frame of :func:`to_lake_rows` for a file without bad rows."""
    return pl.DataFrame(schema={"_row": pl.UInt32, "file_line_number": pl.Int32, "reason": pl.Utf8})


#: A receive or exchange time at or before the epoch is no market data (a missing exchange time is allowed).
_TIME_NOT_POSITIVE = (pl.col("ts_local_us") <= 0) | (pl.col("ts_exch_us") <= 0).fill_null(False)


def _checks(table: str, pairs: list[Pair]) -> list[tuple[pl.Expr | None, str | pl.Expr]]:
    """The row checks in order, as ``(condition, reason)`` (see the module docstring)."""
    reason = pl.col("_reason")
    checks: list[tuple[pl.Expr | None, str | pl.Expr]] = [
        (reason.is_not_null(), reason),
        (pl.col("symbol_id").is_null(), REASON_UNPARSEABLE),
        (_TIME_NOT_POSITIVE, REASON_NON_POSITIVE),
    ]
    for p in pairs:
        # Missing = null or empty text (the scan's code): a quoted empty field `""` is empty text.
        px_missing, qty_missing = (
            pl.col(f"{c}{encoding.DEC_SUFFIX}") == decimal_scan.MISSING for c in (p.px, p.qty)
        )
        # Trades need both values; in quotes and books an empty side (or an absent level) is
        # allowed, half of one is not.
        half = (px_missing | qty_missing) if table == "trades" else (px_missing != qty_missing)
        checks.append((half, REASON_UNPARSEABLE))
        for name in (p.px_int, p.qty_int):
            encoder = pl.col(f"{name}_r")
            checks.append((encoder.is_not_null(), encoder))
        checks.append(((pl.col(p.px_int) <= 0) | (pl.col(p.qty_int) <= 0), REASON_NON_POSITIVE))
    if table == "quotes":
        checks.append((pl.col("bid_px_int") >= pl.col("ask_px_int"), REASON_CROSSED))
    return checks


def level_lists(frame: pl.DataFrame, pairs: list[Pair]) -> list[pl.Series]:
    """``bids_px_int``, ``bids_qty_int``, ``asks_px_int``, ``asks_qty_int``: each row's levels
    (best first) as a list, absent levels left out (``concat_list(...).list.drop_nulls()``).

    Built from the level columns as one 2-D array per list: a row-major boolean selection keeps
    the present levels in level order, and the per-row counts give the list offsets. Polars'
    ``concat_list`` costs about 100x more here (86,400 snapshots x 25 levels: 0.7 s).
    """
    out = []
    for side in ("bid", "ask"):
        for kind in ("px", "qty"):
            names = [getattr(p, f"{kind}_int") for p in pairs if p.px.startswith(side)]
            levels = frame.select(names)
            if not any(levels.null_count().row(0)):  # every level present: fixed-length lists
                values, present = np.column_stack([levels[c].to_numpy() for c in names]), None
            else:
                values = np.column_stack([levels[c].fill_null(0).to_numpy() for c in names])
                present = np.column_stack([levels[c].is_not_null().to_numpy() for c in names])
            out.append(_list_series(f"{side}s_{kind}_int", values, present))
    return out


def _list_series(name: str, values: np.ndarray, present: np.ndarray | None) -> pl.Series:
    """A List(Int64) series from one row of ``values`` per list, keeping the ``present`` entries
    in order (all of them when ``present`` is ``None``: fixed-length lists, no selection)."""
    if present is None:
        flat = values.ravel()
        offsets = np.arange(0, flat.size + 1, values.shape[1], dtype=np.int64)
    else:
        flat = values[present]
        offsets = np.zeros(values.shape[0] + 1, dtype=np.int64)
        np.cumsum(present.sum(axis=1), out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat.astype(np.int64, copy=False)))
    return pl.Series(name, lists, dtype=pl.List(pl.Int64))


def _clean_book_lists(
    frame: pl.DataFrame, pairs: list[Pair], exps: tuple[int | np.ndarray, int | np.ndarray]
) -> list[pl.Series] | None:
    """The four level lists of a book file of one instrument in which every row is clean, encoded
    straight from the staged digits as one ``rows x levels`` array per side and kind; ``None`` when
    any row fails a check or needs the exact :class:`~decimal.Decimal` path (the general path then
    names each bad row's first failing check).

    Clean means: no reason from the format, and at each level of each side either both values
    missing or both encoded exactly and positive. The lists are then those of :func:`level_lists`.
    """
    if frame["_reason"].null_count() != frame.height or frame["symbol_id"].null_count():
        return None
    if frame.select(_TIME_NOT_POSITIVE.any()).item():
        return None
    out = []
    for side in ("bid", "ask"):
        encoded = {}
        for kind, exp in (("px", exps[0]), ("qty", exps[1])):
            names = [getattr(p, kind) for p in pairs if p.px.startswith(side)]
            raws = tuple(frame[f"{c}{encoding.RAW_SUFFIX}"].to_numpy() for c in names)
            decs = tuple(frame[f"{c}{encoding.DEC_SUFFIX}"].to_numpy() for c in names)
            value, code = decimal_scan.scale_levels(raws, decs, int(exp), encoding.MAX_ABS_INT)
            encoded[kind] = (value, code)
        (px, px_code), (qty, qty_code) = encoded["px"], encoded["qty"]
        if (px_code == decimal_scan.NOT_PLAIN).any() or (qty_code == decimal_scan.NOT_PLAIN).any():
            return None
        missing = px_code == decimal_scan.MISSING
        both_ok = (px_code == decimal_scan.OK) & (qty_code == decimal_scan.OK) & (px > 0) & (qty > 0)
        if not (both_ok | (missing & (qty_code == decimal_scan.MISSING))).all():
            return None
        present = None if not missing.any() else ~missing
        out += [_list_series(f"{side}s_px_int", px, present), _list_series(f"{side}s_qty_int", qty, present)]
    return out


def _already_ordered(df: pl.DataFrame) -> bool:
    """True for the common single-instrument file already in time order: line numbers increase, so
    the storage order holds without a sort."""
    if df.height < 2:
        return True
    # An expression: a file's symbol_id is a constant column, which a Series would write out.
    one = df.select(pl.col("symbol_id").n_unique() == 1).item()
    return one and df["ts_local_us"].is_sorted()
