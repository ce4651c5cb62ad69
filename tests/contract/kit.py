"""What the contract suites share: the salesperson acting in a calendar, times, specs.

:func:`at` makes the suites' instants (2027, UTC), :func:`spec_for` an :class:`EventSpec` to
write, :class:`Person` is the ``person`` fixture's interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from connectors.base import CalendarBackend, EventSpec, RemoteEvent, WriteResult


class Person(Protocol):
    """The salesperson, acting in their own calendar with the calendar's own tools.

    ``uid`` is the uid cadence gave the event; ``owner`` the calendar's owner. Timed bounds are
    aware datetimes, all-day bounds dates with an exclusive end.
    """

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        """Move cadence's event ``uid`` to ``[start, end)``."""

    def delete(self, owner: str, uid: str) -> None:
        """Delete cadence's event ``uid``."""

    def decline(self, owner: str, uid: str) -> None:
        """Decline cadence's event ``uid`` (the owner's participation status becomes declined)."""

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        attendees: Sequence[str] = (),
        title: str = "",
        declined_by: Sequence[str] = (),
        cancelled: bool = False,
    ) -> str:
        """Add an event of the salesperson's own (not cadence's); returns its id in the calendar.
        ``declined_by``: attendees who declined it; ``cancelled``: the organizer cancelled it
        (see :mod:`tests.contract.past_meetings`)."""


def at(day: int, hour: int, minute: int = 0, *, month: int = 5) -> datetime:
    """An instant in UTC, 2027."""
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


TAGS = {"cadence": "1", "customer": "acme", "kind": "check_in", "key": "acme:check_in:1"}


def spec_for(owner: str, uid: str = "cadence-acme-check_in-1", **changes: Any) -> EventSpec:
    """A timed booking on Tue 4 May 2027, 10:00-10:30 UTC, with the usual tags."""
    values: dict[str, Any] = {
        "uid": uid,
        "owner": owner,
        "title": "Check-in: ACME Ltd",
        "description": "Last contact 2 March 2027.\nAsk what problems they had.",
        "start": at(4, 10),
        "end": at(4, 10, 30),
        "timezone": "Europe/Lisbon",
        "tags": dict(TAGS, key=f"{uid}:key"),
    }
    values.update(changes)
    return EventSpec(**values)


def only(results: list[WriteResult]) -> RemoteEvent:
    """The event of a single successful result."""
    assert len(results) == 1, results
    result = results[0]
    assert result.ok, result.error
    assert result.event is not None
    return result.event


def owned_by_uid(backend: CalendarBackend, owner: str) -> dict[str, RemoteEvent]:
    events = backend.list_owned(owner)
    uids = [e.uid for e in events]
    assert len(uids) == len(set(uids)), f"duplicate uids in list_owned: {uids}"
    return {e.uid: e for e in events}


def assert_same_time(event: RemoteEvent, spec: EventSpec) -> None:
    """Same instants (or dates), same kind of value, aware datetimes."""
    assert event.all_day is spec.all_day
    assert (event.start, event.end) == (spec.start, spec.end)
    for value in (event.start, event.end):
        if spec.all_day:
            assert type(value) is date, value
        else:
            assert isinstance(value, datetime) and value.utcoffset() is not None, value
