"""The calendar resources that hold meetings, followed between reads for contact recognition.

:meth:`CalDavBackend.new_past_events` follows the calendar with a sync-collection stream of its
own (RFC 6578), or, on a server without it, by comparing every resource's etag (one PROPFIND)
and fetching only the changed ones: an unchanged calendar costs one small request either way.
Only the resources with other people in them, not cadence's own, are kept (their iCalendar
text, in the state store): a recurring meeting's occurrences pass one by one without the
resource changing, so they are expanded from what is kept.
"""

from __future__ import annotations

import json

import icalendar

from connectors.caldav.ical import is_cadence_event
from connectors.caldav.webdav import Collection, Resource, SyncTokenRefused, SyncUnsupported
from connectors.recurrence import vevents
from connectors.state import StateStore


def met_resources(state: StateStore, key: str, collection: Collection) -> list[Resource]:
    """The resources of ``collection`` with meetings in them, brought up to date from what
    was kept under ``key`` (and kept again there)."""
    try:
        saved = json.loads(state.get(key) or "{}")
    except ValueError:
        saved = {}
    kept: dict[str, list[str]] = dict(saved.get("resources") or {})  # href -> [etag, data]
    token = ""
    if saved.get("mode") != "etags":
        try:
            token = _read_changes(collection, saved.get("token", ""), kept)
        except SyncUnsupported:
            kept.clear()  # etags from here on: read every resource's etag afresh
    if not token:
        _read_etags(collection, kept)
    mode = "sync" if token else "etags"
    state.set(key, json.dumps({"mode": mode, "token": token, "resources": kept}))
    return [Resource(href, etag, data.encode()) for href, (etag, data) in kept.items() if data]


def _read_changes(collection: Collection, token: str, kept: dict[str, list[str]]) -> str:
    """sync-collection since ``token`` into ``kept`` (all again when the token is refused or
    empty); the new token."""
    try:
        new_token, changes = collection.sync(token)
    except SyncTokenRefused:
        token = ""
        new_token, changes = collection.sync("")
    if not token:  # a full read: what was kept before is what it shows now
        kept.clear()
    for resource in changes:
        _keep(kept, resource, etag_only=False)
    return new_token


def _read_etags(collection: Collection, kept: dict[str, list[str]]) -> None:
    """Without sync-collection: every etag, then only the changed resources' bodies."""
    listed = collection.etags()
    for href in set(kept) - set(listed):
        del kept[href]
    changed = [h for h, etag in listed.items() if h not in kept or kept[h][0] != etag]
    for resource in collection.multiget(changed):
        _keep(kept, resource, etag_only=True)
    for href in changed:  # listed but not readable as an event: remember the etag only
        kept.setdefault(href, [listed[href], ""])


def _keep(kept: dict[str, list[str]], resource: Resource, *, etag_only: bool) -> None:
    """Record ``resource`` in ``kept`` (href -> [etag, iCalendar text]): its text only when it
    holds an event with attendees that is not cadence's (nothing else can be a meeting with a
    customer); ``etag_only``: keep the etag of the others too (the etag comparison needs it)."""
    if resource.data is None:
        kept.pop(resource.href, None)
        return
    text = resource.data.decode("utf-8", "replace")
    try:
        cal = icalendar.Calendar.from_ical(resource.data)
        meeting = any("attendee" in event and not is_cadence_event(event) for event in vevents(cal))
    except ValueError:
        meeting = False
    if meeting:
        kept[resource.href] = [resource.etag or "", text]
    elif etag_only:
        kept[resource.href] = [resource.etag or "", ""]
    else:
        kept.pop(resource.href, None)
