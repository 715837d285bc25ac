"""Where the lake lives.

Resolution order (DESIGN.md §3): an explicit argument, :func:`set_lake`, the ``POINTLINE_LAKE``
environment variable, ``./lake`` under the current working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from pointline.errors import PointlineError

_LAKE_OVERRIDE: str | None = None


def set_lake(path: str | os.PathLike[str] | None) -> None:
    """Set the process-wide lake location (``None`` clears it).

    Example
    -------
    >>> import pointline
    >>> pointline.set_lake("/tmp/my-lake")
    >>> pointline.get_lake()
    '/tmp/my-lake'
    >>> pointline.set_lake(None)
    """
    global _LAKE_OVERRIDE
    _LAKE_OVERRIDE = None if path is None else _normalise(path)


def get_lake(path: str | os.PathLike[str] | None = None) -> str:
    """Return the lake location as a string (a local absolute path or an object-store URI)."""
    if path is not None:
        return _normalise(path)
    if _LAKE_OVERRIDE is not None:
        return _LAKE_OVERRIDE
    env = os.environ.get("POINTLINE_LAKE")
    if env:
        return _normalise(env)
    return _normalise(Path.cwd() / "lake")


def _normalise(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    if "://" in text:
        return text.rstrip("/")
    local = Path(text).expanduser().resolve()
    if local.exists() and not local.is_dir():
        raise PointlineError(f"the lake {local} is a file; a lake is a directory (it is created if missing)")
    return str(local)
