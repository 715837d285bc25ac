"""Registry of spine builders by name (``"clock"``, ``"tick"``, ``"volume"``, ...)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pointline.errors import PointlineError

if TYPE_CHECKING:
    from pointline.research.spines.base import SpineBuilder

_BUILDERS: dict[str, type[SpineBuilder]] = {}


def register_spine(cls: type[SpineBuilder]) -> type[SpineBuilder]:
    """Class decorator adding a :class:`SpineBuilder` subclass under its ``name``.

    Example
    -------
    >>> @register_spine  # doctest: +SKIP
    ... class RangeBarBuilder(ThresholdBarBuilder):
    ...     name = "range"
    ...     config_class = RangeBarConfig
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise PointlineError(f"{cls.__name__} needs a non-empty class attribute 'name' to be registered")
    _BUILDERS[name] = cls
    return cls


def get_builder(name: str) -> SpineBuilder:
    """A builder instance for spine type ``name``.

    Raises ``PointlineError`` naming the known types (and the closest match) for unknown names.

    Example
    -------
    >>> get_builder("volume").name
    'volume'
    """
    cls = _BUILDERS.get(name)
    if cls is None:
        close = difflib.get_close_matches(str(name), list(_BUILDERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise PointlineError(f"unknown spine type {name!r}; known types: {', '.join(list_spines())}.{hint}")
    return cls()


def list_spines() -> list[str]:
    """Names of the registered spine types, sorted.

    Example
    -------
    >>> list_spines()
    ['clock', 'dollar', 'hybrid_volume_time', 'tick', 'volume']
    """
    return sorted(_BUILDERS)


def spine_config_from_dict(type_name: str, values: dict[str, Any]) -> Any:
    """Build the config of spine type ``type_name`` from a JSON object (the request's ``spine.config``).

    Example
    -------
    >>> spine_config_from_dict("volume", {"volume_threshold": 100.0, "use_absolute_volume": True})
    VolumeBarConfig(volume_threshold=100.0, use_absolute_volume=True, split_trades=False)
    """
    config_class = get_builder(type_name).config_class
    fields = list(getattr(config_class, "__dataclass_fields__", {}))
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise PointlineError(
            f"spine {type_name!r}: unknown config field(s) {unknown}; expected some of {fields}"
        )
    try:
        return config_class(**values)
    except TypeError as exc:
        raise PointlineError(f"spine {type_name!r}: invalid config {values!r}: {exc}") from exc
