"""Value parsers: durations, meeting lengths, seasons, dates, zones, working hours and days."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cadence.values.dates import EARLIEST, LATEST, DateReader, check_supported_date
from cadence.values.durations import MAX_BUSINESS_DAYS, Duration, add_months, parse_meeting_length
from cadence.values.errors import ValueParseError
from cadence.values.model import Customer
from cadence.values.seasons import (
    MAX_SPAN_DAYS,
    NoFreeDayError,
    Season,
    SeasonParser,
    SeasonSet,
    free_day_problem,
    parse_season,
)
from cadence.values.workweek import WorkingHours, parse_working_days
from cadence.values.zones import is_zone, zone_problem


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


# -------------------------------------------------------------------------------------------
# Bounds: one bad value gives a clear error, never a crash further on


@pytest.mark.parametrize(
    "text", ["10 years", "P10Y", "120 months", "40 quarters", "3653 days", "521 weeks"]
)
def test_durations_up_to_ten_years_are_accepted(text):
    assert Duration.parse(text).approx_days <= 3653


def test_business_days_up_to_the_bound_are_accepted():
    assert Duration.parse(f"{MAX_BUSINESS_DAYS} business days").business_days == 2609


@pytest.mark.parametrize(
    "text",
    [
        "11 years",
        "10000 years",
        "100000000 business days",
        "2610 business days",
        "3654 days",
        "P10Y1D",
        "P9999999Y",
        "9" * 309 + " days",
        "P" + "9" * 5000 + "D",  # int() itself refuses more than 4300 digits
    ],
)
def test_durations_longer_than_ten_years_are_refused_saying_what_is_accepted(text):
    with pytest.raises(ValueParseError, match="at most 10 years"):
        Duration.parse(text)


@pytest.mark.parametrize("text", ["P0D", "P0W", "P0Y0M", "P00D", "0 days", "0 business days"])
def test_zero_durations_are_refused_in_every_spelling(text):
    with pytest.raises(ValueParseError, match="is zero"):
        Duration.parse(text)


def test_a_duration_built_out_of_bounds_is_refused():
    with pytest.raises(ValueParseError, match="too long"):
        Duration(months=121)
    with pytest.raises(ValueParseError, match="whole numbers"):
        Duration(days=-1)


def test_weekday_arithmetic_matches_walking_day_by_day():
    def walking(d: date) -> bool:  # not the is_weekday object: takes the day-by-day path
        return d.weekday() < 5

    start = date(2026, 11, 23)
    for offset in range(7):
        for n in (1, 4, 5, 6, 10, 11, 23, 260):
            d = start + timedelta(days=offset)
            duration = Duration(business_days=n, days=offset % 3)
            assert duration.add_to(d) == duration.add_to(d, walking)
            assert duration.subtract_from(d) == duration.subtract_from(d, walking)


def test_longest_durations_stay_inside_python_dates_from_the_supported_range():
    longest = Duration.parse("10 years")
    assert longest.add_to(LATEST) == date(2210, 12, 31)
    assert longest.subtract_from(EARLIEST) == date(1790, 1, 1)
    most = Duration.parse(f"{MAX_BUSINESS_DAYS} business days")
    # Monday + 2609 weekdays: 521 weeks to Monday 31 December 2035, then Tuesday to Friday.
    assert most.add_to(date(2026, 1, 5)) == date(2036, 1, 4)


def test_date_arithmetic_past_python_dates_is_a_value_error_of_ours():
    with pytest.raises(ValueParseError, match="outside the supported dates"):
        Duration.parse("1 day").add_to(date.max)
    with pytest.raises(ValueParseError, match="outside the supported dates"):
        Duration.parse("1 month").subtract_from(date.min)


def test_a_business_day_rule_without_business_days_stops_after_a_year():
    with pytest.raises(ValueParseError, match="no business day in the 366 days"):
        Duration.parse("1 business day").add_to(date(2026, 1, 1), lambda d: False)


def test_meeting_length_with_hundreds_of_digits_is_refused():
    with pytest.raises(ValueParseError, match="meeting length"):
        parse_meeting_length("9" * 400 + " hours")
    with pytest.raises(ValueParseError, match="between 1 minute and 12 hours"):
        parse_meeting_length("9" * 90 + " hours")


# Zones


@pytest.mark.parametrize("name", ["Europe/Lisbon", "UTC", "America/Argentina/Buenos_Aires"])
def test_iana_keys_are_zones(name):
    assert is_zone(name)
    assert zone_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "America",
        "Europe",
        "a" * 300,
        "Europe/Lisbon\x00",
        "../etc/passwd",
        "/Europe/Lisbon",
        "Europe//Lisbon",
        "Europe/",
        "zone.tab",
        "posixrules",
        "localtime",
        "posix/Europe/Lisbon",
        "right/UTC",
        "europe/lisbon",
        "",
        "Mars/Olympus",
    ],
)
def test_everything_else_is_not_a_zone(name):
    assert not is_zone(name)
    assert zone_problem(name).startswith(("unknown time zone", "empty time zone"))


def test_zone_problems_say_what_is_accepted():
    assert zone_problem("America") == (
        "unknown time zone 'America': that is a region, name a zone in it like 'America/Adak'"
    )
    assert zone_problem("Europe") == (
        "unknown time zone 'Europe': that is a region, name a zone in it like 'Europe/Lisbon'"
    )
    assert zone_problem("europe/lisbon") == (
        "unknown time zone 'europe/lisbon': did you mean 'Europe/Lisbon'?"
    )
    assert zone_problem("x" * 300) == (
        f"unknown time zone {'x' * 37!r}...: the name is 300 characters long, IANA names have "
        "at most 64; use an IANA name like 'Europe/Lisbon' or 'UTC'"
    )
    assert zone_problem(42) == "expected an IANA time zone name like 'Europe/Lisbon', got int"


# Dates


def test_dates_outside_the_supported_years_are_refused_where_they_are_read():
    reader = DateReader()
    assert reader.calendar_date("1 January 1800") == EARLIEST
    assert reader.calendar_date("31 Dec 2200") == LATEST
    for text in ("9999-12-31", "31 December 1799", "Jan 2201"):
        with pytest.raises(ValueParseError, match="outside the supported years 1800-2200"):
            reader.calendar_date(text)
    with pytest.raises(ValueParseError, match="outside the supported years 1800-2200"):
        reader.partial("Mar 3 0001")
    with pytest.raises(ValueParseError, match="outside the supported years"):
        check_supported_date(date(9999, 12, 31))
    assert check_supported_date(date(2026, 5, 1)) == date(2026, 5, 1)


def test_moments_outside_the_supported_years_are_refused():
    with pytest.raises(ValueParseError, match="outside the supported years"):
        DateReader().moment("0001-01-01 00:00", ZoneInfo("Pacific/Kiritimati"), datetime.now(UTC))


def test_over_long_date_text_is_refused_before_dateparser():
    with pytest.raises(ValueParseError, match="101 characters is too long for a date"):
        DateReader().partial("1" + " " * 99 + "2")


# Seasons


@pytest.mark.parametrize(
    "text", ["Jan 1 - Dec 31", "Dec 1 - Nov 30", "January - December", "Mar 1 - Feb 29"]
)
def test_a_season_covering_the_whole_year_is_refused(text):
    with pytest.raises(ValueParseError, match="covers every day of the year: leave at least"):
        parse_season(text)


def test_a_season_leaving_only_29_february_free_is_refused():
    with pytest.raises(ValueParseError, match="no day free in years without 29 February"):
        parse_season("Mar 1 - Feb 28")


def test_a_season_leaving_one_day_free_is_accepted():
    season = parse_season("Jan 1 - Dec 30")
    assert not season.contains(date(2026, 12, 31))
    assert free_day_problem([season]) is None


def test_one_off_seasons_longer_than_a_year_or_covering_one_are_refused():
    with pytest.raises(ValueParseError, match="lasts 518 days; a one-off season may last at"):
        parse_season("2027-01-01 - 2028-06-01")
    with pytest.raises(ValueParseError, match="covers every day of 2027"):
        parse_season("2027-01-01 - 2027-12-31")
    with pytest.raises(ValueParseError, match="outside the supported years"):
        parse_season("2027-01-01 - 9999-12-31")
    assert parse_season("2027-01-02 - 2028-01-01").end_date == date(2028, 1, 1)


def test_free_day_problem_looks_at_the_union_of_a_customers_seasons():
    halves = [parse_season("Jan 1 - Jun 30"), parse_season("Jul 1 - Dec 31")]
    assert free_day_problem(halves) == (
        "busy seasons 'Jan 1 - Jun 30', 'Jul 1 - Dec 31' together cover every day of the year: "
        "leave at least one day free, or the customer can never be contacted"
    )
    # The one free day of the recurring season is taken, in 2028 only, by a one-off season.
    nearly = parse_season("Jan 2 - Dec 31")
    new_year = parse_season("2027-12-15 - 2028-01-15")
    assert free_day_problem([nearly, new_year]) == (
        "busy seasons 'Jan 2 - Dec 31', '2027-12-15 - 2028-01-15' together cover every day of "
        "2028: leave at least one day free, or the customer cannot be contacted that year"
    )
    assert free_day_problem([nearly, parse_season("2027-12-15 - 2027-12-31")]) is None
    assert free_day_problem([]) is None


def test_span_agrees_with_containment_and_stops_at_the_bound():
    seasons = SeasonSet((parse_season("Nov 15 - Jan 5"), parse_season("Jan 6 - Feb 1")))
    first, last = seasons.span(date(2027, 1, 10))
    assert (first, last) == (date(2026, 11, 15), date(2027, 2, 1))
    assert seasons.season_on(first - timedelta(days=1)) is None
    assert seasons.season_on(last + timedelta(days=1)) is None
    assert seasons.span(date(2027, 3, 1)) is None
    # Seasons built without parse_season that block every day: an error, no walk to year 1.
    endless = SeasonSet((Season("all", start_md=(1, 1), end_md=(12, 31)),))
    with pytest.raises(NoFreeDayError, match=f"no free day within {MAX_SPAN_DAYS} days before"):
        endless.span(date(2026, 6, 1))
    assert issubclass(NoFreeDayError, ValueParseError)


def test_span_stops_at_the_ends_of_python_dates():
    seasons = SeasonSet((parse_season("Nov 15 - Jan 5"),))
    assert seasons.span(date(9999, 12, 20)) == (date(9999, 11, 15), date.max)
    assert seasons.span(date(1, 1, 2)) == (date.min, date(1, 1, 5))


def test_season_parser_reads_each_text_once_and_refuses_a_bad_one_again_the_same_way():
    read: list[str] = []

    def counted(text: str) -> Season:
        read.append(text)
        return parse_season(text)

    seasons = SeasonParser(parse=counted)
    assert seasons("Nov 15 - Jan 5") is seasons("Nov 15 - Jan 5")
    assert seasons("Nov 15 - Jan 5") == parse_season("Nov 15 - Jan 5")
    for _ in range(2):
        with pytest.raises(ValueParseError, match=r"^cannot read season 'Nov 45 - Jan 5': "):
            seasons("Nov 45 - Jan 5")
    assert read == ["Nov 15 - Jan 5", "Nov 45 - Jan 5"]


def test_season_parser_reads_dates_with_the_reader_it_was_given():
    text = "03/04/2027 - 03/05/2027"
    us = SeasonParser(DateReader(date_order="MDY"))(text)
    assert (us.start_date, us.end_date) == (date(2027, 3, 4), date(2027, 3, 5))
    europe = SeasonParser()(text)  # day first, as DateReader() reads
    assert (europe.start_date, europe.end_date) == (date(2027, 4, 3), date(2027, 5, 3))


def test_a_customers_seasons_are_its_industrys_then_its_own():
    seasons = SeasonParser()
    industry = (parse_season("Jan 15 - Apr 30"),)
    shop = Customer("c1", "Shop", "ann@example.com", busy_seasons=("August", "Nov 45 - Jan 5"))
    with pytest.raises(ValueParseError, match="Nov 45"):
        seasons.of_customer(shop, industry)
    theirs = seasons.of_customer(shop, industry, skip_unreadable=True)
    assert [s.text for s in theirs] == ["Jan 15 - Apr 30", "August"]
    assert seasons.of_customer(Customer("c2", "Firm", "ann@example.com"), industry) == industry
    # Customers with the same seasons share one SeasonSet, and so its day cache.
    assert seasons.season_set(theirs) is seasons.season_set(tuple(theirs))
    assert seasons.season_set(theirs).season_on(date(2027, 8, 3)) == parse_season("August")
    assert seasons.season_set(industry) is not seasons.season_set(theirs)
