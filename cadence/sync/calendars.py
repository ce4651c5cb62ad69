"""What calendars show, read into the store: cadence's own events and everyone's busy time.

:func:`read_owned` folds what one salesperson's calendar holds of cadence's events into the
bookings (people's moves, deletions, declines; writes whose outcome was unknown), after making
sure the read is believable (:func:`cadence.sync.reconcile.implausible_loss`). :func:`read_busy`
reads busy time, many salespeople a request where the backend can.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cadence.sync.calls import REPORTED, Failed
from cadence.sync.fanout import fan_out
from cadence.sync.reconcile import BOOKING_SOURCE, LOSS_HOLD, implausible_loss, observe
from cadence.sync.wording import when
from cadence.values.errors import CadenceError
from cadence.values.model import BookingState, BusyInterval, Salesperson
from cadence.values.progress import every
from connectors.base import UNREADABLE, BackendError, Cancel, RemoteEvent, WriteOp

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

log = logging.getLogger("cadence")
# What a salesperson does to a booking that its attendees must hear of.
OWNER_CHANGES = frozenset(
    {BookingState.MOVED_BY_OWNER, BookingState.DELETED, BookingState.DECLINED}
)
BUSY_MARGIN = timedelta(days=30)  # busy time read beyond the horizon (forced gaps land there)


class ImplausibleRead(CadenceError):
    """A calendar read not believed (see :func:`cadence.sync.reconcile.implausible_loss`)."""


def read_owned(
    ws: Workspace, person: Salesperson, now: datetime, failed: dict[str, str], unreadable: set[str]
) -> None:
    """Fold ``person``'s calendar into their bookings; a failed read lands in ``failed``, and
    cadence events the calendar cannot read in ``unreadable`` ("owner: uid")."""
    name = ws.backend_name(person)
    owner = person.email
    calls = ws.calls
    records = [r for r in ws.store.bookings(owner=owner) if r.backend == name]

    def listed() -> list[RemoteEvent] | Failed:
        return calls.calendar(name, owner, now, "list_owned", lambda b: b.list_owned(owner))

    remote = listed()
    if isinstance(remote, Failed):
        failed[owner] = remote.why
        return
    shown = {ev.uid: ev for ev in remote}
    if implausible_loss(records, shown, now):  # not believed: read it whole again at once
        calls.calendar(name, owner, now, "forget_sync", lambda b: b.forget_sync(owner))
        remote = listed()
        if isinstance(remote, Failed):
            failed[owner] = remote.why
            return
        shown = {ev.uid: ev for ev in remote}
    doubt(ws, owner, implausible_loss(records, shown, now), now)
    # The backend logged each (with why); they are left alone and counted as not done.
    unreadable.update(f"{owner}: {ev.uid}" for ev in remote if ev.status == UNREADABLE)
    seen = observe(records, shown, now, name)
    for record in seen.save:
        at = when(record.start, person.timezone)
        if record.state in (BookingState.DELETED, BookingState.DECLINED):
            log.info("%s %s %s at %s", owner, record.state.value, record.key, at)
        elif record.state is BookingState.MOVED_BY_OWNER:
            log.info("%s moved %s to %s", owner, record.key, at)
    # Before saving: a crash in between sees the change again, and the backend tells the
    # attendees of each change once (it remembers what they were sent).
    changed = [r.uid for r in seen.save if r.state in OWNER_CHANGES]
    if changed and ws.may_write(owner):  # mail to customers: the lease holder's to send
        calls.calendar(
            name, owner, now, "notify_attendees", lambda b: b.notify_attendees(owner, changed)
        )
    ws.store.save_bookings(seen.save, delete=seen.drop)
    if seen.contacts:
        # Every past booking is a contact, seen again each cycle: only those not stored as
        # they are (new, or a past meeting moved since) are added.
        stored = ws.store.contact_times(BOOKING_SOURCE, {c.customer_id for c in seen.contacts})
        fresh = [c for c in seen.contacts if stored.get((c.customer_id, c.source_id)) != c.at]
        if fresh:
            ws.store.add_contacts(fresh)
    if seen.recancel and ws.may_write(owner):
        ops: list[WriteOp] = [Cancel(owner, r.uid, r.etag, r.remote_id) for r in seen.recancel]
        calls.calendar(name, owner, now, "write", lambda b: b.write(owner, ops))


def doubt(ws: Workspace, owner: str, why: str, now: datetime) -> None:
    """Hold ``owner``'s calendar work while its reads show an implausible loss (``why``,
    see :func:`cadence.sync.reconcile.implausible_loss`): raises, so the cycle skips their
    writes and logs it once. A loss every whole re-read confirms for :data:`LOSS_HOLD` is
    taken for the salesperson's own doing at last (logged)."""
    state = ws.store.state("cycle")
    key = f"implausible-loss:{owner}"
    since = state.get(key)
    if not why:
        if since is not None:
            state.set(key, None)
        return
    if since is None:
        since = now.isoformat()
        state.set(key, since)
    if now - datetime.fromisoformat(since) < LOSS_HOLD:
        raise ImplausibleRead(why)
    log.warning(
        "%s: every read since %s confirms it: %s; taken for the salesperson's own doing",
        owner,
        since,
        why.split(":", 1)[0],
        extra={**REPORTED, "owner": owner},
    )
    state.set(key, None)


def read_busy(
    ws: Workspace,
    now: datetime,
    owners: Iterable[str],
    failed: dict[str, str],
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, list[BusyInterval]]:
    """Busy time of each owner from their calendar (never cadence's own events).

    A backend that can answer for many owners at once (``batched_busy``: Graph's getSchedule
    takes 20 mailboxes a request, Google's free/busy 50 calendars) is asked once per backend;
    the others per owner, several at once (:func:`cadence.sync.fanout.fan_out`).
    """
    until = now + timedelta(days=ws.config.horizon_days) + BUSY_MARGIN
    people = {p.email: p for p in ws.config.salespeople}
    groups: dict[str, list[str]] = {}
    for owner in owners:
        if owner not in failed:
            person = people.get(owner) or Salesperson(email=owner)
            groups.setdefault(ws.backend_name(person), []).append(owner)
    busy: dict[str, list[BusyInterval]] = {}
    answers: dict[str, list[BusyInterval] | BackendError] = {}
    for name, group in groups.items():
        if len(group) > 1 and ws.batched_busy(name):
            value = ws.calls.calendar(
                name,
                "*",
                now,
                "busy_many",
                lambda b: b.busy_many(group, now, until),  # noqa: B023
            )
            if not isinstance(value, Failed):
                answers.update(value)
    backend_of = {owner: name for name, group in groups.items() for owner in group}

    def read_one(owner: str) -> None:
        answer = answers.get(owner)
        if answer is None:
            asked = ws.calls.calendar(
                backend_of[owner], owner, now, "busy", lambda b: b.busy(owner, now, until)
            )
            if isinstance(asked, Failed):
                failed[owner] = asked.why
            else:
                busy[owner] = asked
        elif isinstance(answer, BackendError):
            failed[owner] = str(answer)
        else:
            busy[owner] = answer

    todo = list(backend_of)
    fan_out(
        todo,
        read_one,
        workers=ws.workers_for(people.get(o) or Salesperson(email=o) for o in todo),
        stop=stop,
        done=every(ws.progress, "reading busy time", len(todo), 1),
    )
    return busy
