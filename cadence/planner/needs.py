"""What a track asks the engine for: a :class:`Need` (one contact to place, with its window
and ideal day), a :class:`Reminder` (an all-day anniversary reminder), and the
:class:`TrackContext` a track is given about its customer.

The tracks themselves (:mod:`cadence.planner.tracks`) decide *when* a contact is due; the
engine decides *where* it goes.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.rhythm import Rhythm
from cadence.values.durations import Duration
from cadence.values.model import BookingKind, Customer


@dataclass(slots=True)
class Need:
    """One contact to place: its kind, stable key, window and ideal day (salesperson-local).

    The tracks build it from its first eight fields in order and set the others it needs
    afterwards: a class called with keywords gathers them into a dict first, which cost more
    than the rest of building the need (a need or two for every customer).
    """

    kind: BookingKind
    key: str
    ideal: date
    window_start: date
    window_end: date
    minutes: int
    anchor: date | None  # the contact this one follows (for gap reporting)
    reasons: list[str] = field(default_factory=list)
    months: int = 0  # anniversary age
    step: int = 0  # onboarding step (1-based) and
    steps: int = 0  # number of steps
    rhythm: bool = True  # subject to min_gap / max_gap (onboarding steps are not)
    forced: bool = False  # already known to be outside the rhythm (overdue)
    outranks_capacity: bool = False  # win-back first call
    # For an overdue (or never contacted) customer's check-in: since when it is overdue
    # (date.min: never contacted). The backlog is placed most overdue first, over catch_up.
    overdue_since: date | None = None
    # An overdue check-in that a busy season made late (not the backlog): see _held_by_season.
    season_held: bool = False
    # For regular check-ins: the gaps of the *next* window, to see a season swallowing it.
    next_gaps: tuple[Duration, Duration] | None = None
    # For regular check-ins: the next anniversary (age in months, date) and min_gap. If the
    # check-in lands within min_gap of it, the two become one meeting: the anniversary check-in.
    anniversary: tuple[int, date] | None = None
    merge_within: Duration | None = None
    # For an anniversary check-in that a regular check-in merged into: the regular window.
    # A booking already inside it still serves (which window applies can shift from day to
    # day for an overdue customer; the booking should not).
    alt_window: tuple[date, date] | None = None
    # For regular check-ins: max_gap after ``anchor`` (what a forced gap is measured against),
    # when the track worked it out already.
    max_day: date | None = None

    def merges_with_anniversary(self, day: date) -> bool:
        """Does a check-in on ``day`` become the anniversary check-in?"""
        if self.anniversary is None or self.merge_within is None:
            return False
        anniversary = self.anniversary[1]
        early, late = sorted((day, anniversary))
        return self.merge_within.add_to(early) > late

    def become_anniversary(self, customer_id: str, months: int | None = None) -> None:
        """Turn this check-in into the anniversary check-in it merged with (the one attached,
        or the one of ``months`` when an existing anniversary booking serves this check-in)."""
        if months is None:
            assert self.anniversary is not None
            months, day = self.anniversary
            self.reasons.append(f"merged with the anniversary on {day} (within min_gap)")
        else:
            self.reasons.append("the anniversary check-in already booked serves as this check-in")
        self.kind = BookingKind.ANNIVERSARY
        self.key = anniversary_key(customer_id, months)
        self.months = months


@dataclass(frozen=True, slots=True)
class Reminder:
    """An all-day anniversary reminder (no slot, no capacity)."""

    key: str
    day: date
    months: int


NO_KEYS: frozenset[str] = frozenset()


@dataclass(slots=True)
class TrackContext:
    """What a track may know about its customer and the planning range."""

    customer: Customer
    policy: SegmentPolicy
    first_day: date  # the first plannable salesperson-local day (tomorrow)
    end_day: date  # plan contacts whose ideal day is up to here
    horizon_day: date  # contacts up to here are booked now; later ones are forecast
    last_contact: date | None  # last counted contact (local date)
    contact_days: list[date]  # counted contact days, ascending
    emit_reminder: Callable[[TrackContext, Reminder], None]  # called with this context
    notes: list[str]
    rhythm: Rhythm  # the policy's arithmetic, shared by its customers
    fixed_keys: AbstractSet[str] = NO_KEYS  # bookings kept as they are (today's)
    booked_keys: AbstractSet[str] = NO_KEYS  # keys of the customer's live bookings
    chain: tuple[str, int] | None = None  # (anchor, next index) when the last contact was ours
    catch_up: Duration = Duration(days=21)  # an overdue backlog is spread over this


def anniversary_key(customer_id: str, months: int) -> str:
    """The stable key of the anniversary check-in at ``months`` months."""
    return f"{customer_id}:anniversary:{months}"
