"""Hypothesis properties of the planner (SPEC 5), over random customers, policies and calendars.

The invariants: nothing inside a busy season; consecutive rhythm contacts at least min_gap and at
most max_gap apart unless marked forced; capacity never exceeded except by win-back first calls
that say so; no double-booking; everything inside working hours on both sides; ``buffer`` kept
around every meeting and no break ever booked; planning twice gives the identical result; and
re-planning with the plan booked changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.inputs.policy import Capacity, PolicySet, SegmentPolicy
from cadence.planner import PlanInput, plan
from cadence.planner.contacts import counts
from cadence.values.daycal import holiday_name
from cadence.values.durations import Duration
from cadence.values.model import (
    BookingKind,
    BookingState,
    BusyInterval,
    Contact,
    ContactKind,
    Customer,
    CustomerStatus,
    PlanStatus,
    Salesperson,
)
from cadence.values.seasons import parse_season
from cadence.values.workweek import WorkingHours
from tests.planning import as_bookings

SEASONS = {
    "retail": ("Nov 15 - Jan 5",),
    "accounting": ("Jan 15 - Apr 30",),
    "farming": ("Sep 1 - Oct 15", "May 1 - May 20"),
    "": (),
}
CUSTOMER_PLACES = [
    ("Europe/London", "GB"),
    ("Europe/Lisbon", "PT"),
    ("America/New_York", "US"),
    ("Asia/Riyadh", "SA"),
    ("Asia/Kolkata", "IN"),
    ("Australia/Sydney", "AU"),
    ("America/Sao_Paulo", "BR"),
    ("Asia/Kathmandu", "NP"),
    ("Europe/London", "GB-ENG"),
    ("Europe/Berlin", "DE-BY"),
    ("America/Los_Angeles", "US-CA"),
]
# Company closures ([closures]) and a salesperson's own, as they would be written.
CLOSURES = [(), ("Dec 24 - Jan 1",), ("Aug 1 - Aug 14", "2027-05-10 - 2027-05-12"), ("May",)]
PEOPLE = [
    Salesperson(email="ana@example.com", timezone="Europe/Lisbon", country="PT"),
    Salesperson(
        email="ben@example.com",
        timezone="America/New_York",
        country="US",
        working_hours=WorkingHours.parse("08:30-16:30"),
    ),
    Salesperson(
        email="dev@example.com",
        timezone="Asia/Kolkata",
        country="IN",
        working_days=frozenset({0, 1, 2, 3, 4, 5}),
    ),
]
RHYTHM = (BookingKind.CHECK_IN, BookingKind.ANNIVERSARY)
# A salesperson's breaks (local): none, lunch, or a morning stand-up and a long lunch.
BREAKS = [
    (),
    (WorkingHours.parse("12:00-13:00"),),
    (WorkingHours.parse("10:00-10:30"), WorkingHours.parse("13:00-14:30")),
]


@st.composite
def segments(draw) -> SegmentPolicy:
    every = draw(st.integers(2, 13))
    min_gap = draw(st.integers(1, every))
    max_gap = draw(st.integers(every, every + 8))
    return SegmentPolicy(
        name="s",
        every=Duration(days=7 * every),
        min_gap=Duration(days=7 * min_gap),
        max_gap=Duration(days=7 * max_gap),
        timezone="Europe/London",
        customer_hours=draw(st.sampled_from([None, WorkingHours.parse("08:00-18:00")])),
        anniversary=draw(st.sampled_from([None, "yearly", "half-yearly"])),
        onboarding=draw(st.sampled_from([(), (Duration(days=7), Duration(months=1))])),
    )


@st.composite
def worlds(draw):
    now = datetime(2026, 1, 1, 7, tzinfo=UTC) + timedelta(
        days=draw(st.integers(0, 900)), hours=draw(st.integers(0, 15))
    )
    seg = draw(segments())
    policies = PolicySet(
        defaults=seg,
        segments={"s": seg},
        industries={k: tuple(parse_season(s) for s in v) for k, v in SEASONS.items() if k},
        capacity=Capacity(
            per_day=draw(st.integers(1, 4)),
            per_week=draw(st.integers(3, 12)),
            buffer=timedelta(minutes=draw(st.sampled_from([0, 15, 30]))),
        ),
        closures=tuple(parse_season(text) for text in draw(st.sampled_from(CLOSURES))),
    )
    people = [
        replace(p, closures=draw(st.sampled_from(CLOSURES)), breaks=draw(st.sampled_from(BREAKS)))
        for p in PEOPLE
    ]
    customers = []
    for i in range(draw(st.integers(1, 18))):
        zone, country = draw(st.sampled_from(CUSTOMER_PLACES))
        status = draw(st.sampled_from([CustomerStatus.ACTIVE] * 6 + list(CustomerStatus)))
        since = now.date() - timedelta(days=draw(st.integers(-20, 4000)))
        last = draw(st.one_of(st.none(), st.integers(1, 300)))
        customers.append(
            Customer(
                id=f"c{i:02d}",
                name=f"Customer {i}",
                owner=draw(st.sampled_from(PEOPLE)).email,
                segment="s",
                industry=draw(st.sampled_from(sorted(SEASONS))),
                country=country,
                timezone=zone,
                customer_since=since,
                status=status,
                cancelled_on=(now.date() - timedelta(days=draw(st.integers(0, 400))))
                if status is CustomerStatus.CANCELLED
                else None,
                last_contact=None if last is None else now.date() - timedelta(days=last),
            )
        )
    busy = {}
    for person in PEOPLE:
        intervals = []
        for _ in range(draw(st.integers(0, 6))):
            start = now + timedelta(days=draw(st.integers(0, 60)), hours=draw(st.integers(0, 23)))
            all_day = draw(st.booleans())
            length = timedelta(days=1) if all_day else timedelta(minutes=draw(st.integers(15, 300)))
            intervals.append(BusyInterval(start, start + length, all_day=all_day))
        busy[person.email] = intervals
    return PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in people},
        now=now,
        busy=busy,
        horizon_days=draw(st.integers(14, 120)),
    )


PROPERTY = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _customer_day(contact, customer: Customer) -> date:
    return contact.start.astimezone(ZoneInfo(customer.timezone)).date()


@PROPERTY
@given(worlds())
def test_no_contact_is_booked_inside_a_busy_season(inp):
    result = plan(inp)
    by_id = {c.id: c for c in inp.customers}
    for c in result.contacts:
        if c.all_day:
            continue
        customer = by_id[c.customer_id]
        seasons = inp.policies.industry_seasons(customer.industry)
        day = _customer_day(c, customer)
        assert not any(s.contains(day) for s in seasons), (c, day)


@PROPERTY
@given(worlds())
def test_nothing_lands_on_a_closure_day_or_a_public_holiday_of_either_side(inp):
    result = plan(inp)
    by_id = {c.id: c for c in inp.customers}
    for c in result.contacts:
        if c.all_day:
            continue
        person = inp.salespeople[c.owner]
        closures = inp.policies.closures + tuple(parse_season(t) for t in person.closures)
        assert not any(s.contains(c.day) for s in closures), (c, person.closures)
        assert holiday_name(person.country, c.day) is None, c
        customer = by_id[c.customer_id]
        assert holiday_name(customer.country, _customer_day(c, customer)) is None, c


@PROPERTY
@given(worlds())
def test_rhythm_gaps_stay_within_min_and_max_gap_unless_forced(inp):
    result = plan(inp)
    policy = inp.policies.segments["s"]
    for customer in inp.customers:
        if customer.status is not CustomerStatus.ACTIVE:
            continue
        planned = [c for c in result.contacts if c.customer_id == customer.id and not c.all_day]
        previous = customer.last_contact
        for c in planned:
            if c.kind in RHYTHM and previous is not None and not c.forced:
                assert c.day >= policy.min_gap.add_to(previous), (previous, c)
                assert c.day <= policy.max_gap.add_to(previous), (previous, c)
            previous = c.day


@PROPERTY
@given(worlds())
def test_capacity_is_never_exceeded_except_by_winback_first_calls(inp):
    result = plan(inp)
    cap = inp.policies.capacity
    per_day: Counter = Counter()
    per_week: Counter = Counter()
    for c in result.contacts:
        if c.all_day:
            continue
        if c.over_capacity:
            assert c.kind is BookingKind.WINBACK
            assert "win-back first call outranks capacity" in c.reasons
            continue
        per_day[(c.owner, c.day)] += 1
        per_week[(c.owner, c.day.isocalendar()[:2])] += 1
    assert all(n <= cap.per_day for n in per_day.values()), per_day
    assert all(n <= cap.per_week for n in per_week.values()), per_week


@PROPERTY
@given(worlds())
def test_no_double_booking_and_everything_inside_working_hours(inp):
    result = plan(inp)
    by_id = {c.id: c for c in inp.customers}
    policy = inp.policies.segments["s"]
    timed = sorted((c for c in result.contacts if not c.all_day), key=lambda c: (c.owner, c.start))
    for a, b in pairwise(timed):
        if a.owner == b.owner:
            assert a.end <= b.start, (a, b)
    for c in timed:
        person = inp.salespeople[c.owner]
        zone = ZoneInfo(person.timezone)
        local_start, local_end = c.start.astimezone(zone), c.end.astimezone(zone)
        minutes = local_start.hour * 60 + local_start.minute
        assert local_start.date() == c.day
        assert person.working_hours.start_minute <= minutes
        assert minutes + (c.end - c.start).seconds // 60 <= person.working_hours.end_minute
        assert local_end.date() == c.day
        assert c.day.weekday() in person.working_days
        for busy in inp.busy[c.owner]:
            if not busy.all_day:
                assert not (busy.start < c.end and c.start < busy.end), (busy, c)
        if policy.customer_hours is not None:
            cz = ZoneInfo(by_id[c.customer_id].timezone)
            cs = c.start.astimezone(cz)
            ce = c.end.astimezone(cz)
            assert cs.date() == (ce - timedelta(microseconds=1)).date()
            assert policy.customer_hours.start_minute <= cs.hour * 60 + cs.minute
            assert (ce - timedelta(minutes=1)).hour * 60 + (ce - timedelta(minutes=1)).minute < (
                policy.customer_hours.end_minute
            )


@PROPERTY
@given(worlds())
def test_buffers_and_breaks_are_never_booked(inp):
    """``buffer`` minutes stay free between two cadence meetings and around the salesperson's
    own meetings; nothing touches a break (all placed fresh here: no bookings yet)."""
    result = plan(inp)
    buffer = inp.policies.capacity.buffer
    timed = sorted((c for c in result.contacts if not c.all_day), key=lambda c: (c.owner, c.start))
    for a, b in pairwise(timed):
        if a.owner == b.owner and a.day == b.day:
            assert b.start - a.end >= buffer, (a, b)
    for c in timed:
        person = inp.salespeople[c.owner]
        for busy in inp.busy[c.owner]:
            if not busy.all_day:
                assert busy.end + buffer <= c.start or c.end + buffer <= busy.start, (busy, c)
        zone = ZoneInfo(person.timezone)
        start = c.start.astimezone(zone)
        first = start.hour * 60 + start.minute
        last = first + (c.end - c.start).seconds // 60
        for lunch in person.breaks:
            assert last <= lunch.start_minute or first >= lunch.end_minute, (lunch, c)


@PROPERTY
@given(worlds())
def test_planning_twice_gives_the_identical_result(inp):
    assert plan(inp).contacts == plan(inp).contacts


@PROPERTY
@given(worlds())
def test_replanning_with_the_plan_booked_changes_nothing(inp):
    first = plan(inp)
    booked = as_bookings(first)
    second = plan(replace(inp, bookings=booked))
    strip = [(c.key, c.start, c.end) for c in first.booked()]
    again = [(c.key, c.start, c.end) for c in second.booked()]
    assert again == strip
    assert all(c.status is not PlanStatus.PLANNED for c in second.booked())


def test_counts_treats_the_csv_last_contact_as_always_counting():
    note = Contact("c", ContactKind.NOTE, datetime(2026, 1, 1, tzinfo=UTC), source="csv")
    assert counts(note, frozenset({ContactKind.MEETING}))
    assert not counts(replace(note, source="log"), frozenset({ContactKind.MEETING}))
    assert BookingState.DELETED.value == "deleted"


@PROPERTY
@given(worlds(), st.integers(1, 3))
def test_days_later_with_nothing_changed_every_booking_still_ahead_is_kept(inp, days):
    first = plan(inp)
    booked = as_bookings(first)
    later = inp.now + timedelta(days=days)
    # What the cycle does meanwhile: bookings that ended became contacts.
    contacts = {k: list(v) for k, v in inp.contacts.items()}
    for b in booked:
        if not b.all_day and b.end <= later:
            contacts.setdefault(b.customer_id, []).append(
                Contact(b.customer_id, ContactKind.MEETING, b.start, "booking", b.key)
            )
    second = plan(replace(inp, now=later, bookings=booked, contacts=contacts))

    def still_ahead(b) -> bool:  # an all-day event lasts to its end date in the owner's zone
        if not b.all_day:
            return b.end > later
        return b.end > later.astimezone(ZoneInfo(inp.salespeople[b.owner].timezone)).date()

    ahead = {(b.key, b.start, b.end) for b in booked if still_ahead(b)}
    kept = {(c.key, c.start, c.end) for c in second.contacts}
    assert ahead <= kept, sorted(ahead - kept)
