"""``plan()``: the planner's entry point, around :class:`cadence.planner.engine._Engine`.

Three things happen here rather than in the engine. A customer whose planning raises is set
aside and the plan made again without them (fault isolation, SPEC 5.12). The plan is settled:
made again, for the salespeople it changes, as if it were already in the calendars, until it
keeps itself, so that the cycle after the one that applied it writes nothing. And a large book
is split by salesperson across forked processes (:mod:`cadence.planner.parallel`; salespeople
share neither time nor capacity); the result is identical to a single-process plan.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from cadence.planner import parallel
from cadence.planner.api import CustomerNote, Plan, PlanInput
from cadence.planner.calendars import local_hours, season_set, shared_days
from cadence.planner.engine import _Engine
from cadence.planner.existing import LIVE_STATES
from cadence.planner.timegrid import (
    day_start,
    iso,
    local_date,
    local_minute,
    local_span,
    short_date,
    steady_offset,
)
from cadence.values.model import (
    Booking,
    BookingState,
    PlannedContact,
    PlanStatus,
    require_aware,
)

PARALLEL_FROM = 20_000  # customers; below this, one process is faster than forking
ISOLATION_PASSES = 3  # plans made at most when customers fail (each pass sets aside new ones)
SETTLE_PASSES = 3  # further plans made at most, for the salespeople a plan changes
# Kept while plan() runs (its settling re-plans find them warm), emptied when it returns.
PLAN_CACHES = (
    day_start,
    iso,
    local_minute,
    local_span,
    local_date,
    shared_days,
    local_hours,
    season_set,
    short_date,
    steady_offset,
)


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
    with _no_collection_pauses():
        return _plan(inp, workers)


@contextmanager
def _no_collection_pauses() -> Iterator[None]:
    """Python's cyclic garbage collector is paused while a plan is made, and resumed after.

    A plan allocates millions of small objects that live until it is done; the collector
    traverses all of them (the input too) again and again: a quarter of the planner's CPU at
    25,000 customers, more on larger books, and in a forked worker it writes to every page of
    the parent's objects it traverses, copying them. The planner makes no reference cycles
    (``tests/test_planner_garbage.py``), so its garbage is freed by reference counting as it
    goes.

    The planner's own caches (:data:`PLAN_CACHES`: local times and the customer-side
    calendars) are emptied after it: worth keeping within a plan and its settling, but the tens
    of thousands of entries left behind would only be traversed by the collector's next run.

    What the plan made and still holds when it is done is the plan, which lives on: it goes to
    the collector's oldest generation at once (``gc.freeze`` then ``gc.unfreeze``, which
    traverse nothing). Left in the youngest, every object of it would be traversed by a young
    collection at the first allocation after the collector is resumed (0.29 s of a 9.6 s plan
    at 100,000 customers), and again by a middle one later, to end in the oldest all the same.
    The young generations are collected before the plan (the few thousand objects they hold
    then, about a millisecond): so what is moved after it is what the plan made, never
    garbage of the caller's, which would then wait for the next full collection. The planner
    makes no cycles; the libraries it calls may, on first use (the first plan of a process
    imports the holiday tables): that garbage, made once, waits for a full collection.
    """
    enabled = gc.isenabled()
    promote = enabled and not gc.get_freeze_count()  # unfreeze would thaw what another froze
    if promote:
        gc.collect(1)
    gc.disable()
    try:
        yield
    finally:
        for cache in PLAN_CACHES:
            cache.cache_clear()
        if promote:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def _plan(inp: PlanInput, workers: int | None) -> Plan:
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
    return _settle(inp, result, workers)


def _settle(inp: PlanInput, first: Plan, workers: int) -> Plan:
    """A plan that plans itself again once it is in the calendars.

    Placing one customer can free a day that a customer placed before it could have used (its
    booking moved away), so a plan that moves bookings may not be the plan the next cycle makes
    from the moved bookings: the calendars would change twice. Each salesperson whose bookings
    the plan moves or cancels is planned again from the bookings as they will be, until that
    gives the same times (at most :data:`SETTLE_PASSES` more plans, for those salespeople only:
    they share nothing). An unchanged world, or one where only bookings are added, costs no
    second plan. A contact that ends where the first plan put it keeps the first plan's
    reasons, which explain the change from the calendars as they are.
    """
    result = first
    bookings = list(inp.bookings)
    unsettled = _changed_owners(bookings, result)
    for _ in range(SETTLE_PASSES):
        if not unsettled:
            break
        bookings = _as_applied(bookings, result, unsettled)
        part = replace(
            inp,
            customers=[
                c for c in inp.customers if c.owner in unsettled and c.id not in result.skipped
            ],
            bookings=[b for b in bookings if b.owner in unsettled],
        )
        again = _plan_once(part, workers)
        times_now, times_before = _times(again, unsettled), _times(result, unsettled)
        customers = _customers_of(result, unsettled)
        moved = {
            owner
            for owner in unsettled
            if times_now.get(owner, set()) != times_before.get(owner, set())
            or any(cid in again.skipped for cid in customers.get(owner, ()))
        }
        result = _merge(result, again, unsettled, first)
        unsettled = moved
    return result


def _times(result: Plan, owners: set[str]) -> dict[str, set[tuple[str, object, object]]]:
    """(key, start, end) of each booked contact of ``owners``, by owner (one pass over the
    plan, not one per owner: a settle pass can concern hundreds of salespeople)."""
    times: dict[str, set[tuple[str, object, object]]] = {}
    for c in result.booked():
        if c.owner in owners:
            times.setdefault(c.owner, set()).add((c.key, c.start, c.end))
    return times


def _customers_of(result: Plan, owners: set[str]) -> dict[str, set[str]]:
    """The customers with a planned contact, by owner, for ``owners``."""
    customers: dict[str, set[str]] = {}
    for c in result.contacts:
        if c.owner in owners:
            customers.setdefault(c.owner, set()).add(c.customer_id)
    return customers


def _is_live_ahead(b: Booking, result: Plan) -> bool:
    """Is ``b`` a booking the diff keeps, moves or cancels (live, not over)?"""
    if b.state not in LIVE_STATES:
        return False
    if isinstance(b.end, datetime):
        return b.end > result.now
    return b.end > result.today_of(b.owner)


def _changed_owners(bookings: list[Booking], result: Plan) -> set[str]:
    """The salespeople whose existing bookings ``result`` moves or cancels.

    Only a booking given up frees time or capacity that a customer placed earlier could have
    used; a plan that only adds bookings already plans itself again (each kept booking is
    still free in its own slot, and nothing was released), so creating alone needs no check.
    """
    if not bookings:  # a first plan: nothing to move or cancel
        return set()
    skipped = result.skipped
    wanted = {(c.key, c.start, c.end) for c in result.booked()}
    return {
        b.owner
        for b in bookings
        if b.customer_id not in skipped
        and _is_live_ahead(b, result)
        and (b.key, b.start, b.end) not in wanted
    }


def _as_applied(bookings: list[Booking], result: Plan, owners: set[str]) -> list[Booking]:
    """``bookings`` as the calendars of ``owners`` will hold them once ``result`` is applied:
    live bookings ahead replaced by the planned ones, under their keys (the diff's rule)."""
    seen_at = {b.key: b.seen_at for b in bookings}
    kept = [
        b
        for b in bookings
        if b.owner not in owners or b.customer_id in result.skipped or not _is_live_ahead(b, result)
    ]
    planned = [as_booking(c, seen_at.get(c.key)) for c in result.booked() if c.owner in owners]
    return kept + planned


def as_booking(c: PlannedContact, seen_at: datetime | None = None) -> Booking:
    """A planned contact as its calendar holds it once booked."""
    moved = c.status is PlanStatus.MOVED_BY_OWNER
    return Booking(
        key=c.key,
        customer_id=c.customer_id,
        owner=c.owner,
        kind=c.kind,
        start=c.start,
        end=c.end,
        all_day=c.all_day,
        state=BookingState.MOVED_BY_OWNER if moved else BookingState.BOOKED,
        seen_at=seen_at,
    )


def _merge(result: Plan, again: Plan, owners: set[str], first: Plan) -> Plan:
    """``result`` with the contacts, notes and skips of ``owners`` taken from ``again``; a
    contact at the time the first plan gave it keeps the first plan's version."""
    original = {(c.key, c.start, c.end): c for c in first.contacts if c.owner in owners}
    contacts = [c for c in result.contacts if c.owner not in owners]
    contacts += [original.get((c.key, c.start, c.end), c) for c in again.contacts]
    contacts.sort(key=lambda c: c.owner)  # stable: each owner's own order is kept
    notes = {cid: n for cid, n in result.notes.items() if cid not in again.notes}
    notes.update(again.notes)
    skipped = {**result.skipped, **again.skipped}
    return replace(result, contacts=contacts, notes=notes, skipped=skipped)


def _plan_once(inp: PlanInput, workers: int) -> Plan:
    if workers > 1 and parallel.can_fork():
        return parallel.plan_in_parallel(inp, workers)
    return _Engine(inp).run()
