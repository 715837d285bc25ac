"""Placeholder: bucket assignment (being written)."""


def assign_to_buckets(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError
