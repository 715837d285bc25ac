"""Pointline: a point-in-time correct research framework for crypto market microstructure.

The lake location is resolved by :func:`get_lake` (explicit argument, :func:`set_lake`,
``POINTLINE_LAKE``, ``./lake``).
"""

from pointline.config import get_lake, set_lake

__version__ = "0.1.0"

__all__ = ["__version__", "get_lake", "set_lake"]
