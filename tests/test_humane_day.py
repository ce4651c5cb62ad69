"""No feast or famine on either side of the table (issue 14): the salesperson's day.

The overdue backlog is spread over ``catch_up`` at an even daily load, most overdue first;
``buffer`` minutes stay free around each booking and ``breaks`` are never booked; meetings
spread over the free hours of the day; each kind of booking carries its own agenda.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from cadence.inputs.policy import SegmentPolicy
from cadence.inputs.policy_schema import (
    DEFAULT_ANNIVERSARY_AGENDA,
    DEFAULT_ONBOARDING_AGENDA,
    DEFAULT_WINBACK_AGENDA,
)
from cadence.planner.timegrid import choose_slot
from cadence.sync.event_text import describe
from cadence.values.durations import Duration
from cadence.values.model import BookingKind, BusyInterval, PlannedContact
from cadence.values.workweek import WorkingHours
from tests.planning import ANA, customer, d, of, policies, run


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---- the slot within a day --------------------------------------------------------------------

H = 60


def test_an_empty_day_starts_at_the_first_slot():
    assert choose_slot([(9 * H, 17 * H)], [], 30, 0, buffer=15) == 9 * H


def test_the_next_meeting_goes_as_far_from_the_others_as_the_day_allows():
    day = [(9 * H, 17 * H)]
    assert choose_slot(day, [(9 * H, 9 * H + 30)], 30, 0, buffer=15) == 16 * H + 30
    both_ends = [(9 * H, 9 * H + 30), (16 * H + 30, 17 * H)]
    assert choose_slot(day, both_ends, 30, 0, buffer=15) == 12 * H + 45


def test_the_buffer_keeps_a_quarter_hour_free_on_both_sides():
    # Free 09:30-10:15 between two meetings: a 30-minute meeting fits only with no buffer.
    busy = [(9 * H, 9 * H + 30), (10 * H + 15, 17 * H)]
    assert choose_slot([(9 * H, 17 * H)], busy, 30, 0, buffer=0) == 9 * H + 30
    assert choose_slot([(9 * H, 17 * H)], busy, 30, 0, buffer=15) is None
    busy = [(9 * H, 9 * H + 30), (10 * H + 30, 17 * H)]  # 09:45-10:15 keeps 15 each side
    assert choose_slot([(9 * H, 17 * H)], busy, 30, 0, buffer=15) == 9 * H + 45


def test_a_break_is_never_booked_but_a_meeting_may_end_as_it_begins():
    lunch = [(12 * H, 13 * H)]
    morning = [(9 * H, 12 * H + 15)]
    assert choose_slot(morning, [], 30, 11 * H + 30, buffer=15, breaks=lunch) == 11 * H + 30
    assert choose_slot([(12 * H, 13 * H)], [], 30, 0, buffer=15, breaks=lunch) is None


def test_planned_meetings_keep_the_buffer_and_the_break_and_spread_over_the_day():
    person = replace(ANA, breaks=(WorkingHours.parse("12:00-13:00"),))
    busy = {ANA.email: [BusyInterval(utc("2026-11-30T13:00"), utc("2026-11-30T13:30"))]}
    cs = [customer(f"c{i}", last_contact=d("2026-11-02")) for i in range(4)]
    result = run(cs, people=[person], busy=busy, pol=policies(per_day=6), horizon_days=14)
    starts = sorted(c.start for c in result.contacts if c.day == d("2026-11-30"))
    assert starts, "some land on their ideal day"
    for start in starts:
        end = start + timedelta(minutes=30)
        assert not (utc("2026-11-30T12:00") < end and start < utc("2026-11-30T13:00"))
        assert end + timedelta(minutes=15) <= utc("2026-11-30T13:00") or start >= utc(
            "2026-11-30T13:45"
        )
    gaps = [b - a for a, b in pairwise(starts)]
    assert all(g >= timedelta(minutes=45) for g in gaps), starts


# ---- the backlog ------------------------------------------------------------------------------


def first_days(result) -> dict:
    """Each customer's first planned day."""
    out: dict = {}
    for c in sorted(result.contacts, key=lambda c: c.day):
        out.setdefault(c.customer_id, c.day)
    return out


def test_overdue_customers_are_spread_over_catch_up_most_overdue_first():
    # Twenty customers, all past max_gap, on the same day: not 6 a day from tomorrow.
    cs = [
        customer(f"c{i:02d}", last_contact=d("2026-08-01") + timedelta(days=i)) for i in range(20)
    ]
    result = run(cs, pol=policies(per_day=6, per_week=30), horizon_days=30)
    days = first_days(result)
    first = d("2026-11-24")
    assert len(days) == 20
    assert max(days.values()) <= first + timedelta(days=20)  # within catch_up (3 weeks)
    per_day = Counter(days.values())
    # 15 working days for 20 customers: at most two a day (the even load, rounded up).
    assert max(per_day.values()) == 2
    # most overdue first: the order of the days follows the order of the last contacts
    ordered = [days[f"c{i:02d}"] for i in range(20)]
    assert ordered == sorted(ordered)
    reasons = next(c.reasons for c in result.contacts if c.customer_id == "c00")
    assert any(r.startswith("catch-up: overdue customers are spread over 3 weeks") for r in reasons)


def test_catch_up_is_a_policy_key():
    cs = [customer(f"c{i:02d}", last_contact=d("2026-08-01")) for i in range(10)]
    pol = policies(per_day=6, per_week=30)
    pol = replace(pol, capacity=replace(pol.capacity, catch_up=Duration.parse("1 week")))
    result = run(cs, pol=pol, horizon_days=30)
    days = list(first_days(result).values())
    assert max(days) <= d("2026-11-30")  # tomorrow + 1 week - 1 day
    assert max(Counter(days).values()) == 2  # 10 over 5 working days


def test_a_customer_due_anyway_still_gets_its_ideal_day_beside_the_backlog():
    backlog = [customer(f"o{i}", last_contact=d("2026-08-01")) for i in range(5)]
    due = customer("due", last_contact=d("2026-11-02"))  # ideal Monday 30 November
    result = run([*backlog, due], pol=policies(per_day=6), horizon_days=30)
    assert of(result, "due")[0].day == d("2026-11-30")


def test_a_customer_their_busy_season_made_overdue_is_met_right_after_it_not_spread():
    # Monday 3 May 2027: the accounting season (Jan 15 - Apr 30) has just ended.
    after_season = datetime(2027, 5, 3, 9, tzinfo=UTC)
    backlog = [customer(f"o{i:02d}", last_contact=d("2026-09-01")) for i in range(15)]
    held = customer("held", industry="accounting", last_contact=d("2027-01-10"))  # due Feb 21
    result = run([*backlog, held], pol=policies(per_day=6), now=after_season, horizon_days=30)
    days = first_days(result)
    assert days["held"] == d("2027-05-04")  # the first day after the season, today being taken
    assert max(days[f"o{i:02d}"] for i in range(15)) >= d("2027-05-17")  # the backlog is spread
    assert not any(r.startswith("catch-up") for r in of(result, "held")[0].reasons)


def test_a_season_long_past_does_not_exempt_a_customer_from_the_catch_up():
    # Overdue since 21 Feb 2026, inside that year's accounting season; it is November now.
    backlog = [customer(f"o{i:02d}", last_contact=d("2025-12-01")) for i in range(15)]
    old = customer("old", industry="accounting", last_contact=d("2026-01-10"))
    result = run([*backlog, old], pol=policies(per_day=6), horizon_days=30)
    assert any(r.startswith("catch-up") for r in of(result, "old")[0].reasons)
    assert first_days(result)["old"] > d("2026-11-24")  # the less overdue wait their turn


# ---- agendas ----------------------------------------------------------------------------------


def _planned(kind: BookingKind) -> PlannedContact:
    return PlannedContact(
        key="c1:x:1",
        customer_id="c1",
        customer_name="ACME Ltd",
        owner=ANA.email,
        kind=kind,
        seq=1,
        title="t",
        start=utc("2026-11-30T10:00"),
        end=utc("2026-11-30T10:30"),
        all_day=False,
        day=d("2026-11-30"),
        ideal=d("2026-11-30"),
        window_start=d("2026-11-30"),
        window_end=d("2026-11-30"),
    )


def test_each_kind_of_booking_carries_its_own_agenda():
    policy = SegmentPolicy(
        agenda="regular",
        onboarding_agenda="onboarding",
        anniversary_agenda="anniversary",
        winback_agenda="winback",
    )
    texts = {
        kind: describe(_planned(kind), customer(), policy, None).split("Agenda:\n")[1]
        for kind in (
            BookingKind.CHECK_IN,
            BookingKind.ONBOARDING,
            BookingKind.ANNIVERSARY,
            BookingKind.WINBACK,
        )
    }
    assert {k: t.split("\n")[0] for k, t in texts.items()} == {
        BookingKind.CHECK_IN: "regular",
        BookingKind.ONBOARDING: "onboarding",
        BookingKind.ANNIVERSARY: "anniversary",
        BookingKind.WINBACK: "winback",
    }


def test_the_default_agendas_follow_the_seed_articles():
    assert "problems they have had" in DEFAULT_ONBOARDING_AGENDA
    assert DEFAULT_ANNIVERSARY_AGENDA.startswith("Thank them")
    assert "feedback" in DEFAULT_ANNIVERSARY_AGENDA
    for step in ("Apologise", "explain", "let them talk", "way back"):
        assert step in DEFAULT_WINBACK_AGENDA
