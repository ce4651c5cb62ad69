"""What the parts of the Outlook calendar backend share: the Graph connection (also the mail
source's), the state kept per owner, time helpers.

The backend itself is :class:`connectors.outlook.calendar.OutlookBackend`; its module docs say
how each part of the contract is met.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from cadence.values.schema import Schema
from connectors.base import BackendContext, CalendarBackend
from connectors.common.days import local_midnight
from connectors.common.validation import require_aware
from connectors.outlook.auth import GraphAuth, check_local_files
from connectors.outlook.client import PREFER_UTC, BatchRequest, GraphClient
from connectors.outlook.settings import CONFIG_KEYS, SCHEMA, OutlookSettings
from connectors.outlook.wire import EVENT_FIELDS, EXPAND_PROPS, utc_text

log = logging.getLogger(__name__)

PAGE_SIZE = 200
# The delta window: from a month back to two years ahead, renewed (full read) after a year.
DELTA_BACK = timedelta(days=31)
DELTA_AHEAD = timedelta(days=731)
DELTA_RENEW = timedelta(days=365)
PAGED = {"Prefer": f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"}


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


class OutlookCore(GraphUser, CalendarBackend):
    """What every part of the Outlook backend uses: the Graph client, the state kept per owner
    (:class:`OwnerCalendar`), the salesperson's zone, the cycle's "now", calendarView."""

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the validated ``[calendar.outlook]`` section; nothing is sent yet."""
        super().__init__(config, context)
        self._setup_graph(config, context)

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
        person = self.context.salesperson(owner)
        return "UTC" if person is None else person.timezone

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
        for page in self.graph.pages(f"{user_path(owner)}/calendarView", params, headers=PAGED):
            yield from page.get("value") or ()


READ_FIELDS = {"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS}


def read_event(owner: str, gid: str) -> BatchRequest:
    """A $batch part reading one event whole (its extended properties included)."""
    query = urlencode(READ_FIELDS, quote_via=quote)
    return BatchRequest("GET", f"{user_path(owner)}/events/{gid}?{query}")


def declined(item: Mapping[str, Any]) -> bool:
    return (item.get("responseStatus") or {}).get("response") == "declined"


def instants(first: datetime | date, last: datetime | date, zone: str) -> tuple[datetime, datetime]:
    """Aware instants of an event span; an all-day span covers whole days in ``zone``."""
    if isinstance(first, datetime) and isinstance(last, datetime):
        return first, last
    assert isinstance(first, date) and isinstance(last, date)
    return local_midnight(first, ZoneInfo(zone)), local_midnight(last, ZoneInfo(zone))
