"""Forced gaps: when no day of a need's window is allowed, the first allowed day after it
(after the busy season that takes the window, when one does), reported with why the window
had none. A forced gap never lands inside a busy season."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from cadence.planner.agenda import UNKNOWN as _UNKNOWN
from cadence.planner.needs import Need
from cadence.planner.state import CustomerState, Found
from cadence.planner.timegrid import iso

if TYPE_CHECKING:
    from cadence.planner.placement import Placer

AFTER_WINDOW_SEARCH_DAYS = 120
AFTER_SEASON_SEARCH_DAYS = 400


def outside_window(
    placer: Placer,
    state: CustomerState,
    need: Need,
    excluded: set[date],
    use_capacity: bool,
    skipped: dict[int, str],
) -> Found | None:
    """No allowed day in the window: a forced gap, reported. Never inside a busy season."""
    seasons = state.days.seasons
    lo, hi = need.window_start.toordinal(), need.window_end.toordinal()
    in_season = (
        next((o for o in range(lo, hi + 1) if seasons.season_at(o)), None)
        if seasons.seasons
        else None
    )
    if in_season is not None:
        season_day = date.fromordinal(in_season)
        first, last = seasons.span(season_day) or (season_day, season_day)
        season = seasons.season_at(in_season)
        label = season.text if season else "busy season"
        # A pre-season check-in needs a day before the season at least min_gap after the
        # last contact, i.e. inside the window: there is none, or the scan had found it.
        hit = first_after(
            placer,
            state,
            need,
            max(last + timedelta(days=1), need.window_start),
            AFTER_SEASON_SEARCH_DAYS,
            excluded,
            use_capacity,
        )
        others = sorted(
            {
                reason
                for o, reason in skipped.items()
                if lo <= o <= hi and seasons.season_at(o) is None
            }
        )[:3]
        also = f" and {'; '.join(others)}" if others else ""
        why = (
            f"busy season {label} ({iso(first)}..{iso(last)}){also} "
            "leave no allowed day in the window"
        )
    else:
        hit = first_after(
            placer,
            state,
            need,
            need.window_end + timedelta(days=1),
            AFTER_WINDOW_SEARCH_DAYS,
            excluded,
            use_capacity,
        )
        common = sorted(set(skipped.values()))[:3]
        why = "no allowed day in the window" + (f" ({'; '.join(common)})" if common else "")
    if hit is None:
        return None
    day, slot = hit
    return Found(
        day, slot, [f"forced: {why}; first allowed day after it is {iso(day)}"], forced=True
    )


def first_after(
    placer: Placer,
    state: CustomerState,
    need: Need,
    start: date,
    days: int,
    excluded: set[date],
    use_capacity: bool,
) -> tuple[date, int] | None:
    """The first day of the ``days`` from ``start`` with a free slot (and room, with
    ``use_capacity``): full weeks are jumped over whole, as in :meth:`Placer.open_days`."""
    agenda = state.agenda
    day_rules, full_days, full_weeks = agenda.day_rules, agenda.full_days, agenda.full_weeks
    o, stop = max(start, state.first_day).toordinal(), start.toordinal() + days
    while o < stop:
        if use_capacity:
            week = (o - 1) // 7  # ordinal 1 is a Monday
            if week in full_weeks:
                o = 7 * (week + 1) + 1
                continue
            if o in full_days:
                o += 1
                continue
        why = day_rules.get(o, _UNKNOWN)
        if why is _UNKNOWN:
            why = agenda.blocked(date.fromordinal(o))
        if not why:
            slot, _ = placer.slot_on(state, need, o, excluded)
            if slot is not None:
                return date.fromordinal(o), slot
        o += 1
    return None
