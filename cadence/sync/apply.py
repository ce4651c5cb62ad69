"""Actions written to calendars, with intent recorded first so that nothing is lost or doubled.

Each chunk of a salesperson's actions is stored as intended (``PENDING``, with the booking as last
confirmed kept alongside) *before* it is sent, in one transaction; after the backend answers,
each write that applied is stored as landed. A write whose answer was lost stays intended and
unconfirmed: the next cycle reads the calendar back and decides
(:func:`cadence.sync.reconcile.observe`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cadence.planner import Plan
from cadence.sync.calls import Failed
from cadence.sync.event_text import event_spec
from cadence.sync.reconcile import SPEC_TAG, Action, ActionKind, landed
from cadence.sync.result import CycleResult
from cadence.sync.wording import action_line
from cadence.values.bookings import BookingRecord, Confirmed
from cadence.values.errors import describe_error
from cadence.values.model import BookingState, Customer, Salesperson
from connectors.base import Cancel, Create, Update, WriteOp, WriteResult

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

log = logging.getLogger("cadence")
WRITE_CHUNK = 50  # writes per backend call; SIGTERM is honoured between chunks


def apply_actions(
    ws: Workspace,
    person: Salesperson,
    actions: Sequence[Action],
    customers: Mapping[str, Customer],
    policies: Mapping[str, Any],
    planned: Plan,
    now: datetime,
    result: CycleResult,
    stop: Callable[[], bool],
) -> None:
    """Write ``actions`` to ``person``'s calendar, a chunk at a time: each chunk's intents are
    stored before it is sent, and what the calendar confirmed after (see the module's text)."""
    owner = person.email
    name = ws.backend_name(person)
    notes = planned.notes
    batch = max(1, ws.backend(name).write_batch)
    size = batch * max(1, WRITE_CHUNK // batch)  # whole provider batches per call
    for start in range(0, len(actions), size):
        if stop():
            result.interrupted = True
            return
        if not ws.may_write(owner):
            return
        chunk = actions[start : start + size]
        ops: list[WriteOp] = []
        intents: list[tuple[Action, BookingRecord]] = []
        for action in chunk:
            try:
                record, op = intent(action, name, person, customers, policies, notes, now)
            except Exception as exc:  # this customer's event cannot be built: skip it
                result.skipped_customers[action.customer_id] = describe_error(exc)
                continue
            ops.append(op)
            intents.append((action, record))
        if not ops:
            continue
        # The intents are stored before the write, in one transaction on the disk before the
        # calendar changes; a booking whose key changes is replaced in the same one.
        ws.store.save_bookings(
            [record for _, record in intents],
            delete=[a.record.key for a, r in intents if a.record and a.record.key != r.key],
            durable=True,
        )
        results = ws.calls.calendar(
            name,
            owner,
            now,
            "write",
            lambda b: b.write(owner, ops),  # noqa: B023 - called at once
        )
        if isinstance(results, Failed):
            result.failed_owners[owner] = results.why
            return  # unconfirmed: the next cycle's observe() reads the calendar back
        # The names this chunk's log lines need (never the whole book: a chunk is small).
        names = {
            a.customer_id: customers[a.customer_id].name
            for a, _ in intents
            if a.customer_id in customers
        }
        settled = [
            settle_write(action, record, outcome, now, result, person.timezone, names)
            for (action, record), outcome in zip(intents, results, strict=True)
        ]
        ws.store.save_bookings([r for r in settled if r is not None])


def intent(
    action: Action,
    backend: str,
    person: Salesperson,
    customers: Mapping[str, Customer],
    policies: Mapping[str, Any],
    notes: Mapping[str, Any],
    now: datetime,
) -> tuple[BookingRecord, WriteOp]:
    """The record to store before the write, and the write itself."""
    if action.kind is ActionKind.CANCEL:
        assert action.record is not None
        r = action.record
        record = replace(
            r,
            state=BookingState.CANCELLED,
            seen_at=now,
            updated_at=now,
            confirmed=r.confirmed or Confirmed.of(r),
        )
        return record, Cancel(r.owner, r.uid, r.etag, r.remote_id)
    p = action.planned
    assert p is not None
    customer = customers[p.customer_id]
    spec = event_spec(p, customer, person, policies[p.customer_id], notes.get(p.customer_id))
    if action.kind is ActionKind.CREATE:
        record = BookingRecord(
            key=p.key,
            uid=spec.uid,
            customer_id=p.customer_id,
            owner=p.owner,
            kind=p.kind,
            backend=backend,
            start=p.start,
            end=p.end,
            all_day=p.all_day,
            state=BookingState.PENDING,
            spec_hash=spec.tags[SPEC_TAG],
            created_at=now,
            updated_at=now,
            reasons=tuple(p.reasons),
        )
        return record, Create(spec)
    assert action.record is not None
    old = action.record
    spec = replace(spec, uid=old.uid)
    record = replace(
        old,
        key=p.key,
        kind=p.kind,
        start=p.start,
        end=p.end,
        all_day=p.all_day,
        state=BookingState.PENDING,
        spec_hash=spec.tags[SPEC_TAG],
        updated_at=now,
        confirmed=old.confirmed or Confirmed.of(old),
        # A details rewrite keeps the reasons the booking was placed for.
        reasons=old.reasons if (p.start, p.end) == (old.start, old.end) else tuple(p.reasons),
    )
    return record, Update(spec, old.etag, old.remote_id)


def settle_write(
    action: Action,
    record: BookingRecord,
    outcome: WriteResult,
    now: datetime,
    result: CycleResult,
    zone: str,
    names: Mapping[str, str],
) -> BookingRecord | None:
    """The record to store after the backend answered for one write (None: unchanged).

    A failed write stays recorded as intended and unconfirmed: the next cycle reads the
    calendar back (the write may have applied after all, its answer lost) and decides."""
    fields = {"owner": action.owner, "customer_id": action.customer_id}
    if not outcome.ok:
        line = action_line(action, zone, names)
        log.warning("failed: %s: %s", line, outcome.error, extra=fields)
        return None
    result.applied.append(action)
    log.info("%s", action_line(action, zone, names), extra=fields)
    if action.kind is ActionKind.CANCEL:
        result.cancelled += 1
        return replace(record, confirmed=None)
    if action.kind is ActionKind.CREATE:
        result.created += 1
    else:
        result.moved += 1
    ev = outcome.event
    return landed(
        record,
        etag=ev.etag if ev else None,
        remote_id=(ev.remote_id if ev else None) or record.remote_id,
        sequence=ev.sequence if ev else record.sequence,
        updated_at=now,
    )
