"""What the planner is given and what it answers: :class:`PlanInput`, :class:`Plan` and the
per-customer :class:`CustomerNote` (``cadence explain`` prints it).

These are the types callers use (``from cadence.planner import plan, PlanInput, Plan``); how a
plan is made lives in :mod:`cadence.planner.engine` and the modules it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cadence.inputs.policy import PolicySet
from cadence.values.model import (
    Booking,
    BusyInterval,
    Contact,
    Customer,
    PlannedContact,
    Salesperson,
    Snooze,
)
from cadence.values.progress import Tick
from cadence.values.seasons import Season, parse_season


@dataclass(frozen=True)
class PlanInput:
    """Everything the planner looks at. ``busy`` never contains cadence's own events."""

    policies: PolicySet
    customers: Sequence[Customer]
    salespeople: Mapping[str, Salesperson]
    now: datetime
    contacts: Mapping[str, Sequence[Contact]] = field(default_factory=dict)
    busy: Mapping[str, Sequence[BusyInterval]] = field(default_factory=dict)
    bookings: Sequence[Booking] = ()
    horizon_days: int = 90
    forecast_days: int = 0  # plan this far ahead too; contacts past the horizon are forecast
    season_parser: Callable[[str], Season] = parse_season
    # Told how far planning has got (a progress bar: values.progress); never changes the plan.
    progress: Tick | None = field(default=None, compare=False)
    snoozes: Mapping[str, Snooze] = field(default_factory=dict)  # by customer id


@dataclass(slots=True)
class CustomerNote:
    """Why a customer's plan looks the way it does (for ``cadence explain``)."""

    customer_id: str
    policy: str
    status: str
    last_day: date | None = None  # last counted contact day (incl. the CSV last_contact)
    messages: list[str] = field(default_factory=list)
    unbookable: str | None = None  # why nothing can ever be booked (the hours never meet)
    snoozed_until: date | None = None  # paused: nothing is booked before this day


@dataclass
class Plan:
    """The planner's answer: every planned contact, with reasons, and notes per customer.

    ``skipped`` names the customers that could not be planned (customer id -> cause): nothing
    is planned for them, and everyone else is planned exactly as if they were not there.
    """

    contacts: list[PlannedContact]
    notes: dict[str, CustomerNote]
    now: datetime
    horizon_days: int
    skipped: dict[str, str] = field(default_factory=dict)
    # The zone of each salesperson's calendar (by e-mail) as the planner used it, and the zone
    # of an owner it was not told about (the policy default).
    zones: Mapping[str, str] = field(default_factory=dict)
    default_zone: str = "UTC"

    def booked(self) -> list[PlannedContact]:
        """The contacts inside the horizon: what should be in calendars now."""
        return [c for c in self.contacts if c.within_horizon]

    @property
    def unbookable(self) -> dict[str, str]:
        """Customers nothing can ever be booked for (their hours never meet their owner's),
        with the reason: customer id -> text."""
        return {cid: n.unbookable for cid, n in self.notes.items() if n.unbookable}

    def today_of(self, owner: str) -> date:
        """Today in ``owner``'s own zone: an all-day item is over when its (exclusive) end date
        is not after this day, for the planner and the reconciler alike."""
        return self.now.astimezone(ZoneInfo(self.zones.get(owner) or self.default_zone)).date()


def owner_zones(inp: PlanInput) -> dict[str, Any]:
    """The :class:`Plan` fields ``zones`` and ``default_zone`` of ``inp``, as
    :meth:`cadence.planner.calendars.Calendars.agenda` resolves each salesperson's zone."""
    return {
        "zones": {email: p.timezone or "UTC" for email, p in inp.salespeople.items()},
        "default_zone": inp.policies.defaults.timezone or "UTC",
    }
