"""The Google Calendar backend (Calendar API v3 through google-api-python-client).

Its parts, by concern, each with its own module docs: reading cadence's own events
(:mod:`.owned`), past meetings (:mod:`.meetings`), busy time (:mod:`.busy`), writes and their
read-back (:mod:`.writes`), on what they share (:mod:`.core`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from cadence.values.schema import Schema
from connectors.google import config as google_config
from connectors.google.busy import BusyTime
from connectors.google.writes import Writes


class GoogleBackend(Writes, BusyTime):
    """Salespeople's Google Calendars (see the module docs for how reads and writes work)."""

    name: ClassVar[str] = "google"
    config_schema: ClassVar[Schema] = google_config.SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = google_config.CONFIG_KEYS
    batched_busy: ClassVar[bool] = True  # freebusy.query: 50 calendars a request
