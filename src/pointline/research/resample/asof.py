"""Placeholder: as-of attach (being written)."""


def attach_asof(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError
