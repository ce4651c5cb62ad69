"""The even daily load: each salesperson's soft cap of bookings a day, and the overdue backlog
spread over the catch-up period.

Without it, capacity would fill from tomorrow on: a book with a backlog of overdue customers
would take every slot of the first days, and the customers due anyway would be pushed away
from their ideal days. :func:`set_levels` gives every :class:`~cadence.planner.agenda.Agenda`
a level (bookings a day) for the catch-up period and one after it, and gives the backlog ideal
days spread evenly over the period, most overdue first (:func:`spread_backlog`). A customer a
busy season made overdue is not part of the backlog (:func:`held_by_season`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from cadence.planner.agenda import Agenda
from cadence.planner.needs import Need
from cadence.planner.state import CustomerState
from cadence.values.durations import Duration
from cadence.values.model import CustomerStatus
from cadence.values.seasons import SeasonSet

# The searches for a day, in turn, by how far above the even-load level a day may be: below
# it (the walk goes out from the ideal day, so a contact due anyway keeps its rhythm), one
# above it, then capacity alone decides (None). A first pass near the ideal day alone came
# before these until it was seen to find only what the walk over the window finds first.
LEVEL_PASSES: tuple[int | None, ...] = (0, 1, None)
# After the catch-up period the level is this much above the steady rate of the salesperson's
# customers' rhythms: at the bare rate, every day that happens to be at the mean pushes a due
# contact days away from its ideal (measured in tests/test_simulation.py: rhythm score 0.4198
# at 1.0, 0.4182 at 1.3).
LEVEL_HEADROOM = 1.3


def set_levels(
    started: Sequence[CustomerState],
    queue: Iterable[tuple[int, int, int, int, tuple[CustomerState, Need]]],
    catch_up: Duration,
) -> None:
    """The even-load soft cap of each salesperson (:meth:`Agenda.level`).

    Over the catch-up period (from the first plannable day), the bookings due in it (every
    customer's first need whose ideal day falls inside, the overdue backlog included) divided
    by the days the salesperson works in it, rounded up; after it, the steady rate of their
    customers' rhythms per working day, rounded up. A day at its level takes more only when
    no day in a need's window is below it (then one more, then capacity alone decides).
    ``queue`` holds every customer's first need (the engine's queue entries: last day,
    priority, overdue, arrival, (state, need)).
    """
    demand: dict[str, int] = {}
    backlog: dict[str, list[tuple[int, int, Need]]] = {}
    rate: dict[str, float] = {}
    agendas: dict[str, tuple[Agenda, date]] = {}
    # 1 / days of each policy's rhythm, by id (approx_days is a property worked out each time;
    # the policies live while their states do).
    per_day: dict[int, float] = {}
    for state in started:
        email = state.agenda.person.email
        if email not in agendas:
            agendas[email] = (state.agenda, state.today + timedelta(days=1))
        if state.customer.status is CustomerStatus.ACTIVE:
            share = per_day.get(id(state.policy))
            if share is None:
                share = per_day[id(state.policy)] = 1 / max(1.0, state.policy.every.approx_days)
            rate[email] = rate.get(email, 0.0) + share
    ends = {email: catch_up.add_to(first) for email, (_, first) in agendas.items()}
    for entry in queue:
        state, need = entry[4]
        email = state.agenda.person.email
        if need.outranks_capacity or need.ideal >= ends[email]:
            continue
        # A need its busy season keeps out of the whole period lands after it: not here.
        span = state.days.seasons.span(max(need.window_start, state.first_day))
        if span is not None and span[1] >= min(need.window_end, ends[email]):
            continue
        demand[email] = demand.get(email, 0) + 1
        if need.overdue_since is not None and need.window_start == state.first_day:
            seasons = state.days.seasons
            if held_by_season(seasons, need.overdue_since, state.first_day, catch_up):
                need.season_held = True
                need.reasons[:] = [r for r in need.reasons if not r.startswith("catch-up:")]
                need.reasons.append(
                    "held by a busy season: the first day after it with room, not spread "
                    "over the catch-up period"
                )
            else:
                backlog.setdefault(email, []).append((entry[2], entry[3], need))
    for email, (agenda, first) in agendas.items():
        open_days = [
            day
            for k in range((ends[email] - first).days)
            if agenda.blocked(day := first + timedelta(days=k)) is None
        ]
        worked = len(open_days)
        spread_backlog(backlog.get(email, []), open_days)
        per_week = max(1, len(agenda.person.working_days))
        steady = LEVEL_HEADROOM * rate.get(email, 0.0) * 7 / per_week
        rest = max(1, math.ceil(steady - 1e-9))
        agenda.level_rest = rest
        agenda.level_until = ends[email].toordinal()
        agenda.level_first = max(rest, math.ceil(demand.get(email, 0) / worked)) if worked else rest


def spread_backlog(needs: list[tuple[int, int, Need]], days: list[date]) -> None:
    """Give the overdue backlog ideal days spread evenly over the catch-up period's working
    days, most overdue first (``needs``: (overdue ordinal, queue order, need)), so that
    every day keeps room for the customers due anyway."""
    if not needs or not days:
        return
    needs.sort(key=lambda item: (item[0], item[1]))
    for rank, (_, _, need) in enumerate(needs):
        need.ideal = days[rank * len(days) // len(needs)]


def held_by_season(seasons: SeasonSet, deadline: date, first_day: date, catch_up: Duration) -> bool:
    """Whether a busy season, not a backlog, made a customer overdue: a season holds today, or
    held the day their max_gap passed and ended within the catch-up period before today. Such a
    customer is not spread over the catch-up period: the contact comes on the first day after
    the season with room (the forced gap's promise)."""
    if deadline == date.min:  # never contacted
        return False
    if seasons.span(first_day) is not None:
        return True
    span = seasons.span(deadline)
    return span is not None and span[1] >= catch_up.subtract_from(first_day)
