"""The planner's shortcuts give exactly what the long way gives.

The planner adds the same few durations to dates hundreds of thousands of times and asks the same
calendar questions for every customer of one shape; the shortcuts that make that cheap (whole-day
durations added without the general path, month ends looked up only when the day could overflow,
anniversary dates shared by every customer of one ``customer_since``) are held here to the general
computation they replace, over random inputs.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.values.durations import Duration, _shift, add_months, is_weekday
from cadence.values.errors import ValueParseError

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
