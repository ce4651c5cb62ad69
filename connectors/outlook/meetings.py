"""Past meetings for contact recognition: a second ``calendarView/delta`` stream whose window
starts at the lookback floor (see :mod:`connectors.outlook.calendar`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from connectors.base import BackendError, PastEvent, past_events_key, unseen_past_events
from connectors.common.codec import past_event_from_json, past_event_to_json
from connectors.common.validation import require_aware
from connectors.outlook.client import BatchRequest, SyncStateGone
from connectors.outlook.core import (
    DELTA_AHEAD,
    DELTA_RENEW,
    PAGED,
    declined,
    instants,
    user_path,
)
from connectors.outlook.owned import OwnedEvents
from connectors.outlook.wire import event_span, is_owned, utc_text

log = logging.getLogger(__name__)


class PastMeetings(OwnedEvents):
    """The salesperson's own meetings, for contacts: a delta stream of their own."""

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
        window, link, kept = self._met_saved(owner)
        stale = _met_stale(window, floor, now)
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
            link = self._read_met(owner, kept, *_met_window(owner, floor, now))
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
        return {gid: past_event_from_json(gid, data, _utc) for gid, data in kept.items()}

    def _met_saved(
        self, owner: str
    ) -> tuple[tuple[datetime, datetime] | None, str, dict[str, list[Any]]]:
        """What is kept of ``owner``'s meetings stream: its window (None when nothing usable
        is kept), its delta link, the meetings."""
        try:
            saved = json.loads(self.context.state.get(f"outlook:{owner.lower()}:met") or "{}")
            window = (datetime.fromisoformat(saved["from"]), datetime.fromisoformat(saved["to"]))
            return window, str(saved["delta"]), dict(saved["events"])
        except (ValueError, KeyError, TypeError):
            return None, "", {}

    def _met_request(self, owner: str, floor: datetime, now: datetime) -> BatchRequest | None:
        """The first request of the next read of ``owner``'s meetings (:meth:`_sync_met`):
        the delta link's page, or a full read's first (None: a link not the endpoint's)."""
        window, link, _ = self._met_saved(owner)
        if _met_stale(window, floor, now):
            path, params = _met_window(owner, floor, now)
            return BatchRequest(
                "GET", f"{path}?{urlencode(params, quote_via=quote)}", headers=PAGED
            )
        relative = self.graph.relative(link)
        return BatchRequest("GET", relative, headers=PAGED) if relative else None

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
        for page in self.graph.pages(url, params, headers=PAGED):
            for item in page.get("value") or ():
                gid = str(item.get("id"))
                event = None
                if "@removed" not in item and not item.get("isCancelled"):
                    event = _past_event(item, owner, zone)
                if event is None or not event.attendees:
                    kept.pop(gid, None)  # gone, cancelled, or nobody else in it
                else:
                    kept[gid] = past_event_to_json(event, utc_text)
            link = page.get("@odata.deltaLink") or link
        if not link:
            raise BackendError("calendarView/delta ended without an @odata.deltaLink")
        return str(link)


def _met_stale(window: tuple[datetime, datetime] | None, floor: datetime, now: datetime) -> bool:
    """Whether the meetings stream must be read whole again: nothing kept, or its window no
    longer reaches back to ``floor`` or far enough ahead."""
    return window is None or window[0] > floor or window[1] < now + DELTA_AHEAD - DELTA_RENEW


def _met_window(owner: str, floor: datetime, now: datetime) -> tuple[str, dict[str, str]]:
    """The path and parameters of a full read of the meetings stream from ``floor``."""
    params = {"startDateTime": utc_text(floor), "endDateTime": utc_text(now + DELTA_AHEAD)}
    return f"{user_path(owner)}/calendarView/delta", params


def _past_event(item: Mapping[str, Any], owner: str, zone: str) -> PastEvent:
    """A Graph event as a :class:`PastEvent`: attendees who declined did not meet the owner."""
    first, last, _ = event_span(item)
    begin, finish = instants(first, last, zone)
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
        declined=declined(item),
    )


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
