"""iMIP invitations (RFC 6047): calendar events e-mailed as ``text/calendar`` through SMTP.

A message carries a short ``text/plain`` body and the event as a ``text/calendar; method=...``
alternative whose VCALENDAR has the same ``METHOD`` (``REQUEST`` for a new or changed event,
``CANCEL`` for a cancelled one), so any mail client that understands invitations offers to add,
update or remove it.

Sending goes through :mod:`connectors.smtp` with the ``[smtp]`` settings (its one schema).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from cadence.values.errors import Problem, UserError
from connectors.recurrence.times import as_list
from connectors.smtp import SmtpSender, SmtpSettings

ATTENDEE_METHODS = ("REQUEST", "CANCEL")  # what the attendees of an event receive
OWNER_METHODS = ("PUBLISH", "CANCEL")  # what the organizer receives of their own event
#: The text an event's attendees see as its description (the policy's ``customer_description``),
#: kept in the owner's calendar copy beside the owner's own notes and never mailed as itself.
CUSTOMER_TEXT = "X-CADENCE-CUSTOMER-DESCRIPTION"
PRODID = "-//cadence//cadence invitations//EN"

# What str.splitlines() breaks on (and so mail header folding and iCalendar line handling),
# plus TAB: each run becomes one space.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # what is left of C0, DEL and C1: dropped
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # cannot be encoded at all


def one_line(text: object) -> str:
    """``text`` made safe for a mail header (Subject, a display name), an iCalendar parameter
    (``CN``) or a one-line property (``SUMMARY``, ``X-WR-CALNAME``): line breaks and tabs
    (CR, LF, VT, FF, NEL, U+2028/2029...) become one space, every other control character
    (C0, DEL, C1: NUL, ESC...) is dropped, lone surrogates become U+FFFD.

    A customer's name with a line break in it made building the Subject raise, and the
    invitation then failed on every later cycle.
    """
    text = str(text)
    if text.isprintable():  # no control, break, tab or surrogate (nearly all text): trimmed
        return text.strip()
    return _one_line_slowly(text)


def _one_line_slowly(text: str) -> str:
    text = _BREAKS.sub(" ", text)
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text)).strip()


def clean_text(text: object) -> str:
    """As :func:`one_line` for a multi-line text (a description): line breaks are kept, as
    ``\n``, tabs too; every other control character is dropped.
    """
    text = str(text)
    if text.replace("\n", "").isprintable():  # as one_line's shortcut, line by line
        return "\n".join([line.strip() for line in text.split("\n")]).strip("\n")
    return _clean_text_slowly(text)


def _clean_text_slowly(text: str) -> str:
    lines = re.split(r"\r\n|[\n\v\f\r\x1c-\x1e\x85\u2028\u2029]", text)
    kept = ["\t".join(one_line(part) for part in line.split("\t")) for line in lines]
    return "\n".join(kept).strip("\n")


# --------------------------------------------------------------------------------------------
# Building invitations


def invite_calendar(
    event: icalendar.Event, method: str, *, for_owner: bool = False
) -> icalendar.Calendar:
    """A VCALENDAR with ``METHOD:method`` around a copy of ``event``, with a VTIMEZONE for
    each zone it uses (covering the event's year and the next).

    Two audiences (RFC 5546):

    * the attendees (``for_owner=False``; ``REQUEST`` or ``CANCEL``) get the customer's copy:
      the ``DESCRIPTION`` is the customer-facing text cadence kept in
      :data:`CUSTOMER_TEXT` (none when there is none), and no ``X-`` property and no alarm
      reaches them: the salesperson's notes, ids and reminders are theirs alone;
    * the owner (``for_owner=True``; ``PUBLISH`` or ``CANCEL``) gets their own copy, full
      notes included, without ``ATTENDEE`` lines (a ``PUBLISH`` has none, so no client asks
      the organizer to answer their own meeting).

    For ``CANCEL`` the copy gets ``STATUS:CANCELLED`` and loses its alarms; the caller sets
    its ``SEQUENCE``. :func:`build_invite` sets ``DTSTAMP`` to the time of sending.
    """
    allowed = OWNER_METHODS if for_owner else ATTENDEE_METHODS
    if method not in allowed:
        raise ValueError(f"iMIP method must be one of {allowed}, got {method!r}")
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    copy = icalendar.Event.from_ical(event.to_ical())
    if for_owner:
        copy.pop("ATTENDEE", None)
        copy.pop(CUSTOMER_TEXT, None)
    else:
        _customer_copy(copy)
    _clean_event(copy)
    if method == "CANCEL":
        copy.pop("STATUS", None)
        copy.add("status", "CANCELLED")
        copy.subcomponents[:] = []
    for name in ("DTSTART", "DTEND"):
        value = getattr(copy.get(name), "dt", None)
        zone = getattr(value, "tzinfo", None)
        known = {str(t["TZID"]) for t in cal.timezones} | {"UTC", "Etc/UTC"}
        if isinstance(zone, ZoneInfo) and zone.key not in known:
            year = value.year  # type: ignore[union-attr]
            first, last = date(year, 1, 1), date(year + 2, 1, 1)
            cal.add_component(icalendar.Timezone.from_tzinfo(zone, zone.key, first, last))
    cal.add_component(copy)
    return cal


def _customer_copy(event: icalendar.cal.Component) -> None:
    """``event`` as an attendee may see it: the customer text as its description, no ``X-``
    properties (cadence's tags, ids and fingerprint), no alarms."""
    text = event.get(CUSTOMER_TEXT)
    event.pop("DESCRIPTION", None)
    for name in [key for key in event if key.upper().startswith("X-")]:
        event.pop(name)
    if text is not None and str(text).strip():
        event.add("description", str(text))
    event.subcomponents[:] = []


def _clean_event(event: icalendar.cal.Component) -> None:
    """Drop control characters from what a mail client shows of ``event`` (someone may have
    edited the file): its summary, description and the names of its people.
    """
    for name, clean in (("SUMMARY", one_line), ("DESCRIPTION", clean_text)):
        value = event.get(name)
        if isinstance(value, str) and clean(value) != value:
            event.pop(name)
            event.add(name.lower(), clean(value))
    for name in ("ORGANIZER", "ATTENDEE"):
        values = event.get(name)
        for address in values if isinstance(values, list) else [values]:
            params = getattr(address, "params", None)
            if params is not None and "CN" in params:
                params["CN"] = icalendar.vText(one_line(params["CN"]))


def build_invite(
    calendar: icalendar.Calendar,
    *,
    sender: str,
    recipients: Sequence[str],
    now: datetime | None = None,
) -> EmailMessage:
    """The RFC 6047 message for ``calendar`` (made by :func:`invite_calendar`).

    ``From`` is the event's organizer (the salesperson, with their name), as RFC 6047 (section
    2.2.2) and every mail client expect: a reply or a counter-proposal goes to them, and the
    invitation shows who it is from. ``sender`` (``[smtp] sender``, the address the relay
    accepts) is the envelope sender, and the ``Sender`` header when it differs from the
    organizer: "sent by cadence on behalf of Ana". ``DTSTAMP`` is ``now``, the time of sending
    (RFC 5546: when the message was created).
    """
    method = str(calendar["METHOD"])
    [event] = calendar.events
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    event.pop("DTSTAMP", None)
    event.add("dtstamp", stamp)
    summary = one_line(event.get("SUMMARY", "Meeting"))
    when = one_line(_when(event))
    if method == "CANCEL":
        subject = f"Cancelled: {summary}"
        body = f"This meeting has been cancelled:\n\n{summary}\n{when}\n"
    else:
        subject = f"Invitation: {summary} ({when})"
        description = clean_text(event.get("DESCRIPTION", ""))
        body = f"{summary}\n{when}\n\n{description}".rstrip() + "\n"
    relay = one_line(sender)
    organizer = _organizer(event)
    message = EmailMessage()
    message["From"] = organizer or relay
    if organizer and parseaddr(organizer)[1].lower() != relay.lower():
        message["Sender"] = relay
    message["To"] = ", ".join(_named(event, one_line(r)) for r in recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(stamp)
    message["Message-ID"] = make_msgid(domain=relay.rpartition("@")[2] or None)
    message.set_content(body)
    message.add_alternative(
        calendar.to_ical().decode("utf-8"),
        subtype="calendar",
        params={"method": method},
    )
    return message


def _named(event: icalendar.Event, address: str) -> str:
    """``address`` with the display name (CN) ``event``'s ATTENDEE gives it, if any."""
    for attendee in as_list(event.get("ATTENDEE")):
        if _address(attendee).lower() == address.lower():
            return _with_name(attendee, address)
    return address


def _organizer(event: icalendar.Event) -> str:
    """The ``ORGANIZER`` of ``event`` as a mail address with its display name, or ``""``."""
    organizer = event.get("ORGANIZER")
    if organizer is None:
        return ""
    address = _address(organizer)
    return _with_name(organizer, address) if "@" in address else ""


def _address(prop: Any) -> str:
    """A calendar address property's mail address: one line, no spaces, no ``mailto:``."""
    address = "".join(one_line(str(prop)).split())
    return address[7:] if address.lower().startswith("mailto:") else address


def _with_name(prop: Any, address: str) -> str:
    """``address`` with the property's CN as display name, when it has one."""
    name = one_line(getattr(prop, "params", {}).get("CN", ""))
    return formataddr((name, address)) if name else address


def _when(event: icalendar.Event) -> str:
    start = event.start
    if isinstance(start, datetime):
        return f"{start:%a %d %b %Y %H:%M} {start.tzname() or 'UTC'}"
    return f"{start:%a %d %b %Y} (all day)"


def invite_sender(config: Mapping[str, Any], context: Any, table: str) -> SmtpSender | None:
    """The sender of a calendar backend's iMIP invitations: None unless its ``invites`` key is
    true; a located :class:`UserError` when it is but there is no ``[smtp]`` section.
    ``context`` is the backend's :class:`~connectors.base.BackendContext`."""
    if not config.get("invites", False):
        return None
    if not context.smtp:
        raise UserError(
            "invitations need a mail server",
            [Problem(table=table, key="invites", message=(
                "invites = true needs an [smtp] section (host, sender...)"
            ))],
        )  # fmt: skip
    return SmtpSender(SmtpSettings.from_mapping(context.smtp, context.base_dir), context.env)
