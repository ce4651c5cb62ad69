"""Fuzz: busy seasons, their union (free days) and the blocked stretches the planner follows."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from cadence.values.dates import EARLIEST, LATEST, DateReader
from cadence.values.errors import ValueParseError
from cadence.values.seasons import (
    MAX_ONE_OFF_DAYS,
    MAX_SPAN_DAYS,
    NoFreeDayError,
    Season,
    SeasonSet,
    free_day_problem,
    parse_season,
)
from tests.fuzz.fuzzkit import fuzz, nasty_text, outcome, peak_memory_below

READER = DateReader(("en",), "DMY")
MONTH_NAMES = [calendar.month_abbr[m] for m in range(1, 13)] + ["December", "february"]
SEPARATORS = [" - ", " – ", " to ", " .. ", "..", "–", " until ", "-", " — "]

side = st.one_of(
    st.builds(lambda m, d: f"{m} {d}", st.sampled_from(MONTH_NAMES), st.integers(0, 32)),
    st.builds(lambda d, m: f"{d} {m}", st.integers(0, 32), st.sampled_from(MONTH_NAMES)),
    st.sampled_from(MONTH_NAMES),
    st.builds(
        lambda y, m, d: f"{y}-{m:02d}-{d:02d}",
        st.one_of(st.integers(1700, 2300), st.sampled_from([1, 9999, 2024, 2028])),
        st.integers(1, 12),
        st.integers(1, 31),
    ),
    st.builds(lambda m, y: f"{m} {y}", st.sampled_from(MONTH_NAMES), st.integers(1790, 2210)),
)
season_texts = st.one_of(
    st.builds(lambda a, sep, b: f"{a}{sep}{b}", side, st.sampled_from(SEPARATORS), side),
    side,
    nasty_text(max_parts=5),
)


@fuzz(weight=0.5)
@given(season_texts)
def test_parse_season_gives_a_season_leaving_days_free_or_a_clear_error(text):
    result = outcome(parse_season, text, READER)
    event(type(result).__name__)
    if isinstance(result, ValueParseError):
        assert str(result)
        return
    assert free_day_problem([result]) is None
    if result.recurring:
        assert result.start_md is not None and result.end_md is not None
        for month, day in (result.start_md, result.end_md):
            assert 1 <= day <= calendar.monthrange(2024, month)[1]
    else:
        assert result.start_date is not None and result.end_date is not None
        assert EARLIEST <= result.start_date <= result.end_date <= LATEST
        assert (result.end_date - result.start_date).days < MAX_ONE_OFF_DAYS


month_days = st.integers(1, 12).flatmap(
    lambda m: st.tuples(st.just(m), st.integers(1, calendar.monthrange(2024, m)[1]))
)
recurring = st.builds(
    lambda a, b: Season(f"{a}..{b}", start_md=a, end_md=b), month_days, month_days
)
one_off = st.builds(
    lambda start, length: Season(
        f"{start}+{length}", start_date=start, end_date=start + timedelta(days=length)
    ),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)),
    st.integers(0, 500),
)
season_sets = st.lists(st.one_of(recurring, recurring, one_off), min_size=1, max_size=4)


def _covered(seasons: list[Season], day: date) -> bool:
    """Containment, worked out from the season's bounds (not through Season.contains)."""
    for s in seasons:
        if s.start_date is not None and s.end_date is not None:
            if s.start_date <= day <= s.end_date:
                return True
            continue
        assert s.start_md is not None and s.end_md is not None
        start = date(2024, *s.start_md).timetuple().tm_yday
        end = date(2024, *s.end_md).timetuple().tm_yday
        here = date(2024, day.month, day.day).timetuple().tm_yday
        if (start <= here <= end) if start <= end else (here >= start or here <= end):
            return True
    return False


def _year_blocked(seasons: list[Season], year: int) -> bool:
    first = date(year, 1, 1)
    days = 365 + calendar.isleap(year)
    return all(_covered(seasons, first + timedelta(days=i)) for i in range(days))


@fuzz(weight=0.5)
@given(season_sets)
def test_free_day_problem_agrees_with_counting_the_days(seasons):
    problem = free_day_problem(seasons)
    too_long = any(
        s.start_date is not None
        and s.end_date is not None
        and (s.end_date - s.start_date).days >= MAX_ONE_OFF_DAYS
        for s in seasons
    )
    if too_long:
        assert problem is not None and "may last at most a year" in problem
        return
    # The one-off seasons lie in 2020-2034: these years hold every case, leap and common years
    # with only recurring seasons included.
    blocked = [y for y in range(2019, 2037) if _year_blocked(seasons, y)]
    event("no free day" if blocked else "free days")
    assert (problem is None) == (not blocked), (problem, blocked)


@fuzz(weight=0.5)
@given(season_sets, st.one_of(st.dates(), st.dates(date(2019, 1, 1), date(2034, 1, 1))))
def test_span_agrees_with_containment_and_stays_bounded(seasons, day):
    season_set = SeasonSet(tuple(seasons))
    with peak_memory_below(30):
        span = outcome(season_set.span, day)
    event(type(span).__name__)
    if isinstance(span, ValueParseError):
        assert isinstance(span, NoFreeDayError)
        assert free_day_problem(seasons) is not None
        return
    inside = season_set.season_on(day) is not None
    assert inside == _covered(seasons, day)
    if span is None:
        assert not inside
        return
    first, last = span
    assert first <= day <= last
    assert (last - first).days <= 2 * MAX_SPAN_DAYS
    for edge in (first, day, last):
        assert season_set.season_on(edge) is not None
    if first > date.min:
        assert season_set.season_on(first - timedelta(days=1)) is None
    if last < date.max:
        assert season_set.season_on(last + timedelta(days=1)) is None
    # Every day of the stretch is blocked (checked on a sample: the stretch may be long).
    step = max(1, (last - first).days // 50)
    probe = first
    while probe <= last:
        assert season_set.season_on(probe) is not None
        probe += timedelta(days=step)


@fuzz(weight=0.5)
@given(
    season_sets,
    st.lists(st.dates(date(2019, 1, 1), date(2034, 1, 1)), min_size=2, max_size=12),
)
def test_a_span_asked_after_others_is_what_a_fresh_set_answers(seasons, days):
    """A span worked out once is kept for every day of its stretch: asked in any order, each
    day's answer (or error) is what a set asked about that day alone gives."""
    kept = SeasonSet(tuple(seasons))
    for day in days:
        answer, alone = outcome(kept.span, day), outcome(SeasonSet(tuple(seasons)).span, day)
        if isinstance(alone, Exception):
            assert type(answer) is type(alone)
        else:
            assert answer == alone
