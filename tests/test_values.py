"""Value parsers: durations, meeting lengths, seasons, working hours and days."""

from datetime import date, timedelta

import pytest

from cadence.durations import Duration, add_months, parse_meeting_length
from cadence.errors import ValueParseError
from cadence.seasons import parse_season
from cadence.workweek import WorkingHours, parse_working_days


@pytest.mark.parametrize(
    ("text", "months", "days", "business"),
    [
        ("4 weeks", 0, 28, 0),
        ("1 week", 0, 7, 0),
        ("2 business days", 0, 0, 2),
        ("quarter", 3, 0, 0),
        ("2 quarters", 6, 0, 0),
        ("3 months", 3, 0, 0),
        ("1 year", 12, 0, 0),
        ("90 days", 0, 90, 0),
        ("P6W", 0, 42, 0),
        ("P1Y2M3D", 14, 3, 0),
    ],
)
def test_duration_parses_every_documented_form(text, months, days, business):
    d = Duration.parse(text)
    assert (d.months, d.days, d.business_days) == (months, days, business)


@pytest.mark.parametrize("text", ["", "soon", "4 fortnights", "0 days", "P", "-3 weeks", "PT5M"])
def test_duration_rejects_nonsense(text):
    with pytest.raises(ValueParseError):
        Duration.parse(text)


def test_months_are_calendar_months_clamped_to_month_end():
    assert Duration.parse("1 month").add_to(date(2027, 1, 31)) == date(2027, 2, 28)
    assert Duration.parse("1 month").add_to(date(2028, 1, 31)) == date(2028, 2, 29)
    assert Duration.parse("1 year").add_to(date(2028, 2, 29)) == date(2029, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_business_days_skip_the_weekend():
    friday = date(2026, 11, 27)
    assert Duration.parse("2 business days").add_to(friday) == date(2026, 12, 1)
    assert Duration.parse("2 business days").subtract_from(date(2026, 12, 1)) == friday


def test_meeting_lengths():
    assert parse_meeting_length("30 minutes") == timedelta(minutes=30)
    assert parse_meeting_length("1 hour") == timedelta(hours=1)
    assert parse_meeting_length("1.5 hours") == timedelta(minutes=90)
    assert parse_meeting_length("PT45M") == timedelta(minutes=45)
    with pytest.raises(ValueParseError):
        parse_meeting_length("forever")


def test_season_across_new_year_contains_both_ends():
    s = parse_season("Nov 15 - Jan 5")
    assert s.contains(date(2026, 11, 15))
    assert s.contains(date(2026, 12, 31))
    assert s.contains(date(2027, 1, 5))
    assert not s.contains(date(2027, 1, 6))
    assert not s.contains(date(2026, 11, 14))
    assert s.occurrence(date(2027, 1, 2)) == (date(2026, 11, 15), date(2027, 1, 5))


@pytest.mark.parametrize("sep", [" - ", " – ", " to ", " .. ", "..", "–"])
def test_season_separators(sep):
    s = parse_season(f"15 November{sep}5 January")
    assert (s.start_md, s.end_md) == ((11, 15), (1, 5))


def test_whole_month_season_and_one_off_season():
    dec = parse_season("December")
    assert (dec.start_md, dec.end_md) == ((12, 1), (12, 31))
    spring = parse_season("March - April")
    assert (spring.start_md, spring.end_md) == ((3, 1), (4, 30))
    once = parse_season("2027-03-01 to 2027-03-20")
    assert not once.recurring
    assert once.contains(date(2027, 3, 20))
    assert not once.contains(date(2028, 3, 10))


def test_season_ending_on_29_february_ends_on_28th_in_other_years():
    s = parse_season("Feb 1 - Feb 29")
    assert s.contains(date(2028, 2, 29))
    assert s.occurrence(date(2027, 2, 10)) == (date(2027, 2, 1), date(2027, 2, 28))


@pytest.mark.parametrize(
    "text", ["", "whenever", "Nov 15 - Jan 5 - Mar 3", "2027-03-20 - 2027-03-01"]
)
def test_bad_seasons_are_rejected(text):
    with pytest.raises(ValueParseError):
        parse_season(text)


def test_working_hours_and_days():
    h = WorkingHours.parse("09:00-17:30")
    assert (h.start_minute, h.end_minute) == (540, 1050)
    assert parse_working_days("mon-fri") == frozenset({0, 1, 2, 3, 4})
    assert parse_working_days("sun-thu") == frozenset({6, 0, 1, 2, 3})
    assert parse_working_days("mon,wed,fri") == frozenset({0, 2, 4})
    with pytest.raises(ValueParseError):
        WorkingHours.parse("17:00-09:00")
    with pytest.raises(ValueParseError):
        parse_working_days("weekdays")


def test_a_day_that_does_not_exist_is_rejected_not_dropped():
    with pytest.raises(ValueParseError, match="no such day"):
        parse_season("Nov 45 - Jan 5")
