"""The notebook's microstructure features as aggregations (``microstructure`` and one per feature).

Input mapping from lake trades (decoded) to the notebook's columns:

=================  =============================================================
notebook           lake
=================  =============================================================
``price``          ``px`` (Float64, decoded)
``quantity``       ``qty`` (Float64, decoded)
``quote_quantity`` ``px * qty * contract_size`` (linear; ``contract_size`` defaults to 1),
                   ``qty * contract_size`` when ``is_inverse`` (contracts are quote units)
``side``           +1 when ``side == 0`` (buyer aggressor), -1 when ``side == 1``, 0 when unknown (2)
``timestamp_us``   ``ts_local_us`` (receive clock)
=================  =============================================================

Bars with fewer than 2 trades get null features (the notebook drops them) and their real
``trade_count``. ``kyle_lambda`` is NaN (not null) when the bar's prices never change but its signed
volume does, exactly as ``np.corrcoef`` yields.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.resample.aggregations._microstructure_kernel import (
    FEATURES,
    microstructure_kernel,
)
from pointline.research.resample.registry import KernelAggregationSpec, register_aggregation

#: Columns the kernel reads from a bucketed trades frame.
REQUIRED_COLUMNS: list[str] = ["px", "qty", "side", "ts_local_us"]
#: Every output column in the notebook's order, ``trade_count`` last.
NOTEBOOK_COLUMNS: tuple[str, ...] = (*FEATURES, "trade_count")


def group_starts(keys: pl.DataFrame) -> np.ndarray:
    """Offsets of contiguous runs of equal key rows (length ``n_groups + 1``)."""
    n = keys.height
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.zeros(n - 1, dtype=bool)
    for name in keys.columns:
        col = keys[name].to_numpy()
        change |= col[1:] != col[:-1]
    return np.concatenate(([0], np.flatnonzero(change) + 1, [n])).astype(np.int64)


def microstructure_features(
    events: pl.DataFrame,
    keys: list[str],
    *,
    contract_size: float = 1.0,
    is_inverse: bool = False,
) -> pl.DataFrame:
    """Notebook features per group of ``events`` (already sorted so each group is contiguous).

    Parameters
    ----------
    events:
        Decoded trades with ``px``, ``qty``, ``side`` (0 buy / 1 sell / 2 unknown) and
        ``ts_local_us`` (µs, receive clock), contiguous per ``keys`` and in total order inside.
    keys:
        Group key columns, e.g. ``["symbol_id", "bar_index"]``.
    contract_size, is_inverse:
        Quote-quantity convention (see module docstring).

    Returns
    -------
    pl.DataFrame
        One row per group: ``keys``, the notebook columns (null when the group has < 2 trades)
        and ``trade_count`` (Int64).

    Example
    -------
    >>> ev = pl.DataFrame({"b": [0, 0, 0], "px": [1.0, 2.0, 3.0], "qty": [1.0, 1.0, 2.0],
    ...                    "side": [0, 1, 0], "ts_local_us": [0, 1, 2]})
    >>> microstructure_features(ev, ["b"])["vol_imbalance"].item()
    0.5
    """
    missing = [c for c in keys if c not in events.columns]
    if missing:
        raise PointlineError(f"microstructure features need the group key column(s) {missing}")
    starts = group_starts(events.select(keys))
    values = feature_values(events, starts, contract_size=contract_size, is_inverse=is_inverse)
    out = events.select(keys).gather(starts[:-1]) if events.height else events.select(keys).clear()
    return out.hstack(feature_frame(values, np.diff(starts)))


def feature_values(
    events: pl.DataFrame, starts: np.ndarray, *, contract_size: float = 1.0, is_inverse: bool = False
) -> np.ndarray:
    """Run the kernel on groups ``[starts[g], starts[g+1])`` of ``events``; ``(len(FEATURES), n_groups)``.

    The lake columns go to the kernel as they are (no copies for Float64 ``px``/``qty``, Int8
    ``side`` and Int64 ``ts_local_us`` without nulls); the notebook's mapping happens inside.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise PointlineError(
            f"microstructure features need column(s) {missing} from a decoded trades source "
            f"(query.trades(..., decoded=True)); got columns {events.columns}"
        )
    if events["px"].null_count() or events["qty"].null_count():
        raise PointlineError("microstructure features need non-null px and qty in every trade")
    side = events["side"]
    if side.dtype != pl.Int8 or side.null_count():
        # Any code other than 0 (buy) and 1 (sell), null included, is an unknown side.
        side = events.select(
            pl.when(pl.col("side") == 0).then(0).when(pl.col("side") == 1).then(1).otherwise(2).cast(pl.Int8)
        ).to_series()
    return microstructure_kernel(
        starts,
        _array(events["px"], pl.Float64),
        _array(events["qty"], pl.Float64),
        _array(side, pl.Int8),
        _array(events["ts_local_us"], pl.Int64),
        float(contract_size),
        bool(is_inverse),
    )


def feature_frame(values: np.ndarray, counts: np.ndarray) -> pl.DataFrame:
    """The kernel's ``values`` as columns, null for groups with fewer than 2 trades, plus ``trade_count``."""
    frame = pl.DataFrame({name: values[j] for j, name in enumerate(FEATURES)})
    frame = frame.with_columns(pl.Series("trade_count", counts, dtype=pl.Int64))
    if (counts < 2).any():
        valid = pl.col("trade_count") >= 2
        frame = frame.with_columns(pl.when(valid).then(pl.col(c)).alias(c) for c in FEATURES)
    return frame


def _array(series: pl.Series, dtype: type[pl.DataType]) -> np.ndarray:
    return np.ascontiguousarray(series.cast(dtype).to_numpy())


def _kernel(events: pl.DataFrame, config: dict[str, Any]) -> pl.DataFrame:
    unknown = set(config) - {"contract_size", "is_inverse"}
    if unknown:
        raise PointlineError(
            f"microstructure aggregation config has unknown key(s) {sorted(unknown)}; "
            "expected 'contract_size' (float) and/or 'is_inverse' (bool)"
        )
    return microstructure_features(
        events,
        ["symbol_id", "bar_index"],
        contract_size=float(config.get("contract_size", 1.0)),
        is_inverse=bool(config.get("is_inverse", False)),
    )


class _NotebookSpec(KernelAggregationSpec):
    required_columns: ClassVar[list[str]] = REQUIRED_COLUMNS
    mode_allowlist: ClassVar[list[str]] = ["bar_then_feature", "tick_then_bar"]
    source_table: ClassVar[str | None] = "trades"
    config_keys: ClassVar[tuple[str, ...] | None] = ("contract_size", "is_inverse")
    kernel = staticmethod(_kernel)


@register_aggregation
class Microstructure(_NotebookSpec):
    """Every per-bucket feature of the notebook's ``compute_microstructure_features``."""

    name = "microstructure"
    outputs: ClassVar[list[str]] = list(NOTEBOOK_COLUMNS)


# One aggregation per notebook feature, except the columns a guide built-in already names
# (``ohlcv``'s open/high/low/close/volume and ``trade_count``), which keep their guide meaning.
_GUIDE_NAMES = {"open", "high", "low", "close", "volume", "trade_count"}
for _feature in FEATURES:
    if _feature not in _GUIDE_NAMES:
        register_aggregation(
            type(
                f"Notebook_{_feature}",
                (_NotebookSpec,),
                {"name": _feature, "outputs": [_feature], "__doc__": f"Notebook feature {_feature!r}."},
            )
        )
