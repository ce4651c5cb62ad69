"""Plan -> actions: the pure diff between what the planner wants and what is booked.

:func:`observe` folds what a calendar shows now into the stored bookings (people's moves,
deletions and declines; writes whose outcome was unknown). :func:`diff` compares the plan with
the bookings and returns :class:`Action` s (create / move / cancel / keep). Neither does any I/O:
:mod:`cadence.sync.cycle` reads the calendars, calls these, and applies the actions.

Rules (SPEC 5.10-5.11):

* An unchanged world gives only ``keep`` actions: zero calendar writes.
* A booking the salesperson moved keeps its new time; one they deleted or declined is never
  re-created under the same key (the planner waits ``retry_after``).
* cadence only touches events it created: every action concerns a stored booking or a new one.
* A write is recorded before it is sent and counts as done only when the backend confirms it
  or the calendar, read back by the next :func:`observe`, shows it (time and the ``spec`` tag);
  otherwise the booking as last confirmed stands and the diff decides again. A retry never
  duplicates an event, and cadence's own unconfirmed move is never taken for the salesperson's.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from cadence.values.bookings import BookingRecord
from cadence.values.model import (
    BookingKind,
    BookingState,
    Contact,
    ContactKind,
    PlannedContact,
    PlanStatus,
)
from connectors.base import UNREADABLE, RemoteEvent

LIVE = frozenset({BookingState.BOOKED, BookingState.MOVED_BY_OWNER, BookingState.PENDING})
# The tag carrying an event's spec_hash, read back to tell whether a rewrite was applied.
SPEC_TAG = "spec"
# The source of the contacts that past bookings become (their source id is the booking's key).
BOOKING_SOURCE = "booking"


class ActionKind(StrEnum):
    CREATE = "create"
    MOVE = "move"
    CANCEL = "cancel"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do in a calendar. ``record`` is the stored booking it concerns (None for a
    create); ``planned`` is the contact it serves (None for a cancel)."""

    kind: ActionKind
    planned: PlannedContact | None
    record: BookingRecord | None
    reason: str = ""

    @property
    def owner(self) -> str:
        if self.planned is not None:
            return self.planned.owner
        assert self.record is not None
        return self.record.owner

    @property
    def customer_id(self) -> str:
        if self.planned is not None:
            return self.planned.customer_id
        assert self.record is not None
        return self.record.customer_id


def uid_for(key: str) -> str:
    """The stable calendar uid of a booking key (customer, kind, sequence)."""
    return "cadence-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _is_future(end: datetime | date, now: datetime, today: date) -> bool:
    """Is a booking ending at ``end`` (exclusive for all-day dates) not over yet? An all-day
    booking is judged by ``today``, its owner's local date (never the UTC date)."""
    if isinstance(end, datetime):
        return end > now
    return end > today


def diff(
    planned: Iterable[PlannedContact],
    records: Sequence[BookingRecord],
    now: datetime,
    today_of: Callable[[str], date],
) -> list[Action]:
    """The actions that make the calendars hold ``planned`` (the contacts inside the horizon).

    ``today_of(owner)`` is the owner's local date now (:meth:`cadence.planner.Plan.today_of`,
    so that the planner and the diff agree on which all-day bookings are over).
    """
    today = functools.cache(today_of)
    live = {r.key: r for r in records if r.state in LIVE and _is_future(r.end, now, today(r.owner))}
    used: set[str] = set()
    actions: list[Action] = []
    waiting: list[PlannedContact] = []
    for p in planned:
        record = live.get(p.key)
        if record is None:
            waiting.append(p)
            continue
        used.add(p.key)
        if p.status is PlanStatus.MOVED_BY_OWNER or (p.start, p.end) == (record.start, record.end):
            actions.append(Action(ActionKind.KEEP, p, record))
        else:
            actions.append(Action(ActionKind.MOVE, p, record, _why_moved(p)))
    # A contact whose key is new may still be served by moving a booking of the same customer
    # and kind whose own key no longer appears (a new contact shifted the chain).
    spare: dict[tuple[str, str, BookingKind], list[BookingRecord]] = {}
    unused = [
        r for r in live.values() if r.key not in used and r.state is not BookingState.MOVED_BY_OWNER
    ]  # sorted after filtering: the keys are unique, so the order is the same
    for r in sorted(unused, key=lambda r: (_sort_key(r.start), r.key)):
        spare.setdefault((r.owner, r.customer_id, r.kind), []).append(r)
    for p in waiting:
        # Never across calendars: a customer with a new owner gets new events, and the old
        # owner's are cancelled.
        candidates = spare.get((p.owner, p.customer_id, p.kind))
        if candidates:
            record = candidates.pop(0)
            used.add(record.key)
            actions.append(Action(ActionKind.MOVE, p, record, _why_moved(p)))
        else:
            actions.append(Action(ActionKind.CREATE, p, None, _why(p)))
    for r in live.values():
        if r.key not in used:
            actions.append(Action(ActionKind.CANCEL, None, r, "no longer planned"))
    return actions


def _why(p: PlannedContact) -> str:
    return p.reasons[-1] if p.reasons else ""


def _why_moved(p: PlannedContact) -> str:
    return next((r for r in reversed(p.reasons) if "moved" in r or "forced" in r), _why(p))


def _sort_key(value: datetime | date) -> str:
    return value.isoformat()


@dataclass(frozen=True, slots=True)
class Observation:
    """What :func:`observe` concluded: records to save, records to drop, cancels to repeat,
    contacts that happened (past bookings), and foreign-looking events adopted back."""

    save: list[BookingRecord]
    drop: list[str]
    recancel: list[BookingRecord]
    contacts: list[Contact]


def observe(
    records: Sequence[BookingRecord],
    remote: Mapping[str, RemoteEvent],
    now: datetime,
    backend: str,
) -> Observation:
    """Fold the calendar's view (``remote``, cadence's own events by uid) into the records."""
    save: list[BookingRecord] = []
    drop: list[str] = []
    recancel: list[BookingRecord] = []
    contacts: list[Contact] = []
    seen: set[str] = set()
    for r in records:
        ev = remote.get(r.uid)
        seen.add(r.uid)
        if ev is not None and ev.status == UNREADABLE:
            continue  # the record stays as it was until the event can be read again
        new = _settle(r, ev, now)
        if new is None or new.key != r.key:  # forgotten, or restored under its confirmed key
            drop.append(r.key)
        if new is None:
            continue
        if new.state is BookingState.CANCELLED and ev is not None and ev.status != "cancelled":
            recancel.append(new)
        if new != r:
            save.append(new)
        if (
            new.state in (BookingState.BOOKED, BookingState.MOVED_BY_OWNER)
            and isinstance(new.start, datetime)
            and isinstance(new.end, datetime)
            and new.end <= now
            and new.kind is not BookingKind.ANNIVERSARY_REMINDER
        ):
            kind = ContactKind.CALL if new.kind is BookingKind.WINBACK else ContactKind.MEETING
            # The key (not the uid) identifies what the meeting was for: the planner reads
            # "customer:anniversary:60" as that anniversary served.
            contacts.append(Contact(new.customer_id, kind, new.start, BOOKING_SOURCE, new.key))
    for uid, ev in remote.items():
        if uid in seen or ev.status in ("cancelled", UNREADABLE):
            continue
        adopted = _adopt(ev, now, backend)
        if adopted is not None:
            save.append(adopted)
    return Observation(save, drop, recancel, contacts)


# A calendar read that shows at least this many of cadence's bookings gone at once, and at
# least this share of those not yet over, is not believed (see implausible_loss).
LOSS_MIN = 3
LOSS_SHARE = 0.5
# How long such a loss, confirmed by whole re-reads every cycle, holds the owner's writes
# before it is taken for the salesperson's own doing.
LOSS_HOLD = timedelta(days=1)


def implausible_loss(
    records: Sequence[BookingRecord], remote: Mapping[str, RemoteEvent], now: datetime
) -> str:
    """Why a calendar read is not to be believed, or "" when it is.

    A person deletes a booking or two; a read in which all of cadence's bookings that are not
    over yet (or at least :data:`LOSS_SHARE` of them, and :data:`LOSS_MIN` or more) are gone at
    once is far likelier a read that failed to recognise them (a server leaving out the
    property that marks them, a lost sync state). Folding it in would mark each deleted by the
    salesperson and book it again: a duplicate for every booking. Only bookings whose events
    are known to exist count (booked, moved by the owner, or being rewritten)."""
    known = [
        r
        for r in records
        if (
            r.state in (BookingState.BOOKED, BookingState.MOVED_BY_OWNER)
            or (r.state is BookingState.PENDING and r.confirmed is not None)
        )
        and _is_future(r.end, now, now.date())
    ]
    gone = sum(1 for r in known if (ev := remote.get(r.uid)) is None or ev.status == "cancelled")
    if gone < LOSS_MIN or gone < LOSS_SHARE * len(known):
        return ""
    share = "all" if gone == len(known) else f"{gone} of {len(known)}"
    return (
        f"the calendar read shows {share} of cadence's bookings there as gone at once: not "
        "believed (a read that did not recognise them is likelier than the salesperson "
        "deleting them), so nothing is written there and it is read again each cycle"
    )


def _settle(r: BookingRecord, ev: RemoteEvent | None, now: datetime) -> BookingRecord | None:
    """The record as the calendar shows it now; None when it should be forgotten."""
    if r.confirmed is not None:
        r = _resolve(r, ev)
    elif r.state is BookingState.PENDING and ev is None and r.etag is None:
        return None  # the create never reached the calendar: plan it afresh
    if r.state is BookingState.CANCELLED or r.state in (
        BookingState.DELETED,
        BookingState.DECLINED,
    ):
        return r
    if ev is None or ev.status == "cancelled":
        return replace(r, state=BookingState.DELETED, seen_at=now, updated_at=now)
    if ev.status == "declined":
        return replace(r, state=BookingState.DECLINED, seen_at=now, updated_at=now)
    remote_id = ev.remote_id or r.remote_id
    same = (ev.etag, remote_id, ev.sequence) == (r.etag, r.remote_id, r.sequence)
    # (the usual case, every booking every cycle: no copy made to find it equal)
    fresh = r if same else replace(r, etag=ev.etag, remote_id=remote_id, sequence=ev.sequence)
    if r.state is BookingState.PENDING:  # a create whose answer was lost: it is there
        return replace(fresh, state=BookingState.BOOKED, start=ev.start, end=ev.end, updated_at=now)
    if (ev.start, ev.end) != (r.start, r.end):
        return replace(
            fresh,
            state=BookingState.MOVED_BY_OWNER,
            start=ev.start,
            end=ev.end,
            seen_at=now,
            updated_at=now,
        )
    return fresh if fresh != r else r


def _resolve(r: BookingRecord, ev: RemoteEvent | None) -> BookingRecord:
    """A change to an existing event whose outcome is unknown (the process died, the call
    failed or its answer was lost): done when the calendar shows it, else the booking as last
    confirmed, for the diff to decide again. Never taken for the salesperson's own move."""
    c = r.confirmed
    assert c is not None
    gone = ev is None or ev.status == "cancelled"
    if r.state is BookingState.CANCELLED:
        if gone:
            return replace(r, confirmed=None)
    elif not gone and ev is not None and (ev.start, ev.end) == (r.start, r.end):
        written = ev.tags.get(SPEC_TAG)
        if written is None or written == r.spec_hash:
            # Without the tag (a client dropped it) the details are unknown: "" rewrites them.
            return landed(replace(r, spec_hash=r.spec_hash if written else ""))
    return c.restore(r)


def landed(r: BookingRecord, **changes: Any) -> BookingRecord:
    """A pending change, confirmed: booked, or still the salesperson's own time when only its
    details were rewritten; with ``changes`` (what the calendar answered) made in the same
    copy."""
    c = r.confirmed
    kept_own_time = (
        c is not None
        and c.state is BookingState.MOVED_BY_OWNER
        and (c.start, c.end) == (r.start, r.end)
    )
    state = BookingState.MOVED_BY_OWNER if kept_own_time else BookingState.BOOKED
    return replace(r, state=state, confirmed=None, **changes)


def _adopt(ev: RemoteEvent, now: datetime, backend: str) -> BookingRecord | None:
    """A cadence event with no record (the store was lost or restored): take it back."""
    tags = ev.tags
    key, customer, kind = tags.get("key"), tags.get("customer"), tags.get("kind")
    if not key or not customer or kind not in {k.value for k in BookingKind}:
        return None
    assert kind is not None
    return BookingRecord(
        key=key,
        uid=ev.uid,
        customer_id=customer,
        owner=ev.owner,
        kind=BookingKind(kind),
        backend=backend,
        start=ev.start,
        end=ev.end,
        all_day=ev.all_day,
        state=BookingState.DECLINED if ev.status == "declined" else BookingState.BOOKED,
        seen_at=now,
        remote_id=ev.remote_id,
        etag=ev.etag,
        sequence=ev.sequence,
        created_at=now,
        updated_at=now,
    )
