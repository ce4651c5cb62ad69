"""cadence's bookings as iCalendar resources, and what a resource on the server says.

Timed events are written in the salesperson's zone with its VTIMEZONE; cadence's own events
carry ``X-CADENCE-UID`` (equal to the UID) and one ``X-CADENCE-<TAG>`` per tag, as the ics
backend writes them.

An event with invited customers has the customer's text as its DESCRIPTION (a server with
scheduling sends the resource to them); the salesperson's notes then go to
``X-CADENCE-OWNER-NOTES``, which no calendar client displays. It is not a tag.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from connectors.base import CADENCE_UID, EventSpec, RemoteEvent, hidden_notes, shown_description
from connectors.common.validation import day_bound, timed_bound, zone_of
from connectors.email import CUSTOMER_TEXT, one_line
from connectors.icalpeople import owner_partstat

PRODID = "-//cadence//caldav backend//EN"
UID_PROPERTY = "X-CADENCE-UID"
TAG_PREFIX = "X-CADENCE-"
NOTES_PROPERTY = "X-CADENCE-OWNER-NOTES"

_SAFE_RESOURCE = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")


def resource_name(uid: str) -> str:
    """The calendar resource name of the event ``uid``: stable, so a retry hits the same URL."""
    if _SAFE_RESOURCE.match(uid):
        return f"{uid}.ics"
    return hashlib.sha256(uid.encode()).hexdigest()[:40] + ".ics"


def tag_property(tag: str) -> str:
    """The iCalendar property holding tag ``tag``: ``customer_id`` -> ``X-CADENCE-CUSTOMER-ID``."""
    return TAG_PREFIX + tag.upper().replace("_", "-")


def _tag_name(prop: str) -> str:
    return prop[len(TAG_PREFIX) :].lower().replace("-", "_")


def _mailto(address: str) -> str:
    return f"mailto:{address}"


def build_calendar(
    spec: EventSpec, *, sequence: int, stamp: datetime, owner_name: str = ""
) -> bytes:
    """The iCalendar resource for ``spec``: one VEVENT with cadence's ``X-CADENCE-*`` tags.

    Timed events are written in the salesperson's zone (with its VTIMEZONE) so they display
    at the right local time; the owner is ORGANIZER and an ATTENDEE with ``PARTSTAT=ACCEPTED``
    so that a decline in any client shows up as ``PARTSTAT=DECLINED``, both with the owner's
    name (``owner_name``) as ``CN``, which clients and scheduling servers show.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", spec.uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("summary", spec.title)
    if shown_description(spec):
        event.add("description", shown_description(spec))
    if spec.location:
        event.add("location", one_line(spec.location))
    if spec.all_day:
        event.add("dtstart", day_bound(spec.start, "start"))
        event.add("dtend", day_bound(spec.end, "end"))
    else:
        zone = zone_of(spec.timezone)
        event.add("dtstart", _displayed(timed_bound(spec.start, "start"), zone))
        event.add("dtend", _displayed(timed_bound(spec.end, "end"), zone))
    event.add("transp", "TRANSPARENT" if spec.transparent else "OPAQUE")
    event.add("status", "CONFIRMED")
    name = {"CN": one_line(owner_name)} if one_line(owner_name) else {}
    event.add("organizer", _mailto(spec.owner), parameters=name)
    event.add(
        "attendee",
        _mailto(spec.owner),
        parameters={**name, "PARTSTAT": "ACCEPTED", "ROLE": "CHAIR", "CUTYPE": "INDIVIDUAL"},
    )
    for address in spec.attendees:
        guest = one_line(spec.attendee_names.get(address, ""))
        event.add(
            "attendee",
            _mailto(address),
            parameters={
                **({"CN": guest} if guest else {}),
                "PARTSTAT": "NEEDS-ACTION",
                "ROLE": "REQ-PARTICIPANT",
                "RSVP": "TRUE",
            },
        )
    # VALUE=TEXT makes parsers escape and unescape , ; \\ and newlines in tag values.
    event.add(UID_PROPERTY, icalendar.vText(spec.uid), parameters={"VALUE": "TEXT"})
    for tag, value in sorted(spec.tags.items()):
        event.add(tag_property(tag), icalendar.vText(str(value)), parameters={"VALUE": "TEXT"})
    if hidden_notes(spec):
        event.add(NOTES_PROPERTY, icalendar.vText(hidden_notes(spec)), parameters={"VALUE": "TEXT"})
    for minutes in spec.reminder_minutes:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", spec.title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        event.add_component(alarm)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def outbox_form(data: bytes | str) -> icalendar.Event | None:
    """The VEVENT of a resource as the invitation outbox takes it (the .ics form): the owner's
    notes as ``DESCRIPTION`` and the customer's text in
    :data:`connectors.email.CUSTOMER_TEXT`. A resource with attendees keeps them the other
    way round (its ``DESCRIPTION`` is the customer's, the notes in :data:`NOTES_PROPERTY`), so
    without this the customer would be mailed nothing of their text. None: no VEVENT."""
    event = _main_event(icalendar.Calendar.from_ical(data))
    if event is None:
        return None
    copy = icalendar.Event.from_ical(event.to_ical())
    assert isinstance(copy, icalendar.Event)  # a VEVENT's text reads back as one
    notes = copy.pop(NOTES_PROPERTY, None)
    if notes is not None:
        customer = copy.pop("DESCRIPTION", None)
        copy.add("description", str(notes))
        if customer is not None and str(customer).strip():
            copy.add(CUSTOMER_TEXT, icalendar.vText(str(customer)), parameters={"VALUE": "TEXT"})
    return copy


def _displayed(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` in the salesperson's zone, or in UTC when local time cannot name the instant.

    A TZID local time in a repeated hour (fall back) means its first occurrence (RFC 5545
    3.3.5), so the second 01:30 of a New York November night is written in UTC instead.
    """
    local = value.astimezone(zone)
    if local.replace(fold=0).astimezone(UTC) != value.astimezone(UTC):
        return value.astimezone(UTC)
    return local


def moment(value: datetime | date, zone: ZoneInfo) -> datetime | date:
    """An iCalendar DTSTART/DTEND value as cadence holds it: aware UTC, or a plain date.

    Floating times (no zone) are read in the salesperson's zone.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    return value


def event_bounds(event: icalendar.Event, zone: ZoneInfo) -> tuple[datetime | date, datetime | date]:
    """An event's ``(start, end)`` as cadence holds them (DTEND, else DURATION, else RFC 5545)."""
    start = moment(event.decoded("dtstart"), zone)
    if "dtend" in event:
        end = moment(event.decoded("dtend"), zone)
    elif "duration" in event:
        end = start + event.decoded("duration")
    elif isinstance(start, datetime):
        end = start  # RFC 5545 3.6.1: a timed event without DTEND/DURATION lasts no time
    else:
        end = start + timedelta(days=1)  # ...and a date one lasts the day
    return start, end


def _main_event(cal: icalendar.Calendar) -> icalendar.Event | None:
    """The master VEVENT of a resource (the one without RECURRENCE-ID), else the first."""
    events: list[Any] = cal.walk("VEVENT")
    for event in events:
        if "recurrence-id" not in event:
            return event
    return events[0] if events else None


def is_cadence_event(event: icalendar.Event) -> bool:
    """Whether ``event`` is one of cadence's own: its ``X-CADENCE-UID`` equals its ``UID``.

    A copy a person made in their calendar app keeps the X- property but gets a new UID: it is
    theirs, not cadence's. An event a client rewrote without the X- properties keeps the UID
    cadence gave it (:data:`connectors.base.CADENCE_UID`): it is still cadence's.
    """
    uid = str(event.get("uid", ""))
    if UID_PROPERTY in event:
        return str(event[UID_PROPERTY]) == uid
    # A client that rewrote the event without the X- properties kept the UID cadence gave it.
    return CADENCE_UID.fullmatch(uid) is not None


def parse_owned(
    data: bytes | str, *, owner: str, href: str, etag: str | None, zone: ZoneInfo
) -> RemoteEvent | None:
    """The :class:`RemoteEvent` in an iCalendar resource, or None when it is not cadence's."""
    cal = icalendar.Calendar.from_ical(data)
    event = _main_event(cal)
    if event is None or not is_cadence_event(event):
        return None
    start, end = event_bounds(event, zone)
    if str(event.get("status", "")).upper() == "CANCELLED":
        status = "cancelled"
    elif owner_partstat(event, owner) == "DECLINED":
        status = "declined"
    else:
        status = "confirmed"
    tags = {
        _tag_name(name): str(event[name])
        for name in event
        if name.startswith(TAG_PREFIX) and name not in (UID_PROPERTY, NOTES_PROPERTY)
    }
    return RemoteEvent(
        uid=str(event["uid"]),
        owner=owner,
        start=start,
        end=end,
        all_day=not isinstance(start, datetime),
        status=status,
        title=str(event.get("summary", "")),
        etag=etag,
        remote_id=href,
        sequence=int(event.get("sequence", 0)),
        tags=tags,
    )


def matches_spec(event: RemoteEvent, spec: EventSpec) -> bool:
    """Whether the calendar already holds ``spec`` as it should be (no write needed)."""

    def norm(value: datetime | date) -> datetime | date:
        return value.astimezone(UTC) if isinstance(value, datetime) else value

    return (
        event.status == "confirmed"
        and event.title == spec.title
        and event.all_day == spec.all_day
        and norm(event.start) == norm(spec.start)
        and norm(event.end) == norm(spec.end)
        and dict(event.tags) == {k: str(v) for k, v in spec.tags.items()}
    )


def is_free(event: icalendar.Event, owner: str) -> bool:
    """Events that do not block the owner's time: transparent, cancelled or declined."""
    return (
        str(event.get("transp", "OPAQUE")).upper() == "TRANSPARENT"
        or str(event.get("status", "")).upper() == "CANCELLED"
        or owner_partstat(event, owner) == "DECLINED"
    )
