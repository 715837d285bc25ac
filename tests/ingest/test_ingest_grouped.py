"""A grouped Tardis file (many instruments in one file, e.g. ``..._PERPETUALS.csv.gz``) lands each
instrument with its own exponents, exactly, on the first day and on later days."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from pointline.ingest import ingest
from pointline.lake import dim_symbol
from pointline.lake.encoding import decode_value
from pointline.research import query

T0 = 1_714_521_600_000_000  # 2024-05-01 00:00:00 UTC in µs
DAY_US = 86_400_000_000
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
# Six instruments (more than one partition_by threshold), each with its own price and size decimals.
INSTRUMENTS = {
    "AUSDT": ("60000.5", "0.001"),
    "BUSDT": ("3000.25", "0.01"),
    "CUSDT": ("0.000123", "1500"),
    "DUSDT": ("1.2345", "10.5"),
    "EUSDT": ("250", "0.3"),
    "FUSDT": ("0.5", "123456.789"),
}


def _grouped_file(tmp_path: Path, day: int) -> tuple[Path, list[tuple[str, int, str, str]]]:
    rows = []
    for k in range(30):
        symbol = sorted(INSTRUMENTS)[k % len(INSTRUMENTS)]
        px, qty = INSTRUMENTS[symbol]
        rows.append((symbol, T0 + day * DAY_US + k * 1_000, px, qty))
    path = tmp_path / f"binance-futures_trades_2024-05-0{day + 1}_PERPETUALS.csv"
    lines = [
        f"binance-futures,{s},{ts - 50},{ts},{i},buy,{px},{qty}\n" for i, (s, ts, px, qty) in enumerate(rows)
    ]
    path.write_text(HEADER + "".join(lines))
    return path, rows


def test_each_instrument_of_a_grouped_file_lands_exactly_with_its_own_exponents(
    lake: Path, tmp_path: Path
) -> None:
    for day in (0, 1):  # day 0 registers the instruments; day 1 encodes with known exponents
        path, rows = _grouped_file(tmp_path, day)
        result = ingest([path]).files[0]
        assert (result.status, result.rows_written) == ("ingested", len(rows))
        for symbol, (px, qty) in INSTRUMENTS.items():
            info = dim_symbol.resolve("binance-futures", symbol)
            got = query.trades("binance-futures", symbol, T0 + day * DAY_US, T0 + (day + 1) * DAY_US)
            assert isinstance(got, pl.DataFrame)
            assert got.height == sum(r[0] == symbol for r in rows)
            assert {decode_value(v, info.price_exp) for v in got["px_int"]} == {Decimal(px)}
            assert {decode_value(v, info.qty_exp) for v in got["qty_int"]} == {Decimal(qty)}
    exponents = {s: dim_symbol.resolve("binance-futures", s).price_exp for s in INSTRUMENTS}
    assert exponents["CUSDT"] > exponents["EUSDT"]  # chosen per instrument, not per file
