"""The all-day anniversary reminders, emitted by the tracks into the plan."""

from __future__ import annotations

from datetime import timedelta

from cadence.planner.existing import ExistingBookings
from cadence.planner.needs import Reminder, TrackContext
from cadence.planner.titles import title
from cadence.values.model import BookingKind, PlannedContact, PlanStatus


class Reminders:
    """Emits the all-day anniversary reminders (no slot, no capacity) into the plan.

    Its own object rather than a method of the engine: every track holds it, and a bound
    method of the engine there would make the engine part of a reference cycle. Everything a
    plan allocates would then be freed only by the cyclic collector, whose first run after the
    plan traverses it all (a tenth of the plan's CPU at 10,000 and at 100,000 customers);
    without a cycle, reference counting frees the engine as the plan returns.
    """

    __slots__ = ("existing", "out")

    def __init__(self, existing: ExistingBookings, out: list[PlannedContact]) -> None:
        self.existing = existing
        self.out = out

    def __call__(self, ctx: TrackContext, r: Reminder) -> None:
        if r.key in self.existing.refused_keys:
            ctx.notes.append(f"anniversary reminder {r.day} was removed by the owner")
            return
        key = self.existing.fresh_key(r.key) if r.key in self.existing.taken_keys else r.key
        existing = self.existing.take(ctx.customer.id, key)
        status = PlanStatus.BOOKED if existing is not None else PlanStatus.PLANNED
        c = ctx.customer
        self.out.append(
            PlannedContact(
                key=key,
                customer_id=c.id,
                customer_name=c.name,
                owner=c.owner,
                kind=BookingKind.ANNIVERSARY_REMINDER,
                seq=r.months,
                title=title(BookingKind.ANNIVERSARY_REMINDER, c.name, months=r.months),
                start=r.day,
                end=r.day + timedelta(days=1),
                all_day=True,
                day=r.day,
                ideal=r.day,
                window_start=r.day,
                window_end=r.day,
                status=status,
                reasons=(f"anniversary of customer_since {c.customer_since}",),
                within_horizon=r.day <= ctx.horizon_day,
            )
        )
