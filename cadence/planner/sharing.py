"""One object per distinct value among the plan's contacts.

A plan of a million customers holds millions of contacts on a few hundred distinct days and a
few thousand distinct quarter hours, and a third of their reasons tuples repeat word for word
(most of the texts more): each contact refers to one shared object per value rather than
holding its own (about 200 bytes a contact for the days and instants).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from sys import intern

from cadence.planner.timegrid import from_minute, to_minute


class SharedValues:
    """The shared objects of one plan: ``days`` is used as ``days.setdefault(d, d)``, UTC
    instants come from :meth:`instant` (an equal instant in another zone is a different value),
    days by ordinal from :meth:`day_at`, reasons through :meth:`reasons`."""

    __slots__ = ("_instants", "_ordinals", "_reasons", "days")

    def __init__(self) -> None:
        self.days: dict[date, date] = {}
        self._ordinals: dict[int, date] = {}
        self._instants: dict[int, datetime] = {}
        self._reasons: dict[tuple[str, ...], tuple[str, ...]] = {}

    def instant(self, minute: int) -> datetime:
        """Epoch minute ``minute`` as the plan's one aware UTC datetime of it."""
        found = self._instants.get(minute)
        if found is None:
            found = self._instants[minute] = from_minute(minute)
        return found

    def same(self, at: datetime, minute: int | None = None) -> datetime:
        """``at``, or the plan's one equal copy of it when it is a whole UTC minute;
        ``minute``: ``to_minute(at)`` when the caller has it already (it costs a timestamp)."""
        if at.tzinfo is UTC and not at.second and not at.microsecond:
            return self.instant(to_minute(at) if minute is None else minute)
        return at

    def day_at(self, ordinal: int) -> date:
        """Day ordinal ``ordinal`` as one shared date."""
        found = self._ordinals.get(ordinal)
        if found is None:
            found = self._ordinals[ordinal] = date.fromordinal(ordinal)
        return found

    def reasons(self, reasons: tuple[str, ...]) -> tuple[str, ...]:
        """``reasons`` as one shared copy, its texts interned."""
        found = self._reasons.get(reasons)
        if found is None:
            # The kept copy is its own key: the texts the lookup was made of are let go.
            found = tuple(map(intern, reasons))
            self._reasons[found] = found
        return found
