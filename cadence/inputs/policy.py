"""Resolved contact policies: what the planner reads.

The TOML files managers edit are loaded and validated by :mod:`cadence.inputs.policy_load`; the
result is a :class:`PolicySet` of plain, fully-defaulted values. Segment values override
``[defaults]``; a customer's own busy seasons add to its industry's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from cadence.inputs.policy_schema import CAPACITY, SEGMENT, WINBACK
from cadence.values.durations import Duration
from cadence.values.model import BookingKind, ContactKind, Customer
from cadence.values.seasons import Season
from cadence.values.workweek import WorkingHours

# Every default below is its table's schema's (cadence.inputs.policy_schema), converted.
_S, _W, _C = SEGMENT.default, WINBACK.default, CAPACITY.default


@dataclass(frozen=True)
class SegmentPolicy:
    """The effective rhythm for one segment (``[defaults]`` merged under ``[segment.NAME]``)."""

    name: str = "default"
    every: Duration = _S("every")
    min_gap: Duration = _S("min_gap")
    max_gap: Duration = _S("max_gap")
    meeting: timedelta = _S("meeting")
    counts: frozenset[ContactKind] = _S("counts")
    timezone: str = _S("timezone")  # customers without a zone of their own
    customer_hours: WorkingHours | None = None
    agenda: str = _S("agenda")
    onboarding_agenda: str = _S("onboarding_agenda")
    anniversary_agenda: str = _S("anniversary_agenda")
    winback_agenda: str = _W("agenda")  # [winback] agenda, copied in by the loader
    anniversary: str | None = _S("anniversary")  # "yearly", "half-yearly" or None
    anniversary_lead: Duration = _S("anniversary_lead")
    onboarding: tuple[Duration, ...] = _S("onboarding")
    onboarding_window: Duration = _S("onboarding_window")  # tolerance either side of a step
    retry_after: Duration = _S("retry_after")
    invite_customer: bool = _S("invite_customer")
    reminder_minutes: tuple[int, ...] = _S("reminders")
    # What an invited customer reads ({customer}, {salesperson} filled in): never the agenda.
    customer_description: str = _S("customer_description")
    onboarding_customer_description: str = _S("onboarding_customer_description")
    anniversary_customer_description: str = _S("anniversary_customer_description")
    # A video link on every meeting: "" (none), "meet" (Google Meet, on Google calendars),
    # "teams" (Microsoft Teams, on Outlook calendars) or "url" (``video_url``, any backend).
    video: str = _S("video")
    video_url: str = ""  # {booking} and {salesperson} filled in, URL-quoted


@dataclass(frozen=True)
class WinbackPolicy:
    """The win-back track for cancelled customers."""

    first_within: Duration = _W("first_within")
    every: Duration = _W("every")
    until: Duration = _W("until")
    meeting: timedelta = _W("meeting")
    agenda: str = _W("agenda")


@dataclass(frozen=True)
class Capacity:
    """cadence bookings per salesperson (None means unlimited), the time kept free around each
    one, and how long an overdue backlog is spread over."""

    per_day: int | None = _C("per_day")
    per_week: int | None = _C("per_week")
    buffer: timedelta = _C("buffer")  # kept free before and after each new booking
    catch_up: Duration = _C("catch_up")  # overdue customers are spread over this


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
        """The segment's policy, with the customer's own ``every`` / ``min_gap`` / ``max_gap``
        (CSV columns) laid over it when set. The result may break ``min_gap <= every <=
        max_gap``: :func:`rhythm_problem` says so, and the planner skips such a customer."""
        policy = self.for_segment(customer.segment)
        if customer.every is None and customer.min_gap is None and customer.max_gap is None:
            return policy
        return replace(
            policy,
            every=customer.every or policy.every,
            min_gap=customer.min_gap or policy.min_gap,
            max_gap=customer.max_gap or policy.max_gap,
        )

    def industry_seasons(self, industry: str) -> tuple[Season, ...]:
        return self.industries.get(industry.strip().lower(), ()) if industry else ()


def rhythm_problem(policy: SegmentPolicy) -> str | None:
    """Why ``policy``'s gaps are out of order (``min_gap <= every <= max_gap``), or None."""
    low, mid, high = policy.min_gap, policy.every, policy.max_gap
    if low.approx_days > mid.approx_days:
        return f"min_gap {low} is longer than every {mid}; need min_gap <= every <= max_gap"
    if mid.approx_days > high.approx_days:
        return f"every {mid} is longer than max_gap {high}; need min_gap <= every <= max_gap"
    return None


def customer_description_of(policy: SegmentPolicy, kind: BookingKind) -> str:
    """The text invited customers read for a booking of ``kind`` (placeholders unfilled)."""
    if kind is BookingKind.ONBOARDING:
        return policy.onboarding_customer_description
    if kind is BookingKind.ANNIVERSARY:
        return policy.anniversary_customer_description
    return policy.customer_description


def agenda_of(policy: SegmentPolicy, kind: BookingKind) -> str:
    """The agenda printed in a booking of ``kind``: win-back calls, onboarding and anniversary
    check-ins have their own; every other check-in has ``agenda``."""
    if kind is BookingKind.WINBACK:
        return policy.winback_agenda
    if kind is BookingKind.ONBOARDING:
        return policy.onboarding_agenda
    if kind is BookingKind.ANNIVERSARY:
        return policy.anniversary_agenda
    return policy.agenda
