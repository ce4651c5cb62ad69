"""Reading cadence's own events from Graph: the full read by extended property, then
``calendarView/delta`` rounds, and what is kept of them per owner (:class:`OwnerCalendar`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from connectors.base import BackendError, RemoteEvent
from connectors.outlook.client import BatchRequest, SyncStateGone
from connectors.outlook.core import (
    DELTA_AHEAD,
    DELTA_BACK,
    DELTA_RENEW,
    PAGED,
    OutlookCore,
    OwnerCalendar,
    read_event,
    user_path,
)
from connectors.outlook.wire import (
    EVENT_FIELDS,
    EXPAND_PROPS,
    OWNED_FILTER,
    event_from_json,
    event_to_json,
    event_uid,
    join_url,
    remote_event,
    utc_text,
)

log = logging.getLogger(__name__)


class OwnedEvents(OutlookCore):
    """cadence's own events in a mailbox: the full read, the delta rounds after it, the events
    read back whole (see the module docs of :mod:`connectors.outlook.calendar`)."""

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in ``owner``'s calendar as they are now (delta since last call)."""
        calendar = self._sync(owner)
        events = [event_from_json(owner, data) for data in calendar.events.values()]
        return sorted(events, key=lambda e: e.uid)

    def forget_sync(self, owner: str) -> None:
        """Forget the delta link and what is known of ``owner``'s events: the next
        :meth:`list_owned` is a full read."""
        self.context.state.set(self._state_key(owner), None)
        mailbox = user_path(owner).lower() + "/"
        self.graph.ahead.forget(lambda key: mailbox in key[1].lower())

    def _sync(self, owner: str) -> OwnerCalendar:
        calendar = self._load(owner)
        now = self._now()
        if calendar is None or _stale(calendar, now):
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

    def _owned_requests(self, owner: str, now: datetime) -> list[BatchRequest]:
        """The first requests of the next read of ``owner``'s events (:meth:`_sync`): the
        full read's two first pages, or the delta link's (none when it is not the
        endpoint's)."""
        calendar = self._load(owner)
        if calendar is None or _stale(calendar, now):
            return _full_read_requests(owner, now - DELTA_BACK)
        link = self.graph.relative(calendar.delta or "")
        return [BatchRequest("GET", link, headers=PAGED)] if link else []

    def _read_unsure(self, owner: str, calendar: OwnerCalendar) -> None:
        """Read back, whole, the events whose last write has an unknown outcome."""
        gids = sorted(calendar.unsure & set(calendar.events))
        calendar.unsure.clear()
        for gid, reply in zip(
            gids, self.graph.batch([read_event(owner, gid) for gid in gids]), strict=True
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
        listed, delta = self.graph.batch(_full_read_requests(owner, start))
        for reply, what in ((listed, "GET events"), (delta, "GET calendarView/delta")):
            if not reply.ok or not isinstance(reply.body, dict):
                raise reply.error(what)
        unnamed: list[dict[str, Any]] = []
        for page in self.graph.pages("", headers=PAGED, first=listed.body):
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
        for page in self.graph.pages(url, params, headers=PAGED, first=first):
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


def _stale(calendar: OwnerCalendar, now: datetime) -> bool:
    """Whether what is kept of a calendar cannot be brought up to date by a delta round: no
    delta link or window, or a window older than :data:`DELTA_RENEW`."""
    return (
        calendar.delta is None
        or calendar.window_start is None
        or now - calendar.window_start > DELTA_RENEW
    )


def _full_read_requests(owner: str, start: datetime) -> list[BatchRequest]:
    """The first pages of a full read from ``start``: our events (by extended property) and a
    fresh delta round of the window."""
    params = {"$filter": OWNED_FILTER, "$expand": EXPAND_PROPS, "$select": EVENT_FIELDS}
    window = {"startDateTime": utc_text(start), "endDateTime": utc_text(start + DELTA_AHEAD)}
    return [
        BatchRequest(
            "GET",
            f"{user_path(owner)}/{what}?" + urlencode(query, quote_via=quote),
            headers=PAGED,
        )
        for what, query in (("events", params), ("calendarView/delta", window))
    ]
