"""The domain model: small immutable value types every layer shares.

Datetimes are always timezone-aware (UTC inside, zones at the edges); dates that are dates
(anniversaries, seasons, ``customer_since``) stay :class:`datetime.date`. Constructors of the
types that carry datetimes reject naive values, so a naive datetime cannot sneak in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from cadence.values.durations import Duration
from cadence.values.workweek import WorkingHours


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    DO_NOT_CONTACT = "do_not_contact"


class ContactKind(StrEnum):
    MEETING = "meeting"
    CALL = "call"
    EMAIL_OUT = "email_out"
    EMAIL_IN = "email_in"
    NOTE = "note"


class BookingKind(StrEnum):
    CHECK_IN = "check_in"
    ANNIVERSARY = "anniversary"
    ANNIVERSARY_REMINDER = "anniversary_reminder"
    ONBOARDING = "onboarding"
    WINBACK = "winback"


class PlanStatus(StrEnum):
    PLANNED = "planned"  # not in any calendar yet
    BOOKED = "booked"  # in the calendar where cadence put it
    MOVED_BY_OWNER = "moved_by_owner"  # the salesperson moved it; their time wins


class BookingState(StrEnum):
    """What is known about one booking cadence made."""

    BOOKED = "booked"  # in the calendar, at cadence's time
    MOVED_BY_OWNER = "moved_by_owner"  # in the calendar, at the salesperson's time
    DECLINED = "declined"  # the salesperson declined it
    DELETED = "deleted"  # the salesperson deleted it
    CANCELLED = "cancelled"  # cadence cancelled it (reason changed)
    PENDING = "pending"  # a write was sent; its outcome is not known yet


def require_aware(value: datetime, what: str) -> datetime:
    """Reject naive datetimes where they enter the model."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Customer:
    """One customer as imported from the customer file."""

    id: str
    name: str
    owner: str
    segment: str = "default"
    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    industry: str = ""
    country: str = ""  # ISO 3166 or ISO 3166-2 (GB-ENG) code: public holidays on their side
    timezone: str = ""  # IANA name; empty means the policy default
    # (address, display name) for the addresses of ``emails`` the file names a person for
    # ("Jane Doe <jane@acme.com>"): the name an invitation shows (CN, displayName).
    email_names: tuple[tuple[str, str], ...] = ()
    customer_since: date | None = None
    status: CustomerStatus = CustomerStatus.ACTIVE
    cancelled_on: date | None = None
    busy_seasons: tuple[str, ...] = ()  # season texts, validated at import
    last_contact: date | None = None
    tags: Mapping[str, str] = field(default_factory=dict, compare=True, hash=False)
    # The customer's own rhythm (CSV columns every / min_gap / max_gap): each overrides the
    # segment's value when set (see PolicySet.for_customer).
    every: Duration | None = None
    min_gap: Duration | None = None
    max_gap: Duration | None = None

    def display_name(self, address: str) -> str:
        """The name an invitation shows for ``address``: the person the customer file names for
        it, else the customer's own name."""
        return next((n for a, n in self.email_names if a == address), "") or self.name


@dataclass(frozen=True, slots=True)
class Salesperson:
    """One salesperson from cadence.toml."""

    email: str
    name: str = ""
    timezone: str = "UTC"
    working_hours: WorkingHours = WorkingHours(9 * 60, 17 * 60)
    working_days: frozenset[int] = frozenset(range(5))
    country: str = ""  # ISO 3166 or ISO 3166-2 (GB-ENG) code: public holidays on their side
    calendar: str = ""  # backend name; empty means the [calendar] default
    per_day: int | None = None  # overrides the policy capacity when set
    per_week: int | None = None
    closures: tuple[str, ...] = ()  # own closure days (season texts, validated at load)
    breaks: tuple[WorkingHours, ...] = ()  # local spans never booked, every working day (lunch)


@dataclass(frozen=True, slots=True)
class Contact:
    """Something that happened with a customer and may reset the rhythm.

    ``source`` names where it was seen (``log``, ``csv``, ``booking``, ``calendar``, ``mail``);
    ``source_id`` identifies it there (a Message-ID, an event id), so the same real-world
    contact seen twice collapses into one (see :mod:`cadence.planner.contacts`).
    """

    customer_id: str
    kind: ContactKind
    at: datetime
    source: str = "log"
    source_id: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        require_aware(self.at, "Contact.at")


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """A busy stretch in a salesperson's calendar (never one of cadence's own events).

    ``all_day`` marks out-of-office days: the whole local day is unavailable.
    """

    start: datetime
    end: datetime
    all_day: bool = False

    def __post_init__(self) -> None:
        require_aware(self.start, "BusyInterval.start")
        require_aware(self.end, "BusyInterval.end")


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking cadence made earlier, as the store and the calendar know it now.

    ``start``/``end`` are aware datetimes, or dates for all-day events. ``seen_at`` is when the
    current ``state`` was first observed (for ``retry_after`` after a delete or decline).
    """

    key: str
    customer_id: str
    owner: str
    kind: BookingKind
    start: datetime | date
    end: datetime | date
    all_day: bool = False
    state: BookingState = BookingState.BOOKED
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """One contact the planner wants, with the window it came from and the reasons for its date.

    For timed meetings ``start``/``end`` are aware datetimes in UTC; for all-day events they are
    dates (``end`` exclusive, as in iCalendar). ``forced`` marks a date outside the window (a
    forced gap, reported); ``over_capacity`` a win-back first call that outranked capacity.
    """

    key: str
    customer_id: str
    customer_name: str
    owner: str
    kind: BookingKind
    seq: int
    title: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    day: date  # the salesperson-local date it falls on
    ideal: date
    window_start: date
    window_end: date
    status: PlanStatus = PlanStatus.PLANNED
    reasons: tuple[str, ...] = ()
    forced: bool = False
    over_capacity: bool = False
    within_horizon: bool = True


@dataclass(frozen=True, slots=True)
class Snooze:
    """A pause for one customer (``cadence snooze``): nothing is booked before ``until`` (the
    owner's local date); bookings inside the pause are cancelled, and the rhythm resumes then."""

    customer_id: str
    until: date
    note: str = ""
