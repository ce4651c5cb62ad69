"""One full cycle: import, sync contacts, plan, reconcile calendars.

This is where configuration, store and connectors meet (with the CLI and the daemon above it).
:func:`run_cycle` does one cycle of a :class:`~cadence.sync.workspace.Workspace`:

1. re-read the customer file when it changed (upsert, never delete);
2. per salesperson: read cadence's own events and fold them into the bookings (people's moves,
   deletions, declines; writes whose outcome was unknown), and recognise contacts from past
   calendar events and mail (the first request of everyone's reads sent at once where the
   backend can, :mod:`cadence.sync.ahead`); then read busy time (many salespeople a request
   where the backend can);
3. plan (pure) and diff against the bookings;
4. per salesperson: write the actions, recording intent in the store *before* each write.

Steps 2 and 4 serve several salespeople at once when their backends allow it
(:func:`cadence.sync.fanout.fan_out`: a bounded pool; the store and this module's own code take
turns, only the waits on servers overlap). One salesperson's failing backend never stops the
others: an authentication failure is reported once per cause (one line for all the salespeople
it concerns) and tried again on the next cycle; a transient failure defers that salesperson
(not asked again before the server's ``Retry-After``, or a growing backoff). No backend sleeps
longer than ``NAP_CAP`` inside a cycle, and a stop ends every wait at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from cadence.planner import Plan, plan
from cadence.sync import apply, calendars, contacts, customer_file
from cadence.sync.ahead import read_ahead
from cadence.sync.calls import REPORTED
from cadence.sync.fanout import fan_out, in_background
from cadence.sync.incremental import OwnerFacts, Quiet, Tracker, did_nothing
from cadence.sync.reconcile import Action, ActionKind
from cadence.sync.result import CycleResult
from cadence.sync.wording import count
from cadence.values.matching import CustomerMatcher
from cadence.values.model import Customer, Salesperson
from cadence.values.progress import every

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

log = logging.getLogger("cadence")


def run_cycle(
    ws: Workspace,
    now: datetime,
    stop: Callable[[], bool] = lambda: False,
    *,
    share: Collection[str] | None = None,
    import_customers: bool = True,
    keep: Callable[[str], bool] | None = None,
) -> CycleResult:
    """Import, sync, plan, reconcile. ``stop`` is polled between writes (SIGTERM).

    ``share`` limits the calendars read and written to those salespeople (several daemons
    on one database divide them, see :mod:`cadence.store.leases`); the plan still covers all.
    ``keep(owner)`` is asked before each write to a calendar (the daemon renews its lease
    there): when it says no, another daemon serves that salesperson now, and this cycle
    writes nothing more to their calendar.
    """
    ws.keep = keep or (lambda owner: True)
    ws.calls.halt.clear()

    def stopping() -> bool:
        if stop():
            ws.calls.halt.set()  # a backend waiting to try again gives up at once
            return True
        return False

    result = CycleResult()
    if import_customers:
        result.imported = customer_file.refresh(ws, now, result.problems)
    elif ws.config.customers is not None:  # another daemon imports; still report
        customer_file.reported_problems(ws, result.problems)
    # Salespeople whose inputs are as when their last cycle did nothing are left alone
    # (cadence.sync.incremental); several daemons sharing the salespeople run whole cycles.
    tracker = Tracker(ws, now) if share is None and ws.incremental else None
    quiet: dict[str, Quiet] = {}
    if tracker is not None:
        owners, quiet = tracker.split(ws.owners_known())
        if not quiet:  # everyone's inputs changed (or cannot be told): the whole cycle
            tracker.whole = True
        customers = ws.store.customers(None if tracker.whole else owners)
    else:
        customers = ws.store.customers()
        owners = [o for o in ws.owners(customers) if share is None or o in share]
    people = ws.salespeople(customers, owners)
    failed = result.failed_owners
    unreadable: set[str] = set()  # "owner: uid" of cadence events a calendar cannot read
    mine: dict[str, list[Customer]] = {}
    for c in customers:
        mine.setdefault(c.owner, []).append(c)
    added: list[int] = []

    def read_owner(owner: str) -> None:
        """One salesperson's calendar folded into the bookings, then their contacts."""
        person = people[owner]
        ws.calls.guarded(
            owner, failed, lambda: calendars.read_owned(ws, person, now, failed, unreadable)
        )
        if owner in failed or owner not in mine:
            return
        matcher = CustomerMatcher({c.id: (c.emails, c.domains) for c in mine[owner]})
        ws.calls.guarded(
            owner,
            failed,
            lambda: contacts.read_contacts(ws, owner, people, matcher, now, added, failed),
        )

    synced = every(ws.progress, "reading calendars", len(owners), 1)
    todo = list(owners)
    while todo:
        # Everyone's first read requests at once, where a backend can (a server that hangs
        # there is not waited for: a stop abandons it).
        if not in_background(partial(read_ahead, ws, now, todo, people, mine), stop=stopping):
            result.interrupted = True
            return result
        workers = ws.workers_for(people[o] for o in todo)
        # Nothing written yet but what the calendars showed: stopping here is safe.
        if not fan_out(todo, read_owner, workers=workers, stop=stopping, done=synced):
            result.interrupted = True
            return result
        # What was read there can change a salesperson left alone (their customer's
        # booking in another calendar): they are worked on too, as a whole cycle would.
        todo = tracker.changed_since_start(quiet) if tracker is not None else []
        for owner in todo:
            del quiet[owner]
        if todo:
            owners = sorted([*owners, *todo])
            customers = ws.store.customers(owners)  # someone was left alone: a part
            people = ws.salespeople(customers, owners)
            mine = {}
            for c in customers:
                if c.owner in todo:
                    mine.setdefault(c.owner, []).append(c)
    workers = ws.workers_for(people[o] for o in owners)
    ws.calls.flush()
    result.unreadable = sorted(unreadable)
    result.contacts_added = sum(added)
    if stopping():
        result.interrupted = True
        return result
    busy = calendars.read_busy(ws, now, owners, failed, stopping)
    if stopping():
        result.interrupted = True
        return result
    # as observed above: read once for plan and decision
    part = tracker is not None and not tracker.whole
    records = ws.store.bookings_planned_with(owners) if part else ws.store.bookings()
    inp = ws.planning_input(
        now, busy, customers=customers, records=records, only_their_contacts=part
    )
    planned = plan(inp)
    _log_unbookable(ws, planned, sum(q.unbookable for q in quiet.values()))
    ws.store.save_plan(planned.contacts, owners if part else None)
    decision = ws.decide(planned, customers, unreadable, records)
    result.unchanged += sum(q.kept for q in quiet.values())
    skipped = result.skipped_customers
    skipped.update(decision.skipped)
    policies = {c.id: ws.policies.for_customer(c) for c in customers}
    by_id = {c.id: c for c in customers}
    actions = result.actions = decision.actions
    by_owner: dict[str, list[Action]] = {}
    for action in actions:
        if share is not None and action.owner not in share:
            continue
        if action.kind is ActionKind.KEEP:
            result.unchanged += 1
        elif action.owner not in failed:
            by_owner.setdefault(action.owner, []).append(action)

    def write_owner(item: tuple[str, list[Action]]) -> None:
        owner, owner_actions = item
        person = people[owner]
        ws.calls.guarded(
            owner,
            failed,
            lambda: apply.apply_actions(
                ws, person, owner_actions, by_id, policies, planned, now, result, stopping
            ),
        )

    written = every(ws.progress, "writing to calendars", len(by_owner), 1)
    if not fan_out(
        sorted(by_owner.items()), write_owner, workers=workers, stop=stopping, done=written
    ):
        result.interrupted = True
    held_by: dict[str, int] = {}
    for owner in owners:
        if owner not in failed:
            before = len(result.held)
            person = people[owner]
            ws.calls.guarded(owner, failed, lambda: _collect_held(ws, person, result.held))  # noqa: B023
            held_by[owner] = len(result.held) - before
    ws.calls.flush()
    if tracker is not None:

        def facts() -> OwnerFacts:
            return OwnerFacts.gather(
                ws, customers, records, inp.contacts, busy, planned.contacts, owners, now
            )

        nothing = did_nothing(owners, result, planned, customers, held_by)
        tracker.finish(owners, quiet, nothing, facts)
    ws.calls.recovered(set(owners) - set(failed))
    _report_skipped(ws, skipped, by_id)
    attention = result.attention(by_id)
    ws.store.state("cycle").set("attention", json.dumps(attention) if attention else None)
    return result


def _log_unbookable(ws: Workspace, planned: Plan, others: int = 0) -> None:
    """How many customers can never be booked (their hours never meet their owner's), when
    that number changes: once for ``run --once``, not every cycle of the daemon.
    ``others``: those of the salespeople left alone this cycle."""
    n = len(planned.unbookable) + others
    if n != ws.unbookable and n:
        log.warning(
            "%s can never be booked: their hours never meet their owner's "
            "working hours (`cadence check` names them and the fix)",
            count(n, "customer"),
        )
    ws.unbookable = n


def _collect_held(ws: Workspace, person: Salesperson, held: list[str]) -> None:
    held.extend(ws.backend(ws.backend_name(person)).set_aside(person.email))


def _report_skipped(
    ws: Workspace, skipped: Mapping[str, str], customers: Mapping[str, Customer]
) -> None:
    """Log each customer that could not be planned or booked once (and once when it works
    again); keep the list for ``cadence report`` and ``cadence explain``."""
    for customer_id, why in sorted(skipped.items()):
        if ws.reported.get(customer_id) != why:
            customer = customers.get(customer_id)
            name = f"{customer.name} ({customer_id})" if customer else customer_id
            log.error("customer %s skipped: %s; the others go on", name, why, extra=REPORTED)
    for customer_id in sorted(set(ws.reported) - set(skipped)):
        log.info("customer %s is planned again", customer_id)
    ws.reported = dict(skipped)
    ws.store.state("cycle").set(
        "skipped-customers", json.dumps(dict(sorted(skipped.items()))) if skipped else None
    )
