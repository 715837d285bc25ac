"""Study inputs: per-exchange bar frames on one clock, merged with suffixes, plus consensus features.

Input bar frames carry ``ts`` (known-at instant = bucket end, Int64 µs) and ``bucket_start``; frames in
the notebook's layout (``timestamp_us`` = bucket *start*) are accepted and given ``ts = timestamp_us
+ interval``. Columns of each exchange get the exchange's suffix (``close_bn``); the merge keeps
bars present on every exchange (an inner join, as the notebook).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import polars as pl

from pointline.errors import PointlineError
from pointline.research.returns import bar_returns

DEFAULT_SUFFIXES: dict[str, str] = {"binance-futures": "bn", "bybit": "bb", "okex-swap": "okx"}

NOTEBOOK_MERGE_COLUMNS: tuple[str, ...] = (
    "vol_imbalance",
    "dollar_imbalance",
    "large_imbalance",
    "count_imbalance",
    "close_vs_vwap",
    "vol_profile_skew",
    "kyle_lambda",
    "arrival_rate",
    "volume",
    "open",
    "close",
    "returns",
    "price_range",
    "trade_count",
)

CONSENSUS_FEATURES: tuple[str, ...] = (
    "vol_imbalance",
    "dollar_imbalance",
    "large_imbalance",
    "count_imbalance",
    "close_vs_vwap",
    "vol_profile_skew",
)


def suffix_for(exchange: str, suffixes: Mapping[str, str] | None = None) -> str:
    """Column suffix of an exchange: the configured one, a known default, else a sanitised name.

    Example
    -------
    >>> suffix_for("binance-futures"), suffix_for("deribit")
    ('bn', 'deribit')
    """
    if suffixes and exchange in suffixes:
        return suffixes[exchange]
    return DEFAULT_SUFFIXES.get(exchange, re.sub(r"[^0-9a-zA-Z]+", "_", exchange).strip("_").lower())


def normalise_bars(df: pl.DataFrame, interval_us: int) -> pl.DataFrame:
    """Give a bar frame ``ts`` (bucket end) and ``bucket_start`` (Int64 µs), sorted by ``ts``.

    Parameters
    ----------
    df
        Bars with ``ts`` (end) or, in the notebook's layout, only ``timestamp_us`` (start).
    interval_us
        Bar length, µs.

    Returns
    -------
    pl.DataFrame
        The bars with both clock columns, unique and sorted by ``ts``.
    """
    if "ts" in df.columns:
        out = (
            df
            if "bucket_start" in df.columns
            else df.with_columns((pl.col("ts") - interval_us).alias("bucket_start"))
        )
    elif "timestamp_us" in df.columns:
        out = df.with_columns(
            pl.col("timestamp_us").cast(pl.Int64).alias("bucket_start"),
            (pl.col("timestamp_us").cast(pl.Int64) + interval_us).alias("ts"),
        )
    else:
        raise PointlineError(
            f"study inputs: a bar frame needs 'ts' (bucket end, µs) or 'timestamp_us' (bucket start); got {df.columns}"
        )
    out = out.with_columns(pl.col("ts").cast(pl.Int64), pl.col("bucket_start").cast(pl.Int64)).sort("ts")
    if out["ts"].n_unique() != out.height:
        raise PointlineError("study inputs: duplicate bar timestamps in a per-exchange frame")
    return out


def merge_exchanges(
    frames: Mapping[str, pl.DataFrame],
    *,
    columns: Sequence[str] = NOTEBOOK_MERGE_COLUMNS,
    suffixes: Mapping[str, str] | None = None,
    interval_us: int = 300_000_000,
    returns: str = "grid",
) -> pl.DataFrame:
    """Merge per-exchange bars on ``ts`` with suffixed columns.

    Parameters
    ----------
    frames
        ``{exchange: bar frame}``; the first exchange is the reference venue.
    columns
        Columns to carry (missing ones are skipped; ``returns`` is computed).
    suffixes
        ``{exchange: suffix}`` overriding :data:`DEFAULT_SUFFIXES`.
    interval_us
        Bar length, µs.
    returns
        ``"grid"``: one-bar return on the time grid (null after a gap); ``"rows"``: the notebook's
        ``pct_change`` over the exchange's own consecutive rows.

    Returns
    -------
    pl.DataFrame
        ``ts``, ``bucket_start`` and ``<col>_<suffix>`` for each exchange, bars present everywhere.

    Example
    -------
    >>> a = pl.DataFrame({"ts": [300, 600], "close": [1.0, 2.0]})
    >>> merge_exchanges({"binance-futures": a, "bybit": a}, columns=["close"], interval_us=300).columns
    ['ts', 'bucket_start', 'close_bn', 'returns_bn', 'close_bb', 'returns_bb']
    """
    if not frames:
        raise PointlineError("merge_exchanges: expected at least one exchange frame")
    if returns not in ("grid", "rows"):
        raise PointlineError(f"merge_exchanges: returns must be 'grid' or 'rows', got {returns!r}")
    seen: dict[str, str] = {}
    merged: pl.DataFrame | None = None
    for exchange, raw in frames.items():
        sfx = suffix_for(exchange, suffixes)
        if sfx in seen:
            raise PointlineError(f"merge_exchanges: {exchange!r} and {seen[sfx]!r} share the suffix {sfx!r}")
        seen[sfx] = exchange
        bars = normalise_bars(raw, interval_us)
        if "close" not in bars.columns:
            raise PointlineError(f"merge_exchanges: the {exchange!r} frame has no 'close' column")
        if returns == "rows":
            bars = bars.with_columns((pl.col("close") / pl.col("close").shift(1) - 1.0).alias("returns"))
        else:
            bars = bar_returns(bars, "close", interval_us)
        keep = [c for c in dict.fromkeys(columns) if c in bars.columns]
        if "returns" not in keep:
            keep.append("returns")
        part = bars.select("ts", "bucket_start", *[pl.col(c).alias(f"{c}_{sfx}") for c in keep])
        merged = part if merged is None else merged.join(part, on=["ts", "bucket_start"], how="inner")
    assert merged is not None
    return merged.sort("ts")


def add_consensus(
    df: pl.DataFrame, features: Sequence[str], suffixes: Sequence[str], *, name: str = "consensus"
) -> pl.DataFrame:
    """Add ``<feature>_consensus``: the mean of ``<feature>_<suffix>`` over the venues (null if any is).

    Example
    -------
    >>> bars = pl.DataFrame({"x_bn": [1.0], "x_bb": [3.0]})
    >>> add_consensus(bars, ["x"], ["bn", "bb"])["x_consensus"].to_list()
    [2.0]
    """
    cols = []
    for f in features:
        venue_cols = [f"{f}_{s}" for s in suffixes]
        missing = [c for c in venue_cols if c not in df.columns]
        if missing:
            raise PointlineError(f"add_consensus: column(s) {missing} not in the merged frame")
        any_null = pl.any_horizontal([pl.col(c).is_null() for c in venue_cols])
        mean = pl.sum_horizontal(venue_cols) / len(venue_cols)
        cols.append(pl.when(any_null).then(None).otherwise(mean).alias(f"{f}_{name}"))
    return df.with_columns(cols)


def to_time_grid(df: pl.DataFrame, interval_us: int) -> pl.DataFrame:
    """Insert an all-null row for every missing bar between the first and last ``ts``.

    After this, ``n`` rows are exactly ``n * interval_us`` of time, so row-based rolling windows
    are time windows.
    """
    if df.is_empty():
        return df
    first, last = int(df["ts"].min()), int(df["ts"].max())
    if ((df["ts"] - first) % interval_us).max() != 0:
        raise PointlineError(f"to_time_grid: bar timestamps are not on a {interval_us} µs grid")
    grid = pl.DataFrame({"ts": pl.int_range(first, last + 1, interval_us, eager=True).cast(pl.Int64)})
    out = grid.join(df, on="ts", how="left", maintain_order="left")
    return out.with_columns((pl.col("ts") - interval_us).alias("bucket_start"))
