"""The event occurrences of CalDAV resources in a window, for busy time and past meetings.

Recurrences are expanded within the bounds of :mod:`connectors.recurrence`, as the ics backend
does (one budget for the whole query: a person's ``FREQ=SECONDLY`` event is busy for its span,
never expanded). What was left out or approximated is logged once per version of a resource.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar

from connectors.caldav.webdav import Resource
from connectors.recurrence import Expansion, Occurrence, vevents

log = logging.getLogger(__name__)


class Occurrences:
    """Expands resources' events in a window; remembers what it reported, per resource."""

    def __init__(self) -> None:
        # href -> (version of the resource, what was reported about that version)
        self._reported: dict[str, tuple[str, set[str]]] = {}

    def within(
        self,
        resources: Iterable[Resource],
        zone: ZoneInfo,
        start: datetime,
        end: datetime,
        label: str,
    ) -> Iterator[Occurrence]:
        """Every occurrence of the events in ``resources`` overlapping ``[start, end)``, not
        cancelled; floating times read in ``zone``; ``label`` names the calendar in the log."""
        expansion = Expansion(zone, start, end, label=label)
        for resource in resources:
            data = resource.data or b""
            cal = icalendar.Calendar.from_ical(data)
            first_note = len(expansion.notes)
            yield from expansion.expand(vevents(cal), cal)
            version = resource.etag or hashlib.sha256(data).hexdigest()
            for key, message in expansion.notes[first_note:]:
                self._report_once(resource.href, version, key, message)

    def _report_once(self, href: str, version: str, key: str, message: str) -> None:
        """Log ``message`` once per version of the resource at ``href`` and ``key``: a dense
        series is not reported on every call, but is again after it changed.
        """
        seen_version, keys = self._reported.get(href, ("", set()))
        if seen_version != version:
            keys = set()
            self._reported[href] = (version, keys)
        if key not in keys:
            keys.add(key)
            log.warning("%s", message)
