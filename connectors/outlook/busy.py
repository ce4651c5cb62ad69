"""Free/busy of salespeople through Graph: ``calendarView`` for one, ``getSchedule`` for a team."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from cadence.values.model import BusyInterval
from connectors.base import BackendError
from connectors.common.validation import require_aware
from connectors.outlook.core import declined, instants, user_path
from connectors.outlook.owned import OwnedEvents
from connectors.outlook.schedule import NOT_BUSY, OwnInterval, schedule_busy
from connectors.outlook.wire import event_from_json, event_span, is_owned

log = logging.getLogger(__name__)


class BusyTime(OwnedEvents):
    """Busy time without cadence's own events: calendarView for one owner, getSchedule for
    many (see :mod:`connectors.outlook.schedule`)."""

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
            if item.get("isCancelled") or declined(item):
                continue
            if item.get("showAs") in NOT_BUSY:
                continue
            first, last, all_day = event_span(item)
            out.append(BusyInterval(*instants(first, last, zone), all_day=all_day))
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
                (*instants(event.start, event.end, zone), data.get("show_as", "busy"))
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
