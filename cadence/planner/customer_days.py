"""The customer's side of a day: busy seasons, their country's weekend and holidays, their hours.

Customers that share a zone, country, weekend, seasons and hours share one :class:`CustomerDays`
(and its caches): most customers of an industry in one country do.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from cadence.planner.timegrid import day_start, local_ordinal, local_span, short_date
from cadence.values.daycal import holiday_name
from cadence.values.seasons import SeasonSet
from cadence.values.workweek import DAY_NAMES, WorkingHours

# A span cut to a zone's hours: its parts (local day ordinal, lo, hi), and the allowed answer
# (spans, no reason) of a kind of customer for whom none of those days is blocked.
_Cut = tuple[tuple[tuple[int, int, int], ...], tuple[list[tuple[int, int]], str]]


class LocalHours:
    """A zone's hours (or whole days) cut out of salesperson time, whatever the day rules: one
    per zone and hours, shared by every :class:`CustomerDays` of them (the same working day of
    a salesperson is cut for each kind of customer in that zone)."""

    def __init__(self, zone: ZoneInfo, hours: WorkingHours | None) -> None:
        self.zone = zone
        self.hours = hours
        self._cuts: dict[tuple[int, int], _Cut] = {}

    def cut(self, span: tuple[int, int]) -> _Cut:
        """(local day ordinal, lo, hi): the non-empty parts of ``span`` (``[start, end)``, epoch
        minutes) inside the hours of each local day it touches, in order; and the answer of
        :meth:`CustomerDays.allowed` when none of those days is blocked (one object for every
        kind of customer of these hours, as most days are nobody's weekend or holiday)."""
        cut = self._cuts.get(span)
        if cut is None:
            parts = self._cut(*span)
            cut = self._cuts[span] = (parts, ([(lo, hi) for _, lo, hi in parts], ""))
        return cut

    def _cut(self, start: int, end: int) -> tuple[tuple[int, int, int], ...]:
        zone, hours = self.zone, self.hours
        first, last = (hours.start_minute, hours.end_minute) if hours is not None else (0, 1440)
        parts = []
        o = local_ordinal(zone, start)
        while day_start(zone, o) < end:
            lo, hi = local_span(zone, first, last, o)
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                parts.append((o, lo, hi))
            o += 1
        return tuple(parts)

    def overlaps(self, start: int, end: int) -> bool:
        """Do the hours overlap ``[start, end)`` at all? (Not kept: asked of sample days.)"""
        return bool(self._cut(start, end))


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
        self._allowed: dict[tuple[int, int], tuple[list[tuple[int, int]], str]] = {}
        self._reasons: dict[tuple[int, int], str] = {}  # by first and last customer date

    def blocked(self, day: date) -> str | None:
        """Why the customer must not be contacted on their local ``day``, or None."""
        key = day.toordinal()
        try:
            return self._blocked[key]
        except KeyError:
            return self._block(key, day)

    def blocked_at(self, ordinal: int) -> str | None:
        """:meth:`blocked` by day ordinal."""
        try:
            return self._blocked[ordinal]
        except KeyError:
            return self._block(ordinal, date.fromordinal(ordinal))

    def _block(self, key: int, day: date) -> str | None:
        reason: str | None = None
        season = self.seasons.season_on(day)
        if season is not None:
            reason = f"customer's busy season ({season.text})"
        elif day.weekday() in self.weekend:
            # The customer's own date, which may be a day apart from the salesperson's.
            there = f"{short_date(key)} in {self.zone.key}"
            reason = f"{DAY_NAMES[day.weekday()]} is the customer's weekend ({there})"
        elif self.country and (name := holiday_name(self.country, day)):
            reason = f"public holiday: {name} in {self.country}, the customer's side"
        self._blocked[key] = reason
        return reason

    def allowed(self, span: tuple[int, int]) -> tuple[list[tuple[int, int]], str]:
        """The parts of ``span`` (``[start, end)``, epoch minutes: a salesperson's working day,
        the key of the caches here as it is) that fall on allowed customer dates and, when the
        policy sets ``customer_hours``, inside the customer's local hours; with none, why not
        (for the explanation), else ``""``. The lists are shared: read them only."""
        found = self._allowed.get(span)
        if found is None:
            parts, found = self.local_hours.cut(span)  # most days: no part of it is blocked
            if not parts:  # the hours miss the span
                found = ([], self._day_reason(*span))
            blocked = self._blocked
            for o, _, _ in parts:
                if (blocked[o] if o in blocked else self.blocked_at(o)) is not None:
                    spans = [(lo, hi) for o, lo, hi in parts if self.blocked_at(o) is None]
                    found = (spans, "" if spans else self._day_reason(*span))
                    break
            self._allowed[span] = found
        return found

    def allowed_spans(self, span: tuple[int, int]) -> list[tuple[int, int]]:
        """:meth:`allowed` without the reason."""
        return self.allowed(span)[0]

    def hours_overlap(self, start: int, end: int) -> bool:
        """Do the customer's hours overlap ``[start, end)`` at all, whatever the day rules?"""
        if self.hours is None:
            return True
        return self.local_hours.overlaps(start, end)

    def _day_reason(self, start: int, end: int) -> str:
        """Why no part of ``[start, end)`` is allowed: the reasons of the customer dates it
        touches, kept by those dates (every salesperson's day on them says the same)."""
        dates = (local_ordinal(self.zone, start), local_ordinal(self.zone, end - 1))
        reason = self._reasons.get(dates)
        if reason is None:
            reasons = []
            for o in range(dates[0], dates[1] + 1):
                why = self.blocked_at(o)
                if why:
                    reasons.append(why)
            reason = self._reasons[dates] = (
                "; ".join(dict.fromkeys(reasons))
                if reasons
                else "no overlap between the salesperson's working hours and the customer's hours"
            )
        return reason
