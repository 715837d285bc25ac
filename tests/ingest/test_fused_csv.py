"""The fused Tardis reader stages exactly what the general reader stages, or declines the file.

The fused reader (inflate and parse in one compiled pass) is only a faster way to the same staged
rows: for every file it takes, each of its columns must equal the general reader's (Polars' CSV
reader, then the decimal scan), value for value and type for type; every file it declines goes to
the general reader. The tests check both halves: equality on real and synthetic files and on
generated ones with every oddity the general reader handles (quotes, CRLF, blank lines, empty
fields, scientific notation, long decimals, several instruments), with tiny chunks so that lines
and fields fall across chunk edges; and that the plain files it exists for are not declined.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pointline.ingest import canonical, fused_csv, ingest
from pointline.ingest.registry import ReadOptions, get_format
from pointline.ingest.runner import IngestContext, run
from pointline.synth import SynthConfig, generate_market

TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES_HEADER = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
T0 = 1_714_521_600_000_000


def _general(path: Path, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as m:
        m.setattr(fused_csv, "ENABLED", False)
        return canonical.stage(get_format("tardis").read(path, ReadOptions()))


def _assert_same_staging(path: Path, monkeypatch: pytest.MonkeyPatch, *, plain: bool | None = True) -> None:
    """The fused staging of ``path`` equals the general one on every column it has (``plain``: it
    must take the file; ``False``: it must decline it; ``None``: either)."""
    fused = fused_csv.read(path)
    if plain is not None:
        assert (fused is not None) == plain, f"fused reader {'declined' if plain else 'took'} {path.name}"
    if fused is None:
        return
    general = _general(path, monkeypatch)
    assert fused.table == general.table and fused.levels == general.levels
    assert fused.instruments == canonical.instruments_in(general)
    assert fused.frame.height == general.frame.height
    missing = set(general.frame.columns) - set(fused.frame.columns)
    texts = {c for p in canonical.value_pairs(general) for c in (p.px, p.qty)}
    assert missing == texts, "only the value text columns are left out"
    assert_frame_equal(fused.frame, general.frame.select(fused.frame.columns))


def _write(path: Path, text: str, *, gz: bool) -> Path:
    data = text.encode("ascii")
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name",
    [
        "trades.csv",
        "quotes.csv",
        "binance-futures_book_snapshot_25_BTCUSDT.csv",
        "binance-futures_book_snapshot_5_BTCUSDT.csv",
        "bitmex_trades_XBTUSD.csv",
        "huobi-dm-swap_quotes_BTC-USD.csv",
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_real_tardis_samples_stage_the_same(
    tardis_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, gz: bool
) -> None:
    source = tardis_dir / name
    path = _write(tmp_path / name, source.read_bytes().decode("ascii"), gz=True) if gz else source
    # Small steps: the samples span many chunks, so lines and fields fall on chunk edges.
    monkeypatch.setattr(fused_csv, "INFLATE_STEP", 997)
    monkeypatch.setattr(fused_csv, "READ_STEP", 4093)
    _assert_same_staging(path, monkeypatch)


def test_synthetic_market_files_stage_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = SynthConfig(
        start=dt.date(2024, 5, 1),
        days=1,
        exchanges=("bybit",),
        symbols=("BTCUSDT",),
        seed=3,
        trades_per_day=5_000,
    )
    files = generate_market(tmp_path / "vendor", config)
    assert {f.name.split("_2024")[0] for f in files} == {
        "bybit_trades",
        "bybit_quotes",
        "bybit_book_snapshot_25",
    }
    for path in files:
        _assert_same_staging(path, monkeypatch)


def test_a_multi_member_gzip_reads_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        f"binance-futures,BTCUSDT,{T0 + i},{T0 + i + 5},{i},buy,60000.{i % 10},0.{i + 1:03d}"
        for i in range(40)
    ]
    text = "\n".join([TRADES_HEADER, *rows]) + "\n"
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    cut = len(text) // 2
    path.write_bytes(gzip.compress(text[:cut].encode()) + gzip.compress(text[cut:].encode()))
    _assert_same_staging(path, monkeypatch)
    assert fused_csv.read(path).frame.height == 40


@pytest.mark.parametrize("gz", [False, True])
def test_columns_grow_when_the_text_is_larger_than_expected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    """The columns are sized from the text size a file announces (a gzip trailer records only its
    last member's); a file holding more rows grows them between pieces and stages the same."""
    rows = [
        f"binance-futures,BTCUSDT,{T0 + i},{T0 + i + 5},{'x' * (i % 17)}{i},{('buy', 'sell')[i % 2]},6000{i % 7}.5,{i % 13}.25"
        for i in range(6_000)
    ]
    path = _write(
        tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv", "\n".join([TRADES_HEADER, *rows]), gz=gz
    )
    monkeypatch.setattr(fused_csv, "_text_size", lambda path, gz: 0)  # room for 1,024 rows at first
    monkeypatch.setattr(fused_csv, "INFLATE_STEP", 1499)
    monkeypatch.setattr(fused_csv, "READ_STEP", 7001)
    _assert_same_staging(path, monkeypatch)
    assert fused_csv.read(path).frame["trade_id"].to_list()[-2:] == ["x" * 14 + "5998", "x" * 15 + "5999"]


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300),
    start=st.integers(0, 300),
    stop=st.integers(0, 300),
    newline_every=st.integers(1, 12),
)
def test_line_count_matches_a_plain_count(data: bytes, start: int, stop: int, newline_every: int) -> None:
    """The eight-bytes-at-a-time newline count equals ``bytes.count`` on any bytes and bounds
    (bytes such as 0x8A or 0x0B, one bit away from a newline, included)."""
    data = bytes(b if i % newline_every else 10 for i, b in enumerate(data))
    stop = min(stop, len(data))
    start = min(start, stop)
    assert fused_csv._count_lines(np.frombuffer(data, dtype=np.uint8), start, stop) == data[start:stop].count(
        b"\n"
    )


def test_a_truncated_gzip_is_declined_and_fails_clearly(tmp_path: Path) -> None:
    rows = [f"binance-futures,BTCUSDT,{T0 + i},{T0 + i + 5},{i},sell,60000.5,1" for i in range(5000)]
    data = gzip.compress(("\n".join([TRADES_HEADER, *rows]) + "\n").encode())
    path = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert fused_csv.read(path) is None
    report = ingest([path], lake=tmp_path / "lake")
    assert report.files[0].status == "failed" and "truncated or corrupt" in report.files[0].reason


# Rows built from fields that are each plain, or (with the draw) one of the oddities the general
# reader decides row by row. Values stay within what both readers can hold.
_PLAIN_DECIMAL = st.one_of(
    st.integers(1, 10**9).map(str),
    st.tuples(st.integers(0, 10**8), st.integers(0, 10**5), st.integers(0, 3)).map(
        lambda t: f"{t[0]}.{'0' * t[2]}{t[1]}"
    ),
    st.sampled_from(["0.000000000000000000001", "00012.5", "5.", ".5", "0", "0.0", "123456789012345678"]),
)
_ODD_DECIMAL = st.sampled_from(
    [
        "",
        "1e-05",
        " 1.5",
        "1.5 ",
        "1,5",
        '"1.5"',
        "-1.5",
        "+2",
        "1.2.3",
        ".",
        "-",
        "abc",
        "1234567890123456789.5",
    ]
)
# Trade ids: numbers, and text ids on both sides of 12 characters (kept inline or not).
_TRADE_ID = st.one_of(
    st.integers(0, 10**12).map(str),
    st.text(alphabet="abcdef0123456789-_:.", min_size=1, max_size=40),
)
_ODD_LINES = st.sampled_from(["", "\r", "only,three,fields", '"quoted",x'])


@st.composite
def _tardis_text(draw, kind: str) -> tuple[str, bool]:
    """A Tardis file's text and whether every row of it is plain."""
    n = draw(st.integers(1, 30))
    plain = True
    names = ("binance-futures", "BTCUSDT")
    lines = [TRADES_HEADER if kind == "trades" else QUOTES_HEADER]
    for i in range(n):
        odd = draw(st.integers(0, 24)) == 0
        exchange, symbol = names
        if odd and draw(st.booleans()):
            symbol = draw(st.sampled_from(["ETHUSDT", "BTCUSDT_240628", ""]))
            plain = False
        ts = str(T0 + i * 1000)
        local = str(T0 + i * 1000 + draw(st.integers(0, 999)))
        if odd and draw(st.booleans()):
            local = draw(st.sampled_from(["", "12x", "0017145216000000000000", " 1714521600000000"]))
            plain = False
        if kind == "trades":
            side = draw(st.sampled_from(["buy", "sell", "unknown"]))
            if odd and draw(st.booleans()):
                side = draw(st.sampled_from(["", "BUY", "bid"]))
                plain = False
            price, amount = draw(_PLAIN_DECIMAL), draw(_PLAIN_DECIMAL)
            if odd and draw(st.booleans()):
                price = draw(_ODD_DECIMAL)
                plain = False
            trade_id = draw(_TRADE_ID)
            fields = [exchange, symbol, ts, local, trade_id, side, price, amount]
        else:
            values = [draw(st.one_of(_PLAIN_DECIMAL, st.just(""))) for _ in range(4)]
            if odd and draw(st.booleans()):
                values[draw(st.integers(0, 3))] = draw(_ODD_DECIMAL.filter(bool))
                plain = False
            fields = [exchange, symbol, ts, local, *values]
        lines.append(",".join(fields))
        if odd and draw(st.booleans()):
            lines.append(draw(_ODD_LINES))
            plain = False
    ending = "\n" if draw(st.booleans()) else ""
    return "\n".join(lines) + ending, plain


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["trades", "quotes"]),
    data=st.data(),
    gz=st.booleans(),
    step=st.integers(1, 200),
)
def test_generated_files_stage_the_same_or_are_declined(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    data: st.DataObject,
    gz: bool,
    step: int,
) -> None:
    text, plain = data.draw(_tardis_text(kind))
    monkeypatch.setattr(fused_csv, "INFLATE_STEP", step)
    monkeypatch.setattr(fused_csv, "READ_STEP", step)
    path = _write(
        tmp_path_factory.mktemp("fused") / f"binance-futures_{kind}_2024-05-01_BTCUSDT.csv", text, gz=gz
    )
    # A file of plain rows must be taken; one with an oddity may be (when the general reader reads
    # it the same way, e.g. a decimal with many leading zeros), and then stages the same.
    _assert_same_staging(path, monkeypatch, plain=True if plain else None)


_PLAIN_ROW = "binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,buy,60000.5,0.125"


@pytest.mark.parametrize(
    ("odd", "why"),
    [
        ("binance-futures,ETHUSDT,1714521600000100,1714521600000200,77,buy,60000.5,0.125", "another symbol"),
        (
            "binance-futurez,BTCUSDT,1714521600000100,1714521600000200,77,buy,60000.5,0.125",
            "another exchange",
        ),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,BUY,60000.5,0.125", "side spelling"),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,,buy,60000.5,0.125", "no trade id"),
        ("binance-futures,BTCUSDT,,1714521600000200,77,buy,60000.5,0.125", "no exchange time"),
        ("binance-futures,BTCUSDT,1714521600000100, 1714521600000200,77,buy,60000.5,0.125", "a blank"),
        ("binance-futures,BTCUSDT,1714521600000100,17145216000002000000,77,buy,60000.5,0.125", "a long time"),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,buy,6e4,0.125", "scientific"),
        ('binance-futures,BTCUSDT,1714521600000100,1714521600000200,"77",buy,60000.5,0.125', "a quote"),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,buy,60000.5,0.125\r", "CRLF"),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,buy,60000.5,0.125,1", "a field more"),
        ("binance-futures,BTCUSDT,1714521600000100,1714521600000200,77,buy,60000.5", "a field less"),
        ("", "a blank line"),
    ],
)
def test_a_file_with_one_odd_line_goes_to_the_general_reader(tmp_path: Path, odd: str, why: str) -> None:
    lines = [TRADES_HEADER, _PLAIN_ROW, _PLAIN_ROW, odd, _PLAIN_ROW]
    path = _write(
        tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv", "\n".join(lines) + "\n", gz=False
    )
    assert fused_csv.read(path) is None, why
    plain = _write(
        tmp_path / "plain.csv", "\n".join([TRADES_HEADER, _PLAIN_ROW, _PLAIN_ROW]) + "\n", gz=False
    )
    assert fused_csv.read(plain) is not None


def test_ingest_lands_the_same_lake_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lake_state
) -> None:
    """End to end, including rows a later check quarantines (a zero price, a size finer than the
    instrument's exponent): the fused read re-reads the file's own text for them."""
    rows = [
        f"binance-futures,BTCUSDT,{T0 + i},{T0 + i + 7},{100 + i},buy,60000.{i % 10},0.{i + 1:03d}"
        for i in range(50)
    ]
    first = tmp_path / "vendor" / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    first.parent.mkdir()
    first.write_bytes(gzip.compress(("\n".join([TRADES_HEADER, *rows]) + "\n").encode()))
    later = [
        f"binance-futures,BTCUSDT,{T0 + 10**9 + i},{T0 + 10**9 + i + 7},{900 + i},sell,60001.5,0.25"
        for i in range(20)
    ]
    later[3] = later[3].replace("60001.5,0.25", "0,0.25")  # non_positive
    later[9] = later[9].replace("0.25", "0.0000001")  # precision (the exponent was set by the first file)
    second = first.with_name("binance-futures_trades_2024-05-02_BTCUSDT.csv")
    second.write_text("\n".join([TRADES_HEADER, *later]) + "\n")
    assert fused_csv.read(second) is not None

    def landed(lake: Path, enabled: bool) -> tuple[dict[str, object], list[tuple[object, ...]]]:
        with monkeypatch.context() as m:
            m.setattr(fused_csv, "ENABLED", enabled)
            report = run([first, second], IngestContext(lake=lake))
        files = [(f.status, f.rows_read, f.rows_written, f.rows_quarantined, f.reason) for f in report.files]
        return lake_state(lake), files

    fused_state, fused_files = landed(tmp_path / "fused", True)
    general_state, general_files = landed(tmp_path / "general", False)
    assert (
        fused_files
        == general_files
        == [("ingested", 50, 50, 0, None), ("quarantined", 20, 18, 2, "1 non_positive, 1 precision")]
    )
    assert fused_state == general_state
    reasons = {(r[2], r[4]) for r in fused_state["quarantine"]}
    assert reasons == {(5, "non_positive"), (11, "precision")}, reasons
    assert any("0,0.25" in r[5] for r in fused_state["quarantine"]), "quarantine keeps the row's own text"


def test_header_layouts() -> None:
    assert fused_csv.layout_of(TRADES_HEADER).table == "trades"
    assert fused_csv.layout_of(QUOTES_HEADER).decimals == ("bid_px", "bid_qty", "ask_px", "ask_qty")
    book = fused_csv.layout_of(
        "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount"
    )
    assert book.table == "book_snapshot_25" and book.levels == 1
    # Not taken: an extra column, a repeated one, a data type of its own, more than 25 levels.
    assert fused_csv.layout_of(TRADES_HEADER + ",extra") is None
    assert fused_csv.layout_of(TRADES_HEADER + ",price") is None
    assert (
        fused_csv.layout_of("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount") is None
    )
    assert (
        fused_csv.layout_of("exchange,symbol,timestamp,local_timestamp,asks[25].price,asks[25].amount")
        is None
    )


def test_zlib_streams_match(tmp_path: Path) -> None:
    """The inflater hands over exactly the file's text, in order (against zlib)."""
    pytest.importorskip("isal")
    text = ("\n".join(f"line {i} " * (i % 7) for i in range(20_000))).encode()
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(text, compresslevel=1))
    assert b"".join(fused_csv._inflated(path)) == zlib.decompress(path.read_bytes(), wbits=31)


def test_a_forked_child_starts_its_own_threads() -> None:
    """The parsing and hashing threads are started once per process; a child forked after a read
    (``multiprocessing``'s default on Linux) has none of them, so it must not reuse the parent's
    pools, whose work would never run there."""
    from pointline.ingest import runner

    fused_csv._pool(), runner._hasher()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once (no Polars, no pytest teardown)
        fresh = fused_csv._parsers is None and runner._hashing_thread is None
        os.write(write_end, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert fused_csv._parsers is not None, "the parent keeps its threads"


def test_a_damaged_gzip_trailer_cannot_size_the_columns_beyond_reason(tmp_path: Path) -> None:
    """The columns are sized from the gzip trailer's text size, capped at a ratio of the file's
    size: a damaged trailer claiming 4 GiB asks for no more (and the file is declined)."""
    rows = "".join(
        f"binance-futures,BTCUSDT,{T0 + i * 7919},{T0 + i * 7927},{i},buy,{i * 31 % 997}.5,2\n"
        for i in range(100)
    )
    text = (TRADES_HEADER + "\n" + rows).encode()
    good = tmp_path / "good.csv.gz"
    good.write_bytes(gzip.compress(text))
    assert fused_csv._text_size(good, gz=True) == len(text)
    damaged = tmp_path / "binance-futures_trades_2024-05-01_BTCUSDT.csv.gz"
    damaged.write_bytes(good.read_bytes()[:-4] + b"\xff\xff\xff\xff")
    assert fused_csv._text_size(damaged, gz=True) == damaged.stat().st_size * fused_csv._MAX_RATIO
    assert fused_csv.read(damaged) is None
