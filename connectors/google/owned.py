"""cadence's own events in Google Calendar: one full read, then a sync token.

Reading cadence's own events (:meth:`GoogleBackend.list_owned`): Google does not allow a
``syncToken`` together with ``privateExtendedProperty``, so the first read lists the whole
calendar once, keeps our tagged events in the state store and remembers ``nextSyncToken``;
every later read asks only for what changed since (usually one small request). A ``410 GONE``
(expired token) clears the cache and reads everything again. An event the salesperson deletes
comes back from the incremental read as ``status="cancelled"``; one deleted before the full read
is simply absent; events cadence cancels itself are dropped from the cache at once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from googleapiclient.errors import HttpError

from connectors.base import Cancel, RemoteEvent, WriteOp
from connectors.google import events as ev
from connectors.google.core import GoogleCore
from connectors.google.ids import event_id

log = logging.getLogger(__name__)


class OwnedEvents(GoogleCore):
    """cadence's own events: a full read once, then the sync token; kept in the state."""

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """All of cadence's events in ``owner``'s calendar, synced incrementally."""
        with self.client.guard(owner, "reading events"):
            owned = self._sync(owner)
        return [ev.remote_event(entry, owner) for entry in owned.values()]

    def forget_sync(self, owner: str) -> None:
        """Forget the sync token and the cached events: the next :meth:`list_owned` reads
        the whole calendar."""
        for key in self._state_keys(owner):
            self.context.state.set(key, None)
        self.client.ahead.forget(lambda key: key[0] == owner.lower())

    def _sync(self, owner: str) -> dict[str, dict[str, Any]]:
        """Bring the cache of our events up to date; returns it (event id -> compact entry)."""
        token_key, owned_key = self._state_keys(owner)
        state = self.context.state
        params = self._owned_params(owner)
        owned: dict[str, dict[str, Any]] = {}
        items: list[dict[str, Any]] | None = None
        if params:
            owned = json.loads(state.get(owned_key) or "{}")
            try:
                items, next_token = self._list_events(owner, params)
            except HttpError as error:
                if error.status_code != 410:
                    raise
                log.info("google: sync token of %s expired; reading the calendar again", owner)
                owned = {}
        if items is None:
            items, next_token = self._list_events(owner, {})
        for item in items:
            known = item["id"] in owned
            if item.get("status") == "cancelled":
                # Deleted events come back as bare {id, status}; only ours matter, and events
                # cadence cancelled itself were already dropped from the cache.
                if known:
                    owned[item["id"]]["status"] = "cancelled"
            elif ev.is_ours(item):
                owned[item["id"]] = ev.compact(item, owner)
            elif known:  # someone removed our tag: no longer ours to manage
                del owned[item["id"]]
        state.set(owned_key, json.dumps(owned, sort_keys=True))
        state.set(token_key, next_token)
        return owned

    def _owned_params(self, owner: str) -> dict[str, Any]:
        """What the next read of our events asks ``events.list`` for: the changes since the
        sync token, or (no token, or no cache of our events) everything."""
        token_key, owned_key = self._state_keys(owner)
        token = self.context.state.get(token_key)
        if token and self.context.state.get(owned_key) is not None:
            return {"syncToken": token}
        return {}

    def _owned(self, owner: str) -> dict[str, dict[str, Any]]:
        """Our events as last synced or written (synced now when nothing is cached)."""
        cached = self.context.state.get(self._state_keys(owner)[1])
        return self._sync(owner) if cached is None else json.loads(cached)

    def _remember(self, owner: str, written: list[dict[str, Any]], done: list[WriteOp]) -> None:
        """Put what a write made into the cache; drop what cadence cancelled, so a cancellation
        of ours does not read as one by the salesperson. The next sync confirms both."""
        _, owned_key = self._state_keys(owner)
        cached = self.context.state.get(owned_key)
        if cached is None:
            return  # nothing synced yet: the first sync reads everything anyway
        owned = json.loads(cached)
        for item in written:
            owned[item["id"]] = ev.compact(item, owner)
        for op in done:
            if isinstance(op, Cancel):
                owned.pop(op.remote_id or event_id(op.uid), None)
        self.context.state.set(owned_key, json.dumps(owned, sort_keys=True))
