"""What the tracks share between customers gives exactly what each customer's own computation
gives: one policy's anniversaries are worked out once per month and day of ``customer_since``
(:meth:`cadence.planner.rhythm.Rhythm.anniversaries`), not once per customer."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.rhythm import Rhythm, anniversary_days
from cadence.values.durations import Duration

FIRST_DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


@given(
    FIRST_DAYS,
    st.lists(st.integers(-40 * 366, 3 * 366), min_size=1, max_size=8),
    st.integers(1, 800),
    st.sampled_from(["yearly", "half-yearly"]),
    st.sampled_from(["2 weeks", "1 month", "10 business days", "P1M3D"]),
    st.sampled_from(["4 months", "1 year", "45 days"]),
)
def test_anniversaries_shared_by_month_and_day_are_each_customers_own(
    first_day, offsets, range_days, anniversary, lead, max_gap
):
    policy = replace(
        SegmentPolicy(),
        anniversary=anniversary,
        anniversary_lead=Duration.parse(lead),
        max_gap=Duration.parse(max_gap),
    )
    rhythm = Rhythm(policy)
    assert rhythm.period is not None
    end_day = first_day + timedelta(days=range_days)
    # Customers since many years, months and days (29 February among them), some of them
    # sharing a month and day, some recent or not started yet.
    sinces = [first_day + timedelta(days=o) for o in offsets]
    sinces += [s.replace(year=s.year - 4) for s in sinces] + [date(2000, 2, 29), date(2016, 2, 29)]
    for since in sinces:
        days, shift = rhythm.anniversaries(since, first_day, end_day)
        own = tuple(
            (months + shift, *rest) for months, *rest in days if months + shift >= rhythm.period
        )
        assert own == anniversary_days(
            since, rhythm.period, policy.anniversary_lead, policy.max_gap, first_day, end_day
        )


@given(
    st.lists(FIRST_DAYS, min_size=1, max_size=6),
    st.sampled_from([("1 week", "1 month", "2 months"), ("1 month",), ("2 weeks", "P2M3D")]),
    st.sampled_from(["1 week", "10 business days", "3 days"]),
)
def test_onboarding_end_is_each_customers_own(sinces, steps, window):
    policy = replace(
        SegmentPolicy(),
        onboarding=tuple(Duration.parse(s) for s in steps),
        onboarding_window=Duration.parse(window),
    )
    rhythm = Rhythm(policy)
    for since in sinces + sinces:  # asked again, by another customer since the same day
        last_step = policy.onboarding[-1].add_to(since)
        assert rhythm.onboarding_end(since) == policy.onboarding_window.add_to(last_step)
