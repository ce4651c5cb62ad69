"""The salesperson's side of a day: working days, closures, holidays, out of office, busy time,
capacity."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cadence.planner.timegrid import local_date, local_minute, local_span, to_minute
from cadence.values.daycal import holiday_name
from cadence.values.model import BusyInterval, Salesperson
from cadence.values.seasons import SeasonSet
from cadence.values.workweek import DAY_NAMES

if TYPE_CHECKING:
    from cadence.planner.customer_days import CustomerDays

_NOTHING: list[tuple[int, int]] = []  # no busy time (never changed: add_interval makes a list)
UNKNOWN = "?"  # a sentinel distinct from every cached reason (None or a sentence)


class Agenda:
    """Everything the planner knows about one salesperson's calendar while it plans.

    Busy time and cadence's own placements are kept per salesperson-local day as sorted
    ``(start, end)`` epoch-minute intervals; capacity as counts per day and per ISO week.
    """

    def __init__(
        self,
        person: Salesperson,
        per_day: int | None,
        per_week: int | None,
        busy: Sequence[BusyInterval],
        *,
        company_closures: SeasonSet | None = None,
        own_closures: SeasonSet | None = None,
    ) -> None:
        self.person = person
        self.company_closures = company_closures or SeasonSet(())
        self.own_closures = own_closures or SeasonSet(())
        self.zone = ZoneInfo(person.timezone or "UTC")
        self.per_day = person.per_day if person.per_day is not None else per_day
        self.per_week = person.per_week if person.per_week is not None else per_week
        self._busy: dict[int, list[tuple[int, int]]] = {}
        self._out_of_office: set[int] = set()
        self.day_loads: dict[int, int] = {}  # cadence bookings by day ordinal (read only)
        self._week_load: dict[int, int] = {}
        self.full_days: set[int] = set()
        self.full_weeks: set[int] = set()
        self.day_rules: dict[int, str | None] = {}
        self._spans: dict[int, tuple[int, int]] = {}
        self._breaks: dict[int, list[tuple[int, int]]] = {}
        # Even load (set by the engine once every customer's first need is known): a soft cap
        # of ``level_first`` bookings a day until day ordinal ``level_until`` (the catch-up
        # period), ``level_rest`` after it. None: no soft cap.
        self.level_until = 0
        self.level_first: int | None = None
        self.level_rest: int | None = None
        # Whether the salesperson's hours ever meet those of each kind of customer (Placer).
        self.hours_meet: dict[CustomerDays, bool] = {}
        self.day_full = f"{person.email} already has {self.per_day} cadence bookings that day"
        self.week_full = f"{person.email} already has {self.per_week} cadence bookings that week"
        for interval in busy:
            self._add_busy(interval)

    # ---- busy time ------------------------------------------------------------------------

    def _add_busy(self, interval: BusyInterval) -> None:
        start, end = to_minute(interval.start), -(-int(interval.end.timestamp()) // 60)
        if end <= start:
            return
        first = local_date(self.zone, start)
        last = local_date(self.zone, end - 1)
        if interval.all_day:
            d = first
            while d <= last:
                self._out_of_office.add(d.toordinal())
                d += timedelta(days=1)
            return
        d = first
        while d <= last:
            self.add_interval(d, start, end)
            d += timedelta(days=1)

    def add_interval(self, day: date, start: int, end: int) -> None:
        """Mark ``[start, end)`` busy on the salesperson-local ``day``."""
        bisect.insort(self._busy.setdefault(day.toordinal(), []), (start, end))

    def resize(self, day: date, start: int, end: int, new_end: int) -> None:
        """A booking's reserved ``[start, end)`` becomes ``[start, new_end)`` (its length
        changed); capacity is unchanged."""
        intervals = self._busy.get(day.toordinal(), [])
        if (start, end) in intervals:
            intervals.remove((start, end))
        self.add_interval(day, start, new_end)

    def release(self, day: date, start: int, end: int) -> None:
        """Undo :meth:`add_interval` and :meth:`count` for one cadence booking."""
        intervals = self._busy.get(day.toordinal(), [])
        if (start, end) in intervals:
            intervals.remove((start, end))
        key = day.toordinal()
        load = self.day_loads[key] = max(0, self.day_loads.get(key, 0) - 1)
        if self.per_day is None or load < self.per_day:
            self.full_days.discard(key)
        week = (key - 1) // 7
        week_load = self._week_load[week] = max(0, self._week_load.get(week, 0) - 1)
        if self.per_week is None or week_load < self.per_week:
            self.full_weeks.discard(week)

    def busy_on(self, day: date) -> list[tuple[int, int]]:
        return self._busy.get(day.toordinal(), [])

    def busy_at(self, ordinal: int) -> list[tuple[int, int]]:
        """:meth:`busy_on` by day ordinal."""
        return self._busy.get(ordinal, _NOTHING)

    def overlaps(
        self, day: date, start: int, end: int, ignore: tuple[int, int] | None = None
    ) -> bool:
        """Does ``[start, end)`` overlap busy time on ``day`` (optionally ignoring one interval)?"""
        for s, e in self.busy_on(day):
            if (s, e) == ignore:
                ignore = None
                continue
            if s < end and start < e:
                return True
        return False

    # ---- day rules -----------------------------------------------------------------------

    def blocked(self, day: date) -> str | None:
        """Why the salesperson cannot take a meeting on ``day`` at all, or None."""
        key = day.toordinal()
        try:
            return self.day_rules[key]
        except KeyError:
            pass
        reason: str | None = None
        email, country = self.person.email, self.person.country
        if day.weekday() not in self.person.working_days:
            reason = f"{DAY_NAMES[day.weekday()]} is not a working day for {email}"
        elif closure := self.company_closures.season_on(day):
            reason = f"company closure ({closure.text}), the salesperson's side ({email})"
        elif closure := self.own_closures.season_on(day):
            reason = f"closure of {email} ({closure.text}), the salesperson's side"
        elif country and (name := holiday_name(country, day)):
            reason = f"public holiday: {name} in {country}, the salesperson's side ({email})"
        elif key in self._out_of_office:
            reason = f"{self.person.email} is out of office"
        self.day_rules[key] = reason
        return reason

    def work_span(self, day: date) -> tuple[int, int]:
        """Working hours on ``day`` as epoch minutes (DST-correct for that day)."""
        return self.work_span_at(day.toordinal())

    def work_span_at(self, ordinal: int) -> tuple[int, int]:
        """:meth:`work_span` by day ordinal."""
        span = self._spans.get(ordinal)
        if span is None:
            hours = self.person.working_hours
            span = local_span(self.zone, hours.start_minute, hours.end_minute, ordinal)
            self._spans[ordinal] = span
        return span

    def breaks_on(self, day: date) -> list[tuple[int, int]]:
        """The salesperson's breaks on ``day`` as epoch-minute spans (never booked)."""
        key = day.toordinal()
        found = self._breaks.get(key)
        if found is None:
            found = self._breaks[key] = [
                (
                    local_minute(self.zone, day, b.start_minute),
                    local_minute(self.zone, day, b.end_minute),
                )
                for b in self.person.breaks
            ]
        return found

    def in_break(self, day: date, start: int, end: int) -> bool:
        """Does ``[start, end)`` touch one of the salesperson's breaks on ``day``?"""
        return (
            any(s < end and start < e for s, e in self.breaks_on(day))
            if self.person.breaks
            else False
        )

    # ---- capacity ------------------------------------------------------------------------

    def level(self, ordinal: int) -> int | None:
        """The even-load soft cap on day ``ordinal`` (bookings), or None."""
        return self.level_first if ordinal < self.level_until else self.level_rest

    def load(self, day: date) -> int:
        return self.day_loads.get(day.toordinal(), 0)

    def capacity_problem(self, day: date) -> str | None:
        """Why ``day`` is full, or None while there is room."""
        key = day.toordinal()
        if key in self.full_days:
            return self.day_full
        if (key - 1) // 7 in self.full_weeks:  # ordinal 1 is a Monday: Monday-based weeks
            return self.week_full
        return None

    def unavailable(self, day: date, use_capacity: bool = True) -> str | None:
        """Why nothing can be booked on ``day`` (day rules, then capacity), or None."""
        key = day.toordinal()
        why = self.day_rules.get(key, UNKNOWN)
        if why is UNKNOWN:
            why = self.blocked(day)
        if why:
            return why
        return self.capacity_problem(day) if use_capacity else None

    def count(self, day: date) -> None:
        """Count one cadence booking on ``day`` against capacity."""
        key = day.toordinal()
        load = self.day_loads[key] = self.day_loads.get(key, 0) + 1
        if self.per_day is not None and load >= self.per_day:
            self.full_days.add(key)
        week = (key - 1) // 7
        week_load = self._week_load[week] = self._week_load.get(week, 0) + 1
        if self.per_week is not None and week_load >= self.per_week:
            self.full_weeks.add(week)
