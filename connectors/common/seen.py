"""Which past events a backend has returned before: the read marks of contact recognition.

:meth:`connectors.base.CalendarBackend.new_past_events` returns the meetings it has not returned
before, whatever their date. A backend that cannot ask its calendar for "what changed" reads
the window and lets :func:`unseen_past_events` tell: a digest of each event returned is kept in
the state store, and an event comes back again only when it changed (moved, its attendees or the
owner's answer changed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from connectors.state import StateStore
from connectors.values import PastEvent


def past_events_key(owner: str) -> str:
    """The state key under which :func:`unseen_past_events` keeps ``owner``'s digests."""
    return f"past-events:{owner.lower()}"


def unseen_past_events(
    state: StateStore, key: str, events: Iterable[PastEvent], floor: datetime
) -> list[PastEvent]:
    """``events`` not returned before under ``key``; remembers them. Digests of events that
    started before ``floor`` are forgotten (they are outside every later window)."""
    try:
        seen: dict[str, str] = json.loads(state.get(key) or "{}")
    except ValueError:
        seen = {}
    floor_text = floor.astimezone(UTC).isoformat()
    seen = {d: at for d, at in seen.items() if at >= floor_text}
    fresh = []
    for event in events:
        digest = _digest(event)
        if digest not in seen:
            seen[digest] = event.start.astimezone(UTC).isoformat()
            fresh.append(event)
    state.set(key, json.dumps(seen, sort_keys=True))
    return fresh


def _digest(event: PastEvent) -> str:
    text = json.dumps(
        [
            event.remote_id,
            event.start.astimezone(UTC).isoformat(),
            event.end.astimezone(UTC).isoformat(),
            sorted(event.attendees),
            event.declined,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]
