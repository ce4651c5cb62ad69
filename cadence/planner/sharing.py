"""One object per distinct value among the plan's contacts.

A plan of a million customers holds millions of contacts on a few hundred distinct days and a
few thousand distinct quarter hours, and a third of their reasons tuples repeat word for word
(most of the texts more): each contact refers to one shared object per value rather than
holding its own (about 200 bytes a contact for the days and instants).
"""

from __future__ import annotations

from datetime import date, datetime
from sys import intern


class SharedValues:
    """The shared objects of one plan: ``days`` and ``instants`` are used as
    ``days.setdefault(d, d)`` (instants in UTC only: an equal instant in another zone is a
    different value), reasons through :meth:`reasons`."""

    __slots__ = ("_reasons", "days", "instants")

    def __init__(self) -> None:
        self.days: dict[date, date] = {}
        self.instants: dict[datetime, datetime] = {}
        self._reasons: dict[tuple[str, ...], tuple[str, ...]] = {}

    def reasons(self, reasons: tuple[str, ...]) -> tuple[str, ...]:
        """``reasons`` as one shared copy, its texts interned."""
        found = self._reasons.get(reasons)
        if found is None:
            # The kept copy is its own key: the texts the lookup was made of are let go.
            found = tuple(map(intern, reasons))
            self._reasons[found] = found
        return found
