"""Why a contact was placed away from its ideal day: the causes of the days passed over,
each once with the days it held (``Sat 5 Dec: ...; Mon 7 Dec, Tue 8 Dec: 6 bookings that
day``), for the reasons ``cadence explain`` prints."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from cadence.planner.timegrid import short_date


def why_not_before(skipped: Mapping[int, str], ideal: date, day: date) -> str:
    """Why the days from ``ideal`` up to (not including) ``day`` were passed over, each cause
    once with its days (``Sat 5 Dec: ...; Mon 7 Dec, Tue 8 Dec: 6 bookings that day``): the
    real cause of a move, not only the ideal day's."""
    at, first = day.toordinal(), ideal.toordinal()
    lo, hi = (first, at) if first <= at else (at, first)
    causes: dict[str, list[int]] = {}
    for ordinal in range(lo, hi + 1):
        why = skipped.get(ordinal)
        if why and ordinal != at:
            days = causes.get(why)
            if days is None:
                causes[why] = [ordinal]
            else:
                days.append(ordinal)
    if len(causes) == 1:
        why, days = next(iter(causes.items()))
        if days == [first]:
            return why  # the ideal day alone: "moved from <it>" names it already
    parts = []
    for why, days in list(causes.items())[:3]:
        named = ", ".join(map(short_date, days[:3]))
        more = f" and {len(days) - 3} more" if len(days) > 3 else ""
        parts.append(f"{named}{more}: {why}")
    if len(causes) > 3:
        parts.append(f"{len(causes) - 3} other causes")
    return "; ".join(parts)
