"""The planner's shortcuts give exactly what the long way gives.

The planner adds the same few durations to dates hundreds of thousands of times and asks the same
calendar questions for every customer of one shape; the shortcuts that make that cheap (whole-day
durations added without the general path, month ends looked up only when the day could overflow,
anniversary dates shared by every customer of one ``customer_since``) are held here to the general
computation they replace, over random inputs.
"""

from __future__ import annotations

import calendar
import heapq
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cadence.inputs.policy import SegmentPolicy
from cadence.planner import placement, plan
from cadence.planner.agenda import Agenda
from cadence.planner.api import CustomerNote
from cadence.planner.customer_days import CustomerDays, LocalHours
from cadence.planner.placement import Placer, _season_takes
from cadence.planner.queue import NeedQueue
from cadence.planner.rhythm import Rhythm, anniversary_days
from cadence.planner.state import CustomerState
from cadence.planner.timegrid import choose_slot, local_minute_at, local_ordinal, to_minute
from cadence.values.durations import Duration, _shift, add_months, is_weekday
from cadence.values.errors import ValueParseError
from cadence.values.model import Customer, Salesperson
from cadence.values.seasons import SeasonSet
from cadence.values.workweek import WorkingHours
from tests.planning import generated

DAYS = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
DURATIONS = st.one_of(
    st.builds(Duration, days=st.integers(0, 3653)),
    st.builds(Duration, months=st.integers(0, 120)),
    st.builds(
        Duration,
        months=st.integers(0, 24),
        days=st.integers(0, 60),
        business_days=st.integers(0, 30),
    ),
)


def _general(duration: Duration, d: date, sign: int) -> date | str:
    """The general path (months, then days, then business days), or the error it raises."""
    try:
        return _shift(duration.months, duration.days, duration.business_days, d, sign, is_weekday)
    except (OverflowError, ValueError):
        return "outside"


def _shortcut(move, d: date) -> date | str:
    try:
        return move(d)
    except ValueParseError as exc:
        assert "is outside the supported dates" in str(exc)
        return "outside"


@given(DURATIONS, DAYS)
def test_adding_a_duration_is_the_general_calendar_shift(duration, d):
    assert _shortcut(duration.add_to, d) == _general(duration, d, 1)
    assert _shortcut(duration.subtract_from, d) == _general(duration, d, -1)


def _months_the_long_way(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(d.day, calendar.monthrange(year, month0 + 1)[1]))


@given(st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 31)), st.integers(-12, 1200))
def test_add_months_clamps_to_the_month_end_as_the_calendar_says(d, months):
    if months == 0:
        assert add_months(d, 0) == d
        return
    try:
        expected: date | type = _months_the_long_way(d, months)
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            add_months(d, months)
    else:
        assert add_months(d, months) == expected


def test_whole_day_durations_past_the_last_date_are_refused_by_name():
    with pytest.raises(ValueParseError, match="outside the supported dates"):
        Duration(days=10).add_to(date.max - timedelta(days=3))


ZONES = [
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
    "America/Santiago",  # clocks change at midnight: a day that starts at 01:00 or twice
    "America/Havana",  # also at midnight
    "Pacific/Apia",  # skipped 30 December 2011 whole
    "Africa/Casablanca",  # leaves summer time for Ramadan, some years twice
    "Antarctica/Troll",  # a two-hour change
]


def _zoneinfo_minute(zone: ZoneInfo, day: date, minute_of_day: int) -> int:
    """The wall-clock time ``minute_of_day`` on ``day`` as zoneinfo itself maps it (fold=0)."""
    if minute_of_day == 1440:
        day, minute_of_day = day + timedelta(days=1), 0
    wall = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
    return int(wall.replace(tzinfo=zone).timestamp()) // 60


def _zoneinfo_date(zone: ZoneInfo, minute: int) -> date:
    return datetime.fromtimestamp(minute * 60, zone).date()


@given(
    st.sampled_from(ZONES) | st.sampled_from(sorted(available_timezones())),
    st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 1440),
)
def test_local_times_by_arithmetic_are_zoneinfos_own(zone_name, day, minute_of_day):
    zone = ZoneInfo(zone_name)
    minute = _zoneinfo_minute(zone, day, minute_of_day)
    assert local_minute_at(zone, day.toordinal(), minute_of_day) == minute
    for m in (minute - 1, minute, minute + 1):
        assert local_ordinal(zone, m) == _zoneinfo_date(zone, m).toordinal()


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_day_of_two_years_by_arithmetic_is_zoneinfos_own(zone_name):
    """Every clock change of 2026 and 2027 (in the zones that change at midnight, by half an
    hour, by two hours or twice a year), asked about on its own day and the days around it."""
    zone = ZoneInfo(zone_name)
    day = date(2026, 1, 1)
    while day.year < 2028:
        for minute_of_day in (0, 30, 60, 90, 120, 150, 180, 210, 1410, 1440):
            minute = _zoneinfo_minute(zone, day, minute_of_day)
            assert local_minute_at(zone, day.toordinal(), minute_of_day) == minute, day
            assert local_ordinal(zone, minute) == _zoneinfo_date(zone, minute).toordinal()
            assert local_ordinal(zone, minute - 1) == _zoneinfo_date(zone, minute - 1).toordinal()
        day += timedelta(days=1)


def _spans_the_long_way(
    days: CustomerDays, start: int, end: int, *, rules: bool = True
) -> list[tuple[int, int]]:
    """Every customer-local day ``[start, end)`` touches, cut to the hours, when allowed (with
    ``rules``) or whatever the day rules say."""
    spans = []
    day, last = _zoneinfo_date(days.zone, start), _zoneinfo_date(days.zone, end - 1)
    while day <= last:
        if not rules or days.blocked(day) is None:
            first, stop = (
                (0, 1440)
                if days.hours is None
                else (days.hours.start_minute, days.hours.end_minute)
            )
            lo = max(_zoneinfo_minute(days.zone, day, first), start)
            hi = min(_zoneinfo_minute(days.zone, day, stop), end)
            if lo < hi:
                spans.append((lo, hi))
        day += timedelta(days=1)
    return spans


@given(
    st.sampled_from(ZONES),
    st.sampled_from([None, "09:00-17:00", "07:30-19:45", "00:00-24:00"]),
    st.sampled_from(["", "GB", "US", "SA", "NP"]),
    st.integers(
        to_minute(datetime(2026, 1, 1, tzinfo=UTC)), to_minute(datetime(2028, 1, 1, tzinfo=UTC))
    ),
    st.integers(1, 3 * 1440),
)
def test_allowed_spans_cut_from_shared_local_hours_are_the_days_own(
    zone, hours, country, start, length
):
    local = LocalHours(ZoneInfo(zone), WorkingHours.parse(hours) if hours else None)
    days = CustomerDays(local.zone, country, frozenset({5, 6}), SeasonSet(()), local.hours, local)
    other = CustomerDays(local.zone, "", frozenset({4, 5}), SeasonSet(()), local.hours, local)
    for each in (days, other):
        assert each.allowed_spans((start, start + length)) == _spans_the_long_way(
            each, start, start + length
        )
        assert each.hours_overlap(start, start + length) == bool(
            _spans_the_long_way(each, start, start + length, rules=False)
        )


QUEUE_ENTRIES = st.tuples(
    st.integers(date.min.toordinal(), date.max.toordinal()),
    st.integers(0, 1),
    st.integers(0, date.max.toordinal()),
)


@given(st.lists(QUEUE_ENTRIES), st.lists(QUEUE_ENTRIES), st.integers(0, 50))
def test_the_queue_gives_needs_in_the_order_of_their_urgency_tuples(first, later, pops):
    # The planner's queue keeps a heap per last day of integers standing for (priority,
    # overdue, arrival); what it gives must be what one heap of those tuples would give,
    # with pushes between pops (a placed need's next one joins while the queue drains).
    queue: NeedQueue[int] = NeedQueue()
    reference: list[tuple[int, int, int, int]] = []
    arrival = 0
    for entries in (first, later):
        for last, priority, overdue in entries:
            queue.push(last, priority, overdue, arrival)
            heapq.heappush(reference, (last, priority, overdue, arrival))
            arrival += 1
        assert sorted(queue.entries()) == sorted((*t, t[3]) for t in reference)
        for _ in range(min(pops, len(reference))):
            assert queue.pop() == heapq.heappop(reference)[3]
    assert len(queue) == len(reference)
    while reference:
        assert queue.pop() == heapq.heappop(reference)[3]
    assert not queue


RHYTHM_DAYS = st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31))


@given(
    st.lists(RHYTHM_DAYS, min_size=1, max_size=6),
    st.booleans(),
    st.sampled_from(["4 weeks", "2 months", "quarter", "10 business days", "P1M3D"]),
)
def test_a_rhythm_answers_what_its_policy_computes_for_every_customer(days, booked, every):
    # One Rhythm per policy answers for all its customers: asked again for a day (by another
    # customer), it must give what the policy's durations give for that day.
    policy = replace(SegmentPolicy(), every=Duration.parse(every), anniversary="yearly")
    rhythm = Rhythm(policy)
    for last in days + days:
        ideal, ws, we, why = rhythm.after(last, booked)
        assert (ideal, ws, we) == (
            policy.every.add_to(last),
            policy.min_gap.add_to(last),
            policy.max_gap.add_to(last),
        )
        since_what = "previous booking" if booked else "last contact"
        assert why == f"{since_what} {last}; every {policy.every} -> ideal {ideal}"
        assert rhythm.min_gap_after(last) == policy.min_gap.add_to(last)
        lead = policy.anniversary_lead
        assert rhythm.lead_window(last) == (lead.subtract_from(last), lead.add_to(last))
        first_day, end_day = last, last + timedelta(days=90)
        shared, shift = rhythm.anniversaries(days[0], first_day, end_day)
        assert tuple(
            (months + shift, *rest) for months, *rest in shared if months + shift >= 12
        ) == anniversary_days(days[0], 12, lead, policy.max_gap, first_day, end_day)


def _choose_slot_the_long_way(spans, busy, length, not_before, buffer, breaks):
    """choose_slot as first written: every block sorted, each free stretch's options scored by
    a function and the best taken by ``max``."""

    def best_in(lo, hi, left, right):
        first, last = -(-lo // 15) * 15, (hi - length) // 15 * 15
        if first > last:
            return None, -1

        def score(t):
            return min(
                t - left if left >= 0 else 1 << 30,
                right - (t + length) if right >= 0 else 1 << 30,
            )

        if left < 0 and right < 0:
            return first, 1 << 30
        if left < 0:
            return first, score(first)
        if right < 0:
            return last, score(last)
        middle = (left + right - length) // 2 // 15 * 15
        options = sorted({min(max(m, first), last) for m in (middle, middle + 15)})
        t = max(options, key=lambda o: (score(o), -o))
        return t, score(t)

    blocks = sorted([(s - buffer, e + buffer, s, e) for s, e in busy])
    if breaks:
        blocks = sorted(blocks + [(s, e, -1, -1) for s, e in breaks])
    best, best_score = None, -1
    for span_start, span_end in spans:
        free_from, left = max(span_start, not_before), -1
        for block_start, block_end, raw_start, raw_end in blocks:
            if block_end <= free_from:
                continue
            if block_start >= span_end:
                break
            if block_start > free_from:
                t, score = best_in(free_from, block_start, left, raw_start)
                if t is not None and score > best_score:
                    best, best_score = t, score
            free_from, left = block_end, raw_end
        if free_from < span_end:
            t, score = best_in(free_from, span_end, left, -1)
            if t is not None and score > best_score:
                best, best_score = t, score
    return best


def _intervals(lo, hi, most):
    """Sorted ``(start, end)`` minute intervals inside ``[lo, hi)``, possibly overlapping; on
    five-minute marks, so that equally good slots (ties) are common."""
    return st.lists(
        st.tuples(st.integers(lo // 5, hi // 5 - 1), st.integers(1, 48)).map(
            lambda p: (5 * p[0], min(5 * (p[0] + p[1]), hi))
        ),
        max_size=most,
    ).map(sorted)


@settings(max_examples=400)
@given(
    st.just([(480, 1080)]) | _intervals(0, 1440, 2),
    _intervals(480, 1080, 6),
    st.sampled_from([15, 30, 45, 60, 90]),
    st.integers(0, 120) | st.integers(0, 900),
    st.sampled_from([0, 5, 15, 30]),
    st.one_of(st.none(), _intervals(0, 1440, 2)),
)
def test_choosing_a_slot_is_the_long_way(spans, busy, length, not_before, buffer, breaks):
    assert choose_slot(
        spans, busy, length, not_before, buffer=buffer, breaks=breaks
    ) == _choose_slot_the_long_way(spans, busy, length, not_before, buffer, breaks)


def test_a_window_a_busy_season_takes_whole_is_planned_as_the_walk_plans_it(monkeypatch):
    """Where a season covers every customer date a window can touch, the search goes straight
    to the forced gap: the plan and every note are what walking the window first gives."""
    inp = generated(1200, 20, seed=5)
    taken = []

    def counted(*args):
        taken.append(_season_takes(*args))
        return taken[-1]

    monkeypatch.setattr(placement, "_season_takes", counted)
    fast = plan(inp, workers=1)
    assert sum(taken) > 50  # the book has seasonal customers whose window the season takes
    monkeypatch.setattr(placement, "_season_takes", lambda *args: False)
    walked = plan(inp, workers=1)
    assert fast.contacts == walked.contacts
    assert fast.notes == walked.notes


HOURS = st.sampled_from(["09:00-17:00", "07:30-19:45", "00:00-24:00", "22:00-23:30", "05:00-06:00"])


@given(
    st.sampled_from(ZONES) | st.sampled_from(sorted(available_timezones())),
    HOURS,
    st.sampled_from(ZONES) | st.sampled_from(sorted(available_timezones())),
    HOURS,
    st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
)
# London and New York meet only in the weeks of March when New York has changed its clocks and
# London not yet: here in the second half-year's samples alone.
@example("Europe/London", "09:00-17:00", "America/New_York", "12:00-13:00", date(2025, 9, 10))
def test_whether_hours_ever_meet_is_every_sample_days_answer(
    own_zone, own_hours, their_zone, their_hours, first_day
):
    """Sample days like one already asked (same offsets, no clock change near) are skipped."""
    person = Salesperson(
        "a@example.com", timezone=own_zone, working_hours=WorkingHours.parse(own_hours)
    )
    agenda = Agenda(person, None, None, [])
    local = LocalHours(ZoneInfo(their_zone), WorkingHours.parse(their_hours))
    days = CustomerDays(local.zone, "", frozenset({5, 6}), SeasonSet(()), local.hours, local)
    customer = Customer("c1", "C", person.email)
    note = CustomerNote(customer.id, "default", "active")
    policy = SegmentPolicy()
    state = CustomerState(customer, policy, agenda, days, first_day, first_day, first_day, note)
    samples = [first_day + timedelta(days=k) for k in range(14)]
    samples += [d + timedelta(days=182) for d in samples]
    every_day = any(days.hours_overlap(*agenda.work_span(d)) for d in samples)
    assert Placer(0, 0)._sampled_overlap(state) == every_day
