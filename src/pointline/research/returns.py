"""Bar returns and forward returns on the time grid.

A forward return at horizon ``h`` is measured from the bar whose known-at instant is ``ts`` to the bar
whose known-at instant is *exactly* ``ts + h``. A gap in the bars never stretches a 15-minute horizon
into a longer one: when no bar closes at ``ts + h`` the label is null. Forward returns are labels
(they look ahead by definition) and must only ever be used as the evaluation target.

The row-based variants reproduce the notebook (``pct_change(n).shift(-n)`` over rows, whatever the
time between rows) and exist for parity runs only.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from pointline.errors import PointlineError

DEFAULT_HORIZONS_US: dict[str, int] = {
    "5m": 300_000_000,
    "15m": 900_000_000,
    "30m": 1_800_000_000,
    "1h": 3_600_000_000,
    "2h": 7_200_000_000,
}


def _check(df: pl.DataFrame, *cols: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PointlineError(f"returns: column(s) {missing} not in frame; available: {df.columns}")


def _price_at_offset(df: pl.DataFrame, close_col: str, ts_col: str, offset_us: int) -> pl.Series:
    """Close of the bar whose ``ts`` equals each row's ``ts + offset_us`` (null when there is none)."""
    lookup = df.select((pl.col(ts_col) - offset_us).alias(ts_col), pl.col(close_col).alias("__px"))
    joined = df.select(ts_col).join(lookup, on=ts_col, how="left", maintain_order="left")
    return joined["__px"]


def forward_returns(
    df: pl.DataFrame,
    close_col: str,
    horizons_us: Mapping[str, int] | None = None,
    *,
    ts_col: str = "ts",
    prefix: str = "fwd_",
) -> pl.DataFrame:
    """Add one forward-return label column per horizon, on the time grid.

    Parameters
    ----------
    df
        One row per bar, unique ``ts_col`` values.
    close_col
        Bar close price column (Float64).
    horizons_us
        ``{label: horizon in µs}``; default 5m, 15m, 30m, 1h, 2h.
    ts_col
        Known-at instant of each bar, Int64 µs since the epoch (bar end for clock bars).
    prefix
        Output columns are ``f"{prefix}{label}"``.

    Returns
    -------
    pl.DataFrame
        ``df`` with ``fwd_<label>`` = ``close(ts + h) / close(ts) - 1`` (null when the bar at
        ``ts + h`` does not exist or either price is null).

    Example
    -------
    >>> bars = pl.DataFrame({"ts": [0, 300, 900], "close": [100.0, 101.0, 99.0]})
    >>> forward_returns(bars, "close", {"5": 300})["fwd_5"].round(6).to_list()
    [0.01, None, None]
    """
    _check(df, close_col, ts_col)
    if df[ts_col].n_unique() != df.height:
        raise PointlineError(f"forward_returns: {ts_col!r} must be unique (one row per bar)")
    horizons = dict(DEFAULT_HORIZONS_US if horizons_us is None else horizons_us)
    cols = []
    for label, h in horizons.items():
        if h <= 0:
            raise PointlineError(f"forward_returns: horizon {label!r} must be > 0 µs, got {h}")
        future = _price_at_offset(df, close_col, ts_col, h)
        cols.append((future / df[close_col] - 1.0).alias(f"{prefix}{label}"))
    return df.with_columns(cols)


def bar_returns(
    df: pl.DataFrame, close_col: str, interval_us: int, *, ts_col: str = "ts", name: str = "returns"
) -> pl.DataFrame:
    """Add the one-bar simple return ending at each bar, on the time grid.

    Parameters
    ----------
    df, close_col, ts_col
        As in :func:`forward_returns`.
    interval_us
        Bar length in µs; the return at ``ts`` is ``close(ts) / close(ts - interval_us) - 1``,
        null when the previous bar is missing (never a multi-bar return across a gap).
    name
        Output column name.

    Returns
    -------
    pl.DataFrame
        ``df`` with column ``name``; it uses only bars known at ``ts``.

    Example
    -------
    >>> bars = pl.DataFrame({"ts": [300, 600, 1200], "close": [100.0, 102.0, 101.0]})
    >>> bar_returns(bars, "close", 300)["returns"].round(6).to_list()
    [None, 0.02, None]
    """
    _check(df, close_col, ts_col)
    past = _price_at_offset(df, close_col, ts_col, -interval_us)
    return df.with_columns((df[close_col] / past - 1.0).alias(name))


def forward_returns_by_rows(
    df: pl.DataFrame, close_col: str, horizons_bars: Mapping[str, int], *, prefix: str = "fwd_"
) -> pl.DataFrame:
    """Notebook parity: ``close.pct_change(n).shift(-n)`` over rows, ignoring gaps in time.

    Parameters
    ----------
    df
        Rows in time order.
    close_col
        Close price column.
    horizons_bars
        ``{label: number of rows}``.
    prefix
        Output column prefix.

    Returns
    -------
    pl.DataFrame
        ``df`` with ``fwd_<label>`` columns (null in the last ``n`` rows).

    Example
    -------
    >>> bars = pl.DataFrame({"close": [100.0, 101.0, 99.0]})
    >>> forward_returns_by_rows(bars, "close", {"1": 1})["fwd_1"].round(6).to_list()[:1]
    [0.01]
    """
    _check(df, close_col)
    return df.with_columns(
        (pl.col(close_col).shift(-n) / pl.col(close_col) - 1.0).alias(f"{prefix}{label}")
        for label, n in horizons_bars.items()
    )
