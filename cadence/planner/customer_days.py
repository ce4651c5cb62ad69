"""The customer's side of a day: busy seasons, their country's weekend and holidays, their hours.

Customers that share a zone, country, weekend, seasons and hours share one :class:`CustomerDays`
(and its caches): most customers of an industry in one country do.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cadence.planner.timegrid import local_date, local_minute
from cadence.values.daycal import holiday_name
from cadence.values.seasons import SeasonSet
from cadence.values.workweek import DAY_NAMES, WorkingHours


class LocalHours:
    """A zone's hours (or whole days) cut out of salesperson time, whatever the day rules: one
    per zone and hours, shared by every :class:`CustomerDays` of them (the same working day of
    a salesperson is cut for each kind of customer in that zone)."""

    def __init__(self, zone: ZoneInfo, hours: WorkingHours | None) -> None:
        self.zone = zone
        self.hours = hours
        self._cuts: dict[tuple[int, int], tuple[tuple[date, int, int], ...]] = {}

    def cut(self, start: int, end: int) -> tuple[tuple[date, int, int], ...]:
        """(local day, lo, hi): the non-empty parts of ``[start, end)`` (epoch minutes) inside
        the hours of each local day it touches, in order."""
        key = (start, end)
        cut = self._cuts.get(key)
        if cut is not None:
            return cut
        zone, hours = self.zone, self.hours
        first, last = (hours.start_minute, hours.end_minute) if hours is not None else (0, 1440)
        parts = []
        day = local_date(zone, start)
        stop = local_date(zone, end - 1)
        while day <= stop:
            lo = max(local_minute(zone, day, first), start)
            hi = min(local_minute(zone, day, last), end)
            if lo < hi:
                parts.append((day, lo, hi))
            day += timedelta(days=1)
        cut = self._cuts[key] = tuple(parts)
        return cut


class CustomerDays:
    """Customer-side day rules, all evaluated on the customer's own local date."""

    def __init__(
        self,
        zone: ZoneInfo,
        country: str,
        weekend: frozenset[int],
        seasons: SeasonSet,
        hours: WorkingHours | None,
        local_hours: LocalHours | None = None,
    ) -> None:
        self.zone = zone
        self.country = country
        self.weekend = weekend
        self.seasons = seasons
        self.hours = hours
        self.local_hours = local_hours or LocalHours(zone, hours)
        self._blocked: dict[int, str | None] = {}
        self._spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._reasons: dict[tuple[int, int], str] = {}

    def blocked(self, day: date) -> str | None:
        """Why the customer must not be contacted on their local ``day``, or None."""
        key = day.toordinal()
        try:
            return self._blocked[key]
        except KeyError:
            pass
        reason: str | None = None
        season = self.seasons.season_on(day)
        if season is not None:
            reason = f"customer's busy season ({season.text})"
        elif day.weekday() in self.weekend:
            # The customer's own date, which may be a day apart from the salesperson's.
            there = f"{day:%a} {day.day} {day:%b} in {self.zone.key}"
            reason = f"{DAY_NAMES[day.weekday()]} is the customer's weekend ({there})"
        elif self.country and (name := holiday_name(self.country, day)):
            reason = f"public holiday: {name} in {self.country}, the customer's side"
        self._blocked[key] = reason
        return reason

    def allowed_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """Parts of ``[start, end)`` (epoch minutes) that fall on allowed customer dates and,
        when the policy sets ``customer_hours``, inside the customer's local hours."""
        key = (start, end)
        spans = self._spans.get(key)
        if spans is not None:
            return spans
        blocked = self.blocked
        spans = [
            (lo, hi) for day, lo, hi in self.local_hours.cut(start, end) if blocked(day) is None
        ]
        self._spans[key] = spans
        return spans

    def day_reason(self, start: int, end: int) -> str:
        """Why ``[start, end)`` offers no allowed customer time (for the explanation)."""
        key = (start, end)
        reason = self._reasons.get(key)
        if reason is None:
            reason = self._reasons[key] = self._day_reason(start, end)
        return reason

    def hours_overlap(self, start: int, end: int) -> bool:
        """Do the customer's hours overlap ``[start, end)`` at all, whatever the day rules?"""
        if self.hours is None:
            return True
        return bool(self.local_hours.cut(start, end))

    def _day_reason(self, start: int, end: int) -> str:
        day = local_date(self.zone, start)
        last = local_date(self.zone, end - 1)
        reasons = []
        while day <= last:
            why = self.blocked(day)
            if why:
                reasons.append(why)
            day += timedelta(days=1)
        if reasons:
            return "; ".join(dict.fromkeys(reasons))
        return "no overlap between the salesperson's working hours and the customer's hours"
