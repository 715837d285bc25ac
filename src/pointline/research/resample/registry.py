"""Placeholder: aggregation registry (being written)."""


class AggregationSpec:
    pass


def register_aggregation(cls):  # type: ignore[no-untyped-def]
    return cls


def get_aggregation(name):  # type: ignore[no-untyped-def]
    raise NotImplementedError


def list_aggregations():  # type: ignore[no-untyped-def]
    return []
