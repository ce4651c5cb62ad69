"""Graph's event wire format: cadence's tags, ``transactionId`` and time values.

cadence marks its events with three single-value extended properties in its own property set:
``cadence_owned`` (the ownership marker every owned event carries, so one ``$filter`` finds them
all), ``cadence_uid`` (the booking's stable uid) and ``cadence_tags`` (the spec's tags as JSON).
An event with invited customers has a body meant for them (Exchange mails the body with the
invitation): the customer's text. The salesperson's notes then go to a fourth property,
``cadence_notes``, which lives on the organizer's item only and is not part of the invitation
Exchange sends.
The ``transactionId`` of a create is a GUID derived from the uid, so Graph itself recognises a
create sent twice.

Times: timed events are sent in UTC, all-day events as dates at midnight in the salesperson's
IANA zone (Graph accepts IANA names); every request asks for answers in UTC
(``Prefer: outlook.timezone="UTC"``), so times read back are UTC. All-day events are whole dates
with an exclusive end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import (
    BackendError,
    EventSpec,
    RemoteEvent,
    hidden_notes,
    shown_description,
    with_video_link,
)
from connectors.common import codec
from connectors.common.validation import day_bound, timed_bound, zone_of

PROPERTY_SET = "8E6A4D2C-5B71-4F0E-9C3A-7D1B2E4F6A90"  # cadence's own MAPI property set
OWNED_PROP = f"String {{{PROPERTY_SET}}} Name cadence_owned"
UID_PROP = f"String {{{PROPERTY_SET}}} Name cadence_uid"
TAGS_PROP = f"String {{{PROPERTY_SET}}} Name cadence_tags"
NOTES_PROP = f"String {{{PROPERTY_SET}}} Name cadence_notes"
OWNED_VALUE = "true"
_TX_NAMESPACE = uuid.UUID("5f0c7c7e-2a51-4d4e-8d8b-3f2a9c1e6b17")

EXPAND_PROPS = (
    "singleValueExtendedProperties($filter="
    f"id eq '{OWNED_PROP}' or id eq '{UID_PROP}' or id eq '{TAGS_PROP}')"
)
# What every read of events asks for. The extended properties are named in ``$select`` as
# well as expanded: a server may honour ``$select`` strictly and leave out whatever it does not
# name, expanded properties included, and an event read without them is not recognised as ours.
EVENT_FIELDS = (
    "id,subject,start,end,isAllDay,showAs,isCancelled,responseStatus,attendees,transactionId,"
    "singleValueExtendedProperties"
)


def transaction_id(uid: str) -> str:
    """The GUID-shaped ``transactionId`` of the booking ``uid`` (the same every time)."""
    return str(uuid.uuid5(_TX_NAMESPACE, uid))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # OData string literal


def property_filter(prop_id: str, value: str) -> str:
    """``$filter`` matching events whose extended property ``prop_id`` equals ``value``."""
    return (
        "singleValueExtendedProperties/Any(ep: ep/id eq "
        f"{_literal(prop_id)} and ep/value eq {_literal(value)})"
    )


OWNED_FILTER = property_filter(OWNED_PROP, OWNED_VALUE)


def graph_time(value: datetime | date, zone: str, *, all_day: bool) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` for ``value``.

    All-day values are dates, sent as midnight in the salesperson's ``zone``. Timed values are
    sent in UTC: a wall time in a zone is ambiguous in the hour a clock falls back, and Outlook
    shows a single (non-recurring) event in the viewer's own zone anyway.
    Raises :class:`~connectors.base.InvalidValue` (a ValueError) for a datetime where a date is
    due, a naive datetime or an unknown zone.
    """
    if all_day:
        day = day_bound(value, "time")
        zone_of(zone)  # an unknown zone fails here, for this event only
        return {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": zone}
    moment = timed_bound(value, "time").astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": moment.isoformat(), "timeZone": "UTC"}


def parse_graph_time(value: Mapping[str, Any]) -> datetime:
    """An aware datetime from a Graph ``dateTimeTimeZone`` (UTC or an IANA zone)."""
    try:
        naive = datetime.fromisoformat(str(value["dateTime"]))
        zone_name = str(value.get("timeZone") or "UTC")
    except (KeyError, ValueError) as exc:
        raise BackendError(f"unreadable Graph time {value!r}") from exc
    if zone_name in ("UTC", "Etc/UTC", "tzone://Microsoft/Utc"):
        return naive.replace(tzinfo=UTC)
    try:
        return naive.replace(tzinfo=ZoneInfo(zone_name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BackendError(f"Graph time in unknown zone {zone_name!r}") from exc


def event_span(item: Mapping[str, Any]) -> tuple[datetime | date, datetime | date, bool]:
    """``(start, end, all_day)`` of a Graph event; dates (end exclusive) when all-day."""
    start = parse_graph_time(item["start"])
    end = parse_graph_time(item["end"])
    if item.get("isAllDay"):
        return start.date(), end.date(), True
    return start.astimezone(UTC), end.astimezone(UTC), False


def event_body(spec: EventSpec, *, create: bool, join_url: str = "") -> dict[str, Any]:
    """The JSON of ``spec`` for POST (``create``) or PATCH of ``/users/{owner}/events``;
    ``join_url``: the Teams link the event already has (see :func:`link_body`), kept shown."""
    body: dict[str, Any] = {
        "subject": spec.title,
        "body": {"contentType": "text", "content": shown_description(spec)},
        "start": graph_time(spec.start, spec.timezone, all_day=spec.all_day),
        "end": graph_time(spec.end, spec.timezone, all_day=spec.all_day),
        "isAllDay": spec.all_day,
        "showAs": "free" if spec.transparent else "busy",
        "isReminderOn": bool(spec.reminder_minutes),
        "attendees": [
            {"emailAddress": _email_address(spec, address), "type": "required"}
            for address in spec.attendees
        ],
        "singleValueExtendedProperties": [
            {"id": OWNED_PROP, "value": OWNED_VALUE},
            {"id": UID_PROP, "value": spec.uid},
            {"id": TAGS_PROP, "value": json.dumps(dict(spec.tags), sort_keys=True)},
        ],
    }
    if spec.location:
        body["location"] = {"displayName": spec.location, "locationUri": spec.location}
    if spec.video == "teams":
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = "teamsForBusiness"
    notes = hidden_notes(spec)
    if notes:
        body["singleValueExtendedProperties"].append({"id": NOTES_PROP, "value": notes})
    if spec.reminder_minutes:
        body["reminderMinutesBeforeStart"] = spec.reminder_minutes[0]
    if create:
        body["transactionId"] = transaction_id(spec.uid)
    if join_url and spec.video == "teams":
        body.update(link_body(spec, join_url))
    return body


def join_url(item: Mapping[str, Any]) -> str:
    """The Teams link of an event as Graph answers it (``onlineMeeting.joinUrl``; ``""``
    when it has none, or the answer does not carry it)."""
    meeting = item.get("onlineMeeting")
    return str(meeting.get("joinUrl") or "") if isinstance(meeting, Mapping) else ""


def link_body(spec: EventSpec, link: str) -> dict[str, Any]:
    """The fields that show the Teams ``link`` of ``spec``'s event: its location, the
    description it shows and the owner's notes kept aside (when the event has attendees)."""
    body: dict[str, Any] = {
        "location": {"displayName": link, "locationUri": link},
        "body": {"contentType": "text", "content": with_video_link(shown_description(spec), link)},
    }
    notes = hidden_notes(spec)
    if notes:
        body["singleValueExtendedProperties"] = [
            {"id": NOTES_PROP, "value": with_video_link(notes, link)}
        ]
    return body


def shows_link(item: Mapping[str, Any], link: str) -> bool:
    """Whether the event ``item`` (as Graph answers a write) shows ``link`` in its location
    and its description."""
    location = item.get("location")
    where = location.get("displayName") if isinstance(location, Mapping) else None
    text = item.get("body")
    content = text.get("content") if isinstance(text, Mapping) else None
    return where == link and isinstance(content, str) and link in content


def extended_props(item: Mapping[str, Any]) -> dict[str, str]:
    """The expanded single-value extended properties of an event, by id."""
    return {
        str(p.get("id")): str(p.get("value"))
        for p in item.get("singleValueExtendedProperties") or ()
        if isinstance(p, Mapping)
    }


def event_uid(item: Mapping[str, Any]) -> str:
    """The cadence uid an event carries ("" when its properties were not expanded)."""
    props = {key.lower(): value for key, value in extended_props(item).items()}
    return props.get(UID_PROP.lower(), "")


def is_owned(item: Mapping[str, Any]) -> bool:
    """Whether the event carries cadence's ownership marker (needs the properties expanded)."""
    props = {key.lower(): value for key, value in extended_props(item).items()}
    return props.get(OWNED_PROP.lower()) == OWNED_VALUE


def event_status(item: Mapping[str, Any]) -> str:
    """``cancelled``, ``declined`` (the owner declined) or ``confirmed``."""
    if item.get("isCancelled"):
        return "cancelled"
    response = (item.get("responseStatus") or {}).get("response")
    return "declined" if response == "declined" else "confirmed"


def remote_event(
    owner: str, item: Mapping[str, Any], known: RemoteEvent | None, sequence: int | None = None
) -> RemoteEvent:
    """A :class:`RemoteEvent` from a Graph event; uid and tags from its expanded properties,
    or from ``known`` (what we stored) when the payload lacks them (delta answers do).

    Graph has no sequence number: ours counts cadence's own updates (``sequence``, else the
    known one), which is what the contract compares."""
    props = {key.lower(): value for key, value in extended_props(item).items()}
    uid = props.get(UID_PROP.lower()) or (known.uid if known else "")
    tags_text = props.get(TAGS_PROP.lower())
    tags = json.loads(tags_text) if tags_text else dict(known.tags) if known else {}
    start, end, all_day = event_span(item)
    return RemoteEvent(
        uid=uid,
        owner=owner,
        start=start,
        end=end,
        all_day=all_day,
        status=event_status(item),
        title=str(item.get("subject") or ""),
        etag=item.get("@odata.etag"),
        remote_id=str(item["id"]),
        sequence=sequence if sequence is not None else known.sequence if known else 0,
        tags=tags,
    )


def event_to_json(event: RemoteEvent, has_attendees: bool) -> dict[str, Any]:
    """A stored form of one of our events (the state store keeps strings), the Graph id as
    ``id``: :func:`connectors.common.codec.event_to_json` with whether it has attendees."""
    return {**codec.event_to_json(event, id_key="id"), "attendees": has_attendees}


def event_from_json(owner: str, data: Mapping[str, Any]) -> RemoteEvent:
    """Inverse of :func:`event_to_json`."""
    return codec.event_from_json(owner, data, id_key="id")


def utc_text(value: datetime) -> str:
    """``value`` as the ISO text Graph's query parameters take (UTC, ``Z``)."""
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _email_address(spec: EventSpec, address: str) -> dict[str, str]:
    """Graph's ``emailAddress`` of an attendee, with its display name when one is known."""
    name = spec.attendee_names.get(address, "")
    return {"address": address, "name": name} if name else {"address": address}
