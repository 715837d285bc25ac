"""From staged rows to lake rows: the book level lists, and the clean-book encoding."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.ingest import canonical
from pointline.ingest.canonical import Pair, level_lists
from pointline.ingest.registry import ReadOptions
from pointline.ingest.tardis import TardisCsv
from pointline.lake.dim_symbol import SymbolInfo, symbol_id_for

T0 = 1_714_521_600_000_000


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.integers(1, 10**12)), min_size=3, max_size=3), max_size=30)
    | st.lists(st.lists(st.integers(1, 10**12), min_size=3, max_size=3), max_size=30)  # full books
)
def test_level_lists_keep_present_levels_in_order(rows: list[list[int | None]]) -> None:
    """The book list columns equal Polars' definition: concat the levels, drop the absent ones."""
    names = {"bid": ["bid_px_int_0", "bid_px_int_1", "bid_px_int_2"]}
    columns = {name: [row[k] for row in rows] for k, name in enumerate(names["bid"])}
    frame = pl.DataFrame(
        {
            **{name: pl.Series(values, dtype=pl.Int64) for name, values in columns.items()},
            **{n.replace("px", "qty"): pl.Series(v, dtype=pl.Int64) for n, v in columns.items()},
            **{n.replace("bid", "ask"): pl.Series(v[::-1], dtype=pl.Int64) for n, v in columns.items()},
            **{
                n.replace("bid", "ask").replace("px", "qty"): pl.Series(v, dtype=pl.Int64)
                for n, v in columns.items()
            },
        }
    )
    pairs = [
        Pair(f"{s}_px_{i}", f"{s}_qty_{i}", f"{s}_px_int_{i}", f"{s}_qty_int_{i}")
        for i in range(3)
        for s in ("bid", "ask")
    ]
    got = pl.DataFrame(level_lists(frame, pairs))
    expected = frame.select(
        pl.concat_list([f"{side}_{kind}_int_{i}" for i in range(3)])
        .list.drop_nulls()
        .alias(f"{side}s_{kind}_int")
        for side in ("bid", "ask")
        for kind in ("px", "qty")
    )
    assert got.to_dict(as_series=False) == expected.to_dict(as_series=False)


_CLEAN = st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=2, allow_nan=False).map(str)
_ANY = st.one_of(_CLEAN, st.sampled_from(["", '""', "0", "-1.5", "0.001", "1e-2", "99999999999999999.9"]))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.data())
def test_clean_book_encoding_equals_the_general_path(levels: int, data: st.DataObject) -> None:
    """Books whose every row is clean are encoded straight into level lists; the result (and the
    decision that a file is clean) must be exactly the general path's: per-level encoding, row
    checks, then lists."""
    header = ",".join(
        f"{side}[{i}].{field}"
        for i in range(levels)
        for side in ("asks", "bids")
        for field in ("price", "amount")
    )
    n = data.draw(st.integers(1, 6))
    cell = data.draw(st.sampled_from([_CLEAN, _ANY]))  # a clean file, or one that may have bad rows
    lines = []
    for row in range(n):
        # Level values: either a whole level absent, or two cells drawn independently.
        cells = []
        for _ in range(2 * levels):
            if data.draw(st.booleans()):
                cells += ["", ""]
            else:
                cells += [data.draw(cell), data.draw(cell)]
        lines.append(f"binance-futures,BTCUSDT,{T0 + row},{T0 + row},{','.join(cells)}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.csv"
        path.write_text(f"exchange,symbol,timestamp,local_timestamp,{header}\n" + "\n".join(lines) + "\n")
        parsed = canonical.stage(TardisCsv().read(path, ReadOptions()))
    info = SymbolInfo(
        symbol_id=symbol_id_for("binance-futures", "BTCUSDT"),
        exchange="binance-futures",
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        asset_type="perpetual",
        tick_size=None,
        lot_size=None,
        contract_size=None,
        is_inverse=False,
        price_exp=2,
        qty_exp=3,
        metadata_source="inferred",
        valid_from_us=T0,
    )
    good, bad = canonical.to_lake_rows(parsed, {info.symbol_id: info}, 7)
    with_general_path = canonical._clean_book_lists
    try:
        canonical._clean_book_lists = lambda *args: None  # type: ignore[assignment]
        expected_good, expected_bad = canonical.to_lake_rows(parsed, {info.symbol_id: info}, 7)
    finally:
        canonical._clean_book_lists = with_general_path  # type: ignore[assignment]
    assert good.to_dict(as_series=False) == expected_good.to_dict(as_series=False)
    assert bad.to_dict(as_series=False) == expected_bad.to_dict(as_series=False)
    assert good.schema == expected_good.schema


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(T0 - 2 * 86_400_000_000, T0 + 2 * 86_400_000_000), min_size=1, max_size=40)
    | st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=5)  # around the epoch
)
def test_partition_date_is_each_rows_utc_receive_date(ts: list[int]) -> None:
    """The ``date`` partition of lake rows (a constant for a one-day file) equals each row's UTC
    receive date, before the epoch and across midnight included."""
    frame = pl.DataFrame({"ts_local_us": ts})
    got = frame.with_columns(canonical._date_of(frame["ts_local_us"]).alias("date"))["date"]
    expected = [dt.date(1970, 1, 1) + dt.timedelta(days=t // 86_400_000_000) for t in ts]
    assert got.to_list() == expected
