"""Settling a plan (re-planning the salespeople whose bookings it moves) gives exactly what the
long way gives: the shortcuts of the re-plans are held here to the computation they replace.

The worlds are those of the planner's properties, planned once, written to the calendars as
they would be (some bookings then moved or deleted by their owner), and planned again days
later after an edit of the rhythm or the meeting length: the second plan moves bookings, so
it is settled, and keeps, re-places and gives up bookings on every path of keeping.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.planner import Plan, PlanInput, calendars, keeping, plan
from cadence.planner.split import PLAN_CACHES
from cadence.values.durations import Duration
from cadence.values.model import BookingState
from tests.planning import as_bookings
from tests.test_planner_properties import PROPERTY, worlds


@st.composite
def edited(draw) -> PlanInput:
    """A world planned, booked, its owners' own changes made, then edited and days later."""
    inp = draw(worlds())
    first = plan(inp)
    booked = as_bookings(first)
    states = [BookingState.BOOKED] * 6 + [BookingState.MOVED_BY_OWNER, BookingState.DELETED]
    booked = [replace(b, state=draw(st.sampled_from(states))) for b in booked]
    seg = inp.policies.defaults
    weeks = draw(st.integers(2, 13))
    seg = replace(
        seg,
        every=Duration(days=7 * weeks),
        min_gap=Duration(days=7 * min(weeks, draw(st.integers(1, 13)))),
        max_gap=Duration(days=7 * (weeks + draw(st.integers(0, 8)))),
        meeting=timedelta(minutes=draw(st.sampled_from([30, 45, 60]))),
    )
    policies = replace(inp.policies, defaults=seg, segments={"s": seg})
    later = inp.now + timedelta(days=draw(st.integers(0, 10)), minutes=draw(st.integers(0, 600)))
    return replace(inp, policies=policies, bookings=booked, now=later)


def _said(result: Plan) -> tuple:
    return result.contacts, result.notes, result.skipped


@PROPERTY
@given(edited())
def test_keeping_reads_the_times_the_index_worked_out_as_the_bookings_say_them(
    inp: PlanInput,
) -> None:
    fast = plan(inp)
    with pytest.MonkeyPatch.context() as mp:
        # The long way: every booking's times worked out from its own datetimes again.
        mp.setattr(
            keeping, "_times", lambda book, state, b: keeping._times_of(state.agenda.zone, b)
        )
        slow = plan(inp)
    assert _said(fast) == _said(slow)


@PROPERTY
@given(edited())
def test_the_customer_calendars_shared_by_a_plan_and_its_settling_are_built_fresh_alike(
    inp: PlanInput,
) -> None:
    shared = plan(inp)
    with pytest.MonkeyPatch.context() as mp:
        # The long way: a new customer calendar (and seasons, hours) for every kind of customer
        # in every plan made while settling.
        for name in ("shared_days", "local_hours", "season_set"):
            mp.setattr(calendars, name, getattr(calendars, name).__wrapped__)
        fresh = plan(inp)
    assert _said(shared) == _said(fresh)
    # Nothing of a plan is kept once it is made: the next plan builds its own.
    shared_caches = (calendars.shared_days, calendars.local_hours, calendars.season_set)
    assert all(cache in PLAN_CACHES for cache in shared_caches)
    assert all(cache.cache_info().currsize == 0 for cache in shared_caches)
