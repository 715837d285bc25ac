"""Volume bars: a bar closes once the traded quantity (base units) reaches ``volume_threshold``.

Sums are exact: when the trades carry ``qty_int`` the running total is kept in integer lots of
``10**-qty_exp`` and the threshold is rounded *up* to that grid (a bar of 100 BTC on a 1e-3 grid is
100000 lots). Frames with only a decoded Float64 ``qty`` fall back to Float64 sums with a
relative slack of 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.spines.base import LakeArg, SpineState, require_positive
from pointline.research.spines.event import Measure, ThresholdBarBuilder
from pointline.research.spines.registry import register_spine


@dataclass(frozen=True)
class VolumeBarConfig:
    """Volume bar parameters.

    Parameters
    ----------
    volume_threshold
        Quantity per bar in base units (decoded ``qty``, e.g. 100.0 BTC).
    use_absolute_volume
        Sum ``|qty|`` (default). Lake quantities are positive so this only matters for signed
        inputs; ``False`` sums signed quantities as given and closes when that sum reaches the
        threshold.
    split_trades
        Split the closing trade so every complete bar holds exactly ``volume_threshold``.

    Example
    -------
    >>> VolumeBarConfig(volume_threshold=100.0)
    VolumeBarConfig(volume_threshold=100.0, use_absolute_volume=True, split_trades=False)
    """

    volume_threshold: float
    use_absolute_volume: bool = True
    split_trades: bool = False

    def __post_init__(self) -> None:
        require_positive("VolumeBarConfig", "volume_threshold", self.volume_threshold)
        if self.split_trades and not self.use_absolute_volume:
            raise PointlineError("VolumeBarConfig: split_trades=True requires use_absolute_volume=True")


def volume_measure(
    state: SpineState, events: pl.DataFrame, lake: LakeArg, threshold: float, absolute: bool
) -> tuple[Measure, SpineState]:
    """Per-trade quantity for a volume-style threshold, exact on ``qty_int`` when possible.

    The exponent of ``qty_int`` is learned once (from ``qty``/``qty_int`` pairs, else from
    ``dim_symbol``) and kept in the state, so every chunk sums in the same units.
    """
    qty_exp = state.qty_exp
    if qty_exp is None and state.extra.get("float_qty") is None:
        qty_exp = _learn_qty_exp(state.symbol_id, events, lake)
        if qty_exp is None:
            state = state.replace(extra={**state.extra, "float_qty": True})
        else:
            state = state.replace(qty_exp=qty_exp)
    if qty_exp is not None:
        if "qty_int" in events.columns:
            values = events["qty_int"].cast(pl.Int64).fill_null(0).to_numpy()
        else:
            values = np.rint(_qty(events) * 10.0**qty_exp).astype(np.int64)
        lots = math.ceil(Decimal(repr(float(threshold))) * (Decimal(10) ** qty_exp))
        return Measure(np.abs(values) if absolute else values, int(lots), is_qty_int=True), state
    values_f = _qty(events)
    return Measure(np.abs(values_f) if absolute else values_f, float(threshold)), state


def _qty(events: pl.DataFrame) -> np.ndarray:
    if "qty" not in events.columns:
        raise PointlineError(
            "volume bars need a decoded 'qty' column (base units) or 'qty_int'; "
            f"got columns {events.columns}. Read trades with decoded=True."
        )
    return events["qty"].cast(pl.Float64).fill_null(0.0).to_numpy()


def _learn_qty_exp(symbol_id: int, events: pl.DataFrame, lake: LakeArg) -> int | None:
    if "qty_int" not in events.columns:
        return None
    if "qty" in events.columns:
        pairs = events.select("qty_int", "qty").filter(pl.col("qty_int") != 0).head(1)
        if pairs.height:
            ratio = pairs["qty_int"][0] / pairs["qty"][0]
            return round(math.log10(abs(ratio)))
        return None
    from pointline.lake import dim_symbol

    try:
        return dim_symbol.by_id(symbol_id, lake=lake).qty_exp
    except PointlineError as exc:
        raise PointlineError(
            f"volume bars on 'qty_int' need the quantity exponent of symbol_id {symbol_id}: "
            "pass decoded trades (with 'qty') or ingest the symbol into dim_symbol"
        ) from exc


@register_spine
class VolumeBarBuilder(ThresholdBarBuilder):
    """Volume bars (``get_builder("volume")``); see :class:`VolumeBarConfig`."""

    name = "volume"
    config_class = VolumeBarConfig

    def measure(self, state: SpineState, events: pl.DataFrame, lake: LakeArg) -> tuple[Measure, SpineState]:
        """Trade quantities in exact lots (or Float64 base units) and the threshold in the same units."""
        config: VolumeBarConfig = state.config
        return volume_measure(state, events, lake, config.volume_threshold, config.use_absolute_volume)
