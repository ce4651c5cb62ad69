"""The contract of busy time: the salesperson's own events in a window, never cadence's.

Part of :class:`tests.contract.suite.BackendContract` (a base class of it), so every backend
passes it; the fixtures are the suite's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from connectors.base import BackendError, Create
from tests.contract.kit import at, spec_for


class BusyContract:
    """Busy time every :class:`CalendarBackend` reads alike."""

    def test_busy_has_the_salespersons_own_events_in_the_window(self, backend, owner, person):
        person.add_event(owner, at(4, 9), at(4, 10), title="Dentist")
        person.add_event(owner, at(4, 15), at(4, 16, 30), title="Team meeting")
        person.add_event(owner, at(9, 9), at(9, 10), title="Next week")
        busy = backend.busy(owner, at(4, 0), at(5, 0))
        assert [(b.start, b.end, b.all_day) for b in busy] == [
            (at(4, 9), at(4, 10), False),
            (at(4, 15), at(4, 16, 30), False),
        ]

    def test_busy_includes_an_event_overlapping_the_window_edge(self, backend, owner, person):
        person.add_event(owner, at(4, 8), at(4, 10))
        busy = backend.busy(owner, at(4, 9), at(4, 12))
        assert len(busy) == 1
        assert busy[0].start <= at(4, 9) and busy[0].end == at(4, 10)

    def test_busy_excludes_cadence_events_and_transparent_events(self, backend, owner, person):
        backend.write(owner, [Create(spec_for(owner, start=at(4, 11), end=at(4, 12)))])
        person.add_event(owner, at(4, 13), at(4, 14), transparent=True, title="Free")
        person.add_event(owner, at(4, 15), at(4, 16), title="Busy")
        busy = backend.busy(owner, at(4, 0), at(5, 0))
        assert [(b.start, b.end) for b in busy] == [(at(4, 15), at(4, 16))]

    def test_all_day_out_of_office_is_busy_all_day(self, backend, owner, person):
        person.add_event(owner, date(2027, 5, 10), date(2027, 5, 11), all_day=True, title="OOO")
        busy = backend.busy(owner, at(9, 0), at(13, 0))
        assert len(busy) == 1
        [ooo] = busy
        assert ooo.all_day is True
        assert ooo.start <= at(10, 12) < ooo.end
        assert ooo.end - ooo.start == timedelta(days=1)
        assert ooo.start.utcoffset() is not None

    def test_transparent_all_day_event_is_not_busy(self, backend, owner, person):
        person.add_event(
            owner, date(2027, 5, 10), date(2027, 5, 11), all_day=True, transparent=True
        )
        assert backend.busy(owner, at(9, 0), at(13, 0)) == []

    def test_busy_many_answers_each_owner_as_busy_does(self, backend, owner, other_owner, person):
        # Google's free/busy and Graph's getSchedule answer for many owners in one request; the
        # other backends ask busy owner by owner (the base class). Either way: each one's own.
        backend.write(owner, [Create(spec_for(owner, start=at(4, 11), end=at(4, 12)))])
        person.add_event(owner, at(4, 15), at(4, 16), title="Busy")
        found = backend.busy_many([owner, other_owner], at(4, 0), at(5, 0))
        assert set(found) <= {owner, other_owner}
        assert [(b.start, b.end) for b in found[owner]] == [(at(4, 15), at(4, 16))]
        assert found.get(other_owner, []) == []

    def test_a_naive_window_is_rejected(self, backend, owner):
        # A caller's bug: BackendError, or ValueError as cadence.values.model.require_aware raises.
        with pytest.raises((BackendError, ValueError), match="naive"):
            backend.busy(owner, datetime(2027, 5, 4), datetime(2027, 5, 5))
