"""Local midnights: where an all-day event, a whole date, begins and ends in a zone.

An all-day event is a run of dates in the salesperson's zone; as busy time it is the span from
the local midnight that opens its first date to the one that opens its (exclusive) end date
(:func:`day_bounds`), and a span between two such midnights is whole days
(:func:`whole_local_days`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant ``day`` begins in ``zone``, in UTC.

    A midnight that does not exist (a DST gap at 00:00, as in Santiago or Havana) moves forward:
    :mod:`zoneinfo` reads the missing wall time (``fold=0``) with the offset before the gap,
    which lands on the instant the gap ends.
    """
    return datetime.combine(day, time(), zone).astimezone(UTC)


def day_bounds(start: date, end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights that open ``start`` and ``end``."""
    return local_midnight(start, zone), local_midnight(end, zone)


def whole_local_days(start: datetime, end: datetime, zone: tzinfo) -> bool:
    """Whether ``[start, end)`` runs from one local midnight in ``zone`` to a midnight of a later
    date: whole days, as a free/busy answer (which has no all-day flag) shows an all-day or
    out-of-office event."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (
        end > start
        and local_start.time() == time()
        and local_end.time() == time()
        and local_start.date() < local_end.date()
    )
