"""Minute arithmetic for the planner: instants as integer minutes since the Unix epoch (UTC).

Integers keep the hot loops cheap; conversion to and from aware datetimes happens at the edges.
DST rule for local wall-clock times: a time that does not exist (spring forward) moves forward
by the gap; an ambiguous time (fall back) takes its first occurrence. Python's zoneinfo gives
exactly that with ``fold=0``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

SLOT_STEP = 15  # meetings start on a quarter hour (every IANA offset is a multiple of 15 min)


def to_minute(dt: datetime) -> int:
    """Aware datetime -> epoch minute (floor)."""
    return int(dt.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    """Epoch minute -> aware UTC datetime."""
    return datetime.fromtimestamp(minute * 60, UTC)


_EPOCH = 719163  # date(1970, 1, 1).toordinal(): UTC day ordinal o starts at (o - _EPOCH) * 1440


@cache
def day_start(zone: ZoneInfo, ordinal: int) -> int:
    """Epoch minute of local midnight (``fold=0``) of day ``ordinal`` in ``zone``: where that
    local day begins. Increasing with ``ordinal``; one entry per zone and day a plan touches."""
    d = date.fromordinal(ordinal)
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()) // 60


def local_minute_at(zone: ZoneInfo, ordinal: int, minute_of_day: int) -> int:
    """:func:`local_minute` by day ordinal. On a day 1440 minutes long (no clock change: all
    but a few days of a zone's year) the wall clock runs with UTC from local midnight, and the
    answer is arithmetic; a day with a change asks zoneinfo."""
    start = day_start(zone, ordinal)
    if day_start(zone, ordinal + 1) - start == 1440:
        return start + minute_of_day
    return _wall_minute(zone, date.fromordinal(ordinal), minute_of_day)


@cache
def local_span(zone: ZoneInfo, first: int, last: int, ordinal: int) -> tuple[int, int]:
    """Epoch minutes of the wall-clock span ``[first, last)`` (minutes of the day) of day
    ``ordinal`` in ``zone``: one answer for every salesperson of that zone and hours."""
    return local_minute_at(zone, ordinal, first), local_minute_at(zone, ordinal, last)


@lru_cache(maxsize=1 << 16)
def local_minute(zone: ZoneInfo, day: date, minute_of_day: int) -> int:
    """Epoch minute of the wall-clock time ``minute_of_day`` on ``day`` in ``zone``.

    ``minute_of_day`` may be 1440 (midnight at the end of the day).
    """
    return local_minute_at(zone, day.toordinal(), minute_of_day)


def _wall_minute(zone: ZoneInfo, day: date, minute_of_day: int) -> int:
    if minute_of_day >= 1440:
        day = day + timedelta(days=1)
        minute_of_day -= 1440
    wall = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
    return to_minute(wall.replace(tzinfo=zone))


@cache
def steady_offset(zone: ZoneInfo, ordinal: int) -> int | None:
    """The UTC offset (minutes) of ``zone`` on day ``ordinal`` when it does not change its
    clocks from two days before it to two days after it; else None. Within that stretch every
    local time is the offset's arithmetic: two such days with the same offsets in two zones
    are alike to within a whole number of days."""
    starts = [day_start(zone, ordinal + k) for k in range(-2, 4)]
    if any(b - a != 1440 for a, b in pairwise(starts)):
        return None
    return (ordinal - _EPOCH) * 1440 - starts[2]


def local_ordinal(zone: ZoneInfo, minute: int) -> int:
    """The ordinal of the date in ``zone`` at epoch minute ``minute``: the local day whose
    midnights (:func:`day_start`) enclose it. Offsets are under a day, so the UTC date is at
    most one day off."""
    o = minute // 1440 + _EPOCH
    if day_start(zone, o) > minute:
        return o - 1
    if day_start(zone, o + 1) <= minute:
        return o + 1
    return o


@lru_cache(maxsize=1 << 14)
def local_date(zone: ZoneInfo, minute: int) -> date:
    """The date in ``zone`` at epoch minute ``minute`` (the same minutes recur: the start of
    a salesperson's working day is asked about for every customer)."""
    return date.fromordinal(local_ordinal(zone, minute))


@cache
def iso(day: date) -> str:
    """``day.isoformat()``, made once per day: a plan's reasons name a few hundred days hundreds
    of thousands of times, and a date in an f-string costs ten times a dictionary lookup."""
    return day.isoformat()


@cache
def short_date(ordinal: int) -> str:
    """``Sat 5 Dec`` for day ordinal ``ordinal``, made once per day (see :func:`iso`)."""
    day = date.fromordinal(ordinal)
    return f"{day:%a} {day.day} {day:%b}"


def date_of(zone: ZoneInfo, dt: datetime) -> date:
    """The date in ``zone`` at the instant ``dt``, without a cache: for instants that do not
    recur (contacts, bookings), which would only fill one."""
    return dt.astimezone(zone).date()


def ceil_step(minute: int, step: int = SLOT_STEP) -> int:
    return -(-minute // step) * step


def floor_step(minute: int, step: int = SLOT_STEP) -> int:
    return (minute // step) * step


_NO_NEIGHBOUR = 1 << 30


def choose_slot(
    spans: list[tuple[int, int]],
    busy: list[tuple[int, int]],
    length: int,
    not_before: int,
    *,
    buffer: int = 0,
    breaks: list[tuple[int, int]] | None = None,
) -> int | None:
    """The quarter-hour start ``t`` for a meeting of ``length`` minutes, or None.

    ``[t, t+length)`` lies inside one span, from ``not_before`` on, clear of every break and at
    least ``buffer`` minutes away from every busy interval (``busy`` sorted by start). Among
    those starts, the one farthest from its nearest busy neighbour: meetings spread over the
    free time of the day instead of piling up at its start. On an empty day, and on a tie, the
    earliest. Breaks and the day's edges are no neighbours (a meeting may end as lunch begins).
    Linear in the number of busy intervals and breaks.
    """
    if not busy and not breaks:
        return earliest_start(spans, length, not_before)
    blocks = [(s - buffer, e + buffer, s, e) for s, e in busy]  # in order: busy is sorted
    if breaks:
        blocks = sorted(blocks + [(s, e, -1, -1) for s, e in breaks])
    best: int | None = None
    best_score = -1
    for span_start, span_end in spans:
        free_from = max(span_start, not_before)
        left = -1  # raw end of the busy interval the free stretch follows (-1: none)
        for block_start, block_end, raw_start, raw_end in blocks:
            if block_end <= free_from:
                continue
            if block_start >= span_end:
                break
            if block_start > free_from:
                t, score = _best_in(free_from, block_start, length, left, raw_start)
                if t is not None and score > best_score:
                    best, best_score = t, score
            free_from, left = block_end, raw_end
        if free_from < span_end:
            t, score = _best_in(free_from, span_end, length, left, -1)
            if t is not None and score > best_score:
                best, best_score = t, score
    return best


def earliest_start(spans: list[tuple[int, int]], length: int, not_before: int) -> int | None:
    """:func:`choose_slot` on a day with nothing busy and no breaks: the earliest quarter-hour
    start from ``not_before`` with the meeting inside one span, or None."""
    for span_start, span_end in spans:
        first = -(-max(span_start, not_before) // SLOT_STEP) * SLOT_STEP
        if first <= ((span_end - length) // SLOT_STEP) * SLOT_STEP:
            return first
    return None


def _best_in(lo: int, hi: int, length: int, left: int, right: int) -> tuple[int | None, int]:
    """The best start in the free stretch ``[lo, hi)`` between a busy interval ending at
    ``left`` and one starting at ``right`` (-1: no such neighbour), with its score: the
    distance to the nearer neighbour (the earlier start on a tie)."""
    first, last = ceil_step(lo), floor_step(hi - length)
    if first > last:
        return None, -1
    if left < 0:
        return (first, _NO_NEIGHBOUR) if right < 0 else (first, right - first - length)
    if right < 0:
        return last, last - left
    # Farthest from both: the quarter hours either side of the middle, kept in the stretch.
    middle = floor_step((left + right - length) // 2)
    a = min(max(middle, first), last)
    b = min(max(middle + SLOT_STEP, first), last)  # b >= a
    score_a = min(a - left, right - a - length)
    if b != a:
        score_b = min(b - left, right - b - length)
        if score_b > score_a:
            return b, score_b
    return a, score_a


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


def sort_minute(value: datetime | date) -> int:
    """The epoch minute to sort a start by: a date (all-day) counts from its UTC midnight."""
    if isinstance(value, datetime):
        return to_minute(value)
    return to_minute(datetime(value.year, value.month, value.day, tzinfo=UTC))


def minutes_of(length: timedelta) -> int:
    """A meeting length in whole minutes."""
    return int(length.total_seconds() // 60)
