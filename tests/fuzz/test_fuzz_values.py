"""Fuzz: durations and their arithmetic, meeting lengths, working hours and days, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from cadence.values.dates import EARLIEST, LATEST, DateReader
from cadence.values.durations import (
    MAX_BUSINESS_DAYS,
    MAX_DAYS,
    MAX_MONTHS,
    Duration,
    parse_meeting_length,
)
from cadence.values.errors import ValueParseError
from cadence.values.workweek import DAY_NAMES, WorkingHours, parse_working_days
from tests.fuzz.fuzzkit import fuzz, nasty_text, outcome, peak_memory_below

UNITS = ("day", "business day", "working day", "week", "month", "quarter", "year")
SANE_DATES = st.dates(min_value=EARLIEST, max_value=LATEST)
ANY_DATES = st.dates()

numbers = st.one_of(
    st.integers(min_value=0, max_value=5000).map(str),
    st.integers(min_value=0, max_value=10**400).map(str),
    st.sampled_from(["a", "an", "one", "two", "twelve", "00", "0" * 50 + "1", "٣"]),
)
plain_durations = st.builds(
    lambda n, unit, plural, space: f"{n}{space}{unit}{'s' if plural else ''}",
    numbers,
    st.sampled_from(UNITS),
    st.booleans(),
    st.sampled_from([" ", "", "  ", "\t", "\n"]),
)
iso_durations = st.builds(
    lambda parts: "P" + "".join(f"{n}{u}" for u, n in parts),
    st.lists(
        st.tuples(
            st.sampled_from("YMWD"),
            st.one_of(st.integers(0, 200), st.integers(0, 10**320)),
        ),
        max_size=4,
    ).map(lambda ps: sorted(dict(ps).items(), key=lambda p: "YMWD".index(p[0]))),
)
duration_texts = st.one_of(plain_durations, iso_durations, nasty_text())


def _check_duration(d: Duration) -> None:
    """Every parsed duration is positive and within the documented bounds."""
    assert d.months >= 0 and d.days >= 0 and d.business_days >= 0
    assert d.months + d.days + d.business_days > 0
    assert d.months <= MAX_MONTHS and d.days <= MAX_DAYS and d.business_days <= MAX_BUSINESS_DAYS
    assert 0 < d.approx_days <= MAX_DAYS


@fuzz()
@given(duration_texts)
def test_duration_parse_gives_a_bounded_duration_or_a_clear_error(text):
    result = outcome(Duration.parse, text)
    if isinstance(result, Exception):
        assert isinstance(result, ValueParseError) and str(result)
        return
    _check_duration(result)
    # The text it keeps reads back as the same duration.
    again = Duration.parse(result.text)
    assert (again.months, again.days, again.business_days) == (
        result.months,
        result.days,
        result.business_days,
    )


# Every accepted spelling up to its bound, the bounds themselves, and mixed ISO forms.
UNIT_BOUNDS = (
    ("day", MAX_DAYS),
    ("week", MAX_DAYS // 7),
    ("business day", MAX_BUSINESS_DAYS),
    ("month", MAX_MONTHS),
    ("quarter", MAX_MONTHS // 3),
    ("year", MAX_MONTHS // 12),
)
valid_durations = st.one_of(
    st.sampled_from(UNIT_BOUNDS).flatmap(
        lambda unit: st.integers(1, unit[1]).map(lambda n: Duration.parse(f"{n} {unit[0]}s"))
    ),
    st.sampled_from(["10 years", "3653 days", f"{MAX_BUSINESS_DAYS} business days", "P9Y11M"]).map(
        Duration.parse
    ),
    st.builds(
        lambda y, m, w, d: outcome(Duration.parse, f"P{y}Y{m}M{w}W{d}D"),
        st.integers(0, 5),
        st.integers(0, 60),
        st.integers(0, 52),
        st.integers(0, 400),
    ).filter(lambda d: isinstance(d, Duration)),
)


@fuzz()
@given(valid_durations, SANE_DATES)
def test_duration_arithmetic_on_supported_dates_is_monotonic_and_never_fails(duration, day):
    with peak_memory_below(50):
        later = duration.add_to(day)
        earlier = duration.subtract_from(day)
    assert later > day > earlier
    if duration.months == 0 and duration.business_days == 0:  # plain days invert exactly
        assert later - day == timedelta(days=duration.days)
        assert duration.subtract_from(later) == day
        assert duration.add_to(earlier) == day
    if duration.business_days and duration.months == 0 and duration.days == 0:
        assert later.weekday() < 5 and earlier.weekday() < 5
    # Later starts never end earlier.
    assert duration.add_to(day + timedelta(days=1)) >= later


@fuzz()
@given(valid_durations, ANY_DATES)
def test_duration_arithmetic_on_any_date_gives_a_date_or_a_clear_error(duration, day):
    for move in (duration.add_to, duration.subtract_from):
        result = outcome(move, day)
        assert isinstance(result, date | ValueParseError)


@fuzz(weight=0.5)
@given(valid_durations, SANE_DATES, st.frozensets(st.integers(0, 6)), st.booleans())
def test_duration_arithmetic_with_any_business_day_rule_ends(duration, day, working, forward):
    def is_business_day(d: date) -> bool:
        return d.weekday() in working

    move = duration.add_to if forward else duration.subtract_from
    with peak_memory_below(50):
        result = outcome(move, day, is_business_day)
    if duration.business_days == 0 or working:
        assert isinstance(result, date)
        if duration.business_days:
            assert is_business_day(result)
    else:
        assert isinstance(result, ValueParseError)


@fuzz()
@given(
    st.one_of(
        nasty_text(),
        st.builds(
            lambda n, unit: f"{n} {unit}",
            st.one_of(
                st.integers(0, 10**400).map(str),
                st.floats(allow_nan=True, allow_infinity=True).map(str),
                st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
            ),
            st.sampled_from(["minutes", "minute", "m", "hours", "h", "hrs", "mins"]),
        ),
        st.builds(lambda h, m: f"PT{h}H{m}M", st.integers(0, 10**30), st.integers(0, 10**30)),
    )
)
def test_meeting_lengths_are_between_one_minute_and_twelve_hours(text):
    result = outcome(parse_meeting_length, text)
    if isinstance(result, timedelta):
        assert timedelta(minutes=1) <= result <= timedelta(hours=12)
        assert result.total_seconds() % 60 == 0
    else:
        assert isinstance(result, ValueParseError)


hours = st.builds(
    lambda h1, m1, sep, h2, m2: f"{h1}:{m1}{sep}{h2}:{m2}",
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.sampled_from(["-", "–", " - ", "—", "to"]),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
)


@fuzz()
@given(st.one_of(hours, nasty_text()))
def test_working_hours_are_a_forward_span_inside_one_day_that_round_trips(text):
    result = outcome(WorkingHours.parse, text)
    if isinstance(result, ValueParseError):
        return
    assert 0 <= result.start_minute < result.end_minute <= 24 * 60
    assert WorkingHours.parse(str(result)) == result
    assert result.start.hour * 60 + result.start.minute == result.start_minute


day_lists = st.lists(
    st.tuples(st.sampled_from(DAY_NAMES), st.sampled_from(DAY_NAMES), st.booleans()),
    min_size=1,
    max_size=4,
)


def _days_oracle(parts: list[tuple[str, str, bool]]) -> frozenset[int]:
    """The days a list of ``a-b`` ranges (wrapping) and single days names, counted one by one."""
    out: set[int] = set()
    for first, last, is_range in parts:
        i, end = DAY_NAMES.index(first), DAY_NAMES.index(last if is_range else first)
        out.add(i)
        while i != end:
            i = (i + 1) % 7
            out.add(i)
    return frozenset(out)


@fuzz()
@given(day_lists, st.sampled_from([",", ", "]), st.booleans())
def test_working_days_from_day_names_are_the_named_days(parts, comma, upper):
    text = comma.join(f"{a}-{b}" if is_range else a for a, b, is_range in parts)
    assert parse_working_days(text.upper() if upper else text) == _days_oracle(parts)


@fuzz()
@given(nasty_text())
def test_working_days_of_any_text_are_weekday_numbers_or_a_clear_error(text):
    result = outcome(parse_working_days, text)
    if not isinstance(result, ValueParseError):
        assert result and result <= frozenset(range(7))


# Dates: dateparser is slow (about a millisecond a call), hence the weights.

READERS = (DateReader(("en",), "DMY"), DateReader(("en", "es", "de", "hi", "ar"), "MDY"))
MONTHS = ("Jan", "February", "mar", "Sept", "DECEMBER", "Feb", "märz", "दिसंबर")
date_like = st.builds(
    lambda day, month, year, sep: sep.join(p for p in (day, month, year) if p),
    st.one_of(st.just(""), st.integers(0, 40).map(str)),
    st.one_of(st.sampled_from(MONTHS), st.integers(0, 13).map(str)),
    st.one_of(st.just(""), st.integers(0, 12000).map(str), st.just("9" * 30)),
    st.sampled_from([" ", "-", "/", ".", ", "]),
)
date_texts = st.one_of(date_like, nasty_text(max_parts=5))


@fuzz(weight=0.5)
@given(date_texts, st.sampled_from(READERS))
def test_partial_and_calendar_dates_are_in_range_or_a_clear_error(text, reader):
    for read in (reader.partial, reader.calendar_date):
        result = outcome(read, text)
        if isinstance(result, ValueParseError):
            continue
        if isinstance(result, date):
            assert EARLIEST <= result <= LATEST
        else:
            assert 1 <= result.month <= 12
            assert result.day is None or 1 <= result.day <= 31
            assert result.year is None or EARLIEST.year <= result.year <= LATEST.year


ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Lisbon", "Asia/Kolkata")
moment_texts = st.one_of(
    date_texts,
    st.builds(
        lambda when, at: f"{when} {at}",
        st.sampled_from(["yesterday", "today", "2 days ago", "last monday", "0001-01-01"]),
        st.sampled_from(["3pm", "14:00", "25:00", "00:00", "noon", ""]),
    ),
)


@fuzz(weight=0.5)
@given(
    moment_texts,
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(1801, 1, 1), max_value=datetime(2199, 12, 31)),
)
def test_moments_are_aware_past_and_in_range_or_a_clear_error(text, zone_name, now):
    zone = ZoneInfo(zone_name)
    aware_now = now.replace(tzinfo=UTC)
    result = outcome(READERS[0].moment, text, zone, aware_now)
    if isinstance(result, ValueParseError):
        return
    assert result.tzinfo is not None
    assert result <= aware_now
    assert EARLIEST <= result.date() <= LATEST
