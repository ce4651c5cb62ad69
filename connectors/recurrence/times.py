"""When a VEVENT happens, read leniently: its bounds in UTC, its RDATEs, raw property values.

Floating times are the salesperson's wall clock (``zone``); all-day events are local days in
``zone``, from local midnight to local midnight.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any, cast

import icalendar

from connectors.base import BackendError
from connectors.common.days import day_bounds


def vevents(cal: icalendar.Calendar) -> list[icalendar.Event]:
    """The VEVENTs of ``cal`` (at any depth, in file order), typed as events."""
    return cast(list[icalendar.Event], cal.walk("VEVENT"))


def utc_bounds(
    ev: icalendar.Event, zone: tzinfo, where: object = None, *, keep_dates: bool = False
) -> tuple[Any, Any, bool]:
    """``(start, end, all_day)`` of ``ev``: datetimes in UTC; all-day dates as dates
    (``keep_dates``) or as the local midnights in ``zone``. Floating times are read in ``zone``.

    :class:`BackendError` when the times cannot be read (the message names ``where``, the
    file or calendar, when given).
    """
    try:
        start, end = ev.start, ev.end
    except Exception as exc:  # icalendar raises when DTEND and DURATION disagree with DTSTART
        prefix = f"{where}: " if where else ""
        raise BackendError(f"{prefix}event {ev.get('UID', '')}: bad times: {exc}") from None
    if not isinstance(start, datetime):
        end = end if not isinstance(end, datetime) else end.date()
        if keep_dates:
            return start, end, True
        lo, hi = day_bounds(start, end, zone)
        return lo, hi, True
    if not isinstance(end, datetime):
        end = datetime.combine(end, start.timetz())
    return to_utc(start, zone), to_utc(end, zone), False


def to_utc(value: datetime, zone: tzinfo) -> datetime:
    """``value`` in UTC; a floating (naive) time is read as the wall clock of ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def as_datetime(value: date) -> datetime:
    """``value`` itself, or the midnight (naive) that opens the date ``value``."""
    return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())


def rdates(ev: icalendar.Event) -> list[date]:
    """The dates and datetimes of ``ev``'s RDATE properties (a PERIOD gives its start)."""
    found: list[date] = []
    for prop in as_list(ev.get("RDATE")):
        for value in prop.dts if isinstance(prop, icalendar.vDDDLists) else ():
            dt = value.dt[0] if isinstance(value.dt, tuple) else value.dt
            if isinstance(dt, date):
                found.append(dt)
    return found


def as_list(value: Any) -> list[Any]:
    """A property's values as a list: none, the one, or the repeated ones."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def ical_text(value: Any) -> str:
    """A property value as it is written in the file (an RRULE as ``FREQ=...``)."""
    raw = value.to_ical() if hasattr(value, "to_ical") else value
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
