"""The calendar contract for recognising contacts: past meetings with customers, and cadence's
own events kept as cadence's when a client drops their X- properties.

Mixins for a connector's ``Test...Contract`` class, beside :class:`BackendContract` (same
fixtures). ``person.add_event`` also takes ``declined_by`` (attendees who declined) and
``cancelled`` (the organizer cancelled it); :class:`RecurringPastMeetingsContract` needs
``weekly=N`` (a weekly series of N), :class:`KeptOwnershipContract` needs
``person.strip_cadence_properties(owner, uid)`` (iCalendar calendars: a client saving the
event without the ``X-CADENCE-*`` properties but with its UID).
"""

from __future__ import annotations

from datetime import timedelta

from connectors.base import Create
from tests.contract.suite import at, owned_by_uid, spec_for

CUSTOMER = "bob@customer.com"
FLOOR = at(1, 0, month=4)  # where a full read starts


class PastMeetingsContract:
    """``past_events`` and ``new_past_events``: what a calendar tells of meetings that happened."""

    def test_a_meeting_entered_late_comes_back_once_with_its_own_time(self, backend, owner, person):
        assert backend.new_past_events(owner, FLOOR, at(20, 12)) == []
        person.add_event(owner, at(4, 9), at(4, 10), attendees=(CUSTOMER,), title="Met Bob")

        [event] = backend.new_past_events(owner, FLOOR, at(20, 12, 15))
        assert (event.start, event.end, event.attendees) == (at(4, 9), at(4, 10), (CUSTOMER,))
        assert backend.new_past_events(owner, FLOOR, at(20, 12, 30)) == []

    def test_a_meeting_is_new_once_its_time_has_come(self, backend, owner, person):
        person.add_event(owner, at(10, 9), at(10, 10), attendees=(CUSTOMER,))

        assert backend.new_past_events(owner, FLOOR, at(10, 8)) == []
        [event] = backend.new_past_events(owner, FLOOR, at(10, 11))
        assert event.start == at(10, 9)
        assert backend.new_past_events(owner, FLOOR, at(10, 12)) == []

    def test_a_customer_who_declined_is_not_among_the_people_met(self, backend, owner, person):
        carol = "carol@customer.com"
        person.add_event(
            owner, at(4, 9), at(4, 10), attendees=(CUSTOMER, carol), declined_by=(CUSTOMER,)
        )
        person.add_event(owner, at(5, 9), at(5, 10), attendees=(CUSTOMER,), declined_by=(CUSTOMER,))

        past = backend.past_events(owner, at(1, 0), at(8, 0))
        assert [(e.start, e.attendees) for e in past] == [(at(4, 9), (carol,)), (at(5, 9), ())]

    def test_a_cancelled_meeting_did_not_happen(self, backend, owner, person):
        person.add_event(owner, at(4, 9), at(4, 10), attendees=(CUSTOMER,), cancelled=True)

        assert backend.past_events(owner, at(1, 0), at(8, 0)) == []
        assert backend.new_past_events(owner, FLOOR, at(8, 0)) == []

    def test_new_past_events_are_kept_apart_per_owner(self, backend, owner, other_owner, person):
        person.add_event(owner, at(4, 9), at(4, 10), attendees=(CUSTOMER,))

        assert backend.new_past_events(other_owner, FLOOR, at(8, 0)) == []
        assert [e.start for e in backend.new_past_events(owner, FLOOR, at(8, 0))] == [at(4, 9)]


class RecurringPastMeetingsContract:
    """Each past occurrence of a recurring meeting is a meeting of its own."""

    def test_each_past_occurrence_is_a_past_meeting_with_its_own_id(self, backend, owner, person):
        person.add_event(owner, at(3, 9), at(3, 10), attendees=(CUSTOMER,), weekly=4)

        past = backend.new_past_events(owner, FLOOR, at(20, 12))  # the 4th is on the 24th
        assert [e.start for e in past] == [at(3, 9), at(10, 9), at(17, 9)]
        assert len({e.remote_id for e in past}) == 3
        assert [e.start for e in backend.new_past_events(owner, FLOOR, at(24, 12))] == [at(24, 9)]


class KeptOwnershipContract:
    """A client rewriting cadence's event without the X- properties keeps it cadence's."""

    UID = "cadence-" + "0123456789abcdef" * 2  # the form cadence's uids have

    def test_an_event_saved_without_cadence_properties_stays_cadences(self, backend, owner, person):
        spec = spec_for(owner, uid=self.UID)
        backend.write(owner, [Create(spec)])
        person.strip_cadence_properties(owner, self.UID)

        [event] = owned_by_uid(backend, owner).values()
        assert (event.uid, event.start, event.end, event.status) == (
            self.UID,
            spec.start,
            spec.end,
            "confirmed",
        )
        window = (spec.start - timedelta(hours=1), spec.end + timedelta(hours=1))
        assert backend.busy(owner, *window) == []  # still cadence's own, not the person's
        assert backend.past_events(owner, *window) == []
        [result] = backend.write(owner, [Create(spec)])  # a retry finds it: no second event
        assert result.ok
        assert list(owned_by_uid(backend, owner)) == [self.UID]


__all__ = ["KeptOwnershipContract", "PastMeetingsContract", "RecurringPastMeetingsContract"]
