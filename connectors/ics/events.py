"""Reading events out of a parsed file: which are cadence's, and each as a :class:`RemoteEvent`.

cadence's events carry ``X-CADENCE-UID`` equal to their ``UID`` (a copy made in a calendar
application gets a new UID, so it is the person's) and one ``X-CADENCE-<TAG>`` per tag. One of
cadence's events that cannot be read comes back with ``status="unreadable"`` and what can still
be told of it; an operation on its uid fails alone (:func:`readable_owned`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import icalendar

from connectors.base import CADENCE_UID, UNREADABLE, BackendError, RemoteEvent
from connectors.icalpeople import calendar_address, owner_partstat
from connectors.ics.lines import component_bytes
from connectors.recurrence.times import as_list, to_utc, utc_bounds, vevents

if TYPE_CHECKING:
    from connectors.ics.parse import Problem

OWNED_MARKER = "X-CADENCE-UID"
TAG_PREFIX = "X-CADENCE-"
_ESCAPED = re.compile(r"\\([\\;,nN])")

#: start and end of an unreadable event whose times cannot be read at all.
UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def owned_uid(ev: icalendar.Event) -> str | None:
    """The uid when ``ev`` is cadence's own: the marker equals the UID (a copy made in an app
    has a new UID), or, with the marker dropped by a client, the UID is one cadence gives
    (:data:`connectors.base.CADENCE_UID`). Read leniently, so that an event with a duplicated
    UID or marker line is still recognised as cadence's (and then reported as unreadable, never
    taken as foreign).
    """
    uids = {text(u) for u in as_list(ev.get("UID"))}
    for marker in as_list(ev.get(OWNED_MARKER)):
        value = text(marker)
        if value in uids:
            return value
    # A client that rewrote the event without the X- properties kept the UID cadence gave it.
    return next((u for u in sorted(uids) if CADENCE_UID.fullmatch(u)), None)


def is_owned(ev: icalendar.Event) -> bool:
    """Whether ``ev`` is one of cadence's events (see :func:`owned_uid`)."""
    return owned_uid(ev) is not None


@dataclass(slots=True)
class Owned:
    """One of cadence's uids in a file: the event, and either how it reads or why it cannot."""

    event: icalendar.Event
    remote: RemoteEvent | None
    problem: str | None


def owned_entries(
    cal: icalendar.Calendar, problems: Mapping[int, Problem], owner: str, zone: tzinfo
) -> dict[str, Owned]:
    """cadence's events in ``cal`` by uid. An event that cannot be read, or a uid held by two
    events, has ``remote=None`` and the ``problem``.
    """
    owned: dict[str, Owned] = {}
    for ev in vevents(cal):
        uid = owned_uid(ev)
        if uid is None or ("RECURRENCE-ID" in ev and not isinstance(ev["RECURRENCE-ID"], list)):
            continue  # a person's exception to one occurrence is not one of cadence's events
        if uid in owned:
            owned[uid] = Owned(owned[uid].event, None, "two events have this UID; remove one")
            continue
        problem = problems.get(id(ev))
        if problem is not None:
            owned[uid] = Owned(ev, None, problem.reason)
            continue
        try:
            owned[uid] = Owned(ev, remote_event(ev, owner, zone), None)
        except Exception as exc:  # any value cadence cannot make sense of: this event only
            owned[uid] = Owned(ev, None, f"{type(exc).__name__}: {exc}")
    return owned


def readable_owned(
    cal: icalendar.Calendar,
    problems: Mapping[int, Problem],
    owner: str,
    zone: tzinfo,
    uid: str,
    carrying: Sequence[icalendar.Event] | None = None,
) -> icalendar.Event | None:
    """cadence's event ``uid`` in ``cal`` (None: not there); :class:`BackendError` when it is
    there but cannot be read, so that no operation rewrites, deletes or duplicates it.
    ``carrying``: the events of ``cal`` with ``uid`` among their UIDs, when known
    (:func:`by_uid`), else they are looked for.
    """
    # Only the events carrying ``uid`` are read: a write batch calls this once per operation,
    # and reading every event each time made a first sync quadratic in the file's size.
    if carrying is None:
        carrying = [ev for ev in vevents(cal) if uid in _uids(ev)]
    found = [
        ev
        for ev in carrying
        if owned_uid(ev) == uid
        and not ("RECURRENCE-ID" in ev and not isinstance(ev["RECURRENCE-ID"], list))
    ]
    if not found:
        return None
    problem: str | None = None
    if len(found) > 1:
        problem = "two events have this UID; remove one"
    elif (known := problems.get(id(found[0]))) is not None:
        problem = known.reason
    else:
        try:
            utc_bounds(found[0], zone, None, keep_dates=True)
            int(found[0].get("SEQUENCE", 0))
        except Exception as exc:  # any value cadence cannot make sense of: this event only
            problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        raise BackendError(
            f"event {uid!r} in {owner}'s calendar file is unreadable ({problem}); "
            "cadence leaves it as it is: fix it in the file"
        )
    return found[0]


def by_uid(cal: icalendar.Calendar) -> dict[str, list[icalendar.Event]]:
    """The events of ``cal`` by each of their UIDs, in file order (see :func:`readable_owned`)."""
    found: dict[str, list[icalendar.Event]] = {}
    for ev in vevents(cal):
        for uid in _uids(ev):
            found.setdefault(uid, []).append(ev)
    return found


def _uids(ev: icalendar.Event) -> set[str]:
    return {text(u) for u in as_list(ev.get("UID"))}


def remote_event(
    ev: icalendar.Event, owner: str, zone: tzinfo, *, with_etag: bool = True
) -> RemoteEvent:
    """cadence's event ``ev`` as the contract describes it (it reads: see :func:`owned_entries`).
    ``with_etag=False`` leaves the etag out (serialising the event is most of the cost): for
    an event about to be written, whose etag is taken from the file as written."""
    start, end, all_day = utc_bounds(ev, zone, None, keep_dates=True)
    status = "confirmed"
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        status = "cancelled"
    elif owner_partstat(ev, owner) == "DECLINED":
        status = "declined"
    uid = str(ev["UID"])
    return RemoteEvent(
        uid=uid,
        owner=owner,
        start=start,
        end=end,
        all_day=all_day,
        status=status,
        title=str(ev.get("SUMMARY", "")),
        etag=etag(ev) if with_etag else None,
        remote_id=uid,
        sequence=int(ev.get("SEQUENCE", 0)),
        tags=tags(ev),
    )


def unreadable_event(ev: icalendar.Event, uid: str, owner: str, zone: tzinfo) -> RemoteEvent:
    """What can still be told of cadence's event ``uid`` that cannot be read as a whole: its
    first start and end that parse (else :data:`UNKNOWN_TIME` for both), and best-effort
    title, sequence and tags.
    """
    start: datetime | date = UNKNOWN_TIME
    end: datetime | date = UNKNOWN_TIME
    all_day = False
    starts = [v.dt for v in as_list(ev.get("DTSTART")) if isinstance(v, icalendar.vDDDTypes)]
    ends = [v.dt for v in as_list(ev.get("DTEND")) if isinstance(v, icalendar.vDDDTypes)]
    if starts and isinstance(starts[0], date):
        first = starts[0]
        if isinstance(first, datetime):
            start = to_utc(first, zone)
            last = ends[0] if ends and isinstance(ends[0], datetime) else first
            end = max(start, to_utc(last, zone))
        else:
            all_day = True
            start = first
            last_day = ends[0] if ends and type(ends[0]) is date else first + timedelta(days=1)
            end = max(last_day, first + timedelta(days=1))
    summaries = as_list(ev.get("SUMMARY"))
    sequences = [s for s in as_list(ev.get("SEQUENCE")) if isinstance(s, int)]
    try:
        found_tags = tags(ev)
    except Exception:  # the tags are what is broken: report the event without them
        found_tags = {}
    return RemoteEvent(
        uid=uid,
        owner=owner,
        start=start,
        end=end,
        all_day=all_day,
        status=UNREADABLE,
        title=str(summaries[0]) if summaries else "",
        etag=etag(ev),
        remote_id=uid,
        sequence=int(sequences[0]) if sequences else 0,
        tags=found_tags,
    )


# --------------------------------------------------------------------------------------------
# Property values


def tags(ev: icalendar.Event) -> dict[str, str]:
    """The event's ``X-CADENCE-<TAG>`` properties as ``{"tag": value}`` (the marker left out)."""
    found = {}
    for name, values in ev.items():  # (property_items, without serialising BEGIN and END)
        name = name.upper()
        if name.startswith(TAG_PREFIX) and name != OWNED_MARKER:
            for value in values if isinstance(values, list) else (values,):
                found[name[len(TAG_PREFIX) :].lower().replace("-", "_")] = text(value)
    return found


def text(value: Any) -> str:
    """A TEXT value, unescaped. icalendar hands X- properties back still escaped (it cannot
    know their type), so undo RFC 5545 3.3.11 escaping here, in one pass.
    """
    if isinstance(value, icalendar.vText):
        return str(value)
    raw = value.to_ical() if hasattr(value, "to_ical") else value
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), str(raw))


def addresses(ev: icalendar.Event) -> list[str]:
    """Attendees and organizer, lower-case, in order, without duplicates."""
    found = [calendar_address(a) for a in as_list(ev.get("ATTENDEE"))]
    if ev.get("ORGANIZER") is not None:
        found.append(calendar_address(ev["ORGANIZER"]))
    return list(dict.fromkeys(a for a in found if a))


def etag(ev: icalendar.Event) -> str:
    """A hash of the event as written: it changes whenever anything in it does."""
    return etag_of(component_bytes(ev))


def etag_of(data: bytes) -> str:
    """The etag of an event serialised as ``data``."""
    return hashlib.sha256(data).hexdigest()[:32]


def dt_value(prop: Any) -> Any:
    """The date or datetime of a date-time property; None for anything else (a duplicated
    property is a list, a broken one raises on any attribute).
    """
    return prop.dt if isinstance(prop, icalendar.vDDDTypes) else None


def dt(ev: icalendar.Event, name: str) -> datetime | None:
    """The datetime of ``ev``'s property ``name`` (DTSTAMP...), None when it is not one."""
    value = dt_value(ev.get(name))
    return value if isinstance(value, datetime) else None
