"""Resampling: assign events to bars, attach as-of state, aggregate with registered operators."""

from pointline.research.resample.aggregate import AggregateConfig, aggregate
from pointline.research.resample.asof import attach_asof
from pointline.research.resample.assign import assign_to_buckets
from pointline.research.resample.registry import (
    AggregationSpec,
    get_aggregation,
    list_aggregations,
    register_aggregation,
)

__all__ = [
    "AggregateConfig",
    "AggregationSpec",
    "aggregate",
    "assign_to_buckets",
    "attach_asof",
    "get_aggregation",
    "list_aggregations",
    "register_aggregation",
]
