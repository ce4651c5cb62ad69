"""One of cadence's events, or a past meeting, as the JSON a backend keeps between reads.

A backend that reads its calendar incrementally keeps the owned events it has seen in its
:class:`~connectors.state.StateStore` (strings only): :func:`event_to_json` and
:func:`event_from_json` turn a :class:`RemoteEvent` into a JSON-ready dict and back. Dates stay
dates (all-day events), datetimes keep their offset. ``id_key`` names the field that holds
``remote_id``, so that what a backend already stored under its own name reads back as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from connectors.values import PastEvent, RemoteEvent


def event_to_json(event: RemoteEvent, *, id_key: str = "remote_id") -> dict[str, Any]:
    """``event`` as a dict :func:`json.dumps` takes (the owner is the state key's business)."""
    return {
        "uid": event.uid,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "all_day": event.all_day,
        "status": event.status,
        "title": event.title,
        "etag": event.etag,
        id_key: event.remote_id,
        "sequence": event.sequence,
        "tags": dict(event.tags),
    }


def event_from_json(
    owner: str, data: Mapping[str, Any], *, id_key: str = "remote_id"
) -> RemoteEvent:
    """Inverse of :func:`event_to_json`: ``owner``'s event kept as ``data``."""
    all_day = bool(data["all_day"])
    parse = date.fromisoformat if all_day else datetime.fromisoformat
    return RemoteEvent(
        uid=data["uid"],
        owner=owner,
        start=parse(data["start"]),
        end=parse(data["end"]),
        all_day=all_day,
        status=data["status"],
        title=data["title"],
        etag=data["etag"],
        remote_id=data[id_key],
        sequence=int(data.get("sequence", 0)),
        tags=dict(data["tags"]),
    )


def past_event_to_json(event: PastEvent, text: Callable[[datetime], str]) -> list[Any]:
    """A past meeting as the list a backend keeps of the meetings it has reported; ``text``
    writes its times the way that backend always has (so what is stored reads back)."""
    return [event.title, text(event.start), text(event.end), list(event.attendees), event.declined]


def past_event_from_json(
    remote_id: str, data: list[Any], parse: Callable[[str], datetime]
) -> PastEvent:
    """Inverse of :func:`past_event_to_json`, with ``parse`` reading the times back."""
    title, start, end, attendees, declined = data
    return PastEvent(
        remote_id=remote_id,
        start=parse(start),
        end=parse(end),
        title=title,
        attendees=tuple(attendees),
        declined=bool(declined),
    )
