"""Resolved contact policies: what the planner reads.

The TOML files managers edit are loaded and validated by :mod:`cadence.policy_load`; the result
is a :class:`PolicySet` of plain, fully-defaulted values. Segment values override ``[defaults]``;
a customer's own busy seasons add to its industry's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cadence.durations import Duration
from cadence.model import ContactKind, Customer
from cadence.seasons import Season
from cadence.workweek import WorkingHours

DEFAULT_AGENDA = (
    "Thank them for their business. Ask what problems they have had lately and what we could "
    "do better. Listen more than you talk: aim to speak no more than 30% of the time."
)


@dataclass(frozen=True)
class SegmentPolicy:
    """The effective rhythm for one segment (``[defaults]`` merged under ``[segment.NAME]``)."""

    name: str = "default"
    every: Duration = Duration.parse("quarter")
    min_gap: Duration = Duration.parse("6 weeks")
    max_gap: Duration = Duration.parse("4 months")
    meeting: timedelta = timedelta(minutes=30)
    counts: frozenset[ContactKind] = frozenset(
        {ContactKind.MEETING, ContactKind.CALL, ContactKind.EMAIL_OUT}
    )
    timezone: str = "UTC"  # customers without a zone of their own
    customer_hours: WorkingHours | None = None
    agenda: str = DEFAULT_AGENDA
    anniversary: str | None = None  # "yearly", "half-yearly" or None
    anniversary_lead: Duration = Duration.parse("1 week")
    onboarding: tuple[Duration, ...] = ()
    onboarding_window: Duration = Duration.parse("1 week")  # tolerance either side of a step
    retry_after: Duration = Duration.parse("1 week")
    invite_customer: bool = False
    reminder_minutes: tuple[int, ...] = (15,)


@dataclass(frozen=True)
class WinbackPolicy:
    """The win-back track for cancelled customers."""

    first_within: Duration = Duration.parse("2 business days")
    every: Duration = Duration.parse("3 months")
    until: Duration = Duration.parse("1 year")
    meeting: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Capacity:
    """cadence bookings per salesperson; None means unlimited."""

    per_day: int | None = 6
    per_week: int | None = 20


@dataclass(frozen=True)
class PolicySet:
    """Every policy file merged and resolved."""

    defaults: SegmentPolicy = field(default_factory=SegmentPolicy)
    segments: dict[str, SegmentPolicy] = field(default_factory=dict)
    industries: dict[str, tuple[Season, ...]] = field(default_factory=dict)
    winback: WinbackPolicy = field(default_factory=WinbackPolicy)
    capacity: Capacity = field(default_factory=Capacity)
    # country or subdivision code (upper case) -> weekday numbers (0 = Monday) that are the
    # customer's weekend, overriding what the holidays package knows for that country.
    weekends: dict[str, frozenset[int]] = field(default_factory=dict)
    # [closures]: company closure days; nothing is booked on them (salesperson-local dates).
    closures: tuple[Season, ...] = ()

    def for_segment(self, name: str) -> SegmentPolicy:
        """The policy of segment ``name``; unknown or empty falls back to ``default``."""
        if name and name in self.segments:
            return self.segments[name]
        return self.segments.get("default", self.defaults)

    def for_customer(self, customer: Customer) -> SegmentPolicy:
        return self.for_segment(customer.segment)

    def industry_seasons(self, industry: str) -> tuple[Season, ...]:
        return self.industries.get(industry.strip().lower(), ()) if industry else ()
