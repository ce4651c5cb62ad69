"""The Google Calendar backend (Calendar API v3 through google-api-python-client).

Reading cadence's own events (:meth:`GoogleBackend.list_owned`): Google does not allow a
``syncToken`` together with ``privateExtendedProperty``, so the first read lists the whole
calendar once, keeps our tagged events in the state store and remembers ``nextSyncToken``;
every later read asks only for what changed since (usually one small request). A ``410 GONE``
(expired token) clears the cache and reads everything again. An event the salesperson deletes
comes back from the incremental read as ``status="cancelled"``; one deleted before the full read
is simply absent; events cadence cancels itself are dropped from the cache at once.

Busy time (:meth:`GoogleBackend.busy_many`, :meth:`GoogleBackend.busy`): ``freebusy.query``
for up to 50 calendars at once (the API's limit), asked as the first salesperson of the group
(Workspace shares free/busy within the domain), in windows of at most 90 days (the API's limit:
the cycle's 120 days take two queries, for 50 calendars as for one). A salesperson whose
free/busy the query cannot see is left to :meth:`~GoogleBackend.busy`, asked as themselves.
Free/busy cannot tell cadence's own events from the salesperson's, so busy blocks that touch one
of our (opaque) events are told apart with the salesperson's own busy events that the meetings
stream keeps (below; the cycle reads it just before busy time, and it is read again first when
older than ten minutes), or, without that stream, re-read with ``events.list`` for just that
span; blocks that touch none of ours are taken as they are. Which events are ours comes from the
cache kept by :meth:`~GoogleBackend.list_owned` and by every write (synced first only when there
is no cache yet): if the salesperson moved one of our events since the last sync, its new slot
merely counts as busy, which never causes a double booking. Transparent and declined events are
not busy (Google already leaves them out of free/busy). When cadence books into another calendar
than ``primary`` (``calendar_id``), both calendars are asked in the same query, and blocks in
that second calendar touching ours are always re-read.

Past meetings (:meth:`GoogleBackend.new_past_events`): a second sync stream on the primary
calendar, ``events.list`` with ``singleEvents`` (each occurrence of a series on its own). The
first read starts at the lookback floor (``timeMin``, which a full sync may carry: Google's own
sync guide limits its full sync that way) and keeps ``nextSyncToken``; every later read asks
only for what changed since, whatever the events' dates (a meeting entered today for last week
comes back in that small answer), and a ``410 GONE`` reads again from the floor. The events
with other people in them are kept in the state store until their time has passed (a meeting
booked weeks ahead does not change when its day comes, so the stream never shows it again);
which of them were reported is remembered by digest (:func:`connectors.base.unseen_past_events`),
so each is reported once, and again only when it was moved or its attendees or answers changed. The
same stream keeps the salesperson's own busy events (id -> start, end) for busy time.

Writes (:meth:`GoogleBackend.write`) go in batch requests with deterministic event ids, so a
create whose response was lost answers ``409`` the second time; the existing event is then read
and, if it differs (or was deleted, which keeps its id as a ``cancelled`` event), updated to the
spec. An update whose answer was lost and which was sent again meets ``412`` (its ``If-Match``
etag went stale when the first copy applied): the event is read back, and when it already is what
the update asked for, the update counts as done; otherwise someone changed it meanwhile and the
412 stands (the next cycle reads it back). A delete sent again meets ``404``/``410``: done.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from googleapiclient.errors import HttpError

from cadence.values.model import BusyInterval, require_aware
from cadence.values.schema import Schema
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    CalendarBackend,
    Cancel,
    Create,
    PastEvent,
    RemoteEvent,
    Update,
    WriteOp,
    WriteResult,
    past_events_key,
    unseen_past_events,
)
from connectors.google import auth as google_auth
from connectors.google import config as google_config
from connectors.google import events as ev
from connectors.google.batch import Outcome, batch_uri, run_batch
from connectors.google.client import GoogleClient
from connectors.google.ids import event_id
from connectors.google.retry import to_backend_error

log = logging.getLogger(__name__)

FREEBUSY_SPAN = timedelta(days=90)  # longest window freebusy.query accepts
FREEBUSY_CALENDARS = 50  # most calendars one freebusy.query accepts
MET_FRESH = 600.0  # seconds: the meetings stream read this recently stands for busy time
PAGE_SIZE = 2500  # largest maxResults of events.list


class GoogleBackend(CalendarBackend):
    """Salespeople's Google Calendars (see the module docs for how reads and writes work)."""

    name: ClassVar[str] = "google"
    config_schema: ClassVar[Schema] = google_config.SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = google_config.CONFIG_KEYS
    concurrent: ClassVar[bool] = True  # one session (HTTP connection) per owner
    batched_busy: ClassVar[bool] = True  # freebusy.query: 50 calendars a request

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.client = GoogleClient(config, context)
        self.calendar_id: str = self.client.settings["calendar_id"]
        self.send_updates: str = self.client.settings["send_updates"]

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The key file, token folder and client secrets of ``[calendar.google]``; see
        :func:`connectors.google.auth.check_local_files`."""
        return google_auth.check_local_files(section, base_dir, env)

    # ---------------------------------------------------------------------------- reading

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """All of cadence's events in ``owner``'s calendar, synced incrementally."""
        with self.client.guard(owner, "reading events"):
            owned = self._sync(owner)
        return [ev.remote_event(entry, owner) for entry in owned.values()]

    def forget_sync(self, owner: str) -> None:
        """Forget the sync token and the cached events: the next :meth:`list_owned` reads
        the whole calendar."""
        for key in self._state_keys(owner):
            self.context.state.set(key, None)

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Busy time of ``owner`` in ``[start, end)`` without cadence's own events."""
        require_aware(start, "busy start")
        require_aware(end, "busy end")
        if end <= start:
            return []
        with self.client.guard(owner, "reading free/busy"):
            calendars = {owner: self._busy_calendars(owner)}
            blocks = self._freebusy(owner, calendars, start, end)[owner]
            return self._busy_from(owner, blocks, start, end)

    def busy_many(
        self, owners: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval]]:
        """Busy time of many owners at once: one ``freebusy.query`` per 50 calendars (and per
        90 days of the window), asked as the first owner of each group (Workspace shares
        free/busy within the domain). An owner whose calendar the query could not see, or a
        group whose query failed, is left out: the cycle asks :meth:`busy` for them one by one.
        """
        require_aware(start, "busy start")
        require_aware(end, "busy end")
        calendars = {owner: self._busy_calendars(owner) for owner in owners}
        groups: list[list[str]] = [[]]
        for owner in owners:
            if sum(len(calendars[o]) for o in groups[-1]) + len(calendars[owner]) > (
                FREEBUSY_CALENDARS
            ):
                groups.append([])
            groups[-1].append(owner)
        found: dict[str, list[BusyInterval]] = {}
        for group in groups:
            if not group:
                continue
            asker = group[0]
            try:
                with self.client.guard(asker, "reading free/busy"):
                    blocks = self._freebusy(asker, {o: calendars[o] for o in group}, start, end)
            except BackendError as error:
                log.debug("google: free/busy of %d salespeople as %s: %s", len(group), asker, error)
                continue
            for owner, owner_blocks in blocks.items():
                try:
                    with self.client.guard(owner, "reading free/busy"):
                        found[owner] = self._busy_from(owner, owner_blocks, start, end)
                except BackendError as error:
                    log.debug("google: busy time of %s: %s", owner, error)
        return found

    def _busy_from(
        self,
        owner: str,
        raw: list[tuple[datetime, datetime]],
        start: datetime,
        end: datetime,
    ) -> list[BusyInterval]:
        """``owner``'s busy time from their free/busy blocks, without cadence's own events."""
        if end <= start:
            return []
        zone = self._zone(owner)
        blocks = ev.merge(raw)
        own = [
            interval
            for entry in self._owned(owner).values()
            if entry["status"] == "confirmed"
            and not entry["declined"]
            and not entry["transparent"]
            and (interval := ev.interval_of(entry, zone)) is not None
        ]
        clear: list[tuple[datetime, datetime]] = []
        unclear: list[tuple[datetime, datetime]] = []
        for block in blocks:
            touches = any(s < block[1] and e > block[0] for s, e in own)
            (unclear if touches else clear).append(block)
        exact = self._exact_busy(owner, unclear, zone) if unclear else []
        result = ev.merge(clear + exact)
        return [ev.busy_interval(max(s, start), min(e, end), zone) for s, e in result]

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Timed events in ``[start, end)`` that are not cadence's, with their attendees."""
        require_aware(start, "past_events start")
        require_aware(end, "past_events end")
        with self.client.guard(owner, "reading past events"):
            # Meetings with customers are in the primary calendar, wherever cadence books.
            items = self._window(owner, start, end, "primary")
        found = []
        for item in items:
            if ev.is_ours(item) or item.get("status") == "cancelled":
                continue
            event = ev.past_event(item, owner)
            if event is not None:
                found.append(event)
        return found

    def new_past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Meetings in ``[start, end)`` not reported before, read through a sync token (see
        the module docs): an unchanged calendar costs one small ``events.list``."""
        require_aware(start, "new_past_events start")
        require_aware(end, "new_past_events end")
        with self.client.guard(owner, "reading past events"):
            met = self._sync_met(owner, start)
        events = [e for e in met if start <= e.start < end]
        events.sort(key=lambda e: (e.start, e.remote_id))
        return unseen_past_events(self.context.state, past_events_key(owner), events, start)

    def _sync_met(self, owner: str, floor: datetime) -> list[PastEvent]:
        """Bring the kept meetings of ``owner`` (events with others in them, from ``floor``
        on) up to date through the sync token; returns them.

        The same stream keeps the salesperson's own busy events (opaque, not declined, not
        cadence's) with their times, so busy time can tell them from cadence's own events
        without reading the calendar again (:meth:`_their_busy`)."""
        key = f"google:met:{owner.lower()}"
        state = self.context.state
        saved = _load_json(state.get(key))
        floor_text = ev.rfc3339(floor)
        zone = self._zone(owner)
        items: list[dict[str, Any]] | None = None
        kept: dict[str, list[Any]] = {}
        busy: dict[str, list[str]] = {}
        token = saved.get("token")
        # A state kept before busy events were (no "busy") is read again in full, once.
        if token and saved.get("floor", "~") <= floor_text and "busy" in saved:
            kept = dict(saved.get("events") or {})
            busy = dict(saved.get("busy") or {})
            try:
                items, next_token = self._list_events(
                    owner, {"syncToken": token, "singleEvents": True}, "primary"
                )
            except HttpError as error:
                if error.status_code != 410:
                    raise
                log.info("google: past-event sync token of %s expired; reading again", owner)
                kept, busy = {}, {}
        if items is None:
            params = {"timeMin": floor_text, "singleEvents": True}
            items, next_token = self._list_events(owner, params, "primary")
            saved["floor"] = floor_text
        for item in items:
            event = None
            if item.get("status") != "cancelled" and not ev.is_ours(item):
                event = ev.past_event(item, owner)
            if event is None or not event.attendees:
                kept.pop(item["id"], None)  # gone, ours, all-day, or nobody else in it
            else:
                kept[item["id"]] = _met_to_json(event)
            interval = None
            if not ev.is_ours(item) and ev.blocks_time(item, owner):
                interval = ev.interval_of(item, zone)
            if interval is None:
                busy.pop(item["id"], None)
            else:
                busy[item["id"]] = [ev.rfc3339(interval[0]), ev.rfc3339(interval[1])]
        kept = {gid: data for gid, data in kept.items() if data[1] >= floor_text}
        busy = {gid: span for gid, span in busy.items() if ev.parse_time(span[1]) >= floor}
        saved.update(token=next_token, events=kept, busy=busy, synced=time.time())
        state.set(key, json.dumps(saved, sort_keys=True))
        return [_met_from_json(gid, data) for gid, data in kept.items()]

    def _their_busy(self, owner: str) -> list[tuple[datetime, datetime]] | None:
        """The salesperson's own busy events in their primary calendar, from the meetings
        stream: brought up to date first when it was last read more than ``MET_FRESH`` ago
        (the cycle reads it just before busy time); None when there is no stream yet."""
        key = f"google:met:{owner.lower()}"
        saved = _load_json(self.context.state.get(key))
        if not saved.get("token") or "busy" not in saved or "floor" not in saved:
            return None
        if time.time() - float(saved.get("synced") or 0) > MET_FRESH:
            self._sync_met(owner, ev.parse_time(saved["floor"]))
            saved = _load_json(self.context.state.get(key))
        return [(ev.parse_time(s), ev.parse_time(e)) for s, e in saved["busy"].values()]

    # ---------------------------------------------------------------------------- writing

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` in batch requests; one :class:`WriteResult` per op, in order."""
        if not ops:
            return []
        results: dict[int, WriteResult] = {}
        written: list[dict[str, Any]] = []  # event resources Google answered with
        calls: list[tuple[int, Callable[[], Any]]] = []
        links = self._known_links(owner, ops)
        with self.client.guard(owner, "writing events"):
            events_api = self.client.service(owner, "calendar").events()
            for index, op in enumerate(ops):
                if op_owner(op).lower() != owner.lower():
                    error = BackendError(f"{op_uid(op)}: belongs to {op_owner(op)}, not {owner}")
                    results[index] = WriteResult(op, error=error)
                    continue
                try:
                    calls.append((index, self._request_factory(events_api, op, links)))
                except (ValueError, KeyError) as error:
                    results[index] = WriteResult(op, error=BackendError(f"{op_uid(op)}: {error}"))
            outcomes = self._run(calls, "writing events")
            duplicates, stale = [], []
            for index, outcome in outcomes.items():
                op = ops[index]
                if isinstance(op, Create) and _status(outcome.error) == 409:
                    duplicates.append(index)
                elif isinstance(op, Update) and _status(outcome.error) == 412:
                    stale.append(index)
                else:
                    results[index] = self._result(op, outcome, owner, written)
            if duplicates:
                results.update(
                    self._resolve_duplicates(owner, events_api, ops, duplicates, written)
                )
            if stale:
                results.update(
                    self._resolve_stale(owner, events_api, ops, stale, outcomes, written)
                )
            self._show_links(owner, events_api, results, written)
            self._remember(owner, written, [r.op for r in results.values() if r.ok])
            # A part refused for its credentials means the whole owner is unusable: raise
            # inside the guard, so the session is dropped like any other auth failure.
            for result in results.values():
                if isinstance(result.error, AuthError):
                    raise result.error
        return [results[index] for index in range(len(ops))]

    def close(self) -> None:
        """Drop every session."""
        self.client.close()

    # ---------------------------------------------------------------------------- internals

    def _zone(self, owner: str) -> ZoneInfo:
        for person in self.context.salespeople:
            if person.email.lower() == owner.lower():
                return ZoneInfo(person.timezone)
        return ZoneInfo("UTC")

    def _state_keys(self, owner: str) -> tuple[str, str]:
        prefix = f"google:calendar:{owner.lower()}:{self.calendar_id}"
        return f"{prefix}:sync_token", f"{prefix}:owned"

    def _sync(self, owner: str) -> dict[str, dict[str, Any]]:
        """Bring the cache of our events up to date; returns it (event id -> compact entry)."""
        token_key, owned_key = self._state_keys(owner)
        state = self.context.state
        token, cached = state.get(token_key), state.get(owned_key)
        owned: dict[str, dict[str, Any]] = {}
        items: list[dict[str, Any]] | None = None
        if token and cached is not None:
            owned = json.loads(cached)
            try:
                items, next_token = self._list_events(owner, {"syncToken": token})
            except HttpError as error:
                if error.status_code != 410:
                    raise
                log.info("google: sync token of %s expired; reading the calendar again", owner)
                owned = {}
        if items is None:
            items, next_token = self._list_events(owner, {})
        for item in items:
            known = item["id"] in owned
            if item.get("status") == "cancelled":
                # Deleted events come back as bare {id, status}; only ours matter, and events
                # cadence cancelled itself were already dropped from the cache.
                if known:
                    owned[item["id"]]["status"] = "cancelled"
            elif ev.is_ours(item):
                owned[item["id"]] = ev.compact(item, owner)
            elif known:  # someone removed our tag: no longer ours to manage
                del owned[item["id"]]
        state.set(owned_key, json.dumps(owned, sort_keys=True))
        state.set(token_key, next_token)
        return owned

    def _list_events(
        self, owner: str, params: Mapping[str, Any], calendar: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of ``events.list`` with ``params``; the items and ``nextSyncToken``."""
        events_api = self.client.service(owner, "calendar").events()
        items: list[dict[str, Any]] = []
        page_token = None
        while True:
            query = dict(params, calendarId=calendar or self.calendar_id, maxResults=PAGE_SIZE)
            if page_token:
                query["pageToken"] = page_token
            page = self.client.retrier.execute(events_api.list, "events.list", **query)
            items.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, page.get("nextSyncToken")

    def _window(
        self, owner: str, start: datetime, end: datetime, calendar: str
    ) -> list[dict[str, Any]]:
        params = {"timeMin": ev.rfc3339(start), "timeMax": ev.rfc3339(end), "singleEvents": True}
        return self._list_events(owner, params, calendar)[0]

    def _busy_calendars(self, owner: str) -> list[str]:
        """The owner's primary calendar, plus the one cadence books into when that differs."""
        if self.calendar_id in ("primary", owner):
            return [owner]
        return [owner, self.calendar_id]

    def _freebusy(
        self, asker: str, calendars: Mapping[str, list[str]], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        """Busy blocks of each owner's ``calendars`` (at most 50 in all), asked as ``asker``:
        one query per 90 days of the window. An owner one of whose calendars the answer could
        not see is left out (raised instead when it is the only one asked about)."""
        freebusy_api = self.client.service(asker, "calendar").freebusy()
        ids = [calendar for owned in calendars.values() for calendar in owned]
        blocks: dict[str, list[tuple[datetime, datetime]]] = {o: [] for o in calendars}
        unseen: dict[str, str] = {}
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + FREEBUSY_SPAN)
            body = {
                "timeMin": ev.rfc3339(chunk_start),
                "timeMax": ev.rfc3339(chunk_end),
                "timeZone": "UTC",
                "items": [{"id": calendar} for calendar in ids],
            }
            answer = self.client.retrier.execute(freebusy_api.query, "freebusy.query", body=body)
            for owner, owned in calendars.items():
                for calendar in owned:
                    found = (answer.get("calendars") or {}).get(calendar) or {}
                    if found.get("errors"):
                        reasons = ", ".join(e.get("reason", "?") for e in found["errors"])
                        unseen[owner] = f"free/busy of {calendar} not available: {reasons}"
                    blocks[owner].extend(
                        (ev.parse_time(b["start"]), ev.parse_time(b["end"]))
                        for b in found.get("busy", [])
                    )
            chunk_start = chunk_end
        if len(calendars) == 1 and unseen:
            raise BackendError(next(iter(unseen.values())))
        return {owner: found for owner, found in blocks.items() if owner not in unseen}

    def _exact_busy(
        self, owner: str, blocks: list[tuple[datetime, datetime]], zone: ZoneInfo
    ) -> list[tuple[datetime, datetime]]:
        """The salesperson's own busy time inside ``blocks``, event by event: for the primary
        calendar from the meetings stream (:meth:`_their_busy`) when it was read lately, else
        (and for a second calendar cadence books into) read with ``events.list``."""
        low, high = blocks[0][0], max(e for _, e in blocks)
        theirs: list[tuple[datetime, datetime]] = []
        for calendar in self._busy_calendars(owner):
            kept = self._their_busy(owner) if calendar == owner else None
            if kept is not None:
                theirs += [(s, e) for s, e in kept if s < high and e > low]
                continue
            theirs += [
                interval
                for item in self._window(owner, low, high, calendar)
                if not ev.is_ours(item)
                and ev.blocks_time(item, owner)
                and (interval := ev.interval_of(item, zone)) is not None
            ]
        return [
            (max(s, bs), min(e, be)) for bs, be in blocks for s, e in theirs if s < be and e > bs
        ]

    def _run(self, calls: list[tuple[int, Callable[[], Any]]], what: str) -> dict[int, Outcome]:
        uri = batch_uri(self.client.endpoint, "calendar/v3")
        return run_batch(uri, calls, self.client.retrier, self.client.batch_size, what)

    def _request_factory(
        self, events_api: Any, op: WriteOp, links: Mapping[str, str]
    ) -> Callable[[], Any]:
        calendar, send = self.calendar_id, self.send_updates
        if isinstance(op, Create):
            body = ev.event_body(op.spec)
            return partial(
                events_api.insert,
                calendarId=calendar,
                body=body,
                sendUpdates=send,
                **_conference(body),
            )
        if isinstance(op, Update):
            target = op.remote_id or event_id(op.spec.uid)
            body = ev.event_body(op.spec, links.get(target, ""))
            etag = op.etag

            def update() -> Any:
                request = events_api.update(
                    calendarId=calendar,
                    eventId=target,
                    body=body,
                    sendUpdates=send,
                    **_conference(body),
                )
                if etag:
                    request.headers["If-Match"] = etag
                return request

            return update
        target = op.remote_id or event_id(op.uid)
        return partial(events_api.delete, calendarId=calendar, eventId=target, sendUpdates=send)

    def _result(
        self, op: WriteOp, outcome: Outcome, owner: str, written: list[dict[str, Any]]
    ) -> WriteResult:
        if outcome.error is None:
            if isinstance(op, Cancel):
                return WriteResult(op)
            written.append(outcome.response)
            return WriteResult(op, event=ev.remote_event(outcome.response, owner))
        if isinstance(op, Cancel) and _status(outcome.error) in (404, 410):
            return WriteResult(op)  # already gone: cancelling succeeded
        return WriteResult(op, error=to_backend_error(outcome.error, f"{op_uid(op)}"))

    def _resolve_duplicates(
        self,
        owner: str,
        events_api: Any,
        ops: Sequence[WriteOp],
        indexes: list[int],
        written: list[dict[str, Any]],
    ) -> dict[int, WriteResult]:
        """Creates that met an existing event of the same id: read it, update it if needed."""
        calendar, send = self.calendar_id, self.send_updates
        bodies = {i: ev.event_body(ops[i].spec) for i in indexes}  # type: ignore[union-attr]
        reads = self._run(
            [
                (i, partial(events_api.get, calendarId=calendar, eventId=bodies[i]["id"]))
                for i in indexes
            ],
            "reading duplicate events",
        )
        results: dict[int, WriteResult] = {}
        stale = []
        for index, outcome in reads.items():
            if outcome.error is None and ev.meet_link(outcome.response):
                spec = ops[index].spec  # type: ignore[union-attr]
                bodies[index] = ev.event_body(spec, ev.meet_link(outcome.response))
            if outcome.error is not None or ev.matches_spec(outcome.response, bodies[index]):
                results[index] = self._result(ops[index], outcome, owner, written)
            else:
                stale.append(index)
        updates = self._run(
            [
                (
                    i,
                    partial(
                        events_api.update,
                        calendarId=calendar,
                        eventId=bodies[i]["id"],
                        body=bodies[i],
                        sendUpdates=send,
                        **_conference(bodies[i]),
                    ),
                )
                for i in stale
            ],
            "updating duplicate events",
        )
        for index, outcome in updates.items():
            results[index] = self._result(ops[index], outcome, owner, written)
        return results

    def _resolve_stale(
        self,
        owner: str,
        events_api: Any,
        ops: Sequence[WriteOp],
        indexes: list[int],
        outcomes: Mapping[int, Outcome],
        written: list[dict[str, Any]],
    ) -> dict[int, WriteResult]:
        """Updates refused with 412 (the etag sent is stale): read each event back. When it
        already is what the update asked for, the update applied and its answer was lost (the
        connection dropped after Google applied it, and httplib2 or the retrier sent it again
        with the old etag): that is a success, never a person's change. Otherwise someone
        changed the event meanwhile, and the 412 stands (the next cycle reads it back)."""
        calendar = self.calendar_id
        bodies = {i: ev.event_body(ops[i].spec) for i in indexes}  # type: ignore[union-attr]
        targets = {i: ops[i].remote_id or bodies[i]["id"] for i in indexes}  # type: ignore[union-attr]
        reads = self._run(
            [
                (i, partial(events_api.get, calendarId=calendar, eventId=targets[i]))
                for i in indexes
            ],
            "reading events back after 412",
        )
        results: dict[int, WriteResult] = {}
        for index, read in reads.items():
            if read.error is None and ev.meet_link(read.response):  # shown: not a difference
                spec = ops[index].spec  # type: ignore[union-attr]
                bodies[index] = ev.event_body(spec, ev.meet_link(read.response))
            if read.error is None and ev.matches_spec(read.response, bodies[index]):
                results[index] = self._result(ops[index], read, owner, written)
            else:
                results[index] = self._result(ops[index], outcomes[index], owner, written)
        return results

    def _known_links(self, owner: str, ops: Sequence[WriteOp]) -> dict[str, str]:
        """The Meet links of the events in the cache, by event id (read only when an update
        of a Meet event is among ``ops``), so that rewriting one keeps its link shown."""
        if not any(isinstance(op, Update) and op.spec.video == "meet" for op in ops):
            return {}
        owned = _load_json(self.context.state.get(self._state_keys(owner)[1]))
        return {gid: str(item["link"]) for gid, item in owned.items() if item.get("link")}

    def _show_links(
        self,
        owner: str,
        events_api: Any,
        results: dict[int, WriteResult],
        written: list[dict[str, Any]],
    ) -> None:
        """Put the Meet link Google made into the location and both descriptions of the
        events written with ``video = "meet"`` that do not show it yet: one events.patch each
        (a conference still pending is read once first). Other events cost nothing. A patch
        that fails leaves the event as written (logged); the next write of it tries again."""
        answers = {item["id"]: item for item in written}
        meet = {
            index: answers[result.event.remote_id]
            for index, result in results.items()
            if isinstance(result.op, Create | Update) and result.op.spec.video == "meet"
            and result.event is not None and result.event.remote_id in answers
        }  # fmt: skip
        if not meet:
            return
        calendar, send = self.calendar_id, self.send_updates
        pending = [i for i, item in meet.items() if ev.conference_pending(item)]
        reads = self._run(
            [(i, partial(events_api.get, calendarId=calendar, eventId=meet[i]["id"]))
             for i in pending],
            "reading pending conferences",
        )  # fmt: skip
        for index, outcome in reads.items():
            if outcome.error is None:
                meet[index] = outcome.response
        patches = {}
        for index, item in meet.items():
            link = ev.meet_link(item)
            spec = results[index].op.spec  # type: ignore[union-attr]
            if link and not ev.shows_link(item, link):
                patches[index] = ev.link_patch(spec, link)
        outcomes = self._run(
            [(i, partial(events_api.patch, calendarId=calendar, eventId=meet[i]["id"],
                         body=body, sendUpdates=send)) for i, body in patches.items()],
            "showing Meet links",
        )  # fmt: skip
        for index, outcome in outcomes.items():
            op = results[index].op
            if outcome.error is not None:
                log.warning("Google event %s of %s keeps its Meet link out of its text: %s",
                            op_uid(op), owner, outcome.error)  # fmt: skip
                continue
            written.append(outcome.response)
            results[index] = WriteResult(op, event=ev.remote_event(outcome.response, owner))

    def _owned(self, owner: str) -> dict[str, dict[str, Any]]:
        """Our events as last synced or written (synced now when nothing is cached)."""
        cached = self.context.state.get(self._state_keys(owner)[1])
        return self._sync(owner) if cached is None else json.loads(cached)

    def _remember(self, owner: str, written: list[dict[str, Any]], done: list[WriteOp]) -> None:
        """Put what a write made into the cache; drop what cadence cancelled, so a cancellation
        of ours does not read as one by the salesperson. The next sync confirms both."""
        _, owned_key = self._state_keys(owner)
        cached = self.context.state.get(owned_key)
        if cached is None:
            return  # nothing synced yet: the first sync reads everything anyway
        owned = json.loads(cached)
        for item in written:
            owned[item["id"]] = ev.compact(item, owner)
        for op in done:
            if isinstance(op, Cancel):
                owned.pop(op.remote_id or event_id(op.uid), None)
        self.context.state.set(owned_key, json.dumps(owned, sort_keys=True))


def _load_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _met_to_json(event: PastEvent) -> list[Any]:
    return [
        event.title,
        ev.rfc3339(event.start),
        ev.rfc3339(event.end),
        list(event.attendees),
        event.declined,
    ]


def _met_from_json(remote_id: str, data: list[Any]) -> PastEvent:
    title, start, end, attendees, declined = data
    return PastEvent(
        remote_id=remote_id,
        start=ev.parse_time(start),
        end=ev.parse_time(end),
        title=title,
        attendees=tuple(attendees),
        declined=bool(declined),
    )


def op_uid(op: WriteOp) -> str:
    """The uid an operation concerns (for messages)."""
    return op.uid if isinstance(op, Cancel) else op.spec.uid


def op_owner(op: WriteOp) -> str:
    """The owner an operation is meant for."""
    return op.owner if isinstance(op, Cancel) else op.spec.owner


def _status(error: BaseException | None) -> int | None:
    return error.status_code if isinstance(error, HttpError) else None


def _conference(body: dict[str, Any]) -> dict[str, int]:
    """The ``conferenceDataVersion`` parameter of a write (left out when it is the default)."""
    version = ev.conference_version(body)
    return {"conferenceDataVersion": version} if version else {}
