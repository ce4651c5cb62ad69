"""The one decision: which calendar writes a plan needs, for the preview and the run alike.

``cadence plan --changes`` and the cycle both call :func:`decide`, so the preview lists exactly
what the next run writes: the diff of the plan against the bookings (:func:`reconcile.diff`),
less what must be left alone (customers the planner set aside, events a calendar cannot read),
plus the rewrites of kept bookings whose details changed (a customer renamed, invitations
switched on: same time, new title or attendees). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence.planner import Plan
from cadence.sync.event_text import details_hash
from cadence.sync.reconcile import Action, ActionKind, diff
from cadence.values.bookings import BookingRecord
from cadence.values.errors import describe_error
from cadence.values.model import Customer, Salesperson

DETAILS_CHANGED = "details changed (title or attendees)"


@dataclass
class Decision:
    """Every action (``keep`` included) and the customers left alone, with why."""

    actions: list[Action] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> list[Action]:
        """The writes: create, move (a new time or new details) and cancel."""
        return [a for a in self.actions if a.kind is not ActionKind.KEEP]


def decide(
    plan: Plan,
    records: Sequence[BookingRecord],
    customers: Mapping[str, Customer],
    people: Mapping[str, Salesperson],
    policies: Mapping[str, Any],
    *,
    unreadable: Collection[str] = (),
) -> Decision:
    """The actions that make the calendars hold ``plan``.

    ``policies`` maps customer id to policy; ``unreadable`` holds ``"owner: uid"`` of cadence
    events a calendar cannot read (left exactly as they are). A customer whose event cannot be
    built is set aside (in :attr:`Decision.skipped`, with the planner's own skips).
    """
    decision = Decision(skipped=dict(plan.skipped))
    skipped = decision.skipped
    for action in diff(plan.booked(), records, plan.now, plan.today_of):
        customer_id = action.customer_id
        record = action.record
        if customer_id in skipped or (record and f"{record.owner}: {record.uid}" in unreadable):
            continue  # left as it is: never cancel what could not be planned or read
        try:
            decision.actions.append(_with_details(action, customers, people, policies))
        except Exception as exc:  # this customer's event cannot be built: set it aside
            skipped[customer_id] = describe_error(exc)
    return decision


def _with_details(
    action: Action,
    customers: Mapping[str, Customer],
    people: Mapping[str, Salesperson],
    policies: Mapping[str, Any],
) -> Action:
    """A kept booking whose title or attendees changed is rewritten; its time stays."""
    p, r = action.planned, action.record
    if action.kind is not ActionKind.KEEP or p is None or r is None:
        return action
    customer = customers.get(p.customer_id)
    if customer is None:
        return action
    if details_hash(p, customer, people[p.owner], policies[p.customer_id]) == r.spec_hash:
        return action
    return Action(ActionKind.MOVE, p, r, DETAILS_CHANGED)
