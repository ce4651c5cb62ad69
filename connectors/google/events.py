"""Translation between cadence's values and Google Calendar v3 event resources (pure functions).

Our events carry ``extendedProperties.private``: ``cadence="1"``, ``cadence_uid=<uid>`` and every
tag of the :class:`~connectors.base.EventSpec` as ``tag:<name>`` (prefixed, so a tag can never
be mistaken for the markers and the tags read back are exactly the ones written). An event with
invited customers shows them the customer's text as its ``description`` (Google sends it to
every attendee); the salesperson's notes then go to ``notes:0``, ``notes:1``... (private
properties exist only on the owner's copy; each value stays under Google's 1,024-character
limit). Timed events
are written in the salesperson's zone (``timeZone``), so they display correctly; everything read
back is converted to UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cadence.values.model import BusyInterval, require_aware
from connectors.base import (
    CADENCE_TAG,
    EventSpec,
    PastEvent,
    RemoteEvent,
    hidden_notes,
    shown_description,
    with_video_link,
)
from connectors.common.days import local_midnight, whole_local_days
from connectors.google.ids import event_id

UID_KEY = "cadence_uid"
TAG_PREFIX = "tag:"
NOTES_PREFIX = "notes:"
NOTES_CHUNK = 1000  # characters per private property (Google's limit is 1,024 per value)
MAX_REMINDERS = 5  # Google rejects more reminder overrides than this
MAX_REMINDER_MINUTES = 40320  # four weeks


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC (``2027-05-05T09:00:00Z``)."""
    require_aware(moment, "time")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_when(when: Mapping[str, Any]) -> datetime | date:
    """A Google ``EventDateTime``: a :class:`date` for all-day, else an aware UTC datetime."""
    if when.get("date"):
        return date.fromisoformat(when["date"])
    return parse_time(when["dateTime"])


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    return require_aware(moment, "Google timestamp").astimezone(UTC)


def private_properties(item: Mapping[str, Any]) -> dict[str, str]:
    """``extendedProperties.private`` of an event resource (empty when absent)."""
    return dict((item.get("extendedProperties") or {}).get("private") or {})


def is_ours(item: Mapping[str, Any]) -> bool:
    """Whether the event was created by cadence (tagged ``cadence="1"``)."""
    return private_properties(item).get(CADENCE_TAG) == "1"


def owner_declined(item: Mapping[str, Any], owner: str) -> bool:
    """Whether the calendar's owner declined the event."""
    for attendee in item.get("attendees") or []:
        mine = attendee.get("self") or str(attendee.get("email", "")).lower() == owner.lower()
        if mine and attendee.get("responseStatus") == "declined":
            return True
    return False


def _when(value: datetime | date, all_day: bool, zone: str) -> dict[str, str]:
    if all_day:
        if isinstance(value, datetime):
            raise ValueError(f"an all-day event needs dates, got {value!r}")
        return {"date": value.isoformat()}
    if not isinstance(value, datetime):
        raise ValueError(f"a timed event needs datetimes, got {value!r}")
    require_aware(value, "event time")
    return {"dateTime": value.astimezone(ZoneInfo(zone)).isoformat(), "timeZone": zone}


def event_body(spec: EventSpec, link: str = "") -> dict[str, Any]:
    """The full event resource for ``spec`` (used for insert and update alike); ``link``: the
    Meet link the event already has, kept shown (see :func:`link_patch`)."""
    if len(spec.reminder_minutes) > MAX_REMINDERS:
        raise ValueError(f"Google allows at most {MAX_REMINDERS} reminders per event")
    if any(not 0 <= m <= MAX_REMINDER_MINUTES for m in spec.reminder_minutes):
        raise ValueError(f"reminders must be 0 to {MAX_REMINDER_MINUTES} minutes before")
    body: dict[str, Any] = {
        "id": event_id(spec.uid),
        "status": "confirmed",
        "summary": spec.title,
        "description": shown_description(spec),
        "start": _when(spec.start, spec.all_day, spec.timezone),
        "end": _when(spec.end, spec.all_day, spec.timezone),
        "transparency": "transparent" if spec.transparent else "opaque",
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": m} for m in spec.reminder_minutes],
        },
        "extendedProperties": {
            "private": {
                **{TAG_PREFIX + name: value for name, value in spec.tags.items()},
                **notes_properties(hidden_notes(spec)),
                CADENCE_TAG: "1",
                UID_KEY: spec.uid,
            },
        },
    }
    if spec.attendees:
        body["attendees"] = [
            {"email": address, **_display_name(spec.attendee_names.get(address, ""))}
            for address in spec.attendees
        ]
    if spec.location:
        body["location"] = spec.location
    if spec.video == "meet":
        body["conferenceData"] = {"createRequest": meet_request(spec.uid)}
        if link:
            patch = link_patch(spec, link)
            private = body["extendedProperties"]["private"]
            for key in [k for k in private if k.startswith(NOTES_PREFIX)]:
                del private[key]
            private.update((patch.pop("extendedProperties", None) or {}).get("private") or {})
            body.update(patch)
    return body


def meet_request(uid: str) -> dict[str, Any]:
    """A ``createRequest`` for a Google Meet conference. Its ``requestId`` is the same for every
    write of the booking, so Google makes one conference and ignores the request afterwards."""
    return {
        "requestId": "cadence-" + event_id(uid),
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }


def conference_version(body: Mapping[str, Any]) -> int:
    """``conferenceDataVersion`` of a write of ``body``: 1 when it asks for a conference (0,
    the default, makes Google ignore ``conferenceData``; 1 without it would remove one)."""
    return 1 if "conferenceData" in body else 0


def meet_link(item: Mapping[str, Any]) -> str:
    """The Meet link of an event (``""`` when it has no conference, or one still pending)."""
    for entry in (item.get("conferenceData") or {}).get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return str(item.get("hangoutLink") or "")


def conference_pending(item: Mapping[str, Any]) -> bool:
    """Whether the event's conference is still being made (its ``createRequest`` pending)."""
    request = (item.get("conferenceData") or {}).get("createRequest") or {}
    return (request.get("status") or {}).get("statusCode") == "pending"


def shows_link(item: Mapping[str, Any], link: str) -> bool:
    """Whether the event resource ``item`` shows ``link`` in its location and description."""
    return item.get("location") == link and link in str(item.get("description") or "")


def link_patch(spec: EventSpec, link: str) -> dict[str, Any]:
    """The events.patch body that shows the Meet ``link`` of ``spec``'s event: its location,
    the description it shows and the owner's notes kept aside (when it has attendees)."""
    body: dict[str, Any] = {
        "location": link,
        "description": with_video_link(shown_description(spec), link),
    }
    notes = hidden_notes(spec)
    if notes:
        private = notes_properties(with_video_link(notes, link))
        body["extendedProperties"] = {"private": private}
    return body


def notes_properties(notes: str) -> dict[str, str]:
    """The owner's ``notes`` as private properties ``notes:0``, ``notes:1``... in order."""
    chunks = [notes[i : i + NOTES_CHUNK] for i in range(0, len(notes), NOTES_CHUNK)]
    return {f"{NOTES_PREFIX}{n}": chunk for n, chunk in enumerate(chunks)}


def owner_notes(item: Mapping[str, Any]) -> str:
    """The owner's notes an event keeps in private properties (``""`` when it has none)."""
    private = private_properties(item)
    parts = []
    for n in range(len(private)):
        part = private.get(f"{NOTES_PREFIX}{n}")
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


def matches_spec(item: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether the existing event ``item`` already is what ``body`` asks for (no write needed)."""
    if item.get("status") != "confirmed":
        return False
    try:
        same_times = all(parse_when(item[k]) == parse_when(body[k]) for k in ("start", "end"))
    except (KeyError, ValueError):
        return False
    reminders = (item.get("reminders") or {}).get("overrides") or []
    return (
        same_times
        and item.get("summary", "") == body["summary"]
        and item.get("description", "") == body["description"]
        and item.get("transparency", "opaque") == body["transparency"]
        and item.get("location", "") == body.get("location", "")
        and ("conferenceData" not in body or "conferenceData" in item)
        and private_properties(item) == body["extendedProperties"]["private"]
        and sorted(a.get("email", "").lower() for a in item.get("attendees") or [])
        == sorted(a["email"].lower() for a in body.get("attendees", []))
        and sorted(r.get("minutes") for r in reminders)
        == sorted(r["minutes"] for r in body["reminders"]["overrides"])
    )


def compact(item: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """The part of one of our events that is kept in the sync cache (JSON-serialisable)."""
    return {
        "id": item["id"],
        "etag": item.get("etag"),
        "status": item.get("status", "confirmed"),
        "summary": item.get("summary", ""),
        "sequence": int(item.get("sequence", 0)),
        "start": dict(item["start"]),
        "end": dict(item["end"]),
        "transparent": item.get("transparency") == "transparent",
        "declined": owner_declined(item, owner),
        "private": private_properties(item),
        **({"link": meet_link(item)} if meet_link(item) else {}),  # kept shown by updates
    }


def remote_event(entry: Mapping[str, Any], owner: str) -> RemoteEvent:
    """A cached entry (see :func:`compact`) or an event resource as a :class:`RemoteEvent`."""
    if "private" not in entry:
        entry = compact(entry, owner)
    private = entry["private"]
    tags = {k.removeprefix(TAG_PREFIX): v for k, v in private.items() if k.startswith(TAG_PREFIX)}
    start, end = parse_when(entry["start"]), parse_when(entry["end"])
    status = "confirmed"
    if entry["status"] == "cancelled":
        status = "cancelled"
    elif entry["declined"]:
        status = "declined"
    return RemoteEvent(
        uid=private.get(UID_KEY, ""),
        owner=owner,
        start=start,
        end=end,
        all_day=not isinstance(start, datetime),
        status=status,
        title=entry["summary"],
        etag=entry["etag"],
        remote_id=entry["id"],
        sequence=entry["sequence"],
        tags=tags,
    )


def interval_of(item: Mapping[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The UTC interval an event occupies (all-day events from local midnight to midnight)."""
    try:
        start, end = parse_when(item["start"]), parse_when(item["end"])
    except (KeyError, ValueError):
        return None
    if not isinstance(start, datetime):
        start = local_midnight(start, zone)
    if not isinstance(end, datetime):
        end = local_midnight(end, zone)
    return (start, end) if end > start else None


def blocks_time(item: Mapping[str, Any], owner: str) -> bool:
    """Whether a (non-cadence) event makes its owner busy: opaque, not cancelled, not declined.

    Out-of-office events (``eventType == "outOfOffice"``) are always busy.
    """
    if item.get("status") == "cancelled" or owner_declined(item, owner):
        return False
    if item.get("eventType") == "outOfOffice":
        return True
    return item.get("transparency", "opaque") != "transparent"


def merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of ``intervals`` as sorted, non-overlapping, non-touching intervals."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def busy_interval(start: datetime, end: datetime, zone: ZoneInfo) -> BusyInterval:
    """A :class:`BusyInterval`, flagged ``all_day`` when it covers whole local days.

    Free/busy answers do not say whether time came from an all-day or out-of-office event;
    a block running from one local midnight to another makes those days unavailable anyway.
    """
    all_day = whole_local_days(start, end, zone)
    return BusyInterval(start.astimezone(UTC), end.astimezone(UTC), all_day=all_day)


def past_event(item: Mapping[str, Any], owner: str) -> PastEvent | None:
    """A timed event that is not ours as a :class:`PastEvent` (None for all-day ones)."""
    when_start, when_end = item.get("start") or {}, item.get("end") or {}
    if "dateTime" not in when_start or "dateTime" not in when_end:
        return None
    attendees = tuple(
        sorted(
            {
                str(a["email"]).lower()
                for a in item.get("attendees") or []
                if a.get("email")
                and not a.get("self")
                and a["email"].lower() != owner.lower()
                and a.get("responseStatus") != "declined"  # they did not meet the owner
            }
        )
    )
    return PastEvent(
        remote_id=item["id"],
        start=parse_time(when_start["dateTime"]),
        end=parse_time(when_end["dateTime"]),
        title=item.get("summary", ""),
        attendees=attendees,
        declined=owner_declined(item, owner),
    )


def _display_name(name: str) -> dict[str, str]:
    return {"displayName": name} if name else {}
