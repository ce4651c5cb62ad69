"""The salesperson, acting in Google Calendar directly (through the fake's own calendar API,
not through cadence): moves, deletes and declines events and adds their own."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from .server import FakeGoogle


def _when(value: datetime | date, all_day: bool) -> dict[str, str]:
    if all_day or not isinstance(value, datetime):
        day = value.date() if isinstance(value, datetime) else value
        return {"date": day.isoformat()}
    return {"dateTime": value.astimezone(UTC).isoformat()}


class Person:
    """What a salesperson does in their Google Calendar, for the contract suite."""

    def __init__(self, fake: FakeGoogle) -> None:
        self.fake = fake

    def _edit(self, owner: str, uid: str, change: Any) -> None:
        api = self.fake.calendar
        with self.fake.lock:
            calendar = api.calendars[owner.lower()]
            event = calendar.find_uid(uid)
            body = copy.deepcopy(event)
            change(body)
            for key in (
                "kind",
                "id",
                "iCalUID",
                "organizer",
                "creator",
                "created",
                "etag",
                "updated",
                "sequence",
            ):
                body.pop(key, None)
            api.update(owner.lower(), {"calendarId": "primary", "eventId": event["id"]}, body)

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        """Drag the cadence event ``uid`` to ``[start, end)``."""
        all_day = not isinstance(start, datetime)

        def change(body: dict[str, Any]) -> None:
            body["start"], body["end"] = _when(start, all_day), _when(end, all_day)

        self._edit(owner, uid, change)

    def decline(self, owner: str, uid: str) -> None:
        """Answer "No" to the cadence event ``uid``."""

        def change(body: dict[str, Any]) -> None:
            attendees = [a for a in body.get("attendees") or [] if a["email"].lower() != owner]
            attendees.append({"email": owner.lower(), "responseStatus": "declined"})
            body["attendees"] = attendees

        self._edit(owner, uid, change)

    def delete(self, owner: str, uid: str) -> None:
        """Delete the cadence event ``uid`` (Google keeps it as cancelled)."""
        with self.fake.lock:
            event = self.fake.calendar.calendars[owner.lower()].find_uid(uid)
            self.fake.calendar.delete(
                owner.lower(), {"calendarId": "primary", "eventId": event["id"]}, None
            )

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        attendees: Iterable[str] = (),
        title: str = "",
        out_of_office: bool = False,
        declined_by: Iterable[str] = (),
        cancelled: bool = False,
    ) -> str:
        """An event of the salesperson's own; returns its id. ``declined_by``: attendees who
        answered "No"; ``cancelled``: the organizer cancelled it (Google keeps it as such)."""
        body: dict[str, Any] = {
            "summary": title,
            "start": _when(start, all_day),
            "end": _when(end, all_day),
            "transparency": "transparent" if transparent else "opaque",
        }
        if out_of_office:
            body["eventType"] = "outOfOffice"
        people = list(attendees)
        declined = set(declined_by)
        if people:
            body["attendees"] = [
                {"email": a, "responseStatus": "declined" if a in declined else "accepted"}
                for a in people
            ]
        with self.fake.lock:
            event = self.fake.calendar.insert(owner.lower(), {"calendarId": "primary"}, body)
            if cancelled:
                self.fake.calendar.delete(
                    owner.lower(), {"calendarId": "primary", "eventId": event["id"]}, None
                )
        return str(event["id"])
