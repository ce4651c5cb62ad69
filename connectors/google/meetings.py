"""Past meetings for contact recognition: a second sync stream on the primary calendar.

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
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

from googleapiclient.errors import HttpError

from cadence.values.model import require_aware
from connectors.base import PastEvent, past_events_key, unseen_past_events
from connectors.common.codec import past_event_from_json, past_event_to_json
from connectors.google import events as ev
from connectors.google.core import load_json
from connectors.google.owned import OwnedEvents

log = logging.getLogger(__name__)

MET_FRESH = 600.0  # seconds: the meetings stream read this recently stands for busy time


class PastMeetings(OwnedEvents):
    """The salesperson's meetings (and own busy events) through a sync stream of their own."""

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
        saved = load_json(state.get(key))
        floor_text = ev.rfc3339(floor)
        zone = self._zone(owner)
        items: list[dict[str, Any]] | None = None
        kept: dict[str, list[Any]] = {}
        busy: dict[str, list[str]] = {}
        params = self._met_params(owner, floor)
        if "syncToken" in params:
            kept = dict(saved.get("events") or {})
            busy = dict(saved.get("busy") or {})
            try:
                items, next_token = self._list_events(owner, params, "primary")
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
                kept[item["id"]] = past_event_to_json(event, ev.rfc3339)
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
        return [past_event_from_json(gid, data, ev.parse_time) for gid, data in kept.items()]

    def _met_params(self, owner: str, floor: datetime) -> dict[str, Any]:
        """What the next read of the meetings stream asks ``events.list`` of the primary
        calendar for: the changes since its sync token, or (no token, a floor further back
        than the stream reaches) everything from ``floor`` on."""
        saved = load_json(self.context.state.get(f"google:met:{owner.lower()}"))
        token, floor_text = saved.get("token"), ev.rfc3339(floor)
        # A state kept before busy events were (no "busy") is read again in full, once.
        if token and saved.get("floor", "~") <= floor_text and "busy" in saved:
            return {"syncToken": token, "singleEvents": True}
        return {"timeMin": floor_text, "singleEvents": True}

    def _their_busy(self, owner: str) -> list[tuple[datetime, datetime]] | None:
        """The salesperson's own busy events in their primary calendar, from the meetings
        stream: brought up to date first when it was last read more than ``MET_FRESH`` ago
        (the cycle reads it just before busy time); None when there is no stream yet."""
        key = f"google:met:{owner.lower()}"
        saved = load_json(self.context.state.get(key))
        if not saved.get("token") or "busy" not in saved or "floor" not in saved:
            return None
        if time.time() - float(saved.get("synced") or 0) > MET_FRESH:
            self._sync_met(owner, ev.parse_time(saved["floor"]))
            saved = load_json(self.context.state.get(key))
        return [(ev.parse_time(s), ev.parse_time(e)) for s, e in saved["busy"].values()]
