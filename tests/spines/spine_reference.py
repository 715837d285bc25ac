"""Slow, obvious reference implementations of the bar rules, to check the fast code against."""

from __future__ import annotations

from fractions import Fraction


def reference_threshold_bars(
    events: list[tuple[int, int, int, int]],
    threshold: int,
    anchor: int,
    end: int,
    *,
    split: bool = False,
    max_time: int | None = None,
) -> list[dict]:
    """Bars from ``(ts, file_id, line, measure)`` events with integer measures, one event at a time."""
    bars: list[dict] = []
    open_ts, running = anchor, 0
    carry = Fraction(0)

    def close(ts, key, portion=None, measure=None):
        nonlocal open_ts, carry
        bar = {"bucket_start": open_ts, "ts": ts, "key": key, "complete": True}
        if split:
            bar["split"] = None if measure is None else Fraction(portion, measure)
            bar["carry"] = carry
            carry = Fraction(0)
        bars.append(bar)
        open_ts = ts

    for ts, fid, line, m in events:
        if not anchor <= ts < end:
            continue
        while max_time and ts >= open_ts + max_time:
            close(open_ts + max_time, None)
            running = 0
        if not split:
            running += m
            if running >= threshold:
                close(ts, (fid, line))
                running = 0
            continue
        left = m
        while running + left >= threshold:
            portion = threshold - running
            close(ts, (fid, line), portion, m)
            left -= portion
            running = 0
        if left and left != m:
            carry = Fraction(left, m)
        running += left
    while max_time and end >= open_ts + max_time:
        close(open_ts + max_time, None)
    if open_ts < end:
        bar = {"bucket_start": open_ts, "ts": end, "key": None, "complete": False}
        if split:
            bar["split"], bar["carry"] = None, carry
        bars.append(bar)
    return bars


def reference_assign(events: list[tuple[int, int, int]], bars: list[dict]) -> list[int | None]:
    """Bar position of each ``(ts, file_id, line)`` event by the boundary-key rule, by linear scan."""
    out: list[int | None] = []
    for key in events:
        found = None
        for i, bar in enumerate(bars):
            after = key[0] < bar["ts"] if bar["key"] is None else key <= (bar["ts"], *bar["key"])
            if after:
                found = i
                break
        if found is not None and key[0] < bars[found]["bucket_start"]:
            found = None
        out.append(found)
    return out
