"""The DST rule at a working-hours boundary, with exact slots (docs/ARCHITECTURE.md: a local
time that does not exist moves forward by the gap; an ambiguous one takes its first occurrence).

New York, 2027: on Sunday 14 March clocks jump from 02:00 EST to 03:00 EDT (07:00 UTC), so
02:30 does not exist; on Sunday 7 November they fall back from 02:00 EDT to 01:00 EST (06:00
UTC), so 01:30 happens twice (05:30 and 06:30 UTC). The salesperson works every day and the
customer (New York too) keeps only Saturday as a weekend, so the DST Sunday is a working day on
both sides; every check-in is ideally on that Sunday (the last contact was 4 weeks before).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cadence.values.model import BusyInterval, Salesperson
from cadence.values.workweek import WorkingHours, parse_working_days
from tests.planning import customer, d, of, policies, run

ZONE = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _plan_on(day: str, hours: str, busy: tuple[str, str] | None = None):
    """The check-in of a customer whose ideal day is ``day``, for a salesperson working
    ``hours`` every day (with one busy block, UTC, when given)."""
    person = Salesperson(
        email="ny@example.com",
        timezone=ZONE,
        working_hours=WorkingHours.parse(hours),
        working_days=parse_working_days("mon-sun"),
    )
    ideal = d(day)
    buyer = customer(
        owner=person.email,
        country="US",
        timezone=ZONE,
        last_contact=ideal - timedelta(weeks=4),
    )
    blocks = {}
    if busy is not None:
        blocks = {person.email: [BusyInterval(utc(busy[0]), utc(busy[1]))]}
    result = run(
        [buyer],
        people=[person],
        # No buffer: these pin the hours' edges, which a meeting may touch exactly.
        pol=policies(weekends={"US": frozenset({5})}, buffer=0),
        now=datetime.combine(ideal - timedelta(days=13), datetime.min.time(), UTC),
        busy=blocks,
    )
    c, *_ = of(result)
    assert c.ideal == ideal
    return c


def test_hours_starting_at_a_time_that_does_not_exist_start_after_the_gap():
    # 02:30 does not exist on 14 March: the day starts at 03:30 EDT (07:30 UTC), not 03:00.
    c = _plan_on("2027-03-14", "02:30-10:00")
    assert (c.day, c.start, c.end) == (
        d("2027-03-14"),
        utc("2027-03-14T07:30"),
        utc("2027-03-14T08:00"),
    )


def test_hours_ending_at_a_time_that_does_not_exist_end_after_the_gap():
    # 00:00-02:30 on 14 March runs from 05:00 UTC to 03:30 EDT (07:30 UTC). Busy until 07:00
    # UTC, the one free half hour is 07:00-07:30 UTC (03:00-03:30 EDT).
    c = _plan_on("2027-03-14", "00:00-02:30", busy=("2027-03-14T05:00", "2027-03-14T07:00"))
    assert (c.day, c.start, c.end) == (
        d("2027-03-14"),
        utc("2027-03-14T07:00"),
        utc("2027-03-14T07:30"),
    )


def test_hours_starting_at_an_ambiguous_time_start_at_its_first_occurrence():
    # 01:30 happens twice on 7 November: the day starts at the first, 01:30 EDT (05:30 UTC).
    c = _plan_on("2027-11-07", "01:30-09:00")
    assert (c.day, c.start, c.end) == (
        d("2027-11-07"),
        utc("2027-11-07T05:30"),
        utc("2027-11-07T06:00"),
    )


def test_hours_ending_at_an_ambiguous_time_end_at_its_first_occurrence():
    # 00:00-01:30 on 7 November is 04:00-05:30 UTC (it ends at the first 01:30). Busy 04:00-05:00
    # UTC leaves exactly 05:00-05:30 UTC free that day.
    c = _plan_on("2027-11-07", "00:00-01:30", busy=("2027-11-07T04:00", "2027-11-07T05:00"))
    assert (c.day, c.start, c.end) == (
        d("2027-11-07"),
        utc("2027-11-07T05:00"),
        utc("2027-11-07T05:30"),
    )


def test_no_slot_after_the_first_occurrence_of_an_ambiguous_end():
    # Busy 04:00-05:30 UTC fills the whole 7 November (ending at the first 01:30): the 06:00
    # UTC half hour, before the second 01:30, is not working time. Saturday is the customer's
    # weekend, so Monday 8th it is, at 00:00 EST (05:00 UTC).
    c = _plan_on("2027-11-07", "00:00-01:30", busy=("2027-11-07T04:00", "2027-11-07T05:30"))
    assert "no free 30-minute slot" in c.reasons[-1]
    assert (c.day, c.start, c.end) == (
        d("2027-11-08"),
        utc("2027-11-08T05:00"),
        utc("2027-11-08T05:30"),
    )
