"""Busy time from Google's free/busy, without cadence's own events.

Busy time (:meth:`GoogleBackend.busy_many`, :meth:`GoogleBackend.busy`): ``freebusy.query`` for up
to 50 calendars at once (the API's limit), asked as the first salesperson of the group (Workspace
shares free/busy within the domain), in windows of at most 90 days (the API's limit: the cycle's 120
days take two queries, for 50 calendars as for one). A salesperson whose free/busy the query cannot
see is left to :meth:`~GoogleBackend.busy`, asked as themselves. Free/busy cannot tell cadence's own
events from the salesperson's, so busy blocks that touch one of our (opaque) events are told apart
with the salesperson's own busy events that the meetings stream keeps (:mod:`.meetings`; the cycle
reads it just before busy time, and it is read again first when older than ten minutes), or, without
that stream, re-read with ``events.list`` for just that span; blocks that touch none of ours are
taken as they are. Which events are ours comes from the cache kept by
:meth:`~GoogleBackend.list_owned` and by every write (synced first only when there is no cache yet):
if the salesperson moved one of our events since the last sync, its new slot merely counts as busy,
which never causes a double booking. Transparent and declined events are not busy (Google already
leaves them out of free/busy). When cadence books into another calendar than ``primary``
(``calendar_id``), both calendars are asked in the same query, and blocks in that second calendar
touching ours are always re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cadence.values.model import BusyInterval, require_aware
from connectors.base import BackendError
from connectors.google import events as ev
from connectors.google.meetings import PastMeetings

log = logging.getLogger(__name__)

FREEBUSY_SPAN = timedelta(days=90)  # longest window freebusy.query accepts
FREEBUSY_CALENDARS = 50  # most calendars one freebusy.query accepts


class BusyTime(PastMeetings):
    """Busy time without cadence's own events, from free/busy for up to 50 calendars a query."""

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
