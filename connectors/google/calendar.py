"""The Google Calendar backend (Calendar API v3 through google-api-python-client).

Its parts, by concern, each with its own module docs: reading cadence's own events
(:mod:`.owned`), past meetings (:mod:`.meetings`), busy time (:mod:`.busy`), writes and their
read-back (:mod:`.writes`), on what they share (:mod:`.core`).

Reading ahead (:meth:`GoogleBackend.read_ahead`): before the cycle reads its salespeople one by
one, the first ``events.list`` of each one's two streams (cadence's events, past meetings) goes
out for all of them in one batch request per 50 calls (as each salesperson: every part carries
its own token), and each read then takes that answer as its first (see
:mod:`connectors.google.client`). An unchanged team of 20 costs one request instead of 40.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from cadence.values.model import require_aware
from cadence.values.schema import Schema
from connectors.google import config as google_config
from connectors.google.busy import BusyTime
from connectors.google.client import Read
from connectors.google.writes import Writes


class GoogleBackend(Writes, BusyTime):
    """Salespeople's Google Calendars (see the module docs for how reads and writes work)."""

    name: ClassVar[str] = "google"
    config_schema: ClassVar[Schema] = google_config.SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = google_config.CONFIG_KEYS
    batched_busy: ClassVar[bool] = True  # freebusy.query: 50 calendars a request

    def read_ahead(self, owners: Sequence[str], start: datetime, end: datetime) -> None:
        """The first ``events.list`` of :meth:`list_owned` and of :meth:`new_past_events`
        (``start``, ``end``) of every owner, in batch requests of 50 calls; each read then
        takes its answer as its first attempt. Never raises."""
        require_aware(start, "read_ahead start")
        reads: list[Read] = []
        for owner in owners:
            for params, calendar in (
                (self._owned_params(owner), None),
                (self._met_params(owner, start), "primary"),
            ):
                query = self._events_query(params, calendar)
                reads.append((owner, "events.list", "calendar.events.list", query))
        self.client.read_ahead("calendar", reads)
