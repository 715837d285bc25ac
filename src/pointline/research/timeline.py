"""Turning user time arguments into µs timestamps (UTC).

Accepted forms: ``int`` µs since the epoch; ``datetime`` (naive = UTC); ``date``; ISO strings
(``"2024-05-01"``, ``"2024-05-01T12:00:00Z"``, ``"2024-05-01 12:00"``); ``"now"``; relative
``"-7d"``, ``"-12h"``, ``"-30m"``, ``"-45s"`` (relative to now).

A date given without a time means midnight UTC at the *start* of that day, for ``start`` and
``end`` alike. Intervals are half-open ``[start, end)``, so ``end="2024-05-31"`` stops at
2024-05-31T00:00:00Z and excludes the whole of May 31.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from pointline.errors import PointlineError

TimeLike = int | str | dt.datetime | dt.date

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000, "w": 604_800_000_000}
US_PER_DAY = 86_400_000_000


def to_us(value: TimeLike, *, name: str = "time") -> int:
    """Convert a time argument to integer µs since the Unix epoch (UTC).

    Parameters
    ----------
    value
        See the module docstring for accepted forms.
    name
        Argument name used in error messages.

    Returns
    -------
    int
        Microseconds since 1970-01-01T00:00:00Z.

    Example
    -------
    >>> to_us("2024-05-01")
    1714521600000000
    """
    us = _to_us(value, name=name)
    if not MIN_US <= us <= MAX_US:
        raise PointlineError(
            f"{name}: {value!r} is outside the supported times, 1900-01-01 to 2200-01-01 (UTC; as µs "
            f"since the epoch, {MIN_US} to {MAX_US})"
        )
    return us


#: The times accepted (µs): 1900-01-01 to 2200-01-01 UTC. Far inside Int64 (room for bar arithmetic)
#: and Python's calendar (partition dates), and wide enough for any market data.
MIN_US = -2_208_988_800_000_000
MAX_US = 7_258_118_400_000_000


def _to_us(value: TimeLike, *, name: str) -> int:
    if isinstance(value, bool):
        raise PointlineError(f"{name}: expected a date, datetime, ISO string or µs integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days * US_PER_DAY
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return time.time_ns() // 1_000
        match = _RELATIVE.match(text.lower())
        if match:
            return time.time_ns() // 1_000 - int(float(match.group(1)) * _UNIT_US[match.group(2)])
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            if len(text) == 10:
                return _to_us(dt.date.fromisoformat(text), name=name)
            return _to_us(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), name=name)
        except ValueError:
            pass
    raise PointlineError(
        f"{name}: cannot read {value!r} as a time; expected an ISO date or datetime "
        "('2024-05-01', '2024-05-01T12:00:00Z'), µs since the epoch, 'now' or '-7d'"
    )


def us_to_date(ts_us: int) -> dt.date:
    """UTC calendar date of a µs timestamp."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=ts_us // US_PER_DAY)


def dates_between(start_us: int, end_us: int) -> list[dt.date]:
    """UTC dates touched by the half-open interval ``[start_us, end_us)``."""
    if end_us <= start_us:
        return []
    first = us_to_date(start_us)
    last = us_to_date(end_us - 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def us_to_iso(ts_us: int) -> str:
    """ISO-8601 UTC text of a µs timestamp (for messages and reports)."""
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ts_us)
    return instant.isoformat().replace("+00:00", "Z")
