"""What the parts of the Google Calendar backend share: the client, settings, paging of
``events.list`` and batches. The backend is :class:`connectors.google.calendar.GoogleBackend`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from googleapiclient.errors import HttpError

from connectors.base import BackendContext, CalendarBackend, Cancel, WriteOp
from connectors.google import auth as google_auth
from connectors.google import events as ev
from connectors.google.batch import Outcome, batch_uri, run_batch
from connectors.google.client import GoogleClient

log = logging.getLogger(__name__)

PAGE_SIZE = 2500  # largest maxResults of events.list


class GoogleCore(CalendarBackend):
    """What every part of the Google backend uses: the client (sessions, retries), settings,
    the salesperson's zone, ``events.list`` with its pages, batches."""

    concurrent: ClassVar[bool] = True  # one session (HTTP connection) per owner

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.client = GoogleClient(config, context)
        self.calendar_id: str = self.client.settings["calendar_id"]
        self.send_updates: str = self.client.settings["send_updates"]

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The key file, token folder and client secrets of ``[calendar.google]``; see
        :func:`connectors.google.auth.check_local_files`."""
        return google_auth.check_local_files(section, base_dir, env)

    def close(self) -> None:
        """Drop every session."""
        self.client.close()

    def _zone(self, owner: str) -> ZoneInfo:
        person = self.context.salesperson(owner)
        return ZoneInfo("UTC" if person is None else person.timezone)

    def _state_keys(self, owner: str) -> tuple[str, str]:
        prefix = f"google:calendar:{owner.lower()}:{self.calendar_id}"
        return f"{prefix}:sync_token", f"{prefix}:owned"

    def _list_events(
        self, owner: str, params: Mapping[str, Any], calendar: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of ``events.list`` with ``params``; the items and ``nextSyncToken``."""
        events_api = self.client.resource(owner, "calendar.events")
        items: list[dict[str, Any]] = []
        page_token = None
        while True:
            query = self._events_query(params, calendar)
            if page_token:
                query["pageToken"] = page_token
            page = self.client.execute(owner, events_api.list, "events.list", **query)
            items.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, page.get("nextSyncToken")

    def _events_query(self, params: Mapping[str, Any], calendar: str | None) -> dict[str, Any]:
        """The parameters of the first ``events.list`` page with ``params`` (of ``calendar``,
        by default the one cadence books into)."""
        return dict(params, calendarId=calendar or self.calendar_id, maxResults=PAGE_SIZE)

    def _window(
        self, owner: str, start: datetime, end: datetime, calendar: str
    ) -> list[dict[str, Any]]:
        params = {"timeMin": ev.rfc3339(start), "timeMax": ev.rfc3339(end), "singleEvents": True}
        return self._list_events(owner, params, calendar)[0]

    def _run(self, calls: list[tuple[int, Callable[[], Any]]], what: str) -> dict[int, Outcome]:
        uri = batch_uri(self.client.endpoint, "calendar/v3")
        return run_batch(uri, calls, self.client.retrier, self.client.batch_size, what)


def load_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def op_uid(op: WriteOp) -> str:
    """The uid an operation concerns (for messages)."""
    return op.uid if isinstance(op, Cancel) else op.spec.uid


def op_owner(op: WriteOp) -> str:
    """The owner an operation is meant for."""
    return op.owner if isinstance(op, Cancel) else op.spec.owner


def http_status(error: BaseException | None) -> int | None:
    return error.status_code if isinstance(error, HttpError) else None


def conference_param(body: dict[str, Any]) -> dict[str, int]:
    """The ``conferenceDataVersion`` parameter of a write (left out when it is the default)."""
    version = ev.conference_version(body)
    return {"conferenceDataVersion": version} if version else {}
