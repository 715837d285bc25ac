"""Kept for imports inside the aggregation package; the helper lives in :mod:`pointline.lake.order`."""

from pointline.lake.order import sort_if_needed

__all__ = ["sort_if_needed"]
