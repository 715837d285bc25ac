"""Derived features: per-symbol transforms of bar features that look at past bars only.

Each derived feature is an expression over the bar columns of ONE symbol's bars ordered by ``ts``;
``add_derived_features`` evaluates it ``.over(by)``. A row uses its own bar (known at its ``ts``)
and earlier bars only: ``shift(k)`` with ``k > 0`` and trailing rolling windows, never ``shift(-k)``.
``ret_1bar = close / close.shift(1) - 1`` uses the bar's own close, which is known at the bar's
``ts``, so it is point-in-time safe at bar granularity (a label must start after ``ts``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pointline.errors import PointlineError


@dataclass(frozen=True)
class DerivedFeature:
    """A registered derived feature: its expression factory and the columns it reads."""

    name: str
    build: Callable[[], pl.Expr]
    requires: tuple[str, ...]


_DERIVED: dict[str, DerivedFeature] = {}


def register_derived(
    name: str, fn_or_expr: pl.Expr | Callable[[], pl.Expr], requires: list[str] | tuple[str, ...]
) -> None:
    """Register a derived feature (re-registering a name replaces it).

    Parameters
    ----------
    name:
        Output column name.
    fn_or_expr:
        A Polars expression over one symbol's bars in ``ts`` order, or a zero-argument function
        returning one. It must only look backwards (``shift(k)`` with ``k >= 1``, trailing
        ``rolling_*``); it is evaluated ``.over(by)``.
    requires:
        Input columns; a frame without one of them gets a clear error.

    Example
    -------
    >>> register_derived("ret_2bar", pl.col("close") / pl.col("close").shift(2) - 1, ["close"])
    """
    if not isinstance(name, str) or not name:
        raise PointlineError("register_derived needs a non-empty feature name")
    if isinstance(fn_or_expr, pl.Expr):
        expr = fn_or_expr
        build: Callable[[], pl.Expr] = lambda: expr  # noqa: E731
    elif callable(fn_or_expr):
        build = fn_or_expr
    else:
        raise PointlineError(
            f"derived feature {name!r}: expected a pl.Expr or a function, got {fn_or_expr!r}"
        )
    _DERIVED[name] = DerivedFeature(name, build, tuple(requires))


def list_derived() -> list[str]:
    """Names of registered derived features, in registration order.

    Example
    -------
    >>> "vwap_reversion" in list_derived()
    True
    """
    return list(_DERIVED)


def add_derived_features(
    df: pl.DataFrame | pl.LazyFrame,
    names: list[str] | None = None,
    *,
    by: str | None = "symbol_id",
    order_by: str = "ts",
) -> pl.DataFrame:
    """Add derived features to a bar frame, computed per symbol from past bars only.

    Parameters
    ----------
    df:
        Bars (e.g. ``aggregate`` output) with ``order_by`` (µs, the known-at clock) and the
        columns the requested features need.
    names:
        Features to add (default: every registered one whose inputs are all present).
    by:
        Series key (``None``: the frame is one series).
    order_by:
        Column giving bar order within a series (default ``ts``); bars at the same ``order_by``
        are ordered by ``bar_index`` when the frame has it.

    Returns
    -------
    pl.DataFrame
        Input columns plus one column per feature, sorted by ``(by, order_by, bar_index)``.

    Raises
    ------
    PointlineError
        Unknown name (with a suggestion) or a missing input column (named).

    Example
    -------
    >>> bars = pl.DataFrame({"symbol_id": [1, 1], "ts": [1, 2], "close": [10.0, 11.0]})
    >>> add_derived_features(bars, ["ret_1bar"])["ret_1bar"].to_list()
    [None, 0.10000000000000009]
    """
    frame = df.collect() if isinstance(df, pl.LazyFrame) else df
    for key in (by, order_by):
        if key is not None and key not in frame.columns:
            raise PointlineError(
                f"add_derived_features needs column {key!r} to order bars; got {frame.columns}"
            )
    if names is None:
        chosen = [f for f in _DERIVED.values() if all(c in frame.columns for c in f.requires)]
    else:
        chosen = [_lookup(n) for n in names]
        for f in chosen:
            for col in f.requires:
                if col not in frame.columns:
                    raise PointlineError(
                        f"derived feature {f.name!r} needs column {col!r}, which the frame lacks "
                        f"(columns: {frame.columns})"
                    )
    keys = [by, order_by] if by is not None else [order_by]
    # Several bars can close at the same instant (event bars, split trades); their own order is
    # bar_index, so a tie never lets a row see a later bar as its predecessor.
    if "bar_index" in frame.columns and "bar_index" not in keys:
        keys.append("bar_index")
    frame = frame.sort(keys, maintain_order=True)
    exprs = [f.build() if by is None else f.build().over(by) for f in chosen]
    return frame.with_columns(e.alias(f.name) for e, f in zip(exprs, chosen, strict=True))


def _lookup(name: str) -> DerivedFeature:
    try:
        return _DERIVED[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_DERIVED), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise PointlineError(
            f"unknown derived feature {name!r}.{hint} Known: {', '.join(_DERIVED)}"
        ) from None


def _builtin(name: str, requires: list[str]) -> Callable[[Callable[[], pl.Expr]], Callable[[], pl.Expr]]:
    def deco(fn: Callable[[], pl.Expr]) -> Callable[[], pl.Expr]:
        register_derived(name, fn, requires)
        return fn

    return deco


@_builtin("vwap_reversion", ["close", "vwap"])
def _vwap_reversion() -> pl.Expr:
    return (pl.col("close") - pl.col("vwap")) / pl.col("vwap")


@_builtin("ret_1bar", ["close"])
def _ret_1bar() -> pl.Expr:
    return pl.col("close") / pl.col("close").shift(1) - 1


@_builtin("ret_5bar", ["close"])
def _ret_5bar() -> pl.Expr:
    return pl.col("close") / pl.col("close").shift(5) - 1


@_builtin("trade_count_accel", ["trade_count"])
def _trade_count_accel() -> pl.Expr:
    return pl.col("trade_count") / pl.col("trade_count").shift(1) - 1


@_builtin("spread_deviation", ["spread_bps"])
def _spread_deviation() -> pl.Expr:
    return pl.col("spread_bps") - pl.col("spread_bps").rolling_mean(10)


@_builtin("flow_persistence", ["flow_imbalance"])
def _flow_persistence() -> pl.Expr:
    return pl.col("flow_imbalance") * pl.col("flow_imbalance").shift(1)


@_builtin("book_flow_divergence", ["book_imbalance_top5", "flow_imbalance"])
def _book_flow_divergence() -> pl.Expr:
    return pl.col("book_imbalance_top5") - pl.col("flow_imbalance")


@_builtin("vol_zscore", ["realized_vol"])
def _vol_zscore() -> pl.Expr:
    rv = pl.col("realized_vol")
    return (rv - rv.rolling_mean(20)) / rv.rolling_std(20)


@_builtin("size_ratio", ["avg_trade_size"])
def _size_ratio() -> pl.Expr:
    return pl.col("avg_trade_size") / pl.col("avg_trade_size").rolling_median(50)


@_builtin("hl_range_pct", ["high", "low", "vwap"])
def _hl_range_pct() -> pl.Expr:
    return (pl.col("high") - pl.col("low")) / pl.col("vwap")


@_builtin("hour", ["bucket_start"])
def _hour() -> pl.Expr:
    return pl.from_epoch("bucket_start", time_unit="us").dt.hour()
