"""Who took part in an iCalendar event, for recognising meetings with customers (ics, caldav).

The people an owner met are the event's organizer and its attendees, except the owner and
anyone whose ``PARTSTAT`` is ``DECLINED``: a customer who declined did not meet them.
"""

from __future__ import annotations

from typing import Any

import icalendar

from cadence.values.matching import normalize_address


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _address(value: Any) -> str:
    address = str(value).strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    return address.lower()


def people_met(ev: icalendar.Event, owner: str) -> tuple[str, ...]:
    """Lower-case addresses of the organizer and the attendees who did not decline, without
    the owner, sorted."""
    own = normalize_address(owner)
    found = set()
    for attendee in _listed(ev.get("ATTENDEE")):
        params = getattr(attendee, "params", {}) or {}
        if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            continue
        found.add(_address(attendee))
    for organizer in _listed(ev.get("ORGANIZER")):
        found.add(_address(organizer))
    return tuple(sorted(a for a in found if "@" in a and normalize_address(a) != own))
