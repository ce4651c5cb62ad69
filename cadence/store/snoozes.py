"""Paused customers (``cadence snooze ID --until DATE``), kept in the store's key/value state.

All snoozes live as one small JSON object under one key of the ``snooze`` namespace
(:meth:`cadence.store.repository.Store.state`):
``{"C-1": {"until": "2027-03-01", "note": "..."}}``. Only the command line writes it; each cycle
reads it once and hands it to the planner
(:attr:`cadence.planner.PlanInput.snoozes`), which books nothing for a customer before its
``until`` day and cancels what is booked inside the pause.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Protocol

from cadence.values.model import Snooze

NAMESPACE = "snooze"
KEY = "customers"


class KeyValue(Protocol):
    """What :class:`cadence.store.repository.StoreState` offers."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...


def read_snoozes(state: KeyValue) -> dict[str, Snooze]:
    """Every snooze on record, by customer id (past ones too: the planner ignores those)."""
    raw = state.get(KEY)
    if not raw:
        return {}
    out = {}
    for customer_id, entry in json.loads(raw).items():
        out[customer_id] = Snooze(
            customer_id, date.fromisoformat(entry["until"]), entry.get("note", "")
        )
    return out


def save_snooze(state: KeyValue, customer_id: str, snooze: Snooze | None) -> None:
    """Record ``snooze`` for ``customer_id``, or remove theirs when None."""
    found = read_snoozes(state)
    if snooze is None:
        found.pop(customer_id, None)
    else:
        found[customer_id] = snooze
    value = {
        cid: {"until": s.until.isoformat(), "note": s.note} for cid, s in sorted(found.items())
    }
    state.set(KEY, json.dumps(value) if value else None)
