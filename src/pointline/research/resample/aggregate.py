"""Placeholder: aggregate (being written)."""


class AggregateConfig:
    pass


def aggregate(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError
