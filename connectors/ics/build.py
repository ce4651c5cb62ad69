"""cadence's events as icalendar objects, and a new calendar.

:func:`build_event` is the reference for what cadence writes: the write path renders the same
bytes without building the object (:mod:`connectors.ics.render`), and builds it only when an
invitation or a second operation on the event needs it.

An event is built from an :class:`EventSpec` with a stable ``UID``, a ``SEQUENCE``, the
``X-CADENCE-UID`` ownership marker and one ``X-CADENCE-<TAG>`` per tag; the owner is organizer
and an attendee (so that declining can be written down). Text from customer files reaches the
file with no control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import icalendar

from connectors.base import BackendError, EventSpec
from connectors.common.validation import zone_of
from connectors.email import CUSTOMER_TEXT, clean_text, one_line
from connectors.ics.events import OWNED_MARKER, TAG_PREFIX

PRODID = "-//cadence//cadence calendar files//EN"
_TAG_KEY = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_RESERVED_TAGS = {"uid", "generated", "customer_description"}
UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU"}


def new_calendar(owner: str, name: str) -> icalendar.Calendar:
    """An empty calendar for ``owner`` (called ``name``, when known)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", one_line(f"cadence: {name or owner}"))
    return cal


def tag_property(key: str) -> str:
    """``customer_id`` -> ``X-CADENCE-CUSTOMER-ID`` (property names allow letters, digits, -)."""
    if not _TAG_KEY.match(key) or key in _RESERVED_TAGS:
        raise BackendError(
            f"tag name {key!r} cannot be stored in an .ics file: use lower-case letters, digits "
            f"and single underscores, not {sorted(_RESERVED_TAGS)}"
        )
    return TAG_PREFIX + key.upper().replace("_", "-")


def stamp_args(stamps: Mapping[str, datetime | None]) -> dict[str, datetime]:
    """``DTSTAMP``, ``CREATED`` and ``LAST-MODIFIED`` as the arguments of :func:`build_event`."""
    return {
        "stamp": stamps["DTSTAMP"],  # type: ignore[dict-item]
        "created": stamps["CREATED"],  # type: ignore[dict-item]
        "modified": stamps["LAST-MODIFIED"],  # type: ignore[dict-item]
    }


def build_event(
    spec: EventSpec,
    owner_name: str,
    sequence: int,
    stamp: datetime,
    created: datetime,
    modified: datetime,
) -> icalendar.Event:
    """The VEVENT for ``spec`` (already validated)."""
    ev = icalendar.Event()
    ev.add("uid", spec.uid)
    ev.add("dtstamp", stamp)
    ev.add("created", created)
    ev.add("last-modified", modified)
    ev.add("sequence", sequence)
    # Names come from customer files and cadence.toml: no control character reaches the file
    # (nor the invitation built from it).
    title = one_line(spec.title)
    ev.add("summary", title)
    if spec.description:
        ev.add("description", clean_text(spec.description))
    if spec.location:
        ev.add("location", one_line(spec.location))
    if spec.customer_description and spec.attendees:
        # VALUE=TEXT: parsers unescape it (newlines, commas) like any text property.
        text = icalendar.vText(clean_text(spec.customer_description))
        ev.add(CUSTOMER_TEXT, text, parameters={"VALUE": "TEXT"})
    if spec.all_day:
        ev.add("dtstart", spec.start)
        ev.add("dtend", spec.end)
    else:
        ev.add("dtstart", wall_clock(spec.start, spec.timezone))  # type: ignore[arg-type]
        ev.add("dtend", wall_clock(spec.end, spec.timezone))  # type: ignore[arg-type]
    ev.add("status", "CONFIRMED")
    ev.add("transp", "TRANSPARENT" if spec.transparent else "OPAQUE")
    ev.add("organizer", cal_address(spec.owner, owner_name))
    # The owner attends too, so that declining can be written down (PARTSTAT=DECLINED).
    ev.add("attendee", cal_address(spec.owner, owner_name, ROLE="CHAIR", PARTSTAT="ACCEPTED"))
    for guest in spec.attendees:
        name = spec.attendee_names.get(guest, "")
        ev.add("attendee", cal_address(
            guest, name, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE"
        ))  # fmt: skip
    ev.add(OWNED_MARKER, icalendar.vText(spec.uid))
    for key in sorted(spec.tags):
        ev.add(tag_property(key), icalendar.vText(spec.tags[key]))
    for minutes in sorted(set(spec.reminder_minutes)):
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        ev.add_component(alarm)
    return ev


def cal_address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    """``email`` as an ``ORGANIZER`` or ``ATTENDEE`` value, with ``CN=name`` (when there is
    one) and ``params``."""
    # An address has no spaces either: whatever one_line would turn into a space goes.
    address = icalendar.vCalAddress(f"mailto:{''.join(one_line(email).split())}")
    name = one_line(name)
    if name:
        address.params["CN"] = icalendar.vText(name)
    for key, value in params.items():
        address.params[key] = value
    return address


def wall_clock(value: datetime, zone_name: str) -> datetime:
    """``value`` as the salesperson's wall-clock time (written with TZID), or in UTC when the
    wall-clock time is ambiguous: a local time in the repeated hour of a fall-back means its
    first occurrence (RFC 5545 3.3.5), so the second one can only be written in UTC.
    """
    if zone_name.upper() in UTC_NAMES:
        return value.astimezone(UTC)
    local = value.astimezone(zone_of(zone_name))
    twin = local.replace(fold=1 - local.fold)
    if twin.utcoffset() != local.utcoffset():
        return value.astimezone(UTC)
    return local


def normalized(ev: icalendar.Event) -> icalendar.Event:
    """``ev`` as it reads back from a file, so its etag is the one readers will compute."""
    event = icalendar.Event.from_ical(ev.to_ical())
    assert isinstance(event, icalendar.Event)
    return event
