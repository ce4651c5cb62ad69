"""Resolved contact policies: what the planner reads.

The TOML files managers edit are loaded and validated by :mod:`cadence.inputs.policy_load`; the
result is a :class:`PolicySet` of plain, fully-defaulted values. Segment values override
``[defaults]``; a customer's own busy seasons add to its industry's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from cadence.values.durations import Duration
from cadence.values.model import BookingKind, ContactKind, Customer
from cadence.values.seasons import Season
from cadence.values.workweek import WorkingHours

DEFAULT_AGENDA = (
    "Thank them for their business. Ask what problems they have had lately and what we could "
    "do better. Listen more than you talk: aim to speak no more than 30% of the time."
)
# Per-kind agendas (DOMAIN.md): customers rarely ask for help in time, so an onboarding
# check-in asks directly; a long-standing customer is not automatically happy, so the
# anniversary thanks them and asks for feedback; a win-back call is a personal apology.
DEFAULT_ONBOARDING_AGENDA = (
    "Welcome them and ask directly what problems they have had so far, however small: new "
    "customers rarely ask for help in time. Ask whether things work the way they expected and "
    "offer help they did not ask for. Listen more than you talk: aim to speak no more than "
    "30% of the time."
)
DEFAULT_ANNIVERSARY_AGENDA = (
    "Thank them for another year with us. Ask for their feedback: what has worked, what has "
    "not, and what we could do better. Ask about their plans for the year ahead. Listen more "
    "than you talk: aim to speak no more than 30% of the time."
)
DEFAULT_WINBACK_AGENDA = (
    "Call personally, soon. Apologise for what went wrong and take responsibility; explain "
    "what happened and what we have changed. Then let them talk: ask why they left, and "
    "listen. Offer a way back that fits what they told you. If it is not for now, ask whether "
    "we may stay in touch from time to time, and respect the answer."
)


DEFAULT_CUSTOMER_DESCRIPTION = (
    "A short catch-up with {salesperson}: how things are going at {customer}, and anything "
    "we can help with."
)
DEFAULT_ONBOARDING_CUSTOMER_DESCRIPTION = (
    "A short check-in with {salesperson} on how getting started is going, and any questions."
)
DEFAULT_ANNIVERSARY_CUSTOMER_DESCRIPTION = (
    "A short catch-up with {salesperson} to look back on our time working together and ahead."
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
    onboarding_agenda: str = DEFAULT_ONBOARDING_AGENDA
    anniversary_agenda: str = DEFAULT_ANNIVERSARY_AGENDA
    winback_agenda: str = DEFAULT_WINBACK_AGENDA  # [winback] agenda, copied in by the loader
    anniversary: str | None = None  # "yearly", "half-yearly" or None
    anniversary_lead: Duration = Duration.parse("1 week")
    onboarding: tuple[Duration, ...] = ()
    onboarding_window: Duration = Duration.parse("1 week")  # tolerance either side of a step
    retry_after: Duration = Duration.parse("1 week")
    invite_customer: bool = False
    reminder_minutes: tuple[int, ...] = (15,)
    # What an invited customer reads ({customer}, {salesperson} filled in): never the agenda.
    customer_description: str = DEFAULT_CUSTOMER_DESCRIPTION
    onboarding_customer_description: str = DEFAULT_ONBOARDING_CUSTOMER_DESCRIPTION
    anniversary_customer_description: str = DEFAULT_ANNIVERSARY_CUSTOMER_DESCRIPTION
    # A video link on every meeting: "" (none), "meet" (Google Meet, on Google calendars),
    # "teams" (Microsoft Teams, on Outlook calendars) or "url" (``video_url``, any backend).
    video: str = ""
    video_url: str = ""  # {booking} and {salesperson} filled in, URL-quoted


@dataclass(frozen=True)
class WinbackPolicy:
    """The win-back track for cancelled customers."""

    first_within: Duration = Duration.parse("2 business days")
    every: Duration = Duration.parse("3 months")
    until: Duration = Duration.parse("1 year")
    meeting: timedelta = timedelta(minutes=30)
    agenda: str = DEFAULT_WINBACK_AGENDA


@dataclass(frozen=True)
class Capacity:
    """cadence bookings per salesperson (None means unlimited), the time kept free around each
    one, and how long an overdue backlog is spread over."""

    per_day: int | None = 6
    per_week: int | None = 20
    buffer: timedelta = timedelta(minutes=15)  # kept free before and after each new booking
    catch_up: Duration = Duration.parse("3 weeks")  # overdue customers are spread over this


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
