"""cadence's own events written straight to bytes, without building icalendar objects.

:func:`render_event` gives the bytes icalendar serialises the event
:func:`connectors.ics.build.build_event` builds (property order, escaping, folding,
parameters, ``DTSTART``/``DTEND`` as a DATE, with a TZID or in UTC, the organizer and
attendees with their ``CN``, the alarms), byte for byte: tests/test_ics_render.py holds it to
icalendar's output with Hypothesis. Building and serialising the icalendar event was two
thirds of a first sync. What icalendar writes in a way that depends on its own tables (the
``TZID`` a zone is written with, an address's parameters, a ``TRIGGER``) is asked of
icalendar once per zone, address or reminder, and a time in a zone that is not an IANA zone
or UTC is written by icalendar itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
from icalendar.timezone import tzp

from connectors.base import EventSpec, RemoteEvent
from connectors.email import CUSTOMER_TEXT, clean_text, one_line
from connectors.ics.build import build_event, cal_address, tag_property, wall_clock
from connectors.ics.events import OWNED_MARKER, etag_of, remote_event
from connectors.ics.lines import component_bytes, escape_text, fold


@dataclass(eq=False, slots=True)
class BuiltEvent:
    """One of cadence's events as a write built it: its bytes in the file, its times as
    written (for the VTIMEZONEs), the event as the write reports it and, only when something
    needs it (an invitation, a second operation on the uid in one batch), as icalendar's
    :class:`icalendar.Event` (:meth:`event`, the same object :func:`build_event` gives)."""

    uid: str
    data: bytes
    start: date  # DTSTART's value as written (a date, or an aware datetime)
    end: date
    remote: RemoteEvent  # what the write reports, etag included
    # Whether a read of the file gives ``remote`` as it is: nothing in it that escaping
    # changes on the way back (a backslash, a CR) and no fraction of a second.
    exact: bool
    make: Callable[[], icalendar.Event] = field(repr=False)
    _event: icalendar.Event | None = field(default=None, repr=False)

    def event(self) -> icalendar.Event:
        """The event as icalendar's object (built once, on demand)."""
        if self._event is None:
            self._event = self.make()
        return self._event

    def read_back(self, owner: str, zone: tzinfo) -> RemoteEvent:
        """The event as a read of the file gives it to :meth:`IcsBackend.list_owned`."""
        if self.exact:
            # Built for this owner (render_event's ``owner``): as a read gives it already.
            return self.remote if self.remote.owner == owner else replace(self.remote, owner=owner)
        parsed = icalendar.Event.from_ical(self.data)
        assert isinstance(parsed, icalendar.Event)
        return remote_event(parsed, owner, zone)


def render_event(
    spec: EventSpec,
    owner_name: str,
    sequence: int,
    stamp: datetime,
    created: datetime,
    modified: datetime,
    owner: str,
) -> BuiltEvent:
    """The event :func:`build_event` builds from ``spec`` (already validated), as bytes."""
    title = one_line(spec.title)
    if spec.all_day:
        start, end = spec.start, spec.end
    else:
        start = wall_clock(spec.start, spec.timezone)  # type: ignore[arg-type]
        end = wall_clock(spec.end, spec.timezone)  # type: ignore[arg-type]
    lines = [
        "BEGIN:VEVENT",
        "SUMMARY:" + escape_text(title),
        _time_line("DTSTART", start),
        _time_line("DTEND", end),
        _time_line("DTSTAMP", tzp.localize_utc(stamp)),
        "UID:" + escape_text(spec.uid),
        f"SEQUENCE:{sequence}",
    ]
    rest = _other_properties(spec, owner_name, title, created, modified)
    rest.sort(key=lambda item: item[0])  # icalendar's order: by name, values as added
    lines += [line for _, line in rest]
    for minutes in sorted(set(spec.reminder_minutes)):
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:" + escape_text(title),
            _trigger_line(minutes),
            "END:VALARM",
        ]
    lines.append("END:VEVENT")
    data = b"".join(fold(line) for line in lines)
    tags = {}
    if spec.customer_description and spec.attendees:
        tags["customer_description"] = clean_text(spec.customer_description)
    tags.update((key, spec.tags[key]) for key in sorted(spec.tags))
    bounds = (start, end) if spec.all_day else (start.astimezone(UTC), end.astimezone(UTC))  # type: ignore[union-attr]
    remote = RemoteEvent(
        uid=spec.uid,
        owner=owner,
        start=bounds[0],
        end=bounds[1],
        all_day=spec.all_day,
        title=title,
        etag=etag_of(data),
        remote_id=spec.uid,
        sequence=sequence,
        tags=tags,
    )
    texts = (title, spec.uid, *tags.values())
    exact = (
        not any("\\" in text or "\r" in text for text in texts)
        and all(getattr(line, "round_trips", True) for _, line in rest)
        and (spec.all_day or (start.microsecond == 0 and end.microsecond == 0))  # type: ignore[union-attr]
    )
    args = (spec, owner_name, sequence, stamp, created, modified)
    return BuiltEvent(spec.uid, data, start, end, remote, exact, lambda: build_event(*args))


class _Line(str):
    """A content line that knows whether icalendar reads it back as itself."""

    __slots__ = ("round_trips",)
    round_trips: bool

    def __new__(cls, line: str, round_trips: bool) -> _Line:
        self = super().__new__(cls, line)
        self.round_trips = round_trips
        return self


def _other_properties(
    spec: EventSpec, owner_name: str, title: str, created: datetime, modified: datetime
) -> list[tuple[str, str]]:
    """The event's properties after ``SEQUENCE`` (icalendar's canonical ones), unsorted."""
    chair = (("ROLE", "CHAIR"), ("PARTSTAT", "ACCEPTED"))
    found = [
        ("ATTENDEE", _address("ATTENDEE", spec.owner, owner_name, chair)),
        ("CREATED", _time_line("CREATED", tzp.localize_utc(created))),
        ("LAST-MODIFIED", _time_line("LAST-MODIFIED", tzp.localize_utc(modified))),
        ("ORGANIZER", _address("ORGANIZER", spec.owner, owner_name, ())),
        ("STATUS", "STATUS:CONFIRMED"),
        ("TRANSP", "TRANSP:TRANSPARENT" if spec.transparent else "TRANSP:OPAQUE"),
        (OWNED_MARKER, f"{OWNED_MARKER}:{escape_text(spec.uid)}"),
    ]
    guest = (("ROLE", "REQ-PARTICIPANT"), ("PARTSTAT", "NEEDS-ACTION"), ("RSVP", "TRUE"))
    for address in spec.attendees:
        name = spec.attendee_names.get(address, "")
        found.append(("ATTENDEE", _address("ATTENDEE", address, name, guest)))
    if spec.description:
        found.append(("DESCRIPTION", "DESCRIPTION:" + escape_text(clean_text(spec.description))))
    if spec.location:
        found.append(("LOCATION", "LOCATION:" + escape_text(one_line(spec.location))))
    if spec.customer_description and spec.attendees:
        text = escape_text(clean_text(spec.customer_description))
        found.append((CUSTOMER_TEXT, f"{CUSTOMER_TEXT};VALUE=TEXT:{text}"))
    for key, value in spec.tags.items():
        name = tag_property(key)
        found.append((name, f"{name}:{escape_text(value)}"))
    return found


def _time_line(name: str, value: date) -> str:
    """``NAME[;params]:value`` for a date or datetime, as icalendar writes it."""
    if isinstance(value, datetime):
        zone = value.tzinfo
        if zone is None or zone is UTC or isinstance(zone, ZoneInfo):
            prefix, suffix = _time_form(name, zone)
            return (
                f"{prefix}{value.year:04}{value.month:02}{value.day:02}"
                f"T{value.hour:02}{value.minute:02}{value.second:02}{suffix}"
            )
        return _icalendar_line(name, value)  # a zone only icalendar knows how to name
    prefix, suffix = _date_form(name)
    return f"{prefix}{value.year:04}{value.month:02}{value.day:02}{suffix}"


_SAMPLE = datetime(2000, 1, 2, 3, 4, 5)
_PLAIN = re.compile(r"[\w .@+-]*")  # a name or address icalendar reads back as it wrote it


@functools.lru_cache(maxsize=1024)
def _time_form(name: str, zone: tzinfo | None) -> tuple[str, str]:
    """What icalendar writes around the digits of a datetime in ``zone`` (its TZID, or ``Z``
    for UTC): it depends on the zone alone."""
    line = _icalendar_line(name, _SAMPLE.replace(tzinfo=zone))
    prefix, found, suffix = line.rpartition("20000102T030405")
    assert found, line
    return prefix, suffix


@functools.lru_cache(maxsize=16)
def _date_form(name: str) -> tuple[str, str]:
    """What icalendar writes around the digits of a date (``;VALUE=DATE``)."""
    prefix, found, suffix = _icalendar_line(name, _SAMPLE.date()).rpartition("20000102")
    assert found
    return prefix, suffix


@functools.lru_cache(maxsize=4096)
def _address(name: str, email: str, cn: str, params: tuple[tuple[str, str], ...]) -> _Line:
    """An ``ORGANIZER`` or ``ATTENDEE`` line, as icalendar writes the address cadence gives,
    and whether it reads back as itself (a name with a backslash, say, does not)."""
    event = icalendar.Event()
    event.add(name, cal_address(email, cn, **dict(params)))
    line = str(event.content_line(name, event[name]))
    if _PLAIN.fullmatch(cn) and _PLAIN.fullmatch(email):  # letters, digits, spaces, @.+-_
        return _Line(line, True)
    data = b"BEGIN:VEVENT\r\n" + fold(line) + b"END:VEVENT\r\n"
    try:
        back = icalendar.Event.from_ical(data)
        same = isinstance(back, icalendar.Event) and component_bytes(back) == data
    except Exception:  # icalendar cannot read it: a read of the file is the only judge
        same = False
    return _Line(line, same)


@functools.lru_cache(maxsize=256)
def _trigger_line(minutes: int) -> str:
    """The alarm's ``TRIGGER`` ``minutes`` before the start, as icalendar writes it."""
    alarm = icalendar.Alarm()
    alarm.add("trigger", timedelta(minutes=-minutes))
    return str(alarm.content_line("TRIGGER", alarm["TRIGGER"]))


def _icalendar_line(name: str, value: object) -> str:
    """One property's line, written by icalendar."""
    event = icalendar.Event()
    event.add(name, value)
    return str(event.content_line(name, event[name]))
