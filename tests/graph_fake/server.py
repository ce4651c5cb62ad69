"""A local Microsoft Graph speaking the wire format the outlook connector uses.

Implemented: events (list with an extended-property ``$filter``, create with ``transactionId``
deduplication, get, PATCH with ``If-Match``, DELETE, ``/cancel``), ``calendarView`` and
``calendarView/delta`` (``@odata.nextLink`` / ``@odata.deltaLink``, ``@removed``, the
sync-state-gone 410), ``calendar/getSchedule``, ``messages`` with a ``receivedDateTime`` or
``lastModifiedDateTime`` filter (``$orderby`` on the same property, as Graph requires),
and ``$batch`` with per-part statuses, ``dependsOn`` (a part after a failed one answers 424) and
Graph's limit of 4 requests at once per mailbox (parts beyond it answer 429). Bearer tokens are
checked against the fake authority's.

Faults on demand: :meth:`FakeGraph.fail` (next requests answer 429/5xx with ``Retry-After``),
:meth:`FakeGraph.throttle_parts` (next ``$batch`` parts answer 429 with their own
``Retry-After``), :meth:`FakeGraph.drop_after_apply` (apply the next write, then drop the
connection without answering), :meth:`FakeGraph.fail_parts_after_apply` (apply a write part,
then answer 5xx), ``duplicate_transaction = 409`` (a repeated create is refused, not
deduplicated), :meth:`FakeGraph.expire_sync_state`, :meth:`FakeGraph.forbid`.
``requests`` counts HTTP requests by ``"METHOD kind"``; ``batch_parts`` counts parts likewise.

The person API (:meth:`add_event`, :meth:`move`, :meth:`delete`, :meth:`decline`,
:meth:`add_message`) changes the mailbox the way a salesperson in Outlook would.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

JSON = dict[str, Any]
Answer = tuple[int, dict[str, str], Any]

_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_PROP_FILTER = re.compile(
    r"^singleValueExtendedProperties/Any\(ep: ep/id eq '((?:[^']|'')*)' "
    r"and ep/value eq '((?:[^']|'')*)'\)$"
)
_MESSAGE_FILTER = re.compile(r"^(receivedDateTime|lastModifiedDateTime) ge (\S+)$")
UID_NAME = "name cadence_uid"


def _error(status: int, code: str, message: str = "", headers: dict[str, str] | None = None):
    return status, headers or {}, {"error": {"code": code, "message": message or code}}


def _encode(data: JSON) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode(text: str) -> JSON:
    return json.loads(base64.urlsafe_b64decode(text.encode()))


@dataclass
class Mailbox:
    events: dict[str, JSON] = field(default_factory=dict)  # incl. deleted (tombstones)
    transactions: dict[str, str] = field(default_factory=dict)
    messages: list[JSON] = field(default_factory=list)
    generation: int = 0
    forbidden: bool = False


class FakeGraph:
    """Graph for a set of mailboxes, on ``endpoint`` (``http://127.0.0.1:PORT/v1.0``)."""

    def __init__(self, tokens: set[str] | None = None) -> None:
        self.tokens = tokens
        self.mailboxes: dict[str, Mailbox] = {}
        self.requests: Counter[str] = Counter()
        self.batch_parts: Counter[str] = Counter()
        self.bytes_sent = 0  # response bodies, for measuring what a cycle reads
        self.cancellations: list[tuple[str, str]] = []  # (owner, event id) cancelled via /cancel
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self._faults: list[tuple[str | None, int, str | None]] = []  # (kind, status, retry)
        self._part_throttles: list[tuple[str, str]] = []
        self._drops = 0
        self._drop_kind: str | None = None
        # "all": reads answer as if cadence's extended properties were not there (never
        # expanded, never matched by a $filter); "lists": lists of events (events, calendarView)
        # leave them out while a $filter still matches them and a single event shows them.
        self.hide_ownership = ""
        # Graph serves at most 4 requests at once per mailbox: parts of a $batch for one
        # mailbox that are not ordered by dependsOn run at once, and those beyond 4 answer 429
        # (counted in concurrency_refused). None: no limit.
        self.mailbox_concurrency: int | None = 4
        # The scope a token must have been issued for (set with ``scopes``, the authority's
        # token -> scope map); None: any token the authority issued.
        self.audience: str | None = None
        self.scopes: dict[str, str] = {}
        self.concurrency_refused = 0
        self.refuse_schedule = False  # every getSchedule is refused (400), as for a window too big
        # How a create repeating a live event's transactionId is answered: 201 with that event
        # (deduplicated), or 409 as some servers do.
        self.duplicate_transaction = 201
        self._part_faults: list[int] = []  # statuses of $batch write parts applied, then failed
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1.0"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---------------------------------------------------------------- test controls

    def add_mailbox(self, owner: str) -> None:
        with self.lock:
            self.mailboxes.setdefault(owner.lower(), Mailbox())

    def fail(self, times: int, status: int = 503, retry_after: str | None = "0", kind=None):
        """The next ``times`` requests (of ``kind``, e.g. ``"POST $batch"``) answer ``status``."""
        with self.lock:
            self._faults.extend([(kind, status, retry_after)] * times)

    def throttle_parts(self, times: int, retry_after: str = "3", match: str = "") -> None:
        """The next ``times`` ``$batch`` parts (whose JSON contains ``match``) answer 429 with
        ``Retry-After: retry_after``."""
        with self.lock:
            self._part_throttles.extend([(retry_after, match)] * times)

    def drop_after_apply(self, times: int = 1, kind: str | None = None) -> None:
        """Apply the next ``times`` write requests (of ``kind`` only, e.g. ``"POST $batch"``,
        when given), then close the connection unanswered. ``times=0``: drop no more."""
        with self.lock:
            self._drops = self._drops + times if times else 0
            self._drop_kind = kind

    def fail_parts_after_apply(self, times: int = 1, status: int = 500) -> None:
        """The next ``times`` write parts of a ``$batch`` are applied, then answered
        ``status`` (a 5xx after apply)."""
        with self.lock:
            self._part_faults.extend([status] * times)

    def expire_sync_state(self, owner: str) -> None:
        """Every delta link of ``owner`` becomes unknown (410 SyncStateNotFound)."""
        with self.lock:
            self.mailboxes[owner.lower()].generation += 1

    def forbid(self, owner: str, forbidden: bool = True) -> None:
        """Answer 403 ErrorAccessDenied for ``owner`` (an application access policy)."""
        with self.lock:
            self.mailboxes[owner.lower()].forbidden = forbidden

    # ---------------------------------------------------------------- the salesperson's hands

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        show_as: str | None = None,
        attendees=(),
        title: str = "",
        zone: str = "UTC",
        declined_by=(),
        cancelled: bool = False,
    ) -> str:
        """An event made in Outlook by the owner; returns its id. ``zone``: the time zone of
        an all-day event's midnights; ``declined_by``: attendees who answered "Decline";
        ``cancelled``: the organizer cancelled it (Outlook keeps it, ``isCancelled``)."""
        body = {
            "subject": title,
            "start": _as_graph(start, all_day, zone),
            "end": _as_graph(end, all_day, zone),
            "isAllDay": all_day,
            "showAs": show_as or ("free" if transparent else "busy"),
            "attendees": [
                {
                    "emailAddress": {"address": a},
                    "type": "required",
                    "status": {"response": "declined" if a in declined_by else "accepted"},
                }
                for a in attendees
            ],
        }
        with self.lock:
            box = self.mailboxes[owner.lower()]
            status, _, created = self._create(box, body)
            assert status == 201, created
            if cancelled:
                box.events[created["id"]]["isCancelled"] = True
            return created["id"]

    def find(self, owner: str, uid: str) -> list[JSON]:
        """Live events of ``owner`` carrying the cadence uid ``uid``."""
        with self.lock:
            return [
                e
                for e in self.mailboxes[owner.lower()].events.values()
                if not e["_deleted"] and _uid_of(e) == uid
            ]

    def invitation(self, owner: str, uid: str) -> JSON:
        """What Exchange sends an attendee of ``owner``'s event ``uid``: the meeting's fields,
        without the organizer's extended properties (they stay on the organizer's item)."""
        (event,) = self.find(owner, uid)
        sent = ("subject", "body", "start", "end", "location", "attendees", "isOnlineMeeting")
        return {k: event[k] for k in (*sent, "onlineMeeting") if k in event}

    def live_events(self, owner: str) -> list[JSON]:
        with self.lock:
            return [e for e in self.mailboxes[owner.lower()].events.values() if not e["_deleted"]]

    def _one(self, owner: str, uid_or_id: str) -> JSON:
        box = self.mailboxes[owner.lower()]
        if uid_or_id in box.events:
            return box.events[uid_or_id]
        (event,) = self.find(owner, uid_or_id)
        return event

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        with self.lock:
            event = self._one(owner, uid)
            all_day = not isinstance(start, datetime)
            event.update(
                start=_as_graph(start, all_day), end=_as_graph(end, all_day), isAllDay=all_day
            )
            self._touch(event)

    def delete(self, owner: str, uid: str) -> None:
        with self.lock:
            event = self._one(owner, uid)
            event["_deleted"] = True
            self._touch(event)

    def decline(self, owner: str, uid: str) -> None:
        with self.lock:
            event = self._one(owner, uid)
            event["responseStatus"] = {"response": "declined", "time": _now_text()}
            self._touch(event)

    def add_message(
        self,
        owner: str,
        *,
        sender: str,
        to=(),
        cc=(),
        bcc=(),
        received: datetime,
        sent: datetime | None = None,
        subject: str = "",
        internet_id: str | None = None,
        draft: bool = False,
        modified: datetime | None = None,
    ) -> str:
        """A message in ``owner``'s mailbox (sent when ``sender`` is the owner), arriving at
        ``received``; ``sent`` is its own date (default: the same); ``modified`` when it last
        changed in this mailbox (default: when it arrived; a PST import keeps an old
        ``received`` and is modified at the import)."""
        message_id = f"AAMk{uuid.uuid4().hex}"
        with self.lock:
            self.mailboxes[owner.lower()].messages.append(
                {
                    "id": message_id,
                    "internetMessageId": internet_id or f"<{message_id}@example.com>",
                    "receivedDateTime": received.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "lastModifiedDateTime": (modified or received)
                    .astimezone(UTC)
                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "sentDateTime": (sent or received)
                    .astimezone(UTC)
                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "subject": subject,
                    "from": {"emailAddress": {"address": sender}},
                    "sender": {"emailAddress": {"address": sender}},
                    "toRecipients": [{"emailAddress": {"address": a}} for a in to],
                    "ccRecipients": [{"emailAddress": {"address": a}} for a in cc],
                    "bccRecipients": [{"emailAddress": {"address": a}} for a in bcc],
                    "isDraft": draft,
                    "parentFolderId": "sentitems" if sender.lower() == owner.lower() else "inbox",
                }
            )
        return message_id

    def touch_message(self, owner: str, message_id: str, at: datetime) -> None:
        """The message changed in the mailbox at ``at`` (read, flagged, moved)."""
        with self.lock:
            for message in self.mailboxes[owner.lower()].messages:
                if message["id"] == message_id:
                    message["lastModifiedDateTime"] = at.astimezone(UTC).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    )

    # ---------------------------------------------------------------- routing

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> Answer:
        """Answer one request (top level or a ``$batch`` part); ``target`` is below /v1.0."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in path.split("/") if s]
        prefer = headers.get("prefer", "")
        if segments == ["$batch"] and method == "POST":
            return self._batch(body, headers)
        if len(segments) < 3 or segments[0] != "users":
            return _error(404, "ResourceNotFound", f"no route {path}")
        box = self.mailboxes.get(segments[1].lower())
        if box is None:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        if box.forbidden:
            return _error(403, "ErrorAccessDenied", "Access is denied. Check credentials.")
        rest = segments[2:]
        utc = 'outlook.timezone="UTC"' in prefer
        size = _page_size(query, prefer)
        route = (method, rest[0], len(rest))
        if route == ("GET", "events", 1):
            return self._list_events(box, target, query, utc, size)
        if route == ("POST", "events", 1):
            return self._create(box, body, utc)
        if rest[0] == "events" and len(rest) in (2, 3):
            event = box.events.get(rest[1])
            if event is None or event["_deleted"]:
                return _error(404, "ErrorItemNotFound", "The specified object was not found.")
            if len(rest) == 3 and rest[2] == "cancel" and method == "POST":
                event["_deleted"] = True
                self._touch(event)
                self.cancellations.append((segments[1].lower(), event["id"]))
                return 202, {}, None
            if len(rest) == 2 and method == "GET":
                return 200, {}, self._show(event, utc, query, listed=False)
            if len(rest) == 2 and method in ("PATCH", "DELETE"):
                match = headers.get("if-match")
                if match and match != event["@odata.etag"]:
                    return _error(412, "ErrorIrresolvableConflict", "etag mismatch")
                if method == "DELETE":
                    event["_deleted"] = True
                    self._touch(event)
                    return 204, {}, None
                _merge(event, body)
                _online_meeting(event)
                self._touch(event)
                return 200, {}, _render(event, utc, ())
        if route == ("GET", "calendarView", 1):
            return self._calendar_view(box, target, query, utc, size)
        if rest == ["calendarView", "delta"] and method == "GET":
            return self._delta(box, segments[1], query, utc, size)
        if rest == ["calendar", "getSchedule"] and method == "POST":
            return self._get_schedule(body)
        if route == ("GET", "messages", 1):
            return self._messages(box, target, query, size)
        return _error(400, "BadRequest", f"unsupported {method} {path}")

    def _batch(self, body: Any, headers: dict[str, str]) -> Answer:
        parts = (body or {}).get("requests") or []
        if not parts or len(parts) > 20:
            return _error(400, "BadRequest", "a batch holds 1 to 20 requests")
        responses = []
        status_of: dict[str, int] = {}
        step_of: dict[str, int] = {}  # how many parts run before this one in its chain
        running: Counter[tuple[str, int]] = Counter()  # (mailbox, step) -> parts at once
        for part in parts:
            part_headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
            self.batch_parts[f"{part['method']} {_kind(part['url'])}"] += 1
            after = [str(d) for d in part.get("dependsOn") or ()]
            if any(d not in status_of for d in after):
                return _error(400, "BadRequest", "dependsOn names a part not before it")
            step = max((step_of[d] + 1 for d in after), default=0)
            step_of[part["id"]] = step
            mailbox = _part_mailbox(part["url"])
            running[(mailbox, step)] += 1
            throttle = next((t for t in self._part_throttles if t[1] in json.dumps(part)), None)
            if any(not 200 <= status_of[d] < 300 for d in after):
                status, out_headers, out = _error(
                    424, "FailedDependency", "a request this one depends on failed"
                )
            elif (
                self.mailbox_concurrency is not None
                and mailbox
                and running[(mailbox, step)] > self.mailbox_concurrency
            ):
                self.concurrency_refused += 1
                status, out_headers, out = _error(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": "1"},
                )
            elif throttle is not None:
                self._part_throttles.remove(throttle)
                retry = throttle[0]
                status, out_headers, out = _error(
                    429, "TooManyRequests", "throttled", {"Retry-After": retry}
                )
            else:
                status, out_headers, out = self.handle(
                    part["method"], part["url"], part_headers, part.get("body")
                )
                if self._part_faults and part["method"] != "GET" and 200 <= status < 300:
                    status, out_headers, out = _error(
                        self._part_faults.pop(0), "ServiceUnavailable", "applied, then failed"
                    )
            status_of[part["id"]] = status
            answer: JSON = {"id": part["id"], "status": status, "headers": out_headers}
            if out is not None:
                answer["body"] = out
            responses.append(answer)
        return 200, {}, {"responses": responses}

    # ---------------------------------------------------------------- events

    def _create(self, box: Mailbox, body: Any, utc: bool = True) -> Answer:
        if not isinstance(body, dict) or "start" not in body or "end" not in body:
            return _error(400, "ErrorInvalidRequest", "start and end are required")
        tx = body.get("transactionId")
        if tx and tx in box.transactions:
            existing = box.events[box.transactions[tx]]
            if not existing["_deleted"]:
                if self.duplicate_transaction == 409:
                    return _error(409, "ErrorDuplicateTransactionId", "duplicate transactionId")
                return 201, {}, _render(existing, utc, ())
        event_id = f"AAMkEv{uuid.uuid4().hex}"
        event = {
            "id": event_id,
            "subject": "",
            "isAllDay": False,
            "showAs": "busy",
            "isCancelled": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "attendees": [],
            "transactionId": tx,
            "singleValueExtendedProperties": [],
            "_deleted": False,
        }
        _merge(event, body)
        _online_meeting(event)
        self._touch(event)
        box.events[event_id] = event
        if tx:
            box.transactions[tx] = event_id
        return 201, {}, _render(event, utc, ())

    def _show(self, event: JSON, utc: bool, query: JSON, listed: bool = True) -> JSON:
        """An event as a read answers it (``$select``, ``$expand``, ``hide_ownership``)."""
        hidden = self.hide_ownership == "all" or (listed and self.hide_ownership == "lists")
        expand = () if hidden else _expand_ids(query)
        return _render(event, utc, expand, _select(query))

    def _touch(self, event: JSON) -> None:
        event["_seq"] = next(self._seq)
        event["@odata.etag"] = f'W/"{event["_seq"]}"'

    def _list_events(self, box: Mailbox, target: str, query: JSON, utc: bool, size: int):
        flt = query.get("$filter")
        events = [e for e in box.events.values() if not e["_deleted"]]
        if flt:
            match = _PROP_FILTER.match(flt)
            if not match:
                return _error(400, "ErrorInvalidUrlQueryFilter", f"unsupported filter {flt}")
            prop, value = (g.replace("''", "'") for g in match.groups())
            events = [e for e in events if _prop(e, prop) == value and self.hide_ownership != "all"]
        return self._paged(target, query, [self._show(e, utc, query) for e in events], size)

    def _calendar_view(self, box: Mailbox, target: str, query: JSON, utc: bool, size: int):
        try:
            start = _instant(query["startDateTime"])
            end = _instant(query["endDateTime"])
        except KeyError:
            return _error(400, "ErrorInvalidParameter", "startDateTime and endDateTime required")
        events = sorted(
            (e for e in box.events.values() if not e["_deleted"] and _overlaps(e, start, end)),
            key=lambda e: _span(e)[0],
        )
        rendered = [self._show(e, utc, query) for e in events]
        return self._paged(target, query, rendered, size)

    def _paged(self, target: str, query: JSON, items: list[JSON], size: int) -> Answer:
        skip = int(query.get("$skip", 0))
        page = items[skip : skip + size]
        body: JSON = {"value": page}
        if skip + size < len(items):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            rest["$skip"] = str(skip + size)
            path = urlsplit(target).path
            body["@odata.nextLink"] = f"{self.endpoint}{path}?{urlencode(rest, quote_via=quote)}"
        return 200, {}, body

    def _delta(self, box: Mailbox, owner: str, query: JSON, utc: bool, size: int) -> Answer:
        token_text = query.get("$deltatoken") or query.get("$skiptoken")
        if token_text:
            token = _decode(token_text)
            if token["g"] != box.generation:
                return _error(410, "SyncStateNotFound", "The sync state is not found.")
        else:
            try:
                token = {
                    "g": box.generation,
                    "s": 0,
                    "initial": True,
                    "ws": query["startDateTime"],
                    "we": query["endDateTime"],
                }
            except KeyError:
                return _error(400, "ErrorInvalidParameter", "startDateTime/endDateTime required")
        snap = token.get("snap") or max((e["_seq"] for e in box.events.values()), default=0)
        window = (_instant(token["ws"]), _instant(token["we"]))
        changes = []
        for event in sorted(box.events.values(), key=lambda e: e["_seq"]):
            if not token["s"] < event["_seq"] <= snap:
                continue
            inside = not event["_deleted"] and _overlaps(event, *window)
            if inside:
                changes.append(_render(event, utc, ()))
            elif not token.get("initial"):
                changes.append({"id": event["id"], "@removed": {"reason": "deleted"}})
        skip = token.get("skip", 0)
        body: JSON = {"value": changes[skip : skip + size]}
        base = f"{self.endpoint}/users/{quote(owner, safe='@')}/calendarView/delta"
        if skip + size < len(changes):
            following = {**token, "snap": snap, "skip": skip + size}
            body["@odata.nextLink"] = f"{base}?$skiptoken={_encode(following)}"
        else:
            done = {"g": token["g"], "s": snap, "ws": token["ws"], "we": token["we"]}
            body["@odata.deltaLink"] = f"{base}?$deltatoken={_encode(done)}"
        return 200, {}, body

    def _get_schedule(self, body: Any) -> Answer:
        schedules = (body or {}).get("schedules") or []
        if not schedules or len(schedules) > 20:
            return _error(400, "ErrorInvalidParameter", "1 to 20 schedules")
        start = _from_graph(body["startTime"])
        end = _from_graph(body["endTime"])
        if end - start >= timedelta(days=62) or self.refuse_schedule:
            return _error(
                400, "ErrorTimeIntervalTooBig", "The time interval must be less than 62 days."
            )
        value = []
        for address in schedules:
            box = self.mailboxes.get(address.lower())
            if box is None:
                value.append({"scheduleId": address, "error": {"responseCode": "UserNotFound"}})
                continue
            items = [
                {
                    "status": e["showAs"],
                    "isPrivate": False,
                    "subject": e.get("subject", ""),
                    "start": _utc_graph(_span(e)[0]),
                    "end": _utc_graph(_span(e)[1]),
                }
                for e in sorted(box.events.values(), key=lambda e: _span(e)[0])
                if not e["_deleted"] and _overlaps(e, start, end)
            ]
            value.append({"scheduleId": address, "availabilityView": "", "scheduleItems": items})
        return 200, {}, {"value": value}

    def _messages(self, box: Mailbox, target: str, query: JSON, size: int) -> Answer:
        messages = list(box.messages)
        flt = query.get("$filter")
        if flt:
            match = _MESSAGE_FILTER.match(flt)
            if not match:
                return _error(400, "ErrorInvalidUrlQueryFilter", f"unsupported filter {flt}")
            field_name, since = match.group(1), _instant(match.group(2))
            messages = [m for m in messages if _instant(m[field_name]) >= since]
            # Graph: a property in $orderby must be the one $filter names first.
            order = query.get("$orderby", f"{field_name} asc").split(" ")[0]
            if order != field_name:
                return _error(
                    400, "InefficientFilter", "The restriction or sort order is too complex"
                )
        else:
            field_name = "receivedDateTime"
        messages.sort(key=lambda m: m[field_name])
        return self._paged(target, query, messages, size)

    # ---------------------------------------------------------------- faults

    def take_fault(self, kind: str) -> tuple[int, str | None] | None:
        with self.lock:
            for i, (wanted, status, retry) in enumerate(self._faults):
                if wanted is None or wanted == kind:
                    del self._faults[i]
                    return status, retry
        return None

    def take_drop(self, method: str, kind: str = "") -> bool:
        with self.lock:
            wanted = self._drop_kind is None or self._drop_kind == kind
            if self._drops and method in ("POST", "PATCH", "DELETE") and wanted:
                self._drops -= 1
                return True
        return False


# -------------------------------------------------------------------- event values


def _as_graph(value: datetime | date, all_day: bool, zone: str = "UTC") -> JSON:
    if all_day:
        day = value.date() if isinstance(value, datetime) else value
        return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": zone}
    assert isinstance(value, datetime) and value.tzinfo is not None
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return {"dateTime": text, "timeZone": "UTC"}


def _utc_graph(moment: datetime) -> JSON:
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return {"dateTime": text + ".0000000", "timeZone": "UTC"}


def _from_graph(value: JSON) -> datetime:
    naive = datetime.fromisoformat(value["dateTime"])
    zone = value.get("timeZone") or "UTC"
    return naive.replace(tzinfo=UTC if zone == "UTC" else ZoneInfo(zone))


def _span(event: JSON) -> tuple[datetime, datetime]:
    """The instants an event covers."""
    if event["isAllDay"]:  # midnights in the event's own zone
        zone = event["start"].get("timeZone") or "UTC"
        tz = UTC if zone == "UTC" else ZoneInfo(zone)
        first = date.fromisoformat(event["start"]["dateTime"][:10])
        last = date.fromisoformat(event["end"]["dateTime"][:10])
        return (
            datetime.combine(first, datetime.min.time(), tz),
            datetime.combine(last, datetime.min.time(), tz),
        )
    return _from_graph(event["start"]), _from_graph(event["end"])


def _overlaps(event: JSON, start: datetime, end: datetime) -> bool:
    first, last = _span(event)
    return first < end and last > start


def _render(
    event: JSON, utc: bool, expand: tuple[str, ...], select: tuple[str, ...] | None = None
) -> JSON:
    """An event as Graph answers it: ``expand`` names the extended properties asked for;
    ``select`` (the ``$select`` fields, None when not given) is honoured strictly, as some
    servers do: a field it does not name is left out, the expanded extended properties
    included (``id`` and ``@odata.etag`` always come)."""
    out = {k: v for k, v in event.items() if not k.startswith("_")}
    out.pop("singleValueExtendedProperties", None)
    if utc and not event["isAllDay"]:
        for key in ("start", "end"):
            moment = _from_graph(event[key]).astimezone(UTC).replace(tzinfo=None)
            out[key] = {"dateTime": moment.isoformat() + ".0000000", "timeZone": "UTC"}
    if expand:
        wanted = {e.lower() for e in expand}
        out["singleValueExtendedProperties"] = [
            p for p in event["singleValueExtendedProperties"] if p["id"].lower() in wanted
        ]
    if select is not None:
        keep = {*select, "id", "@odata.etag"}
        out = {k: v for k, v in out.items() if k in keep}
    return out


def _merge(event: JSON, body: JSON) -> None:
    for key, value in body.items():
        if key == "singleValueExtendedProperties":
            props = {p["id"].lower(): p for p in event["singleValueExtendedProperties"]}
            for prop in value:
                props[prop["id"].lower()] = dict(prop)
            event[key] = list(props.values())
        elif key in ("start", "end"):
            event[key] = dict(value)
        elif key != "id":
            event[key] = value


ONLINE_PROVIDERS = ("teamsForBusiness", "skypeForBusiness", "skypeForConsumer")


def _online_meeting(event: JSON) -> None:
    """Exchange's part of ``isOnlineMeeting``: a Teams meeting is made once, with its
    ``onlineMeeting.joinUrl`` (kept by later updates), and the location says so."""
    if not event.get("isOnlineMeeting"):
        event["onlineMeeting"] = None
        return
    provider = event.get("onlineMeetingProvider", "teamsForBusiness")
    if provider not in ONLINE_PROVIDERS:
        raise ValueError(f"unknown onlineMeetingProvider {provider!r}")
    if not event.get("onlineMeeting"):
        meeting = uuid.uuid4().hex
        event["onlineMeeting"] = {
            "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{meeting}%40thread.v2/0"
        }
    event.setdefault("location", {"displayName": "Microsoft Teams Meeting"})


def _prop(event: JSON, prop_id: str) -> str | None:
    for prop in event["singleValueExtendedProperties"]:
        if prop["id"].lower() == prop_id.lower():
            return prop["value"]
    return None


def _uid_of(event: JSON) -> str | None:
    for prop in event["singleValueExtendedProperties"]:
        if prop["id"].lower().endswith(UID_NAME):
            return prop["value"]
    return None


def _select(query: JSON) -> tuple[str, ...] | None:
    text = query.get("$select")
    return None if text is None else tuple(f.strip() for f in text.split(",") if f.strip())


def _expand_ids(query: JSON) -> tuple[str, ...]:
    expand = query.get("$expand", "")
    if not expand.startswith("singleValueExtendedProperties"):
        return ()
    return tuple(m.replace("''", "'") for m in _QUOTED.findall(expand))


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _page_size(query: JSON, prefer: str) -> int:
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    if "$top" in query:
        return min(int(query["$top"]), 1000)
    return int(match.group(1)) if match else 10


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _part_mailbox(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[1].lower() if len(segments) > 1 and segments[0] == "users" else ""


def _kind(target: str) -> str:
    """``events``, ``event``, ``cancel``, ``calendarView``, ``delta``, ``getSchedule``..."""
    segments = [s for s in urlsplit(target).path.split("/") if s]
    if segments and segments[0] == "v1.0":
        segments = segments[1:]
    if segments == ["$batch"]:
        return "$batch"
    rest = segments[2:]
    if rest[:1] == ["events"] and len(rest) == 2:
        return "event"
    return rest[-1] if rest else "/".join(segments)


def _handler(graph: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            kind = f"{self.command} {_kind(self.path)}"
            with graph.lock:
                graph.requests[kind] += 1
            fault = graph.take_fault(kind)
            headers = {k.lower(): v for k, v in self.headers.items()}
            token = headers.get("authorization", "").removeprefix("Bearer ")
            if fault:
                status, retry = fault
                answer = _error(
                    status,
                    "ServiceUnavailable" if status != 429 else "TooManyRequests",
                    headers={"Retry-After": retry} if retry else {},
                )
            elif graph.tokens is not None and token not in graph.tokens:
                answer = _error(401, "InvalidAuthenticationToken", "Access token is invalid.")
            elif graph.audience is not None and graph.audience not in graph.scopes.get(
                token, ""
            ).split(" "):
                answer = _error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                )
            elif not self.path.startswith("/v1.0/"):
                answer = _error(404, "ResourceNotFound", "unknown version")
            else:
                body = json.loads(raw) if raw else None
                with graph.lock:
                    answer = graph.handle(self.command, self.path[5:], headers, body)
                if graph.take_drop(self.command, kind):
                    self.close_connection = True
                    return  # applied, but the answer is lost on the way
            status, out_headers, out = answer
            data = b"" if out is None else json.dumps(out).encode()
            self.send_response(status)
            for key, value in out_headers.items():
                self.send_header(key, value)
            if out is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with graph.lock:
                graph.bytes_sent += len(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler
