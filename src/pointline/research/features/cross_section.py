"""Cross-sectional features: bars of several symbols / exchanges on one clock.

``align_cross_section`` joins each frame as-of BACKWARD onto a common clock: at clock instant ``c``
a frame contributes its last bar with ``ts <= c`` (known by then), never a later one. Columns of
the non-base frames get the suffix ``_<key>`` (``flow_imbalance_eth``), as in the guide's example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from pointline.errors import PointlineError


def align_cross_section(
    frames: Mapping[str, pl.DataFrame],
    *,
    base: str,
    on: str = "ts",
    time_bucket_us: int | None = None,
    exact: bool = False,
    max_staleness_us: int | None = None,
) -> pl.DataFrame:
    """Put the bars of several series on a common clock, point-in-time.

    Parameters
    ----------
    frames:
        ``{key: bars}``, each frame ONE series with a known-at column ``on`` (µs).
    base:
        Key of the frame whose columns stay unsuffixed (and whose bars define the clock when
        ``time_bucket_us`` is not given).
    on:
        Known-at column (default ``ts``; ``timestamp_us`` for notebook-compatible frames).
    time_bucket_us:
        If given, the clock is the grid of multiples of ``time_bucket_us`` from the first grid
        point at or after the base's first bar to the first at or after its last bar. Each grid
        point ``g`` carries, for every frame, the last bar with ``on <= g``. (The guide's
        "floor ts to the bucket" would stamp a bar before it closed; the as-of rule avoids that.)
    exact:
        Notebook merge: inner join on equal ``on`` values (rows missing in any frame dropped)
        instead of the as-of join.
    max_staleness_us:
        As-of joins only: ignore a bar older than this at the clock instant (its columns null).

    Returns
    -------
    pl.DataFrame
        ``on`` (the clock, µs), ``time_bucket`` (grid mode only, equals ``on``), the base's columns
        (its own bar time as ``bar_<on>``), then each other frame's columns suffixed ``_<key>``
        (its bar time as ``bar_<on>_<key>``).

    Example
    -------
    >>> btc = pl.DataFrame({"ts": [10, 20], "flow_imbalance": [0.1, 0.2]})
    >>> eth = pl.DataFrame({"ts": [15], "flow_imbalance": [0.5]})
    >>> align_cross_section({"btc": btc, "eth": eth}, base="btc")["flow_imbalance_eth"].to_list()
    [None, 0.5]
    """
    if base not in frames:
        raise PointlineError(f"base {base!r} is not one of the frame keys {list(frames)}")
    for key, frame in frames.items():
        if on not in frame.columns:
            raise PointlineError(f"frame {key!r} lacks the clock column {on!r}; got {frame.columns}")
        if "symbol_id" in frame.columns and frame["symbol_id"].n_unique() > 1:
            raise PointlineError(f"frame {key!r} holds several symbol_ids; pass one series per key")
    bar_col = f"bar_{on}"
    prepared = {
        key: _in_bar_order(frame, on).with_columns(pl.col(on).alias(bar_col)) for key, frame in frames.items()
    }
    others = [k for k in prepared if k != base]
    if exact:
        out = prepared[base]
        for key in others:
            out = out.join(_suffixed(prepared[key], on, key), on=on, how="inner")
        return out.sort(on)
    if time_bucket_us is None:
        clock = prepared[base].select(on)
        out = prepared[base]
    else:
        if time_bucket_us <= 0:
            raise PointlineError(f"time_bucket_us must be positive, got {time_bucket_us}")
        b = prepared[base][on]
        first = -((-b.min()) // time_bucket_us) * time_bucket_us  # ceil to the grid
        last = -((-b.max()) // time_bucket_us) * time_bucket_us
        clock = pl.DataFrame({on: pl.int_range(first, last + time_bucket_us, time_bucket_us, eager=True)})
        clock = clock.with_columns(pl.col(on).cast(b.dtype))
        out = _asof(clock, prepared[base].drop(on), on, bar_col, max_staleness_us)
        out = out.with_columns(pl.col(on).alias("time_bucket"))
    for key in others:
        # The as-of join keeps the clock's rows in order, one per clock row, so its columns line up
        # with ``out`` row by row (joining on ``on`` would multiply base bars sharing a ``ts``).
        joined = _asof(clock, prepared[key].drop(on), on, bar_col, max_staleness_us)
        out = out.hstack(_suffixed(joined, on, key).drop(on))
    return out


def _in_bar_order(frame: pl.DataFrame, on: str) -> pl.DataFrame:
    # Bars sharing an ``on`` instant (event bars closed by one trade) stay in bar order, so the
    # as-of join picks the latest of them.
    keys = [on, "bar_index"] if "bar_index" in frame.columns and on != "bar_index" else [on]
    return frame.sort(keys, maintain_order=True)


def _asof(
    clock: pl.DataFrame, frame: pl.DataFrame, on: str, bar_col: str, staleness: int | None
) -> pl.DataFrame:
    return clock.join_asof(
        frame, left_on=on, right_on=bar_col, strategy="backward", tolerance=staleness, coalesce=False
    )


def _suffixed(frame: pl.DataFrame, on: str, key: str) -> pl.DataFrame:
    return frame.rename({c: f"{c}_{key}" for c in frame.columns if c != on})


def add_spreads(
    df: pl.DataFrame, pairs: Mapping[str, tuple[str, str]] | Sequence[tuple[str, str]]
) -> pl.DataFrame:
    """Add difference columns ``a - b`` (e.g. BTC-minus-ETH flow).

    Parameters
    ----------
    df:
        An aligned frame.
    pairs:
        ``{name: (a, b)}``, or ``[(a, b), ...]`` named ``"<a>_minus_<b>"``.

    Returns
    -------
    pl.DataFrame with the new columns.

    Example
    -------
    >>> df = pl.DataFrame({"flow_imbalance": [0.3], "flow_imbalance_eth": [0.1]})
    >>> add_spreads(df, {"btc_eth_flow_spread": ("flow_imbalance", "flow_imbalance_eth")}).columns[-1]
    'btc_eth_flow_spread'
    """
    named = dict(pairs) if isinstance(pairs, Mapping) else {f"{a}_minus_{b}": (a, b) for a, b in pairs}
    for name, (a, b) in named.items():
        for col in (a, b):
            if col not in df.columns:
                raise PointlineError(f"spread {name!r} needs column {col!r}; got {df.columns}")
    return df.with_columns((pl.col(a) - pl.col(b)).alias(name) for name, (a, b) in named.items())


def consensus_mean(df: pl.DataFrame, feature: str, suffixes: Sequence[str]) -> pl.DataFrame:
    """Add ``<feature>_consensus``: the mean of ``feature + suffix`` over ``suffixes``.

    Summed left to right then divided by the count, as the notebook's three-exchange mean
    ``(bn + bb + okx) / 3`` (equal to rounding); null if any input is null.

    Parameters
    ----------
    df:
        An aligned frame.
    feature:
        Base feature name, e.g. ``"vol_imbalance"``.
    suffixes:
        Column suffixes, e.g. ``["_bn", "_bb", "_okx"]`` (``""`` for the unsuffixed base column).

    Returns
    -------
    pl.DataFrame with the new column.

    Example
    -------
    >>> df = pl.DataFrame({"x_a": [1.0], "x_b": [2.0], "x_c": [6.0]})
    >>> consensus_mean(df, "x", ["_a", "_b", "_c"])["x_consensus"].item()
    3.0
    """
    if not suffixes:
        raise PointlineError("consensus_mean needs at least one suffix")
    cols = [f"{feature}{s}" for s in suffixes]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PointlineError(f"consensus of {feature!r} needs column(s) {missing}; got {df.columns}")
    total = pl.col(cols[0])
    for c in cols[1:]:
        total = total + pl.col(c)
    return df.with_columns((total / len(cols)).alias(f"{feature}_consensus"))
