"""Calendar v3 in memory: events, sync tokens and free/busy, with Google's answers and errors.

Each salesperson has one calendar (``primary``, also reachable by their e-mail address). Every
change bumps a per-calendar change counter; a sync token is that counter, so an incremental list
returns exactly the events changed since, deleted ones as ``{"id", "status": "cancelled"}``. A
full list gives a sync token unless it used a filter sync tokens cannot carry (``timeMin`` alone
is fine, as in Google's sync guide).
Deleted events keep their id (a new insert with that id answers ``409``).
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .discovery import ApiError, bad_request

_ID = re.compile(r"[a-v0-9]{5,1024}")
FREEBUSY_MAX_SPAN = timedelta(days=90)
FREEBUSY_MAX_CALENDARS = 50
INCOMPATIBLE_WITH_SYNC = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
# A full sync may be limited to a date range and still end with a sync token (Google's sync
# guide limits its full sync with timeMin); the later incremental reads carry no range and
# report every change since.
FULL_SYNC_OK = ("timeMin",)
_etags = itertools.count(1)


@dataclass
class Calendar:
    """One user's primary calendar."""

    owner: str
    zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)  # event id -> change number
    counter: int = 0
    oldest_valid_token: int = 0  # sync tokens below this answer 410

    def touch(self, event: dict[str, Any]) -> None:
        """Record a change of ``event`` (new etag, updated time, change number)."""
        self.counter += 1
        self.changed[event["id"]] = self.counter
        event["etag"] = f'"{next(_etags)}"'
        event["updated"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def find_uid(self, uid: str) -> dict[str, Any]:
        """The cadence event with ``cadence_uid == uid`` (KeyError if none)."""
        for event in self.events.values():
            private = (event.get("extendedProperties") or {}).get("private") or {}
            if private.get("cadence_uid") == uid:
                return event
        raise KeyError(uid)


def parse_when(when: dict[str, Any], zone: str) -> datetime:
    """An EventDateTime as an aware datetime (all-day: local midnight of the calendar's zone)."""
    if when.get("date"):
        return datetime.combine(date.fromisoformat(when["date"]), time(), ZoneInfo(zone))
    moment = datetime.fromisoformat(when["dateTime"])
    if moment.tzinfo is None:
        if not when.get("timeZone"):
            raise bad_request("Missing time zone definition for start time.")
        moment = moment.replace(tzinfo=ZoneInfo(when["timeZone"]))
    return moment


def _check_times(body: dict[str, Any], zone: str) -> None:
    for key in ("start", "end"):
        when = body[key]
        if bool(when.get("date")) == bool(when.get("dateTime")):
            raise bad_request(f"{key} needs exactly one of date and dateTime")
    if bool(body["start"].get("date")) != bool(body["end"].get("date")):
        raise bad_request("start and end must both be dates or both date-times")
    if parse_when(body["end"], zone) <= parse_when(body["start"], zone):
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")


MAX_PROPERTY_VALUE = 1024  # characters in one extended property value


def _check_properties(body: dict[str, Any]) -> None:
    for scope, values in (body.get("extendedProperties") or {}).items():
        for key, value in (values or {}).items():
            if len(str(value)) > MAX_PROPERTY_VALUE:
                raise bad_request(f"extendedProperties.{scope}.{key}: value too long")


def _conference(
    params: dict[str, Any], body: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The conference an event has after a write (Calendar's documented behaviour).

    Without ``conferenceDataVersion=1`` the body's ``conferenceData`` is ignored and an existing
    conference stays. With it, a ``createRequest`` for ``hangoutsMeet`` makes a Meet conference,
    unless its ``requestId`` is the one that made the current conference (then nothing
    changes); no ``conferenceData`` removes the conference.
    """
    if params.get("conferenceDataVersion", 0) < 1:
        return before
    wanted = body.get("conferenceData")
    if not wanted:
        return None
    request = wanted.get("createRequest")
    if request is None:
        return dict(wanted)
    if before and before.get("createRequest", {}).get("requestId") == request.get("requestId"):
        return before
    solution = (request.get("conferenceSolutionKey") or {}).get("type")
    if solution != "hangoutsMeet":
        raise bad_request(f"Invalid conference type value: {solution!r}")
    code = f"cdn-{next(_etags) % 10000:04d}-mtg"  # Meet codes look like abc-defg-hij
    uri = f"https://meet.google.com/{code}"
    return {
        "createRequest": {**request, "status": {"statusCode": "success"}},
        "entryPoints": [
            {"entryPointType": "video", "uri": uri, "label": uri.removeprefix("https://")}
        ],
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
        "conferenceId": code,
    }


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Patch semantics: objects merged recursively, anything else (arrays too) replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _set_conference(event: dict[str, Any], conference: dict[str, Any] | None) -> None:
    event.pop("conferenceData", None)
    event.pop("hangoutLink", None)
    if conference:
        event["conferenceData"] = conference
        for entry in conference.get("entryPoints", []):
            if entry["entryPointType"] == "video":
                event["hangoutLink"] = entry["uri"]


def attendee_copy(event: dict[str, Any]) -> dict[str, Any]:
    """What an invited attendee's calendar gets of ``event``: everything but the organizer's
    private extended properties, which live on the organizer's copy only."""
    shown = copy.deepcopy(event)
    properties = shown.get("extendedProperties") or {}
    properties.pop("private", None)
    if not properties:
        shown.pop("extendedProperties", None)
    return shown


def _declined(event: dict[str, Any], owner: str) -> bool:
    return any(
        (a.get("self") or a.get("email", "").lower() == owner)
        and a.get("responseStatus") == "declined"
        for a in event.get("attendees") or []
    )


def _public(event: dict[str, Any], owner: str) -> dict[str, Any]:
    shown = copy.deepcopy(event)
    for attendee in shown.get("attendees") or []:
        if attendee.get("email", "").lower() == owner:
            attendee["self"] = True
    return shown


class CalendarApi:
    """The Calendar v3 methods cadence uses, over :class:`Calendar` objects."""

    def __init__(self) -> None:
        self.calendars: dict[str, Calendar] = {}
        # Full reads (no syncToken) answer without the private extended properties that mark
        # cadence's events (a filter on them then matches nothing): issue 11's lost ownership.
        self.hide_ownership = False
        self.private_free_busy: set[str] = set()  # users who share no free/busy in the domain
        # How many of the next Meet conferences are answered ``pending`` (as Calendar may,
        # making them asynchronously): their insert answer has no entry points yet; the
        # conference is there (``success``, with its link) from the next read or write of it.
        self.meet_pending = 0
        self._pending: dict[str, dict[str, Any]] = {}  # event id -> the conference being made

    def _settle(self, calendar: Calendar, event_id: str) -> None:
        """A pending conference of ``event_id`` is made now."""
        conference = self._pending.pop(event_id, None)
        event = calendar.events.get(event_id)
        if conference is not None and event is not None:
            _set_conference(event, conference)
            calendar.touch(event)

    def calendar(self, user: str, calendar_id: str) -> Calendar:
        """The calendar ``calendar_id`` (``primary`` or an address) as seen by ``user``."""
        target = user if calendar_id == "primary" else calendar_id.lower()
        calendar = self.calendars.get(target)
        if calendar is None or calendar.owner != user:
            raise ApiError(404, "notFound", "Not Found")
        return calendar

    def free_busy_of(self, user: str, calendar_id: str) -> Calendar:
        """The calendar whose free/busy ``user`` asks for: their own, or (Workspace's default
        sharing) a colleague's in the same domain, unless that colleague keeps it private."""
        target = user if calendar_id == "primary" else calendar_id.lower()
        calendar = self.calendars.get(target)
        if calendar is not None and calendar.owner != user:
            same_domain = calendar.owner.partition("@")[2] == user.partition("@")[2]
            if same_domain and calendar.owner not in self.private_free_busy:
                return calendar
        return self.calendar(user, calendar_id)

    # -- events ------------------------------------------------------------------------------

    def insert(self, user: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """events.insert: a client-chosen id must be new, even among deleted events."""
        calendar = self.calendar(user, params["calendarId"])
        event_id = body.get("id") or f"fake{next(_etags):06d}"
        if not _ID.fullmatch(event_id):
            raise bad_request("Invalid resource id value.")
        if event_id in calendar.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        _check_times(body, calendar.zone)
        _check_properties(body)
        conference = _conference(params, body, None)
        event = copy.deepcopy(body)
        event.update(
            kind="calendar#event",
            id=event_id,
            status=body.get("status", "confirmed"),
            iCalUID=f"{event_id}@google.com",
            sequence=0,
            organizer={"email": user, "self": True},
            creator={"email": user, "self": True},
            created=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        if conference and "entryPoints" in conference and self.meet_pending > 0:
            self.meet_pending -= 1
            self._pending[event_id] = conference
            request = {**conference["createRequest"], "status": {"statusCode": "pending"}}
            conference = {"createRequest": request}
        _set_conference(event, conference)
        calendar.events[event_id] = event
        calendar.touch(event)
        return _public(event, user)

    def get(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """events.get: deleted events are still returned, with ``status: cancelled``."""
        calendar = self.calendar(user, params["calendarId"])
        self._settle(calendar, params["eventId"])
        event = calendar.events.get(params["eventId"])
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return _public(event, user)

    def update(
        self, user: str, params: dict[str, Any], body: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        """events.update: replaces the event; ``If-Match`` must match the current etag."""
        calendar = self.calendar(user, params["calendarId"])
        self._settle(calendar, params["eventId"])
        event = calendar.events.get(params["eventId"])
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        if if_match and if_match != event["etag"]:
            raise ApiError(412, "conditionNotMet", "Precondition Failed")
        _check_times(body, calendar.zone)
        _check_properties(body)
        conference = _conference(params, body, event.get("conferenceData"))
        keep = {k: event[k] for k in ("kind", "id", "iCalUID", "organizer", "creator", "created")}
        moved = body["start"] != event.get("start") or body["end"] != event.get("end")
        sequence = event.get("sequence", 0) + (1 if moved else 0)
        event.clear()
        event.update(copy.deepcopy(body), **keep, sequence=sequence)
        event.setdefault("status", "confirmed")
        _set_conference(event, conference)
        calendar.touch(event)
        return _public(event, user)

    def patch(self, user: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """events.patch: the fields given replace the event's; objects are merged field by
        field (``extendedProperties.private`` keeps the keys not given), arrays replaced."""
        calendar = self.calendar(user, params["calendarId"])
        self._settle(calendar, params["eventId"])
        event = calendar.events.get(params["eventId"])
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        _check_properties(body)
        conference = _conference(params, body, event.get("conferenceData"))
        _merge(event, body)
        _set_conference(event, conference)
        calendar.touch(event)
        return _public(event, user)

    def delete(self, user: str, params: dict[str, Any], body: None) -> None:
        """events.delete: the event stays as ``cancelled``; deleting it again answers 410."""
        calendar = self.calendar(user, params["calendarId"])
        event = calendar.events.get(params["eventId"])
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        if event.get("status") == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        calendar.touch(event)

    def list(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """events.list, full or incremental (``syncToken``), paged."""
        calendar = self.calendar(user, params["calendarId"])
        token = params.get("syncToken")
        if token is not None:
            clash = [name for name in INCOMPATIBLE_WITH_SYNC if name in params]
            if clash:
                raise bad_request(f"syncToken cannot be combined with {', '.join(clash)}")
            if params.get("showDeleted") is False:
                raise bad_request("showDeleted cannot be false with syncToken")
            since = int(token.removeprefix("sync-"))
            if since < calendar.oldest_valid_token:
                raise ApiError(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                )
            items = [
                self._listed(calendar, event, user)
                for event in calendar.events.values()
                if calendar.changed[event["id"]] > since
            ]
        else:
            if params.get("orderBy") == "startTime" and not params.get("singleEvents"):
                raise bad_request(
                    "The requested ordering is not available for the particular query."
                )
            items = [
                _public(event, user)
                for event in calendar.events.values()
                if self._wanted(calendar, event, params)
            ]
            if params.get("orderBy") == "startTime":
                items.sort(key=lambda e: parse_when(e["start"], calendar.zone))
            if self.hide_ownership:
                hidden = "privateExtendedProperty" in params
                items = [] if hidden else [attendee_copy(item) for item in items]
        offset = int(params.get("pageToken") or 0)
        size = int(params.get("maxResults", 250))
        page = items[offset : offset + size]
        answer: dict[str, Any] = {"kind": "calendar#events", "items": page}
        if offset + size < len(items):
            answer["nextPageToken"] = str(offset + size)
        elif not any(name in params for name in INCOMPATIBLE_WITH_SYNC if name not in FULL_SYNC_OK):
            answer["nextSyncToken"] = f"sync-{calendar.counter}"
        return answer

    @staticmethod
    def _listed(calendar: Calendar, event: dict[str, Any], user: str) -> dict[str, Any]:
        if event.get("status") == "cancelled":
            return {
                "kind": "calendar#event",
                "id": event["id"],
                "status": "cancelled",
                "etag": event["etag"],
            }
        return _public(event, user)

    @staticmethod
    def _wanted(calendar: Calendar, event: dict[str, Any], params: dict[str, Any]) -> bool:
        if event.get("status") == "cancelled" and not params.get("showDeleted"):
            return False
        prop = params.get("privateExtendedProperty")
        if prop:
            private = (event.get("extendedProperties") or {}).get("private") or {}
            for condition in prop if isinstance(prop, list) else [prop]:
                key, _, value = condition.partition("=")
                if private.get(key) != value:
                    return False
        start = parse_when(event["start"], calendar.zone)
        end = parse_when(event["end"], calendar.zone)
        if "timeMin" in params and end <= datetime.fromisoformat(params["timeMin"]):
            return False
        return not ("timeMax" in params and start >= datetime.fromisoformat(params["timeMax"]))

    # -- free/busy ---------------------------------------------------------------------------

    def freebusy(self, user: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """freebusy.query: merged busy blocks of opaque, non-declined events."""
        low = datetime.fromisoformat(body["timeMin"])
        high = datetime.fromisoformat(body["timeMax"])
        if high <= low:
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
        if high - low > FREEBUSY_MAX_SPAN:
            raise bad_request("The specified time range is too long.", reason="timeRangeTooLong")
        items = body.get("items") or []
        if len(items) > FREEBUSY_MAX_CALENDARS:
            raise bad_request("Too many calendars requested.", reason="tooManyCalendarsRequested")
        calendars: dict[str, Any] = {}
        for item in items:
            name = item["id"]
            try:
                calendar = self.free_busy_of(user, name)
            except ApiError:
                calendars[name] = {
                    "busy": [],
                    "errors": [{"domain": "global", "reason": "notFound"}],
                }
                continue
            spans = []
            for event in calendar.events.values():
                if (
                    event.get("status") == "cancelled"
                    or event.get("transparency") == "transparent"
                    or _declined(event, calendar.owner)
                ):
                    continue
                start = max(parse_when(event["start"], calendar.zone), low)
                end = min(parse_when(event["end"], calendar.zone), high)
                if start < end:
                    spans.append((start.astimezone(UTC), end.astimezone(UTC)))
            merged: list[tuple[datetime, datetime]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            calendars[name] = {
                "busy": [{"start": _z(s), "end": _z(e)} for s, e in merged],
            }
        return {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
