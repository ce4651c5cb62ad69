"""The all-day anniversary reminders, emitted by the tracks into the plan."""

from __future__ import annotations

from cadence.planner.existing import ExistingBookings
from cadence.planner.needs import Reminder, TrackContext
from cadence.planner.sharing import SharedValues
from cadence.planner.timegrid import iso
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

    __slots__ = ("existing", "out", "shared")

    def __init__(
        self, existing: ExistingBookings, out: list[PlannedContact], shared: SharedValues
    ) -> None:
        self.existing = existing
        self.out = out
        self.shared = shared

    def __call__(self, ctx: TrackContext, r: Reminder) -> None:
        if r.key in self.existing.refused_keys:
            ctx.notes.append(f"anniversary reminder {r.day} was removed by the owner")
            return
        key = self.existing.fresh_key(r.key) if r.key in self.existing.taken_keys else r.key
        existing = self.existing.take(ctx.customer.id, key)
        status = PlanStatus.BOOKED if existing is not None else PlanStatus.PLANNED
        c, day, shared = ctx.customer, r.day, self.shared
        since = c.customer_since
        assert since is not None  # anniversaries are counted from it
        # Positional, in field order, with the plan's shared values (see _Engine.record).
        self.out.append(
            PlannedContact(
                key,
                c.id,  # customer_id
                c.name,  # customer_name
                c.owner,
                BookingKind.ANNIVERSARY_REMINDER,
                r.months,  # seq
                title(BookingKind.ANNIVERSARY_REMINDER, c.name, months=r.months),
                day,  # start
                shared.day_at(day.toordinal() + 1),  # end
                True,  # all_day
                day,  # day
                day,  # ideal
                day,  # window_start
                day,  # window_end
                status,
                shared.reasons((f"anniversary of customer_since {iso(since)}",)),
                False,  # forced
                False,  # over_capacity
                day <= ctx.horizon_day,  # within_horizon
            )
        )
