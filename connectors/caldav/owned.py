"""cadence's own events in a CalDAV calendar, followed between reads with sync-collection.

The state keeps the sync token (RFC 6578) and the owned events seen so far, by href (the JSON
of :mod:`connectors.common.codec`); a refused token or lost state means a full re-read, a server
without sync-collection a ``calendar-query`` for the events carrying ``X-CADENCE-UID``.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import RemoteEvent
from connectors.caldav.ical import UID_PROPERTY, parse_owned
from connectors.caldav.webdav import Collection, SyncTokenRefused, SyncUnsupported
from connectors.common.codec import event_from_json, event_to_json
from connectors.state import StateStore


def read_owned(
    state: StateStore, key: str, collection: Collection, owner: str, zone: ZoneInfo
) -> list[RemoteEvent]:
    """``owner``'s events of cadence's in ``collection`` as they are now, by uid, brought up
    to date from what was kept under ``key`` (and kept again there); floating times are read
    in ``zone``."""
    saved = json.loads(state.get(key) or "{}")
    token: str = saved.get("token", "")
    events: dict[str, dict[str, Any]] = saved.get("events", {}) if token else {}
    try:
        try:
            token, changes = collection.sync(token)
        except SyncTokenRefused:
            events = {}
            token, changes = collection.sync("")
    except SyncUnsupported:
        events, token = {}, ""
        changes = collection.query(None, None, marker=UID_PROPERTY)
    for resource in changes:
        event = None
        if resource.data is not None:
            href, etag = resource.href, resource.etag
            event = parse_owned(resource.data, owner=owner, href=href, etag=etag, zone=zone)
        if event is None:
            events.pop(resource.href, None)
        else:
            events[resource.href] = event_to_json(event)
    state.set(key, json.dumps({"token": token, "events": events}) if token else None)
    return sorted((event_from_json(owner, data) for data in events.values()), key=lambda e: e.uid)


def known_hrefs(state: StateStore, key: str) -> dict[str, str]:
    """uid -> href of the events kept under ``key`` (as the last read saw them)."""
    saved = json.loads(state.get(key) or "{}")
    return {str(data.get("uid")): href for href, data in (saved.get("events") or {}).items()}
