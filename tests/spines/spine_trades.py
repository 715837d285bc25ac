"""Small handmade trade tables for the spine tests (a module with a unique name, importable
from any test file)."""

from __future__ import annotations

import polars as pl


def make_trades(rows: list[tuple], *, symbol_id: int = 7, qty_exp: int = 1) -> pl.DataFrame:
    """Trades from ``(ts_local_us, file_line_number, qty[, px])`` rows, file_id 1, exact qty_int."""
    ts = [r[0] for r in rows]
    line = [r[1] for r in rows]
    qty = [float(r[2]) for r in rows]
    px = [float(r[3]) if len(r) > 3 else 100.0 for r in rows]
    return pl.DataFrame(
        {
            "symbol_id": pl.Series([symbol_id] * len(rows), dtype=pl.Int64),
            "ts_local_us": pl.Series(ts, dtype=pl.Int64),
            "file_id": pl.Series([1] * len(rows), dtype=pl.Int32),
            "file_line_number": pl.Series(line, dtype=pl.Int32),
            "px": pl.Series(px, dtype=pl.Float64),
            "qty": pl.Series(qty, dtype=pl.Float64),
            "qty_int": pl.Series([round(q * 10**qty_exp) for q in qty], dtype=pl.Int64),
            "side": pl.Series([0] * len(rows), dtype=pl.Int8),
        }
    )
