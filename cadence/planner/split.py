"""``plan()``: the planner's entry point, around :class:`cadence.planner.engine._Engine`.

Two things happen here rather than in the engine. A customer whose planning raises is set
aside and the plan made again without them (fault isolation, SPEC 5.12). And a large book is
split by salesperson across forked processes (salespeople share neither time nor capacity), the
parts' answers crossing the process boundary as plain tuples; the result is identical to a
single-process plan.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import replace
from datetime import date, datetime

from cadence.model import Booking, BookingKind, Customer, PlannedContact, PlanStatus, require_aware
from cadence.planner.engine import CustomerNote, Plan, PlanInput, _Engine, owner_zones
from cadence.planner.timegrid import from_minute, to_minute

PARALLEL_FROM = 20_000  # customers; below this, one process is faster than forking
ISOLATION_PASSES = 3  # plans made at most when customers fail (each pass sets aside new ones)


def plan(inp: PlanInput, *, workers: int | None = None) -> Plan:
    """Plan every customer's next contacts. Pure: same input, same output.

    Salespeople never share capacity or time, so a large book is split by owner across
    ``workers`` processes (default: one per core from :data:`PARALLEL_FROM` customers on).
    The result is identical to a single-process plan.

    A customer whose planning raises is skipped (:attr:`Plan.skipped`, with a note), and the
    plan is made again without them, so that the capacity and time their half-placed contacts
    took go back to everyone else: the others are planned exactly as without the broken one.
    """
    require_aware(inp.now, "PlanInput.now")
    if workers is None:
        workers = (os.cpu_count() or 1) if len(inp.customers) >= PARALLEL_FROM else 1
    result = _plan_once(inp, workers)
    skipped: dict[str, str] = {}
    notes: dict[str, CustomerNote] = {}
    for _ in range(ISOLATION_PASSES - 1):
        if not result.skipped:
            break
        skipped.update(result.skipped)
        notes.update({cid: result.notes[cid] for cid in result.skipped if cid in result.notes})
        rest = [c for c in inp.customers if c.id not in skipped]
        result = _plan_once(replace(inp, customers=rest), workers)
    if skipped:
        # Still failing after the last pass: nothing of theirs is in the plan either.
        result.skipped = {**skipped, **result.skipped}
        result.notes.update(notes)
    return result


def _plan_once(inp: PlanInput, workers: int) -> Plan:
    if workers > 1 and _can_fork():
        return _plan_in_parallel(inp, workers)
    return _Engine(inp).run()


def _can_fork() -> bool:
    # Forking a process that runs other threads can copy a lock mid-use; plan in one process then.
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


_SHARED: list[PlanInput] = []  # the parts, inherited by forked workers (never pickled)


def _plan_in_parallel(inp: PlanInput, workers: int) -> Plan:
    by_owner: dict[str, list[Customer]] = {}
    for customer in inp.customers:
        by_owner.setdefault(customer.owner, []).append(customer)
    buckets: list[list[str]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for owner in sorted(by_owner, key=lambda o: (-len(by_owner[o]), o)):
        smallest = sizes.index(min(sizes))
        buckets[smallest].append(owner)
        sizes[smallest] += len(by_owner[owner])
    part_of = {owner: i for i, bucket in enumerate(buckets) for owner in bucket}
    bookings: list[list[Booking]] = [[] for _ in buckets]
    owner_of = {c.id: c.owner for c in inp.customers}
    for b in inp.bookings:
        # A booking goes with its customer's current owner: one left in a former owner's
        # calendar must be known where the customer is planned now.
        owner = owner_of.get(b.customer_id, b.owner)
        if owner in part_of:
            bookings[part_of[owner]].append(b)
    _SHARED[:] = [
        replace(
            inp,
            customers=[c for owner in bucket for c in by_owner[owner]],
            bookings=bookings[i],
        )
        for i, bucket in enumerate(buckets)
        if bucket
    ]
    if len(_SHARED) < 2:  # one salesperson: nothing to split
        _SHARED.clear()
        return _Engine(inp).run()
    try:
        # The children plan parts 1..n-1 while this process plans part 0 itself: only the
        # children's results cross a process boundary.
        with multiprocessing.get_context("fork").Pool(len(_SHARED) - 1) as pool:
            pending = pool.map_async(_plan_part, range(1, len(_SHARED)))
            own = _Engine(_SHARED[0]).run()
            parts = pending.get()
    finally:
        _SHARED.clear()
    contacts = own.contacts + [_decode(row) for rows, _ in parts for row in rows]
    # Each part is sorted by (owner, start, key) and no owner is in two parts: a stable sort
    # by owner alone gives the single-process order.
    contacts.sort(key=lambda c: c.owner)
    notes = dict(own.notes)
    skipped = dict(own.skipped)
    for _, (part_notes, part_skipped) in parts:
        notes.update(part_notes)
        skipped.update(part_skipped)
    return Plan(contacts, notes, inp.now, inp.horizon_days, skipped, **owner_zones(inp))


def _plan_part(
    index: int,
) -> tuple[list[tuple], tuple[dict[str, CustomerNote], dict[str, str]]]:
    result = _Engine(_SHARED[index]).run()
    # Plain tuples of str and int cross the process boundary twice as fast as dataclasses.
    return [_encode(c) for c in result.contacts], (result.notes, result.skipped)


def _encode(c: PlannedContact) -> tuple:
    if c.all_day:
        start, end = c.start.toordinal(), c.end.toordinal()
    else:
        assert isinstance(c.start, datetime) and isinstance(c.end, datetime)
        start, end = to_minute(c.start), to_minute(c.end)
    return (
        c.key,
        c.customer_id,
        c.customer_name,
        c.owner,
        c.kind.value,
        c.seq,
        c.title,
        start,
        end,
        c.all_day,
        c.day.toordinal(),
        c.ideal.toordinal(),
        c.window_start.toordinal(),
        c.window_end.toordinal(),
        c.status.value,
        c.reasons,
        c.forced,
        c.over_capacity,
        c.within_horizon,
    )


def _decode(row: tuple) -> PlannedContact:
    day = date.fromordinal
    all_day = row[9]
    return PlannedContact(
        row[0],
        row[1],
        row[2],
        row[3],
        BookingKind(row[4]),
        row[5],
        row[6],
        day(row[7]) if all_day else from_minute(row[7]),
        day(row[8]) if all_day else from_minute(row[8]),
        all_day,
        day(row[10]),
        day(row[11]),
        day(row[12]),
        day(row[13]),
        PlanStatus(row[14]),
        row[15],
        row[16],
        row[17],
        row[18],
    )
