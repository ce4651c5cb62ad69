"""What the tracks of one policy work out alike for all its customers, worked out once.

Thousands of customers share a policy, and their contacts fall on a few hundred distinct days:
:class:`Rhythm` keeps, per day, the calendar arithmetic and the reason texts the tracks
(:mod:`cadence.planner.tracks`) would otherwise repeat for every need, and :class:`Rhythms`
hands out one per segment policy for a plan.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from cadence.inputs.policy import PolicySet, SegmentPolicy, rhythm_problem
from cadence.planner.timegrid import minutes_of
from cadence.planner.titles import anniversary_months
from cadence.values.durations import Duration, add_months
from cadence.values.model import Customer


class Rhythms:
    """One :class:`Rhythm` per segment policy of a plan, shared by the segment's customers (a
    customer with a rhythm of their own gets one of their own)."""

    __slots__ = ("_by_policy", "_by_segment", "policies")

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self._by_policy: dict[int, Rhythm] = {}  # by id() of the policy, which it keeps alive
        self._by_segment: dict[str, Rhythm] = {}  # the same, by the segment's name

    def of(self, customer: Customer) -> Rhythm:
        """The rhythm of ``customer``'s policy."""
        if customer.every is None and customer.min_gap is None and customer.max_gap is None:
            rhythm = self._by_segment.get(customer.segment)
            if rhythm is None:
                policy = self.policies.for_segment(customer.segment)
                rhythm = self._by_policy.get(id(policy))
                if rhythm is None:
                    rhythm = self._by_policy[id(policy)] = Rhythm(policy)
                self._by_segment[customer.segment] = rhythm
            return rhythm
        return Rhythm(self.policies.for_customer(customer))


class Rhythm:
    """What the tracks of one policy work out alike for all its customers, worked out once:
    the regular window after a day, the anniversary lead window around a day, the
    anniversaries of one ``customer_since`` (shared by every year of its month and day), the
    end of the onboarding of one ``customer_since``, the catch-up period from a first plannable
    day.

    Thousands of customers share a policy, and their contacts fall on a few hundred distinct
    days, so the calendar arithmetic and the reason texts are made once per day, not once per
    need. Each answer is exactly what the arithmetic gives (nothing is approximated), and a
    computation that raises raises again when asked again (nothing is kept then).
    """

    __slots__ = (
        "_after",
        "_after_booking",
        "_anniversaries",
        "_catch_up",
        "_lead",
        "_min_after",
        "_onboarding_end",
        "every_text",
        "gaps",
        "max_gap_text",
        "minutes",
        "onboarding_days",
        "period",
        "policy",
        "problem",
    )

    def __init__(self, policy: SegmentPolicy) -> None:
        self.policy = policy
        self.problem = rhythm_problem(policy)  # the customer is skipped when not None
        self.every_text = str(policy.every)
        self.max_gap_text = str(policy.max_gap)
        self.minutes = minutes_of(policy.meeting)
        self.gaps = (policy.min_gap, policy.max_gap)
        self.period = anniversary_months(policy.anniversary)
        # No onboarding lasts longer than this many days (to the end of the last step's
        # window): most customers' ended long before, and need no dates worked out to see it.
        self.onboarding_days = (
            most_days(policy.onboarding[-1]) + most_days(policy.onboarding_window)
            if policy.onboarding
            else 0
        )
        self._after: dict[date, tuple[date, date, date, str]] = {}  # after a contact
        self._after_booking: dict[date, tuple[date, date, date, str]] = {}  # after a booking
        self._min_after: dict[date, date] = {}
        self._onboarding_end: dict[date, date] = {}
        self._lead: dict[date, tuple[date, date]] = {}
        self._anniversaries: dict[
            tuple[int, int, date, date], tuple[tuple[_Anniversary, ...], int]
        ] = {}
        self._catch_up: dict[date, tuple[Duration, tuple[date, str]]] = {}

    def after(self, last: date, booked: bool) -> tuple[date, date, date, str]:
        """The regular check-in after a contact on ``last`` (a booking when ``booked``):
        (ideal day, window start, window end, the reason naming them)."""
        # One dict for each kind of anchor, keyed by the day itself: no ordinal worked out
        # and combined with the flag on every call (a date hashes once and keeps its hash).
        cache = self._after_booking if booked else self._after
        found = cache.get(last)
        if found is None:
            p = self.policy
            ideal = p.every.add_to(last)
            ws = p.min_gap.add_to(last)
            we = p.max_gap.add_to(last)
            # After a planned booking the rhythm counts from it; "last contact" would
            # contradict the event's "Last contact" line (the last one that happened).
            since_what = "previous booking" if booked else "last contact"
            why = f"{since_what} {last}; every {self.every_text} -> ideal {ideal}"
            found = cache[last] = (ideal, ws, we, why)
        return found

    def onboarding_end(self, since: date) -> date:
        """The last day of the last onboarding step's window, for a customer since ``since``
        (the policy has onboarding steps)."""
        found = self._onboarding_end.get(since)
        if found is None:
            p = self.policy
            last_step = p.onboarding[-1].add_to(since)
            found = self._onboarding_end[since] = p.onboarding_window.add_to(last_step)
        return found

    def min_gap_after(self, day: date) -> date:
        """``min_gap`` after ``day``."""
        found = self._min_after.get(day)
        if found is None:
            found = self._min_after[day] = self.policy.min_gap.add_to(day)
        return found

    def lead_window(self, day: date) -> tuple[date, date]:
        """The anniversary check-in's window around the anniversary on ``day``."""
        found = self._lead.get(day)
        if found is None:
            lead = self.policy.anniversary_lead
            found = self._lead[day] = (lead.subtract_from(day), lead.add_to(day))
        return found

    def anniversaries(
        self, since: date, first_day: date, end_day: date
    ) -> tuple[tuple[_Anniversary, ...], int]:
        """:func:`anniversary_days` of a customer since ``since`` (the policy has a period), as
        the days of one customer since the same month and day and what to add to their ages
        in months: ``(days, shift)``. Those aged less than the period (their first
        anniversary) after the shift are not the customer's.

        The days are kept by month and day of ``since``, not by ``since``, so that one
        computation serves every year: a customer's anniversaries are the same calendar days
        as those of an older customer since the same month and day, counted from their own
        year, minus those before their first anniversary (where a recent customer's list
        starts; see :func:`anniversary_days`).
        """
        key = (since.month, since.day, first_day, end_day)
        found = self._anniversaries.get(key)
        if found is None:
            assert self.period is not None
            p = self.policy
            # Long enough before first_day that the list does not start at the first
            # anniversary, and in a leap year, for a 29 February.
            year = first_day.year - 3
            year -= year % 4  # leap years are among the multiples of 4
            while not calendar.isleap(year):
                year -= 4
            days = anniversary_days(
                since.replace(year=year),
                self.period,
                p.anniversary_lead,
                p.max_gap,
                first_day,
                end_day,
            )
            found = self._anniversaries[key] = (days, year)
        days, year = found
        return days, 12 * (year - since.year)

    def catch_up(self, first_day: date, catch_up: Duration) -> tuple[date, str]:
        """The last day of the catch-up period from ``first_day``, and the reason saying so."""
        found = self._catch_up.get(first_day)
        # Kept by day with the duration it was worked out for, not by (day, duration): a
        # Duration hashes (and compares) in Python, and a plan asks with one and the same.
        if found is None or (found[0] is not catch_up and found[0] != catch_up):
            end = max(first_day, catch_up.add_to(first_day) - timedelta(days=1))
            why = (
                f"catch-up: overdue customers are spread over {catch_up} from {first_day}, "
                "most overdue first, at an even daily load"
            )
            found = self._catch_up[first_day] = (catch_up, (end, why))
        return found[1]


def most_days(duration: Duration) -> int:
    """The most days :meth:`Duration.add_to` (Monday-Friday business days) moves a date on:
    a month is at most 31 days, and a business day at most 3 days on (Friday to Monday)."""
    return 31 * duration.months + duration.days + 3 * duration.business_days


_Anniversary = tuple[int, date, bool, bool]
_ONE_DAY = timedelta(days=1)


def anniversary_days(
    since: date, period: int, lead: Duration, max_gap: Duration, first_day: date, end_day: date
) -> tuple[_Anniversary, ...]:
    """The anniversaries :func:`_anniversaries` looks at, the same for every customer of one
    ``customer_since`` and policy (:meth:`Rhythm.anniversaries` keeps those of one month and
    day): (months, date, whether the lead window reaches the first plannable day, whether the
    all-day reminder is inside the range)."""
    out = []
    # Look a max_gap past the range: whether a check-in inside the range merges into an
    # anniversary must not depend on where the range happens to end today.
    horizon_reach = max_gap.add_to(end_day)
    day_before = first_day - _ONE_DAY
    age = (first_day.year - since.year) * 12 + first_day.month - since.month
    months = max(1, age // period - 1) * period
    while True:
        day = add_months(since, months)  # 29 February falls on 28 February in other years
        if lead.subtract_from(day) > horizon_reach:
            break
        out.append((months, day, lead.add_to(day) >= first_day, day_before <= day <= end_day))
        months += period
    return tuple(out)
