"""The ``outlook`` calendar backend: salespeople's Microsoft 365 calendars through Graph.

How each part of the contract is met:

* **Busy time** of one owner (:meth:`OutlookBackend.busy`) comes from
  ``/users/{owner}/calendarView``: only the event view can tell cadence's own events (which carry
  our extended property) from the salesperson's, and ``busy()`` must leave ours out. Events shown
  as ``free`` or ``workingElsewhere``, cancelled ones and ones the owner declined do not block
  time; all-day busy events (out of office) come back as whole local days with ``all_day=True``.
  :meth:`OutlookBackend.busy_many` answers for a whole team through ``getSchedule`` (20
  mailboxes and less than 62 days per request), taking our events out by matching (see
  :mod:`.schedule`).
* **Our events** are found by their ``cadence_owned`` extended property (a ``$filter`` query
  whose first page goes in one ``$batch`` with the first page of a new delta round: the *full
  read*; every read names the extended properties in ``$select`` as well as ``$expand``, and
  an event found without its uid is identified by its known Graph id or read again, see
  :meth:`OutlookBackend._full_read`); afterwards ``/users/{owner}/calendarView/delta`` reports
  what changed. The delta
  link, the delta window and what we know of our events are kept per owner in the
  :class:`StateStore`; when the server says the sync state is gone (410, ``SyncStateNotFound``,
  ``resyncRequired``) or the state is lost, the next call does a full read again. Delta answers
  carry no extended properties, so changes are matched to our events by Graph id; an event the
  delta reports ``@removed`` is looked up once, because leaving the delta window (moved far away)
  is reported the same way as a deletion.
* **Past meetings** (:meth:`OutlookBackend.new_past_events`) come from a second
  ``calendarView/delta`` stream whose window starts at the lookback floor (and reaches two years
  ahead, renewed by a full read after a year): an unchanged calendar costs one delta request
  whose answer is empty, and a meeting entered today for last month arrives in it, whatever its
  date. Meetings with other people in them are kept in the state until their time has passed
  (one booked ahead never changes when its day comes); which were reported is remembered by
  digest (:func:`connectors.base.unseen_past_events`), so each is reported once, and again only
  when moved or when its attendees or answers changed. cadence's own events are told apart by
  the Graph ids :meth:`list_owned` keeps (delta answers carry no extended properties).
* **Writes** go out as ``$batch`` requests of at most 20 parts (each mailbox's parts chained
  into at most 4 sequences, :func:`connectors.outlook.client._chained`). A create carries a
  ``transactionId`` derived from the booking uid, which Graph deduplicates on, and its uid is
  recorded as *pending* in the state before it is sent: if the answer is lost, the next write
  looks the uid up before creating again, so a lost response never makes a second event. The
  events updates and cancels go to are recorded as *unsure* before they are sent; an answer
  that leaves the outcome unknown (409, 412, 5xx) is settled at once by reading the event back
  (:meth:`OutlookBackend._read_back`), and when no answer came at all the next read reads the
  unsure events back whole (a delta answer would keep their old tags).
* **Invitations.** When a spec has attendees, Graph (Exchange) sends the meeting invitations and,
  on cancellation through ``/cancel``, the cancellation notices itself. cadence must therefore
  never also send an iMIP invite by e-mail for an Outlook event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from cadence.values.model import BusyInterval
from cadence.values.schema import Schema
from connectors.base import (
    BackendContext,
    BackendError,
    CalendarBackend,
    Cancel,
    Create,
    EventSpec,
    NotFoundError,
    PastEvent,
    RemoteEvent,
    Update,
    WriteOp,
    WriteResult,
    past_events_key,
    unseen_past_events,
)
from connectors.common.days import local_midnight
from connectors.common.validation import require_aware
from connectors.outlook.auth import GraphAuth, check_local_files
from connectors.outlook.client import PREFER_UTC, BatchRequest, GraphClient, Reply, SyncStateGone
from connectors.outlook.schedule import NOT_BUSY, OwnInterval, schedule_busy
from connectors.outlook.settings import CONFIG_KEYS, SCHEMA, OutlookSettings
from connectors.outlook.wire import (
    EVENT_FIELDS,
    EXPAND_PROPS,
    OWNED_FILTER,
    UID_PROP,
    event_body,
    event_from_json,
    event_span,
    event_to_json,
    event_uid,
    is_owned,
    join_url,
    link_body,
    property_filter,
    remote_event,
    shows_link,
    transaction_id,
    utc_text,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 200
# The delta window: from a month back to two years ahead, renewed (full read) after a year.
DELTA_BACK = timedelta(days=31)
DELTA_AHEAD = timedelta(days=731)
DELTA_RENEW = timedelta(days=365)
_PAGED = {"Prefer": f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"}


def connect(settings: OutlookSettings, context: BackendContext) -> GraphClient:
    """A :class:`GraphClient` for ``settings`` (shared by the calendar backend and mail)."""
    auth = GraphAuth(settings, context.env)
    return GraphClient(
        settings.graph_endpoint,
        auth,
        max_retries=settings.max_retries,
        timeout=settings.timeout,
        sleep=context.sleep,
        verify=str(settings.ca_bundle) if settings.ca_bundle else True,
    )


def user_path(owner: str) -> str:
    """``/users/{owner}`` with the address escaped for a URL path."""
    return f"/users/{quote(owner, safe='@')}"


@dataclass
class OwnerCalendar:
    """What we keep per owner between calls (JSON in the state store)."""

    delta: str | None = None
    window_start: datetime | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # Graph id -> event_to_json
    pending: set[str] = field(default_factory=set)  # uids of creates with unknown outcome
    # Graph ids of our events an update or cancel was sent to whose outcome is unknown: what
    # is stored of them may be stale (a delta answer has no extended properties to correct
    # the tags), so the next read reads each back whole.
    unsure: set[str] = field(default_factory=set)

    def by_uid(self) -> dict[str, str]:
        return {data["uid"]: gid for gid, data in self.events.items()}

    def dumps(self) -> str:
        return json.dumps(
            {
                "delta": self.delta,
                "window_start": self.window_start.isoformat() if self.window_start else None,
                "events": self.events,
                "pending": sorted(self.pending),
                "unsure": sorted(self.unsure),
            }
        )

    @classmethod
    def loads(cls, text: str) -> OwnerCalendar:
        data = json.loads(text)
        start = data.get("window_start")
        return cls(
            delta=data.get("delta"),
            window_start=datetime.fromisoformat(start) if start else None,
            events=dict(data.get("events") or {}),
            pending=set(data.get("pending") or ()),
            unsure=set(data.get("unsure") or ()),
        )


class GraphUser:
    """What the calendar backend and the mail source share: the settings of the
    ``[calendar.outlook]`` section and one Graph client, made on first use."""

    config_schema: ClassVar[Schema | None] = SCHEMA
    config_keys = CONFIG_KEYS
    context: BackendContext

    def _setup_graph(self, config: Mapping[str, Any], context: BackendContext) -> None:
        self.settings = OutlookSettings.from_config(config, context.base_dir, context.env)
        self._graph: GraphClient | None = None

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The token cache (safe to read, writable where it is), the certificate file and the
        CA bundle of ``[calendar.outlook]``; see :func:`connectors.outlook.auth.check_local_files`.
        """
        return check_local_files(section, base_dir, env)

    @property
    def graph(self) -> GraphClient:
        """The Graph client, made on first use."""
        if self._graph is None:
            self._graph = connect(self.settings, self.context)
        return self._graph

    def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        if self._graph is not None:
            self._graph.close()
            self._graph = None


class OutlookBackend(GraphUser, CalendarBackend):
    """Salespeople's calendars in Microsoft 365 / Exchange Online, through Microsoft Graph."""

    name = "outlook"
    write_batch = 20  # Graph's $batch limit
    batched_busy = True  # getSchedule: 20 mailboxes a request

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the validated ``[calendar.outlook]`` section; nothing is sent yet."""
        super().__init__(config, context)
        self._setup_graph(config, context)

    # ---------------------------------------------------------------------------- reading time

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Busy time of ``owner`` in ``[start, end)`` from calendarView, without our events
        (recognised by their extended property, or by the Graph ids :meth:`list_owned` keeps)."""
        zone = self._zone(owner)
        known = self._load(owner)
        ours = set(known.events) if known else set()
        out = []
        for item in self._view(owner, start, end):
            if is_owned(item) or str(item.get("id")) in ours:
                continue
            if item.get("isCancelled") or _declined(item):
                continue
            if item.get("showAs") in NOT_BUSY:
                continue
            first, last, all_day = event_span(item)
            out.append(BusyInterval(*_instants(first, last, zone), all_day=all_day))
        return sorted(out, key=lambda b: (b.start, b.end))

    def busy_many(
        self, owners: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval] | BackendError]:
        """Busy time of several owners at once through ``getSchedule`` (20 mailboxes and 61
        days per request), each owner's result or error; same meaning as :meth:`busy`.

        Our own events are recognised by time and status from what :meth:`list_owned` last
        saw, so call this after ``list_owned`` in a cycle (an owner never read is read first).
        Whole-call failures (auth, throttling beyond the retries) raise.
        """
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return {owner: [] for owner in owners}
        result: dict[str, list[BusyInterval] | BackendError] = {}
        own: dict[str, list[OwnInterval]] = {}
        for owner in owners:
            try:
                calendar = self._load(owner) or self._sync(owner)
            except BackendError as exc:  # this mailbox only
                result[owner] = exc
                continue
            zone = self._zone(owner)
            own[owner] = [
                (*_instants(event.start, event.end, zone), data.get("show_as", "busy"))
                for data in calendar.events.values()
                if data.get("show_as", "busy") not in NOT_BUSY
                and (event := event_from_json(owner, data)).status != "cancelled"
            ]
        healthy = [owner for owner in owners if owner in own]
        if healthy:
            path = f"{user_path(healthy[0])}/calendar/getSchedule"
            zones = {owner: self._zone(owner) for owner in healthy}
            result.update(schedule_busy(self.graph, path, healthy, start, end, zones, own))
        return {owner: result[owner] for owner in owners}

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """The owner's own meetings in ``[start, end)`` (not cadence's), with attendees."""
        zone = self._zone(owner)
        out = [
            _past_event(item, owner, zone)
            for item in self._view(owner, start, end)
            if not is_owned(item) and not item.get("isCancelled")
        ]
        return sorted(out, key=lambda p: (p.start, p.remote_id))

    def new_past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Meetings in ``[start, end)`` not reported before, read through a delta link of their
        own (see the module docs): an unchanged calendar costs one small delta request."""
        require_aware(start, "start")
        require_aware(end, "end")
        met = self._sync_met(owner, start, end)
        ours = (self._load(owner) or self._sync(owner)).events
        events = [e for gid, e in met.items() if gid not in ours and start <= e.start < end]
        events.sort(key=lambda e: (e.start, e.remote_id))
        return unseen_past_events(self.context.state, past_events_key(owner), events, start)

    def _sync_met(self, owner: str, floor: datetime, now: datetime) -> dict[str, PastEvent]:
        """The kept meetings of ``owner`` (events with others in them, from ``floor`` on),
        brought up to date through their delta link; a full read of the window when there is
        none, it no longer reaches back to ``floor`` or far enough ahead, or Graph lost it."""
        key = f"outlook:{owner.lower()}:met"
        try:
            saved = json.loads(self.context.state.get(key) or "{}")
            window = (datetime.fromisoformat(saved["from"]), datetime.fromisoformat(saved["to"]))
            link, kept = str(saved["delta"]), dict(saved["events"])
        except (ValueError, KeyError, TypeError):
            window, link, kept = None, "", {}
        stale = window is None or window[0] > floor or window[1] < now + DELTA_AHEAD - DELTA_RENEW
        if not stale:
            try:
                link = self._read_met(owner, kept, link, None)
            except SyncStateGone as exc:
                log.info(
                    "Outlook sync state of %s's meetings is gone (%s): reading again", owner, exc
                )
                stale = True
        if stale:
            window, kept = (floor, now + DELTA_AHEAD), {}
            params = {"startDateTime": utc_text(window[0]), "endDateTime": utc_text(window[1])}
            link = self._read_met(owner, kept, f"{user_path(owner)}/calendarView/delta", params)
        assert window is not None
        floor_text = utc_text(floor)
        kept = {gid: data for gid, data in kept.items() if data[1] >= floor_text}
        self.context.state.set(
            key,
            json.dumps(
                {
                    "from": window[0].isoformat(),
                    "to": window[1].isoformat(),
                    "delta": link,
                    "events": kept,
                }
            ),
        )
        return {gid: _met_from_json(gid, data) for gid, data in kept.items()}

    def _read_met(
        self,
        owner: str,
        kept: dict[str, list[Any]],
        url: str,
        params: Mapping[str, str] | None,
    ) -> str:
        """One round of the meetings' delta into ``kept``; the new delta link."""
        zone = self._zone(owner)
        link = None
        for page in self.graph.pages(url, params, headers=_PAGED):
            for item in page.get("value") or ():
                gid = str(item.get("id"))
                event = None
                if "@removed" not in item and not item.get("isCancelled"):
                    event = _past_event(item, owner, zone)
                if event is None or not event.attendees:
                    kept.pop(gid, None)  # gone, cancelled, or nobody else in it
                else:
                    kept[gid] = _met_to_json(event)
            link = page.get("@odata.deltaLink") or link
        if not link:
            raise BackendError("calendarView/delta ended without an @odata.deltaLink")
        return str(link)

    def _view(self, owner: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return
        params = {
            "startDateTime": utc_text(start),
            "endDateTime": utc_text(end),
            "$select": EVENT_FIELDS,
            "$expand": EXPAND_PROPS,
            "$top": str(PAGE_SIZE),
        }
        for page in self.graph.pages(f"{user_path(owner)}/calendarView", params, headers=_PAGED):
            yield from page.get("value") or ()

    # ---------------------------------------------------------------------------- our events

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in ``owner``'s calendar as they are now (delta since last call)."""
        calendar = self._sync(owner)
        events = [event_from_json(owner, data) for data in calendar.events.values()]
        return sorted(events, key=lambda e: e.uid)

    def forget_sync(self, owner: str) -> None:
        """Forget the delta link and what is known of ``owner``'s events: the next
        :meth:`list_owned` is a full read."""
        self.context.state.set(self._state_key(owner), None)

    def _sync(self, owner: str) -> OwnerCalendar:
        calendar = self._load(owner)
        now = self._now()
        stale = (
            calendar is None
            or calendar.delta is None
            or calendar.window_start is None
            or now - calendar.window_start > DELTA_RENEW
        )
        if calendar is None or stale:
            calendar = self._full_read(owner, now, calendar)
        else:
            try:
                self._read_delta(owner, calendar, calendar.delta or "", None)
            except SyncStateGone as exc:
                log.info("Outlook sync state of %s is gone (%s): reading again", owner, exc)
                calendar = self._full_read(owner, now, calendar)
        if calendar.unsure:
            self._read_unsure(owner, calendar)
        self._save(owner, calendar)
        return calendar

    def _read_unsure(self, owner: str, calendar: OwnerCalendar) -> None:
        """Read back, whole, the events whose last write has an unknown outcome."""
        gids = sorted(calendar.unsure & set(calendar.events))
        calendar.unsure.clear()
        for gid, reply in zip(
            gids, self.graph.batch([_get(owner, gid) for gid in gids]), strict=True
        ):
            if reply.status == 404:
                calendar.events.pop(gid, None)
            elif reply.ok and event_uid(reply.body):
                self._remember(owner, calendar, reply.body, None)
            else:
                calendar.unsure.add(gid)
                if not reply.ok:
                    raise reply.error("GET event")

    def _full_read(
        self, owner: str, now: datetime, previous: OwnerCalendar | None = None
    ) -> OwnerCalendar:
        """Every event of ours (by extended property), then a fresh delta link.

        An event the ``$filter`` finds but answered without its uid (a server leaving the
        extended properties out of a list) is identified by what ``previous`` knew of its
        Graph id, else read again on its own; one still without a uid stops the read
        (BackendError): taking it for gone would count a booking as deleted by the person."""
        start = now - DELTA_BACK
        calendar = OwnerCalendar(window_start=start)
        # The first page of our events and of a fresh delta round, in one $batch.
        params = {"$filter": OWNED_FILTER, "$expand": EXPAND_PROPS, "$select": EVENT_FIELDS}
        window = {"startDateTime": utc_text(start), "endDateTime": utc_text(start + DELTA_AHEAD)}
        firsts = [
            BatchRequest("GET", f"{user_path(owner)}/{what}?" + urlencode(query, quote_via=quote))
            for what, query in (("events", params), ("calendarView/delta", window))
        ]
        listed, delta = self.graph.batch([replace(r, headers=_PAGED) for r in firsts])
        for reply, what in ((listed, "GET events"), (delta, "GET calendarView/delta")):
            if not reply.ok or not isinstance(reply.body, dict):
                raise reply.error(what)
        unnamed: list[dict[str, Any]] = []
        for page in self.graph.pages("", headers=_PAGED, first=listed.body):
            for item in page.get("value") or ():
                if event_uid(item):
                    self._remember(owner, calendar, item, None)
                else:
                    unnamed.append(item)
        if unnamed:
            self._identify(owner, calendar, unnamed, previous)
        # The full read is authoritative: a pending create it does not show never happened.
        self._read_delta(owner, calendar, "", None, first=delta.body)
        return calendar

    def _identify(
        self,
        owner: str,
        calendar: OwnerCalendar,
        items: Sequence[dict[str, Any]],
        previous: OwnerCalendar | None,
    ) -> None:
        """Remember our events that came without their extended properties (see
        :meth:`_full_read`): by what was known of their Graph id, else each read again."""
        known = previous.events if previous else {}
        again = []
        for item in items:
            gid = str(item.get("id"))
            if gid in known:
                self._remember(owner, calendar, item, event_from_json(owner, known[gid]))
            else:
                again.append(gid)
        if not again:
            return
        query = urlencode({"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS}, quote_via=quote)
        requests_ = [
            BatchRequest("GET", f"{user_path(owner)}/events/{gid}?{query}") for gid in again
        ]
        blind = 0
        for reply in self.graph.batch(requests_):
            if reply.status == 404:
                continue  # deleted since the list was read
            if not reply.ok:
                raise reply.error("GET event")
            if event_uid(reply.body):
                self._remember(owner, calendar, reply.body, None)
            else:
                blind += 1
        if blind:
            raise BackendError(
                f"Graph answered {blind} of cadence's events in {owner}'s calendar without their "
                "extended properties (cadence_uid), even read one by one: they cannot be told "
                "apart, so nothing is read as changed or written there until they can"
            )

    def _read_delta(
        self,
        owner: str,
        calendar: OwnerCalendar,
        url: str,
        params: Mapping[str, str] | None,
        first: Mapping[str, Any] | None = None,
    ) -> None:
        removed: list[str] = []
        link = None
        for page in self.graph.pages(url, params, headers=_PAGED, first=first):
            for item in page.get("value") or ():
                gid = str(item.get("id"))
                if gid not in calendar.events:
                    continue  # not ours: delta answers carry no extended properties
                if "@removed" in item:
                    removed.append(gid)
                else:
                    known = event_from_json(owner, calendar.events[gid])
                    self._remember(owner, calendar, item, known)
            link = page.get("@odata.deltaLink") or link
        if not link:
            raise BackendError("calendarView/delta ended without an @odata.deltaLink")
        calendar.delta = link
        for gid in removed:
            # Deleted, or moved out of the delta window? Only the event itself can tell.
            reply = self.graph.call(
                "GET",
                f"{user_path(owner)}/events/{gid}",
                params={"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS},
            )
            if reply.status == 404:
                calendar.events.pop(gid, None)
            elif reply.ok:
                self._remember(owner, calendar, reply.body, None)
            else:
                raise reply.error("GET event")

    def _remember(
        self,
        owner: str,
        calendar: OwnerCalendar,
        item: Mapping[str, Any],
        known: RemoteEvent | None,
        has_attendees: bool | None = None,
        sequence: int | None = None,
    ) -> RemoteEvent:
        event = remote_event(owner, item, known, sequence)
        if has_attendees is None:
            has_attendees = bool(item.get("attendees"))
        stored = event_to_json(event, has_attendees)
        gid = str(item["id"])
        before = calendar.events.get(gid, {})
        stored["show_as"] = item.get("showAs") or before.get("show_as") or "busy"
        link = join_url(item) or before.get("join_url")
        if link:
            stored["join_url"] = link  # its Teams link, kept shown by cadence's later writes
        calendar.events[gid] = stored
        calendar.pending.discard(event.uid)
        return event

    # ---------------------------------------------------------------------------- writing

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` through ``$batch``; idempotent on uid (see the module docs)."""
        if not ops:
            return []
        calendar = self._load(owner)
        if calendar is None:
            calendar = self._sync(owner)  # a full read: every uid of ours is then known
        self._look_up(owner, calendar, ops)
        results: dict[int, WriteResult] = {}
        sent: list[tuple[int, BatchRequest]] = []
        by_uid = calendar.by_uid()
        for index, op in enumerate(ops):
            try:
                request = self._request(owner, calendar, by_uid, op)
            except ValueError as exc:  # a spec Graph cannot take (naive time, bad zone...)
                request = WriteResult(op, error=BackendError(f"invalid event: {exc}"))
            if isinstance(request, WriteResult):
                results[index] = request
            else:
                sent.append((index, request))
        # Record what is sent before sending: pending creates, and the events an update or a
        # cancel goes to, so that a crash or a lost answer leaves them known to be unsure.
        calendar.unsure.update(
            _event_id(r.url) for _, r in sent if r.method != "POST" or "/cancel" in r.url
        )
        self._save(owner, calendar)
        try:
            replies = self.graph.batch([request for _, request in sent])
            retry: list[tuple[int, BatchRequest]] = []
            unclear: set[int] = set()  # answered in a way that leaves the outcome unknown
            links: dict[int, str] = {}  # Teams links the event has but does not show yet
            for (index, request), reply in zip(sent, replies, strict=True):
                op = ops[index]
                if reply.status in UNCLEAR:
                    unclear.add(index)
                if isinstance(op, Create) and request.method == "PATCH" and reply.status == 404:
                    # Ours once, deleted in Outlook since: the create makes it anew, under a
                    # transactionId of its own (the first one belongs to the deleted event).
                    gone = _event_id(request.url)
                    calendar.events.pop(gone, None)
                    retry.append((index, self._create_request(calendar, op.spec, gone)))
                    continue
                results[index] = self._result(owner, calendar, op, request, reply)
                links[index] = _unshown_link(op, reply)
            if retry:
                replies = self.graph.batch([request for _, request in retry])
                for (index, request), reply in zip(retry, replies, strict=True):
                    if reply.status in UNCLEAR:
                        unclear.add(index)
                    results[index] = self._result(owner, calendar, ops[index], request, reply)
                    links[index] = _unshown_link(ops[index], reply)
            self._read_back(owner, calendar, results, unclear)
            self._show_links(owner, calendar, results, links)
        finally:
            self._save(owner, calendar)
        return [results[i] for i in range(len(ops))]

    def _show_links(
        self,
        owner: str,
        calendar: OwnerCalendar,
        results: dict[int, WriteResult],
        links: dict[int, str],
    ) -> None:
        """Put the Teams link Exchange made (``links``: by op index, from the write's answer)
        into the location and both descriptions of the events that do not show it yet: one
        PATCH each, in one more ``$batch``. Events without Teams, or already showing their link
        (cadence's later writes include it), cost nothing. A PATCH that fails leaves the event
        as written, without its link shown until cadence next writes it, and is logged."""
        wanted = {
            index: link
            for index, link in links.items()
            if link and results[index].ok and results[index].event is not None
        }
        if not wanted:
            return
        requests_: dict[int, BatchRequest] = {}
        for index, link in wanted.items():
            op, event = results[index].op, results[index].event
            assert isinstance(op, Create | Update) and event is not None
            path = f"{user_path(owner)}/events/{event.remote_id}"
            requests_[index] = BatchRequest("PATCH", path, link_body(op.spec, link))
        replies = self.graph.batch(list(requests_.values()))
        for index, reply in zip(requests_, replies, strict=True):
            op, event = results[index].op, results[index].event
            assert isinstance(op, Create | Update) and event is not None
            if not (reply.ok and isinstance(reply.body, dict)):
                log.warning(
                    "Outlook event %s of %s keeps its Teams link out of its text: %s",
                    op.spec.uid, owner, reply.error("PATCH event"),
                )  # fmt: skip
                continue
            shown = self._remember(
                owner, calendar, reply.body, event, bool(op.spec.attendees), event.sequence
            )
            results[index] = WriteResult(op, event=shown)

    def _read_back(
        self,
        owner: str,
        calendar: OwnerCalendar,
        results: dict[int, WriteResult],
        unclear: set[int],
    ) -> None:
        """Settle the writes whose answer leaves their outcome unknown (``unclear``) by
        reading the event back and comparing it with what was asked: a create answered 409, an
        update or cancel answered 412 (its If-Match etag is stale when an earlier copy of the
        same request applied, its answer lost), a 5xx left after the retries (a 429 was not
        applied: nothing to read). A create is done when its uid is there; an update when the
        event shows the spec's times and tags; a cancel when the event is gone. Otherwise the
        error stands and the cycle decides again."""
        doubtful = {
            index: result for index, result in results.items() if index in unclear and not result.ok
        }
        if not doubtful:
            return
        requests_: dict[int, BatchRequest] = {}
        by_uid = calendar.by_uid()
        for index, result in doubtful.items():
            op = result.op
            if isinstance(op, Create):
                query = {"$filter": property_filter(UID_PROP, op.spec.uid), **_READ}
                url = f"{user_path(owner)}/events?" + urlencode(query, quote_via=quote)
                requests_[index] = BatchRequest("GET", url)
            elif gid := op.remote_id or by_uid.get(
                op.uid if isinstance(op, Cancel) else op.spec.uid
            ):
                requests_[index] = _get(owner, gid)
        replies = self.graph.batch(list(requests_.values()))
        for index, reply in zip(requests_, replies, strict=True):
            result = doubtful[index]
            settled = self._compare(owner, calendar, result.op, reply)
            if settled is not None:
                log.info(
                    "Outlook %s of %s in %s: the answer was %s, the calendar shows it done",
                    type(result.op).__name__.lower(),
                    result.op.uid if isinstance(result.op, Cancel) else result.op.spec.uid,
                    owner,
                    result.error,
                )
                results[index] = settled

    def _compare(
        self, owner: str, calendar: OwnerCalendar, op: WriteOp, reply: Reply
    ) -> WriteResult | None:
        """``op``'s result when the event read back (``reply``) shows it done, else None."""
        if isinstance(op, Cancel):
            body = reply.body if isinstance(reply.body, dict) else {}
            if reply.status == 404 or (reply.ok and body.get("isCancelled")):
                gid = op.remote_id or calendar.by_uid().get(op.uid) or ""
                calendar.events.pop(gid, None)
                calendar.unsure.discard(gid)
                return WriteResult(op)
            return None
        if not reply.ok or not isinstance(reply.body, dict):
            return None
        spec = op.spec
        items = reply.body.get("value") if isinstance(op, Create) else [reply.body]
        for item in items or ():
            if event_uid(item) != spec.uid:
                continue
            seen = remote_event(owner, item, None)
            asked = (spec.start, spec.end, dict(spec.tags))
            if isinstance(op, Update) and (seen.start, seen.end, seen.tags) != asked:
                return None  # not (or not only) what was asked: the next cycle decides
            gid = str(item["id"])
            before = calendar.events.get(gid, {})
            sequence = int(before.get("sequence", -1)) + 1 if isinstance(op, Update) else 0
            event = self._remember(
                owner, calendar, item, None, bool(spec.attendees), max(sequence, 0)
            )
            calendar.unsure.discard(gid)
            return WriteResult(op, event=event)
        return None

    def _look_up(self, owner: str, calendar: OwnerCalendar, ops: Sequence[WriteOp]) -> None:
        """Find by uid the events we may have but do not know: creates whose answer was lost,
        and updates or cancels of uids we have not seen (with no remote id to go by)."""
        known = calendar.by_uid()
        wanted = []
        for op in ops:
            uid = op.uid if isinstance(op, Cancel) else op.spec.uid
            given_id = None if isinstance(op, Create) else op.remote_id
            if uid in known or given_id or uid in wanted:
                continue
            if isinstance(op, Create) and uid not in calendar.pending:
                continue
            wanted.append(uid)
        if not wanted:
            return
        query = {"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS}
        requests_ = [
            BatchRequest(
                "GET",
                f"{user_path(owner)}/events?"
                + urlencode({"$filter": property_filter(UID_PROP, uid), **query}, quote_via=quote),
            )
            for uid in wanted
        ]
        for uid, reply in zip(wanted, self.graph.batch(requests_), strict=True):
            if not reply.ok:
                raise reply.error("GET events by uid")
            for item in (reply.body or {}).get("value") or ():
                self._remember(owner, calendar, item, None)
            calendar.pending.discard(uid)  # looked up: now we know whether it exists

    def _request(
        self, owner: str, calendar: OwnerCalendar, by_uid: dict[str, str], op: WriteOp
    ) -> BatchRequest | WriteResult:
        """The Graph request for ``op``, or its result when nothing needs sending."""
        if isinstance(op, Cancel):
            gid = op.remote_id or by_uid.get(op.uid)
            if op.owner.lower() != owner.lower():
                return WriteResult(op, error=BackendError(f"cancel for {op.owner} sent to {owner}"))
            if gid is None:
                return WriteResult(op)  # already gone
            headers = {"If-Match": op.etag} if op.etag else {}
            path = f"{user_path(owner)}/events/{gid}"
            if calendar.events.get(gid, {}).get("attendees"):
                # The organizer's cancel: Exchange notifies the attendees and removes the event.
                return BatchRequest(
                    "POST", f"{path}/cancel", {"comment": "Cancelled by cadence."}, headers
                )
            return BatchRequest("DELETE", path, None, headers)
        spec = op.spec
        if spec.owner.lower() != owner.lower():
            return WriteResult(op, error=BackendError(f"event for {spec.owner} sent to {owner}"))
        gid = (op.remote_id if isinstance(op, Update) else None) or by_uid.get(spec.uid)
        if gid is not None:
            etag = op.etag if isinstance(op, Update) else None
            link = str(calendar.events.get(gid, {}).get("join_url") or "")
            return BatchRequest(
                "PATCH",
                f"{user_path(owner)}/events/{gid}",
                event_body(spec, create=False, join_url=link),
                {"If-Match": etag} if etag else {},
            )
        if isinstance(op, Update):
            return WriteResult(op, error=NotFoundError(f"no event with uid {spec.uid}"))
        return self._create_request(calendar, spec)

    def _create_request(
        self, calendar: OwnerCalendar, spec: EventSpec, replacing: str = ""
    ) -> BatchRequest:
        body = event_body(spec, create=True)  # a spec Graph cannot take raises before pending
        if replacing:
            body["transactionId"] = transaction_id(f"{spec.uid}/{replacing}")
        calendar.pending.add(spec.uid)
        return BatchRequest("POST", f"{user_path(spec.owner)}/events", body)

    def _result(
        self,
        owner: str,
        calendar: OwnerCalendar,
        op: WriteOp,
        request: BatchRequest,
        reply: Reply,
    ) -> WriteResult:
        if reply.status in (401, 403):
            raise reply.error(f"{request.method} event")  # the whole mailbox is out of reach
        gid = _event_id(request.url)
        if reply.ok or reply.status == 404:
            calendar.unsure.discard(gid)  # its outcome is known
        if isinstance(op, Cancel):
            if reply.ok or reply.status == 404:
                calendar.events.pop(gid, None)
                return WriteResult(op)
            return WriteResult(op, error=reply.error(f"{request.method} event"))
        spec = op.spec
        if reply.ok and isinstance(reply.body, dict):
            # Answers to POST/PATCH do not repeat the extended properties: take uid/tags from
            # the spec we sent.
            known = RemoteEvent(
                uid=spec.uid, owner=owner, start=spec.start, end=spec.end, tags=dict(spec.tags)
            )
            before = calendar.events.get(str(reply.body.get("id")), {})
            sequence = int(before.get("sequence", -1)) + 1 if request.method == "PATCH" else 0
            event = self._remember(
                owner, calendar, reply.body, known, bool(spec.attendees), max(sequence, 0)
            )
            return WriteResult(op, event=event)
        if reply.status == 404:
            calendar.events.pop(gid, None)
        elif 400 <= reply.status < 500 and reply.status != 429:
            calendar.pending.discard(spec.uid)  # refused: certainly not created
        return WriteResult(op, error=reply.error(f"{request.method} event"))

    # ---------------------------------------------------------------------------- helpers

    def _state_key(self, owner: str) -> str:
        return f"outlook:{owner.lower()}:calendar"

    def _load(self, owner: str) -> OwnerCalendar | None:
        text = self.context.state.get(self._state_key(owner))
        if not text:
            return None
        try:
            return OwnerCalendar.loads(text)
        except (ValueError, KeyError, TypeError):
            log.warning("Outlook state of %s unreadable: reading the calendar again", owner)
            return None

    def _save(self, owner: str, calendar: OwnerCalendar) -> None:
        self.context.state.set(self._state_key(owner), calendar.dumps())

    def _now(self) -> datetime:
        now = self.context.now() if self.context.now else datetime.now(UTC)
        return require_aware(now, "now").astimezone(UTC)

    def _zone(self, owner: str) -> str:
        for person in self.context.salespeople:
            if person.email.lower() == owner.lower():
                return person.timezone
        return "UTC"


def _unshown_link(op: WriteOp, reply: Reply) -> str:
    """The Teams link the answer to the write ``op`` shows its event has, when the event does
    not show it yet (in its location and description); else ``""``."""
    if isinstance(op, Cancel) or op.spec.video != "teams" or not reply.ok:
        return ""
    item = reply.body if isinstance(reply.body, dict) else {}
    link = join_url(item)
    return "" if not link or shows_link(item, link) else link


_READ = {"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS}
# Answers to a write that leave its outcome unknown: a conflict with an earlier copy of the same
# request that applied (409, 412), a server error after the retries (it may have applied).
UNCLEAR = frozenset({409, 412, 500, 502, 503, 504})


def _get(owner: str, gid: str) -> BatchRequest:
    """A $batch part reading one event whole (its extended properties included)."""
    query = urlencode(_READ, quote_via=quote)
    return BatchRequest("GET", f"{user_path(owner)}/events/{gid}?{query}")


def _event_id(url: str) -> str:
    """The Graph id in ``/users/{owner}/events/{id}`` (or ``.../{id}/cancel``)."""
    parts = url.split("?", 1)[0].split("/")
    return parts[parts.index("events") + 1] if "events" in parts[:-1] else ""


def _past_event(item: Mapping[str, Any], owner: str, zone: str) -> PastEvent:
    """A Graph event as a :class:`PastEvent`: attendees who declined did not meet the owner."""
    first, last, _ = event_span(item)
    begin, finish = _instants(first, last, zone)
    attendees = {
        str(a["emailAddress"]["address"]).lower()
        for a in item.get("attendees") or ()
        if (a.get("emailAddress") or {}).get("address")
        and (a.get("status") or {}).get("response") != "declined"
    }
    return PastEvent(
        remote_id=str(item["id"]),
        start=begin,
        end=finish,
        title=str(item.get("subject") or ""),
        attendees=tuple(sorted(attendees - {owner.lower()})),
        declined=_declined(item),
    )


def _met_to_json(event: PastEvent) -> list[Any]:
    return [
        event.title,
        utc_text(event.start),
        utc_text(event.end),
        list(event.attendees),
        event.declined,
    ]


def _met_from_json(remote_id: str, data: list[Any]) -> PastEvent:
    title, start, end, attendees, declined = data
    return PastEvent(
        remote_id=remote_id,
        start=_utc(start),
        end=_utc(end),
        title=title,
        attendees=tuple(attendees),
        declined=bool(declined),
    )


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _declined(item: Mapping[str, Any]) -> bool:
    return (item.get("responseStatus") or {}).get("response") == "declined"


def _instants(
    first: datetime | date, last: datetime | date, zone: str
) -> tuple[datetime, datetime]:
    """Aware instants of an event span; an all-day span covers whole days in ``zone``."""
    if isinstance(first, datetime) and isinstance(last, datetime):
        return first, last
    assert isinstance(first, date) and isinstance(last, date)
    return local_midnight(first, ZoneInfo(zone)), local_midnight(last, ZoneInfo(zone))


__all__ = ["OutlookBackend", "connect"]
