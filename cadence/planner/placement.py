"""Placement: the day and quarter-hour slot for one need.

A need is placed on the allowed day nearest its ideal day (earlier on a tie, the lighter day
first among equally near ones), in passes that relax the even daily load
(:data:`cadence.planner.levels.LEVEL_PASSES`): below the level, one above it, then capacity
alone. A day is allowed when the salesperson works (no closure, holiday, absence, full day or
week) and the customer may be contacted (no busy season, weekend or holiday on their side),
and has a free slot inside both sides' hours (:func:`cadence.planner.timegrid.choose_slot`).
When a busy season will swallow the next window, the check-in moves as late as it can before
it (the pre-season check-in); when no day of the window is allowed, the first allowed day
after it is taken and reported as a forced gap (:mod:`cadence.planner.forced`).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, timedelta
from functools import lru_cache

from cadence.planner.agenda import UNKNOWN as _UNKNOWN
from cadence.planner.forced import outside_window
from cadence.planner.levels import LEVEL_PASSES
from cadence.planner.moves import why_not_before
from cadence.planner.needs import Need
from cadence.planner.state import CustomerState, Found
from cadence.planner.timegrid import choose_slot, earliest_start, iso, steady_offset
from cadence.values.seasons import SeasonSet
from cadence.values.text import count

MIN_NOTICE_MINUTES = 60
_FAR = 1 << 30
_UNASKED = (0, "")  # a day not asked for a slot yet in this search
# The passes of a search, as (use capacity, relax the level by).
_Pass = tuple[bool, int | None]
_PASSES: tuple[_Pass, ...] = tuple((True, relax) for relax in LEVEL_PASSES)
_SEASON_HELD_PASSES: tuple[_Pass, ...] = ((True, None),)
_CAPACITY_ALONE: _Pass = (False, None)


@lru_cache(maxsize=64)
def _no_slot(minutes: int) -> str:
    return f"no free {minutes}-minute slot (calendar conflicts)"


def _season_takes(seasons: SeasonSet, first: date, last: date) -> bool:
    """Does one stretch of busy seasons cover every customer date that a salesperson day from
    ``first`` to ``last`` can touch? UTC offsets lie within -12 and +14 hours, so a
    salesperson's day falls on customer dates at most two days either side of its own."""
    if first.toordinal() <= 2:
        return False
    span = seasons.span(first - timedelta(days=2))
    return span is not None and span[1].toordinal() >= last.toordinal() + 2


class Placer:
    """Finds days and slots in the calendars; it reserves nothing (the engine does)."""

    def __init__(self, now_minute: int, buffer: int) -> None:
        self.now_minute = now_minute
        self.buffer = buffer  # minutes kept free around other meetings
        self.hour_overlaps: dict[tuple, bool] = {}
        # The answers of slot_on in the search under way, by day ordinal: a search tries the
        # same days in several passes, and nothing is reserved until it ends.
        self._slots: dict[int, tuple[int | None, str]] = {}
        self._level_reasons: dict[tuple[str, int], str] = {}
        self._turned_away = 0  # days turned away for the even-load level, ever (see search)

    def hours_ever_meet(self, state: CustomerState) -> bool:
        """Can this salesperson's working hours ever overlap this customer's hours? Checked on
        two weeks now and two weeks half a year on (DST can open or close an overlap); kept by
        the agenda for each kind of customer, and by zones and hours across salespeople."""
        agenda, days = state.agenda, state.days
        known = agenda.hours_meet.get(days)
        if known is None:
            known = agenda.hours_meet[days] = self._hours_meet(state)
        return known

    def _hours_meet(self, state: CustomerState) -> bool:
        agenda, days = state.agenda, state.days
        if days.hours is None:
            return True
        key = (agenda.zone.key, agenda.person.working_hours, days.zone.key, days.hours)
        known = self.hour_overlaps.get(key)
        if known is None:
            known = self.hour_overlaps[key] = self._sampled_overlap(state)
        return known

    def _sampled_overlap(self, state: CustomerState) -> bool:
        """Do the hours overlap on one of two weeks from the first plannable day, or of the two
        weeks half a year on? A day like one already asked (the same UTC offsets of both zones,
        no clock change near it) gives the same answer and is not asked again."""
        agenda, days = state.agenda, state.days
        own, theirs, first = agenda.zone, days.zone, state.first_day.toordinal()
        seen = set()
        for o in (*range(first, first + 14), *range(first + 182, first + 196)):
            offsets = (steady_offset(own, o), steady_offset(theirs, o))
            if None not in offsets:
                if offsets in seen:
                    continue
                seen.add(offsets)
            if days.hours_overlap(*agenda.work_span_at(o)):
                return True
        return False

    def try_day(
        self, state: CustomerState, need: Need, day: date, excluded: set[date], use_capacity: bool
    ) -> tuple[int | None, str]:
        """The earliest free slot on salesperson-local ``day``, or None and the reason."""
        if day < state.first_day:
            return None, "too soon"
        why = state.agenda.unavailable(day, use_capacity)
        if why:
            return None, why
        return self.slot_on(state, need, day.toordinal(), excluded)

    def slot_on(
        self, state: CustomerState, need: Need, o: int, excluded: set[date]
    ) -> tuple[int | None, str]:
        """The best free slot on day ordinal ``o`` (salesperson-local), a day the salesperson
        can work, or None and the reason (asked once per day in a search)."""
        found = self._slots.get(o)
        if found is None:
            found = self._slots[o] = self._slot_on(state, need, o, excluded)
        return found

    def _slot_on(
        self, state: CustomerState, need: Need, o: int, excluded: set[date]
    ) -> tuple[int | None, str]:
        if excluded and date.fromordinal(o) in excluded:
            return None, "the owner declined or deleted a booking that day"
        agenda = state.agenda
        spans, why = state.days.allowed(agenda.work_span_at(o))
        if not spans:
            return None, why
        busy = agenda.busy_at(o)
        if not busy and not agenda.person.breaks:
            # Nothing to keep away from: the earliest start that fits (most days of a plan).
            slot = earliest_start(spans, need.minutes, self.now_minute + MIN_NOTICE_MINUTES)
        else:
            slot = choose_slot(
                spans,
                busy,
                need.minutes,
                self.now_minute + MIN_NOTICE_MINUTES,
                buffer=self.buffer,
                breaks=agenda.breaks_on(date.fromordinal(o)) if agenda.person.breaks else None,
            )
        if slot is None:
            return None, _no_slot(need.minutes)
        return slot, ""

    def open_days(
        self,
        state: CustomerState,
        start: int,
        stop: int,
        step: int,
        use_capacity: bool,
        skipped: dict[int, str],
        relax: int | None = None,
    ) -> Generator[int, None, None]:
        """Day ordinals from ``start`` towards ``stop`` (inclusive) on which the salesperson
        can take a booking at all (and, with ``relax`` given, whose load is below the even-load
        level plus ``relax``). Full weeks are jumped over whole: on a busy book most of a
        window is full, and this loop is the planner's hottest."""
        agenda = state.agenda
        day_rules, full_days, full_weeks = agenda.day_rules, agenda.full_days, agenda.full_weeks
        leveled = use_capacity and relax is not None
        # Agenda.level and the day's load, inlined: this loop asks them of every day it walks.
        loads, until = agenda.day_loads, agenda.level_until
        level_first, level_rest = agenda.level_first, agenda.level_rest
        slots = self._slots
        o = start
        while (o <= stop) if step > 0 else (o >= stop):
            why = day_rules.get(o, _UNKNOWN)
            if why is _UNKNOWN:
                why = agenda.blocked(date.fromordinal(o))
            if not why and use_capacity:
                week = (o - 1) // 7  # ordinal 1 is a Monday
                if week in full_weeks:
                    skipped.setdefault(o, agenda.week_full)
                    o = 7 * (week + 1) + 1 if step > 0 else 7 * week
                    continue
                if o in full_days:
                    why = agenda.day_full
                elif leveled:
                    level = level_first if o < until else level_rest
                    if level is not None and loads.get(o, 0) >= level + relax:  # type: ignore[operator]
                        self._turned_away += 1
                        why = self._level_reason(agenda.person.email, level)
            if why:
                skipped.setdefault(o, why)
            elif slots.get(o, _UNASKED)[0] is not None:
                # A day an earlier pass found without a slot (and noted in ``skipped``) has
                # none now either: only days that may offer one are yielded.
                yield o
            o += step

    def _open(self, state: CustomerState, o: int, use_capacity: bool, relax: int | None) -> bool:
        """Would :meth:`open_days` yield day ordinal ``o``?"""
        agenda = state.agenda
        why = agenda.day_rules.get(o, _UNKNOWN)
        if why is _UNKNOWN:
            why = agenda.blocked(date.fromordinal(o))
        if why:
            return False
        if not use_capacity:
            return True
        if (o - 1) // 7 in agenda.full_weeks or o in agenda.full_days:
            return False
        if relax is None:
            return True
        level = agenda.level(o)
        if level is None or agenda.day_loads.get(o, 0) < level + relax:
            return True
        self._turned_away += 1
        return False

    def _level_reason(self, email: str, level: int) -> str:
        why = self._level_reasons.get((email, level))
        if why is None:
            bookings = count(level, "booking")
            why = f"even daily load: {email} has {bookings} that day"
            self._level_reasons[email, level] = why
        return why

    def scan(
        self,
        state: CustomerState,
        need: Need,
        lo: date,
        hi: date,
        excluded: set[date],
        use_capacity: bool,
        skipped: dict[int, str],
        relax: int | None = None,
    ) -> tuple[date, int] | None:
        """The allowed day in ``[lo, hi]`` nearest ``ideal_day`` (default ``need.ideal``):
        earlier on a tie, and the lighter day first among equally near ones (below the
        even-load level plus ``relax`` when given)."""
        ideal = min(max(need.ideal, lo), hi).toordinal()
        first, last = max(lo, state.first_day).toordinal(), hi.toordinal()
        if first <= ideal <= last and self._open(state, ideal, use_capacity, relax):
            # The ideal day itself (most searches): what the walk below would find first.
            slot, why = self.slot_on(state, need, ideal, excluded)
            if slot is not None:
                return date.fromordinal(ideal), slot
            skipped.setdefault(ideal, why)  # as the walk would note it
        down = self.open_days(state, min(ideal, last), first, -1, use_capacity, skipped, relax)
        up = self.open_days(state, max(ideal + 1, first), last, 1, use_capacity, skipped, relax)
        below, above = next(down, None), next(up, None)
        slot_on, loads = self.slot_on, state.agenda.day_loads
        while below is not None or above is not None:
            gap_below = ideal - below if below is not None else _FAR
            gap_above = above - ideal if above is not None else _FAR
            if gap_below < gap_above:
                assert below is not None
                slot, why = slot_on(state, need, below, excluded)
                if slot is not None:
                    return date.fromordinal(below), slot
                skipped.setdefault(below, why)
                below = next(down, None)
            elif gap_above < gap_below:
                assert above is not None
                slot, why = slot_on(state, need, above, excluded)
                if slot is not None:
                    return date.fromordinal(above), slot
                skipped.setdefault(above, why)
                above = next(up, None)
            else:  # as near on both sides: the lighter day, the earlier on a tie
                assert below is not None and above is not None
                slot_below, why_below = slot_on(state, need, below, excluded)
                slot_above, why_above = slot_on(state, need, above, excluded)
                if slot_below is not None and slot_above is not None:
                    _, o, slot = min(
                        (loads.get(below, 0), below, slot_below),
                        (loads.get(above, 0), above, slot_above),
                    )
                    return date.fromordinal(o), slot
                if slot_below is not None:
                    skipped.setdefault(above, why_above)
                    return date.fromordinal(below), slot_below
                if slot_above is not None:
                    skipped.setdefault(below, why_below)
                    return date.fromordinal(above), slot_above
                skipped.setdefault(below, why_below)
                skipped.setdefault(above, why_above)
                below, above = next(down, None), next(up, None)
        return None

    def search(
        self, state: CustomerState, need: Need, excluded: set[date], skipped: dict[int, str]
    ) -> Found | None:
        """The day and slot for ``need``: in its window if possible, else a reported forced gap."""
        self._slots = {}
        use_capacity = not need.outranks_capacity
        # A busy season over the whole window leaves no day in it: on to the forced gap.
        seasons = state.days.seasons
        swallowed = bool(seasons.seasons) and _season_takes(
            seasons, need.window_start, need.window_end
        )
        hit = None if swallowed else self._in_window(state, need, excluded, skipped)
        found: Found | None
        if hit is not None:
            day, slot = hit
            reasons = []
            if day != need.ideal:
                why = why_not_before(skipped, need.ideal, day)
                moved = f"moved from {iso(need.ideal)} to {iso(day)}"
                reasons.append(f"{moved}: {why}" if why else moved)
            found = Found(day, slot, reasons)
            # Only a busy season can swallow the next window (most customers have none).
            if need.next_gaps is not None and state.days.seasons.seasons:
                self.pre_season(state, need, found, excluded)
        else:
            found = outside_window(self, state, need, excluded, use_capacity, skipped)
            if found is None and swallowed:
                # Nowhere at all: the explanation names what the window's days said.
                self._in_window(state, need, excluded, skipped)
        outranks = found is not None and need.outranks_capacity
        if outranks and found is not None and state.agenda.capacity_problem(found.day):
            found.over_capacity = True
            found.reasons.append("win-back first call outranks capacity")
        return found

    def _in_window(
        self, state: CustomerState, need: Need, excluded: set[date], skipped: dict[int, str]
    ) -> tuple[date, int] | None:
        """The day and slot for ``need`` inside its window, or None."""
        # The even daily load first; one more booking a day where the window has no room below
        # it; then capacity alone decides (a win-back first call outranks even that). A need
        # late already because of a season takes the first day after it with room, as the
        # forced gap promised: the level would only make the silence longer.
        passes = _SEASON_HELD_PASSES if need.season_held else _PASSES
        if need.outranks_capacity:
            passes = (*passes, _CAPACITY_ALONE)
        level_spent = False
        first, last = need.window_start, need.window_end
        for capacity, relax in passes:
            if capacity and level_spent:
                continue
            turned_away = self._turned_away
            hit = self.scan(state, need, first, last, excluded, capacity, skipped, relax)
            if hit is not None:
                return hit
            # A pass that turned no day away for the even-load level: the passes after it only
            # relax the level, so they would walk the same days to the same answers (nothing is
            # reserved during a search) and find nothing either. On a full book that is most
            # failed searches: two more walks of the window each.
            level_spent = capacity and self._turned_away == turned_away
        return None

    def pre_season(
        self, state: CustomerState, need: Need, found: Found, excluded: set[date]
    ) -> None:
        """When a busy season will swallow the *next* window, move this check-in as late as the
        window allows before the season starts: the pre-season check-in. Capacity decides, not
        the even-load level: every day earlier lengthens the silence the season forces (the
        simulation's rhythm score was worse with the level here)."""
        assert need.next_gaps is not None
        seasons = state.days.seasons
        min_gap, max_gap = need.next_gaps
        next_start, next_end = min_gap.add_to(found.day), max_gap.add_to(found.day)
        span = seasons.span(next_start)
        if span is None or span[1] < next_end:
            return
        season_start = span[0]
        latest = min(need.window_end, season_start - timedelta(days=1))
        day = latest
        while day > found.day:
            slot, _ = self.try_day(state, need, day, excluded, True)
            if slot is not None:
                season = seasons.season_on(season_start)
                found.day, found.slot = day, slot
                found.reasons.append(
                    f"pre-season check-in: busy season {season.text if season else ''} "
                    f"({season_start}..{span[1]}) covers the whole next window"
                )
                return
            day -= timedelta(days=1)
