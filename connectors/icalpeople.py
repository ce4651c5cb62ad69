"""Who took part in an iCalendar event, for recognising meetings with customers (ics, caldav),
and the owner's own answer to it.

The people an owner met are the event's organizer and its attendees, except the owner and
anyone whose ``PARTSTAT`` is ``DECLINED``: a customer who declined did not meet them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import icalendar

from cadence.values.matching import normalize_address
from connectors.recurrence.times import as_list
from connectors.values import PastEvent


def calendar_address(value: Any) -> str:
    """The e-mail address of an ``ATTENDEE`` or ``ORGANIZER`` (a ``mailto:`` URI), lower case."""
    address = str(value).strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    return address.strip().lower()


def owner_partstat(ev: icalendar.Event, owner: str) -> str:
    """The owner's PARTSTAT as an attendee of ``ev``, upper case; ``""`` when not one."""
    for attendee in as_list(ev.get("ATTENDEE")):
        if calendar_address(attendee) == owner.lower():
            return str(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    return ""


def people_met(ev: icalendar.Event, owner: str) -> tuple[str, ...]:
    """Lower-case addresses of the organizer and the attendees who did not decline, without
    the owner, sorted."""
    own = normalize_address(owner)
    found = set()
    for attendee in as_list(ev.get("ATTENDEE")):
        params = getattr(attendee, "params", {}) or {}
        if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            continue
        found.add(calendar_address(attendee))
    for organizer in as_list(ev.get("ORGANIZER")):
        found.add(calendar_address(organizer))
    return tuple(sorted(a for a in found if "@" in a and normalize_address(a) != own))


def meeting(
    ev: icalendar.Event, owner: str, remote_id: str, start: datetime, end: datetime
) -> PastEvent:
    """The occurrence ``[start, end)`` of ``ev`` as a past event of ``owner``'s: who they met
    (:func:`people_met`) and whether they declined it."""
    return PastEvent(
        remote_id=remote_id,
        start=start,
        end=end,
        title=str(ev.get("SUMMARY", "")),
        attendees=people_met(ev, owner),
        declined=owner_partstat(ev, owner) == "DECLINED",
    )
