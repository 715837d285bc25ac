"""Aggregation registry: named per-bar operators that ``aggregate`` evaluates (DESIGN.md §5).

An aggregation is a class with a ``name``, the ``required_columns`` it reads, the pipeline modes it
is valid in (``mode_allowlist``) and either

* ``impl(self, config) -> list[pl.Expr]`` — expressions evaluated inside
  ``group_by(["symbol_id", "bar_index"]).agg(...)`` over the bar's events in total order, or
* for a :class:`KernelAggregationSpec`, a shared whole-frame ``kernel`` (a Numba pass over
  contiguous bars) of which the aggregation exposes some ``outputs``.

``@register_aggregation`` adds a class under its ``name``. Registering a name again replaces the
earlier class, so user code may override a built-in (the guide's ``FlowImbalance`` example
re-registers the built-in ``flow_imbalance`` with the same formula).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import polars as pl

from pointline.errors import PointlineError

#: Pipeline modes an aggregation may declare (DESIGN.md §6).
MODES: tuple[str, ...] = ("bar_then_feature", "tick_then_bar", "event_joined")


class UnknownAggregationError(PointlineError, LookupError):
    """An aggregation name is not registered."""


class AggregationSpec:
    """Base class of every aggregation.

    Subclasses set the class attributes and implement :meth:`impl`.

    Attributes
    ----------
    name:
        Registry key, e.g. ``"trade_vwap"``.
    required_columns:
        Columns of the bucketed frame the aggregation reads.
    mode_allowlist:
        Pipeline modes the aggregation is valid in (subset of :data:`MODES`).
    source_table:
        Lake table the required columns come from (``"trades"``, ``"quotes"``,
        ``"book_snapshot_25"``); used in error messages only.
    config_keys:
        The ``config`` keys the aggregation reads, or ``None`` (the default: not declared). When
        declared, any other key is ignored with a :class:`~pointline.errors.PointlineWarning` (and
        a pipeline output ``warnings`` entry) naming the accepted ones, so a misspelt or unsupported
        setting is never silently ignored; every built-in declares its keys.

    Example
    -------
    >>> import polars as pl
    >>> @register_aggregation
    ... class MaxQty(AggregationSpec):
    ...     name = "max_qty"
    ...     required_columns = ["qty"]
    ...     mode_allowlist = ["bar_then_feature"]
    ...     def impl(self, config):
    ...         return [pl.col("qty").max().alias("max_qty")]
    """

    name: ClassVar[str] = ""
    required_columns: ClassVar[list[str]] = []
    mode_allowlist: ClassVar[list[str]] = list(MODES)
    source_table: ClassVar[str | None] = None
    config_keys: ClassVar[tuple[str, ...] | None] = None

    def impl(self, config: dict[str, Any]) -> list[pl.Expr]:
        """Return the per-bar expressions (each aliased to its output column).

        Parameters
        ----------
        config:
            The ``"config"`` dict of the aggregation's spec (empty when not given).

        Returns
        -------
        list[pl.Expr]
            Aggregating expressions, evaluated per ``(symbol_id, bar_index)`` group.
        """
        raise NotImplementedError(f"aggregation {self.name!r} does not implement impl(config)")


def unknown_config_keys(spec: type[AggregationSpec] | AggregationSpec, config: dict[str, Any]) -> str | None:
    """A message naming the keys of ``config`` the aggregation does not read, or ``None``.

    Example
    -------
    >>> unknown_config_keys(get_aggregation("flow_imbalance"), {"window": 5})
    "aggregation 'flow_imbalance' takes no config; got ['window']"
    """
    accepted = spec.config_keys
    if accepted is None:
        return None
    unknown = sorted(set(config) - set(accepted))
    if not unknown:
        return None
    takes = f"reads config keys {list(accepted)}" if accepted else "takes no config"
    return f"aggregation {spec.name!r} {takes}; got {unknown}"


#: ``kernel(events, config) -> frame`` where ``events`` is sorted by ``(symbol_id, bar_index,
#: total order)`` and the result has one row per group with ``symbol_id``, ``bar_index`` and outputs.
Kernel = Callable[[pl.DataFrame, dict[str, Any]], pl.DataFrame]


class KernelAggregationSpec(AggregationSpec):
    """An aggregation computed by a whole-frame kernel instead of per-group expressions.

    Several aggregations may share one ``kernel`` (e.g. every notebook microstructure feature);
    ``aggregate`` runs each distinct ``(kernel, config)`` once per call and selects ``outputs``.
    """

    kernel: ClassVar[Kernel]
    outputs: ClassVar[list[str]] = []


_REGISTRY: dict[str, type[AggregationSpec]] = {}

S = TypeVar("S", bound=type[AggregationSpec])


def register_aggregation(cls: S) -> S:
    """Register an :class:`AggregationSpec` subclass under its ``name`` (class decorator).

    Re-registering a name replaces the previous class (user code may override a built-in).

    Parameters
    ----------
    cls:
        The subclass; must define a non-empty string ``name``.

    Returns
    -------
    The class itself, unchanged.

    Example
    -------
    >>> @register_aggregation
    ... class Count2(AggregationSpec):
    ...     name = "count2"
    ...     def impl(self, config):
    ...         return [pl.len().alias("count2")]
    """
    # Load the built-ins first so a user class registered under a built-in name is not
    # overwritten when the built-ins are imported later.
    _ensure_builtins()
    name = getattr(cls, "name", None)
    if not isinstance(cls, type) or not issubclass(cls, AggregationSpec):
        raise PointlineError(f"register_aggregation expects an AggregationSpec subclass, got {cls!r}")
    if not isinstance(name, str) or not name:
        raise PointlineError(f"aggregation class {cls.__name__} needs a non-empty string `name`")
    bad_modes = [m for m in cls.mode_allowlist if m not in MODES]
    if bad_modes:
        raise PointlineError(
            f"aggregation {name!r} declares unknown mode(s) {bad_modes}; expected a subset of {list(MODES)}"
        )
    _REGISTRY[name] = cls
    return cls


def get_aggregation(name: str) -> type[AggregationSpec]:
    """Look an aggregation class up by name.

    Parameters
    ----------
    name:
        Registered name, e.g. ``"trade_vwap"``.

    Returns
    -------
    The registered :class:`AggregationSpec` subclass.

    Raises
    ------
    UnknownAggregationError
        The name is not registered; the message lists known names and the closest match.

    Example
    -------
    >>> get_aggregation("ohlcv").name
    'ohlcv'
    """
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = sorted(_REGISTRY)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownAggregationError(
            f"unknown aggregation {name!r}.{hint} Known aggregations: {', '.join(known)}"
        ) from None


def list_aggregations() -> list[str]:
    """Names of all registered aggregations, sorted.

    Returns
    -------
    list[str]

    Example
    -------
    >>> "trade_vwap" in list_aggregations()
    True
    """
    _ensure_builtins()
    return sorted(_REGISTRY)


def _ensure_builtins() -> None:
    # Built-ins register on import; importing here (not at module top) avoids a cycle because the
    # built-in modules import this one. ``per_event`` holds the column roll-ups (``column_sum``, ...).
    import pointline.research.resample.aggregations
    import pointline.research.resample.per_event  # noqa: F401
