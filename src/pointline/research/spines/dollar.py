"""Dollar bars: a bar closes once the traded notional (quote currency, e.g. USD) reaches a threshold.

Notional of one trade:

- linear contracts (spot, USDT-margined): ``px × qty × contract_size``;
- inverse contracts (coin-margined, ``qty`` counts contracts of ``contract_size`` USD each):
  ``qty × contract_size`` — the USD face value, independent of the price.

``|qty|`` is used, so signed inputs count their size. Notional is not on an integer grid (price ×
size × a fractional contract size), so it is summed in Float64 with a relative slack of 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.spines.base import LakeArg, SpineState, require_positive
from pointline.research.spines.event import Measure, ThresholdBarBuilder
from pointline.research.spines.registry import register_spine


@dataclass(frozen=True)
class DollarBarConfig:
    """Dollar bar parameters.

    Parameters
    ----------
    notional_threshold
        Notional per bar in quote currency (USD for USD/USDT instruments).
    split_trades
        Split the closing trade so every complete bar holds exactly ``notional_threshold``.
    contract_size
        Multiplier of ``qty``; ``None`` looks it up in ``dim_symbol`` (1.0 when it is not set there).
    is_inverse
        Inverse contract (notional = ``qty × contract_size``); ``None`` looks it up in ``dim_symbol``.

    Example
    -------
    >>> DollarBarConfig(notional_threshold=1_000_000.0, contract_size=1.0, is_inverse=False)
    DollarBarConfig(notional_threshold=1000000.0, split_trades=False, contract_size=1.0, is_inverse=False)
    """

    notional_threshold: float
    split_trades: bool = False
    contract_size: float | None = None
    is_inverse: bool | None = None

    def __post_init__(self) -> None:
        require_positive("DollarBarConfig", "notional_threshold", self.notional_threshold)
        if self.contract_size is not None:
            require_positive("DollarBarConfig", "contract_size", self.contract_size)


@register_spine
class DollarBarBuilder(ThresholdBarBuilder):
    """Dollar bars (``get_builder("dollar")``); see :class:`DollarBarConfig`."""

    name = "dollar"
    config_class = DollarBarConfig

    def measure(self, state: SpineState, events: pl.DataFrame, lake: LakeArg) -> tuple[Measure, SpineState]:
        """Notional of each trade (Float64, quote currency)."""
        config: DollarBarConfig = state.config
        if "contract" not in state.extra:
            state = state.replace(extra={**state.extra, "contract": _contract(config, state.symbol_id, lake)})
        contract_size, inverse = state.extra["contract"]
        for column in ("qty",) if inverse else ("px", "qty"):
            if column not in events.columns:
                raise PointlineError(
                    f"dollar bars need the decoded column {column!r}; got columns {events.columns}. "
                    "Read trades with decoded=True."
                )
        qty = np.abs(events["qty"].cast(pl.Float64).fill_null(0.0).to_numpy())
        if inverse:
            notional = qty * contract_size
        else:
            notional = events["px"].cast(pl.Float64).fill_null(0.0).to_numpy() * qty * contract_size
        return Measure(notional, float(config.notional_threshold)), state


def _contract(config: DollarBarConfig, symbol_id: int, lake: LakeArg) -> tuple[float, bool]:
    if config.contract_size is not None and config.is_inverse is not None:
        return float(config.contract_size), bool(config.is_inverse)
    from pointline.lake import dim_symbol

    try:
        info = dim_symbol.by_id(symbol_id, lake=lake)
    except PointlineError as exc:
        raise PointlineError(
            f"dollar bars need contract_size and is_inverse for symbol_id {symbol_id}: pass them in "
            "DollarBarConfig or ingest the symbol into dim_symbol"
        ) from exc
    size = config.contract_size if config.contract_size is not None else (info.contract_size or 1.0)
    inverse = config.is_inverse if config.is_inverse is not None else bool(info.is_inverse)
    return float(size), inverse
