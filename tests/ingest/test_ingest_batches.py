"""A Tardis file read in batches lands exactly what the same file read whole lands, in one commit.

Batches bound an ingest's memory (a day of quotes of a busy instrument does not fit in memory
whole); they must not change a single row, quarantine entry, instrument or report line. Each test
ingests the same files into two lakes, one with tiny batches and one reading whole files, and
compares everything a user can see.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pointline.ingest import instruments
from pointline.ingest.runner import IngestContext, run
from pointline.lake import dim_symbol, storage
from pointline.lake.quarantine import read_quarantine
from pointline.lake.schema import EVENT_TABLES

T0 = 1_714_521_600_000_000  # 2024-05-01 00:00:00 UTC
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def _ingest(paths: list[Path], lake: Path, batch_cells: int | None, symbols: Path | None = None):
    metadata = instruments.load_symbols_file(symbols) if symbols is not None else None
    return run(
        paths, IngestContext(lake=lake, batch_cells=batch_cells, batch_above_bytes=0, metadata=metadata)
    )


def _results(report) -> list[tuple[object, ...]]:
    return [
        (f.status, f.table, f.rows_read, f.rows_written, f.rows_quarantined, f.reason) for f in report.files
    ]


def _committed_files_only(lake: Path) -> None:
    """Every Parquet file under the lake's event tables is one the Delta log references."""
    for table in EVENT_TABLES:
        root = lake / table
        if not root.is_dir():
            continue
        referenced = {Path(f.uri).resolve() for f in storage.data_files(table, lake=lake)}
        on_disk = {p.resolve() for p in root.rglob("*.parquet")}
        assert on_disk == referenced, f"{table}: files written but never committed"


def _trade(
    i: int, *, symbol: str = "BTCUSDT", side: str = "buy", px: str = "60000.5", qty: str = "0.125"
) -> str:
    return f"binance-futures,{symbol},{T0 + 1000 * i},{T0 + 1000 * i + 50},{i},{side},{px},{qty}\n"


def _mixed_file(path: Path) -> Path:
    """Two instruments (the second first seen late, with more decimals than early rows show), bad
    rows of every kind, a blank line and a row crossing midnight."""
    lines = [TRADES_HEADER]
    for i in range(60):
        if i == 7:
            lines.append(_trade(i, px="6x000"))  # unparseable price
        elif i == 11:
            lines.append(_trade(i, side="hold"))  # unknown side
        elif i == 13:
            lines.append("\n")  # blank line: not data
        elif i == 17:
            lines.append(_trade(i, qty="-1"))  # non-positive size
        elif i >= 40 and i % 3 == 0:
            lines.append(_trade(i, symbol="ETHUSDT", px=f"3000.{i:03d}", qty="0.0001"))  # new, late
        else:
            lines.append(_trade(i, px=f"60000.{i % 10}", qty=f"{i % 4 + 1}.25"))
    lines.append(
        f"binance-futures,BTCUSDT,{T0 + 86_400_000_000},{T0 + 86_400_000_000 + 5},999,sell,60001,0.5\n"
    )  # next UTC day: another partition
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("batch_cells", [8, 8 * 7, 8 * 1000])
def test_batches_land_exactly_what_a_whole_file_lands(lake_state, tmp_path: Path, batch_cells: int) -> None:
    path = _mixed_file(tmp_path / "binance-futures_trades_2024-05-01_mixed.csv")
    batched = _ingest([path], tmp_path / "batched", batch_cells)
    whole = _ingest([path], tmp_path / "whole", None)
    assert _results(batched) == _results(whole)
    assert batched.files[0].status == "quarantined"
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")
    # ETHUSDT first appears at row 42: its exponent still comes from all of its rows.
    eth = dim_symbol.resolve("binance-futures", "ETHUSDT", lake=tmp_path / "batched")
    assert eth.qty_exp >= 4
    _committed_files_only(tmp_path / "batched")


def test_a_file_read_in_batches_is_one_commit(tmp_path: Path) -> None:
    path = _mixed_file(tmp_path / "binance-futures_trades_2024-05-01_mixed.csv")
    lake = tmp_path / "lake"
    _ingest([_mixed_file(tmp_path / "warm.csv")], lake, None)  # the instruments exist: one pass
    before = storage.table_version("trades", lake)
    path.write_text(path.read_text().replace(",60000.", ",60002."))  # other bytes: not a duplicate
    report = _ingest([path], lake, 8 * 5)
    assert report.files[0].rows_written > 40
    assert storage.table_version("trades", lake) == before + 1
    files = [f for f in storage.data_files("trades", lake=lake) if "part-00000-" not in f.uri]
    assert len(files) > 5  # one Parquet file per batch and partition, all in that one commit


def test_shared_tardis_samples_land_the_same_in_batches(lake_state, tardis_dir: Path, tmp_path: Path) -> None:
    paths = sorted(
        p
        for p in tardis_dir.iterdir()
        if p.name in {"trades.csv", "quotes.csv"} or p.name.startswith("binance-futures_book_snapshot")
    )
    batched = _ingest(paths, tmp_path / "batched", 2_000)
    whole = _ingest(paths, tmp_path / "whole", None)
    assert _results(batched) == _results(whole)
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")
    _committed_files_only(tmp_path / "batched")


def test_a_malformed_line_in_a_late_batch_falls_back_to_the_whole_file(lake_state, tmp_path: Path) -> None:
    body = "".join(_trade(i, px=f"60000.{i % 10}") for i in range(40))
    body += "binance-futures,BTCUSDT,1,2,3\n"  # too few fields: a malformed line (line 42)
    body += "".join(_trade(i) for i in range(41, 50))
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    path.write_bytes(gzip.compress((TRADES_HEADER + body).encode()))
    batched = _ingest([path], tmp_path / "batched", 8 * 4)
    whole = _ingest([path], tmp_path / "whole", None)
    assert _results(batched) == _results(whole)
    assert batched.files[0].rows_quarantined == 1
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")
    _committed_files_only(tmp_path / "batched")  # the batches written before the bad line are gone


def test_a_symbols_file_gives_the_same_versions_in_batches(lake_state, tmp_path: Path) -> None:
    path = _mixed_file(tmp_path / "binance-futures_trades_2024-05-01_mixed.csv")
    symbols = tmp_path / "symbols.csv"
    symbols.write_text(
        "exchange,symbol,tick_size,lot_size,contract_size,is_inverse,asset_type\n"
        "binance-futures,ETHUSDT,0.001,0.0001,1,false,perpetual\n"
    )
    batched = _ingest([path], tmp_path / "batched", 8 * 3, symbols)
    whole = _ingest([path], tmp_path / "whole", None, symbols)
    assert _results(batched) == _results(whole)
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")


_ROW = st.tuples(
    st.sampled_from(["BTCUSDT", "ETHUSDT", "SOLUSDT"]),
    st.sampled_from(["buy", "sell", "", "hold"]),
    st.sampled_from(["60000.5", "60000.25", "1.125", "7", "0", "x1", "123456.123456789"]),
    st.sampled_from(["0.5", "1", "0.001", "-2", "", "3.14159"]),
    st.integers(0, 2 * 86_400_000_000),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=40), rows_per_batch=st.integers(1, 12))
def test_any_batch_size_lands_what_the_whole_file_lands(
    lake_state,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, str, int]],
    rows_per_batch: int,
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    text = TRADES_HEADER + "".join(
        f"binance-futures,{sym},{T0 + t},{T0 + t + 7},{i},{side},{px},{qty}\n"
        for i, (sym, side, px, qty, t) in enumerate(rows)
    )
    path = tmp / "binance-futures_trades_2024-05-01_any.csv"
    path.write_text(text)
    batched = _ingest([path], tmp / "batched", 8 * rows_per_batch)
    whole = _ingest([path], tmp / "whole", None)
    assert _results(batched) == _results(whole)
    assert lake_state(tmp / "batched") == lake_state(tmp / "whole")
    _committed_files_only(tmp / "batched")


def test_the_batched_read_keeps_memory_bounded_by_the_batch(tmp_path: Path) -> None:
    """The reader yields parts of the requested size, with the whole file's line numbers."""
    from pointline.ingest.registry import csv_batches

    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress((TRADES_HEADER + "".join(_trade(i) for i in range(25))).encode()))
    parts = list(csv_batches(path, int_columns=("timestamp",), batch_cells=8 * 10))
    assert [p.height for p in parts] == [10, 10, 5]
    lines = pl.concat(parts)["file_line_number"].to_list()
    assert lines == list(range(2, 27))
    assert parts[0].schema["timestamp"] == pl.Int64 and parts[0].columns[-1] == "file_line_number"


def test_progress_sees_each_batch_of_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv"
    path.write_text(TRADES_HEADER + "".join(_trade(i) for i in range(25)))
    seen: list[tuple[int, str]] = []
    context = IngestContext(
        lake=tmp_path / "lake",
        batch_cells=8 * 10,
        batch_above_bytes=0,
        on_batch=lambda _, n, step: seen.append((n, step)),
    )
    assert run([path], context).files[0].rows_written == 25
    # The new instrument's file is profiled first, then landed.
    assert seen == [
        (10, "profile"),
        (20, "profile"),
        (25, "profile"),
        (10, "land"),
        (20, "land"),
        (25, "land"),
    ]


def _vision_rows(n: int, *, ms: bool) -> str:
    scale = 1 if ms else 1000
    return "".join(
        f"{100 + i},60000.{i % 10},0.{i % 7 + 1}00,6000.0,{(1_714_521_600_000 + 3 * i) * scale},"
        f"{'true' if i % 3 else 'false'},true\n"
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("header", "ms", "packed"), [(True, True, "csv"), (False, False, "zip"), (True, False, "zip")]
)
def test_binance_vision_files_land_the_same_in_batches(
    lake_state, tmp_path: Path, header: bool, ms: bool, packed: str
) -> None:
    import zipfile

    text = ("id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n" if header else "") + _vision_rows(
        30, ms=ms
    )
    text = text.replace("60000.4,", "6x000,", 1)  # one unparseable price
    folder = tmp_path / "futures" / "um" / "daily" / "trades"
    folder.mkdir(parents=True)
    path = folder / f"BTCUSDT-trades-2024-05-01.{packed}"
    if packed == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("BTCUSDT-trades-2024-05-01.csv", text)
    else:
        path.write_text(text)
    batched = _ingest([path], tmp_path / "batched", 7 * 4)
    whole = _ingest([path], tmp_path / "whole", None)
    assert _results(batched) == _results(whole)
    assert batched.files[0].status == "quarantined" and batched.files[0].rows_written == 29
    assert len(storage.data_files("trades", lake=tmp_path / "batched")) > 5  # landed batch by batch
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")
    _committed_files_only(tmp_path / "batched")
    scratch = tmp_path / "batched" / ".scratch"
    assert not scratch.exists() or not any(scratch.iterdir())  # the unpacked member is gone


def test_notes_of_a_new_instrument_read_in_batches_match_a_whole_read(tmp_path: Path) -> None:
    rows = "".join(
        f"okex-swap,BTC-USDT-SWAP,{T0 + 1000 * i},{T0 + 1000 * i + 9},{i},buy,60000.{i % 10},{i % 5 + 1}\n"
        for i in range(30)
    )
    path = tmp_path / "okex-swap_trades_2024-05-01_BTC-USDT-SWAP.csv"
    path.write_text(TRADES_HEADER + rows)
    again = tmp_path / "copy" / "okex-swap_trades_2024-05-01_BTC-USDT-SWAP.csv"  # the same rows again
    again.parent.mkdir()
    again.write_text(TRADES_HEADER + rows.replace("60000.", "60001."))
    batched = _ingest([path, again], tmp_path / "batched", 8 * 7)
    whole = _ingest([path, again], tmp_path / "whole", None)
    assert _results(batched) == _results(whole)
    assert "contract size unknown" in (batched.files[0].reason or "")
    assert "possible duplicate data" in (batched.files[1].reason or "")


def test_a_truncated_gzip_read_in_batches_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    text = TRADES_HEADER + "".join(_trade(i, px=f"60000.{i % 10}") for i in range(3000))
    data = gzip.compress(text.encode())
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    path.write_bytes(data[: len(data) * 2 // 3])  # cut mid-stream: early batches read fine
    lake = tmp_path / "lake"
    assert _ingest([path], lake, 8 * 100).files[0].status == "failed"  # a new instrument: profiled first
    assert dim_symbol.read_dim_symbol(lake).height == 0  # nothing registered for a failed file
    known = tmp_path / "known.csv"
    known.write_text(TRADES_HEADER + _trade(0))
    assert _ingest([known], lake, None).files[0].status == "ingested"
    before = {f.uri for f in storage.data_files("trades", lake=lake)}
    result = _ingest([path], lake, 8 * 100).files[0]  # known now: landed batch by batch until the cut
    assert result.status == "failed"
    assert "the file looks truncated or corrupt" in (result.reason or "")
    assert {f.uri for f in storage.data_files("trades", lake=lake)} == before
    assert len(list((lake / "trades").rglob("*.parquet"))) == len(before)  # the batches were discarded


def _bad_heavy_text(rows: int) -> str:
    """Trades of which two in three fail a check (non-positive size, unknown side)."""
    lines = [TRADES_HEADER]
    for i in range(rows):
        kind = i % 3
        lines.append(_trade(i, qty="0") if kind == 0 else _trade(i, side="hold") if kind == 1 else _trade(i))
    return "".join(lines)


def test_quarantine_rows_of_a_batched_file_are_set_aside_on_disk_until_its_commit(
    lake_state, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file of bad rows must land in bounded memory too: past a few rows held, a batch's quarantine
    # rows wait in Parquet files under the lake's scratch folder, then land after the data commit.
    from pointline.ingest import landing

    monkeypatch.setattr(landing, "QUARANTINE_HELD_ROWS", 25)
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv"
    path.write_text(_bad_heavy_text(600))
    spilled: list[Path] = []
    write = pl.DataFrame.write_parquet

    def spy(frame: pl.DataFrame, file: object, *args: object, **kwargs: object) -> None:
        if "quarantine-" in str(file):
            spilled.append(Path(str(file)))
        write(frame, file, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", spy)
    batched = _ingest([path], tmp_path / "batched", 8 * 40)
    whole = _ingest([path], tmp_path / "whole", None)
    assert len(spilled) >= 10 and not any(p.exists() for p in spilled)
    assert not (tmp_path / "batched" / landing.SCRATCH_DIR).exists()
    assert _results(batched) == _results(whole)
    assert batched.files[0].rows_quarantined == 400
    assert batched.files[0].reason == "200 non_positive, 200 unknown_side"
    assert lake_state(tmp_path / "batched") == lake_state(tmp_path / "whole")


def test_quarantine_set_aside_for_a_file_that_then_fails_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pointline.ingest import landing

    monkeypatch.setattr(landing, "QUARANTINE_HELD_ROWS", 25)
    lake = tmp_path / "lake"
    known = tmp_path / "known.csv"
    known.write_text(TRADES_HEADER + _trade(0))
    assert _ingest([known], lake, None).files[0].status == "ingested"
    data = gzip.compress(_bad_heavy_text(3000).encode())
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    path.write_bytes(data[: len(data) * 2 // 3])  # early batches read (and quarantine) fine
    assert _ingest([path], lake, 8 * 100).files[0].status == "failed"
    assert read_quarantine(lake).height == 0
    assert not (lake / landing.SCRATCH_DIR).exists()
