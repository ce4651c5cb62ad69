"""What the tracks take for granted to skip work holds: no onboarding ends later than
:attr:`cadence.planner.rhythm.Rhythm.onboarding_days` after ``customer_since`` (so a customer
whose bound is before the first plannable day needs no dates worked out), and the catch-up
period kept by day is that of the duration asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.rhythm import Rhythm, most_days
from cadence.values.durations import Duration

DAYS = st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31))
DURATIONS = st.builds(
    Duration,
    months=st.integers(0, 60),
    days=st.integers(0, 400),
    business_days=st.integers(0, 300),
)


@given(DURATIONS, DAYS)
def test_no_duration_moves_a_date_further_than_its_most_days(duration, d):
    assert 0 <= (duration.add_to(d) - d).days <= most_days(duration)


@given(
    st.lists(DURATIONS.filter(lambda d: d.approx_days > 0), min_size=1, max_size=3),
    DURATIONS,
    DAYS,
    st.integers(-40 * 366, 3 * 366),
)
def test_an_onboarding_ends_within_its_bound_of_customer_since(steps, window, first_day, offset):
    policy = replace(SegmentPolicy(), onboarding=tuple(steps), onboarding_window=window)
    rhythm = Rhythm(policy)
    since = first_day + timedelta(days=offset)
    end = rhythm.onboarding_end(since)
    assert end.toordinal() <= since.toordinal() + rhythm.onboarding_days
    if since.toordinal() + rhythm.onboarding_days < first_day.toordinal():
        assert end < first_day  # what _onboarding_ahead takes for granted without asking


@given(
    st.lists(
        st.tuples(DAYS, st.sampled_from(["21 days", "3 weeks", "1 month", "10 business days"])),
        min_size=1,
        max_size=8,
    )
)
def test_the_catch_up_kept_by_day_is_that_of_the_duration_asked_for(asks):
    # Kept by day with its duration: asked again with another (or an equal) duration, the
    # answer is that duration's own.
    rhythm = Rhythm(SegmentPolicy())
    for day, text in asks + asks[::-1]:
        catch_up = Duration.parse(text)
        end, why = rhythm.catch_up(day, catch_up)
        assert end == max(day, catch_up.add_to(day) - timedelta(days=1))
        assert why == (
            f"catch-up: overdue customers are spread over {catch_up} from {day}, "
            "most overdue first, at an even daily load"
        )
