"""Minute arithmetic for the planner: instants as integer minutes since the Unix epoch (UTC).

Integers keep the hot loops cheap; conversion to and from aware datetimes happens at the edges.
DST rule for local wall-clock times: a time that does not exist (spring forward) moves forward
by the gap; an ambiguous time (fall back) takes its first occurrence. Python's zoneinfo gives
exactly that with ``fold=0``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SLOT_STEP = 15  # meetings start on a quarter hour (every IANA offset is a multiple of 15 min)


def to_minute(dt: datetime) -> int:
    """Aware datetime -> epoch minute (floor)."""
    return int(dt.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    """Epoch minute -> aware UTC datetime."""
    return datetime.fromtimestamp(minute * 60, UTC)


@lru_cache(maxsize=1 << 18)
def local_minute(zone: ZoneInfo, day: date, minute_of_day: int) -> int:
    """Epoch minute of the wall-clock time ``minute_of_day`` on ``day`` in ``zone``.

    ``minute_of_day`` may be 1440 (midnight at the end of the day).
    """
    if minute_of_day >= 1440:
        day = day + timedelta(days=1)
        minute_of_day -= 1440
    wall = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
    return to_minute(wall.replace(tzinfo=zone))


def local_date(zone: ZoneInfo, minute: int) -> date:
    """The date in ``zone`` at epoch minute ``minute``."""
    return datetime.fromtimestamp(minute * 60, zone).date()


def ceil_step(minute: int, step: int = SLOT_STEP) -> int:
    return -(-minute // step) * step


def find_slot(
    spans: list[tuple[int, int]], busy: list[tuple[int, int]], length: int, not_before: int
) -> int | None:
    """Earliest quarter-hour start ``t`` with ``[t, t+length)`` inside one span and clear of
    every busy interval (``busy`` sorted by start), or None."""
    for span_start, span_end in spans:
        t = ceil_step(max(span_start, not_before))
        for busy_start, busy_end in busy:
            if busy_end <= t:
                continue
            if busy_start >= t + length:
                break
            t = ceil_step(busy_end)
        if t + length <= span_end:
            return t
    return None
