"""A calendar file being rewritten: its own properties, its components in file order (each
parsed, or built by this write: :class:`connectors.ics.render.BuiltEvent`), and the
VTIMEZONEs its events need."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from connectors.base import BackendError
from connectors.ics.build import UTC_NAMES
from connectors.ics.events import dt_value
from connectors.ics.parse import parse
from connectors.ics.render import BuiltEvent

GENERATED_MARKER = "X-CADENCE-GENERATED"  # on the VTIMEZONEs cadence generated itself

Part = icalendar.cal.Component | BuiltEvent


@dataclass(slots=True)
class Draft:
    """``cal``'s own properties (its subcomponents are not used) and the components of the
    file being written, in order."""

    cal: icalendar.Calendar
    parts: list[Part]

    @classmethod
    def of(cls, cal: icalendar.Calendar) -> Draft:
        """A draft of the file ``cal`` is (components parsed from it, or none yet)."""
        return cls(cal, list(cal.subcomponents))

    def add(self, part: Part) -> None:
        """Put ``part`` at the end."""
        self.parts.append(part)

    def replace(self, old: Part, new: Part) -> None:
        """Put ``new`` where ``old`` is."""
        self.parts[self._index(old)] = new

    def remove(self, part: Part) -> None:
        """Take ``part`` out."""
        del self.parts[self._index(part)]

    def _index(self, part: Part) -> int:
        for i, candidate in enumerate(self.parts):
            if candidate is part:
                return i
        uid = part.uid if isinstance(part, BuiltEvent) else part.get("UID")
        raise BackendError(f"event {uid} vanished from the calendar")


def refresh_timezones(draft: Draft) -> None:
    """Give every IANA zone the events use a VTIMEZONE covering their years.

    VTIMEZONEs cadence generated are regenerated (their range follows the events; a narrow
    range also keeps them simple enough for every parser); ones someone else wrote are kept.
    Unused generated ones are dropped. VTIMEZONEs go first, as calendar applications write them.
    """
    years: dict[str, set[int]] = {}

    def note(value: object) -> None:
        if not isinstance(value, datetime) or not isinstance(value.tzinfo, ZoneInfo):
            return
        if value.tzinfo.key.upper() not in UTC_NAMES:
            years.setdefault(value.tzinfo.key, set()).add(value.year)

    for part in draft.parts:
        if isinstance(part, BuiltEvent):
            note(part.start)
            note(part.end)
            continue
        for ev in part.walk("VEVENT"):
            for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
                note(dt_value(ev.get(name)))
    timezones: list[Part] = []
    others: list[Part] = []
    foreign_tzids = set()
    for part in draft.parts:
        if isinstance(part, BuiltEvent) or part.name != "VTIMEZONE":
            others.append(part)
        elif GENERATED_MARKER not in part:
            timezones.append(part)
            foreign_tzids.add(str(part.get("TZID")))
    for tzid in sorted(set(years) - foreign_tzids):
        timezones.append(_generated_timezone(tzid, min(years[tzid]), max(years[tzid])))
    draft.parts[:] = timezones + others


@functools.lru_cache(maxsize=512)
def _generated_timezone(tzid: str, first: int, last: int) -> icalendar.Timezone:
    """The VTIMEZONE cadence writes for ``tzid`` over ``first`` .. ``last`` + 1, made once per
    process (it is only ever serialised, never changed: calendars share it)."""
    tz = icalendar.Timezone.from_tzinfo(
        ZoneInfo(tzid), tzid, first_date=date(first, 1, 1), last_date=date(last + 2, 1, 1)
    )
    tz.add(GENERATED_MARKER, "TRUE")
    return tz


def checked_timezones(parts: Iterable[tuple[Part, bytes]]) -> list[Part]:
    """The VTIMEZONEs cadence generated among ``parts`` (components and their bytes) that
    read back with no problem: a write's round-trip check can leave them out, each checked
    once per process (:func:`_reads_back`) rather than parsed again in every file."""
    return [
        part
        for part, data in parts
        if not isinstance(part, BuiltEvent)
        and part.name == "VTIMEZONE"
        and GENERATED_MARKER in part
        and _reads_back(data)
    ]


@functools.lru_cache(maxsize=512)
def _reads_back(data: bytes) -> bool:
    """Whether the VTIMEZONE serialised as ``data`` reads back alone, with no problem."""
    text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//cadence//check//EN\r\n"
    try:
        loaded = parse(text + data + b"END:VCALENDAR\r\n", Path("VTIMEZONE"))
    except BackendError:
        return False
    names = [component.name for component in loaded.cal.subcomponents]
    return not loaded.problems and names == ["VTIMEZONE"]
