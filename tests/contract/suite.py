"""The contract every calendar backend must pass (the terms are in ``connectors/base.py``).

A connector's test module subclasses :class:`BackendContract` as a ``Test...`` class and
provides three fixtures:

* ``backend``: a fresh :class:`CalendarBackend` with empty calendars, serving ``owner`` and
  ``other_owner``;
* ``owner``: an e-mail address the backend serves;
* ``person``: a :class:`Person` acting in the calendar the way the salesperson would, through
  the calendar's own means (edit the .ics file, call the fake server's API...), never through
  the backend under test.

``other_owner`` (a second served owner, for isolation) defaults to ``"other." + owner``;
override the fixture when the backend needs it to be something else.

Times are in 2027 and avoid midnight and DST edges except where a test is about them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.base import (
    BackendError,
    Cancel,
    ConflictError,
    Create,
    NotFoundError,
    Update,
)
from tests.contract.busy import BusyContract
from tests.contract.kit import (
    TAGS,
    Person,
    assert_same_time,
    at,
    only,
    owned_by_uid,
    spec_for,
)


class BackendContract(BusyContract):
    """Behaviour every :class:`CalendarBackend` shares. Subclass it in a ``Test...`` class."""

    @pytest.fixture
    def other_owner(self, owner: str) -> str:
        return "other." + owner

    # -- create / list -----------------------------------------------------------------------

    def test_created_event_is_listed_with_identical_time_tags_and_uid(self, backend, owner):
        spec = spec_for(owner)
        created = only(backend.write(owner, [Create(spec)]))
        listed = owned_by_uid(backend, owner)
        assert list(listed) == [spec.uid]
        event = listed[spec.uid]
        assert_same_time(event, spec)
        assert dict(event.tags) == dict(spec.tags)
        assert event.title == spec.title
        assert event.owner.lower() == owner.lower()
        assert event.status == "confirmed"
        assert created.uid == spec.uid
        assert created.etag is not None and created.etag == event.etag

    def test_tags_with_punctuation_and_accents_round_trip(self, backend, owner):
        tags = {"customer": "Müller, Söhne; & Co", "customer_id": "c-42", "kind": "winback"}
        spec = spec_for(owner, title="Win-back call: Müller, Söhne; & Co", tags=tags)
        backend.write(owner, [Create(spec)])
        event = owned_by_uid(backend, owner)[spec.uid]
        assert dict(event.tags) == tags
        assert event.title == spec.title

    def test_creating_the_same_uid_twice_leaves_exactly_one_event(self, backend, owner):
        spec = spec_for(owner)
        first = only(backend.write(owner, [Create(spec)]))
        again = only(backend.write(owner, [Create(spec)]))  # a retry after a lost response
        assert again.uid == first.uid
        listed = backend.list_owned(owner)
        assert [e.uid for e in listed] == [spec.uid]
        assert_same_time(listed[0], spec)

    def test_create_of_an_existing_uid_updates_it_to_the_spec(self, backend, owner):
        backend.write(owner, [Create(spec_for(owner))])
        moved = spec_for(owner, start=at(5, 14), end=at(5, 15))
        event = only(backend.write(owner, [Create(moved)]))
        assert_same_time(event, moved)
        listed = backend.list_owned(owner)
        assert len(listed) == 1
        assert_same_time(listed[0], moved)

    def test_list_owned_of_an_empty_calendar_is_empty(self, backend, owner):
        assert backend.list_owned(owner) == []

    # -- update ------------------------------------------------------------------------------

    def test_update_moves_the_event_and_changes_etag_and_sequence(self, backend, owner):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        moved = spec_for(owner, start=at(6, 9), end=at(6, 9, 45))
        updated = only(backend.write(owner, [Update(moved, etag=created.etag)]))
        assert_same_time(updated, moved)
        assert updated.etag != created.etag
        assert updated.sequence > created.sequence
        listed = owned_by_uid(backend, owner)[moved.uid]
        assert_same_time(listed, moved)
        assert listed.etag == updated.etag
        assert listed.sequence == updated.sequence

    def test_update_with_a_stale_etag_is_a_conflict_and_changes_nothing(self, backend, owner):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        first_move = spec_for(owner, start=at(6, 9), end=at(6, 10))
        only(backend.write(owner, [Update(first_move, etag=created.etag)]))
        stale = spec_for(owner, start=at(7, 9), end=at(7, 10))
        [result] = backend.write(owner, [Update(stale, etag=created.etag)])
        assert isinstance(result.error, ConflictError)
        assert result.event is None
        assert_same_time(owned_by_uid(backend, owner)[stale.uid], first_move)

    def test_update_of_a_uid_that_does_not_exist_is_not_found(self, backend, owner):
        [result] = backend.write(owner, [Update(spec_for(owner, uid="cadence-missing"))])
        assert isinstance(result.error, NotFoundError)
        assert backend.list_owned(owner) == []

    # -- cancel ------------------------------------------------------------------------------

    def test_cancel_removes_the_event_from_list_owned(self, backend, owner):
        keep = spec_for(owner, uid="cadence-keep", start=at(4, 13), end=at(4, 14))
        gone = spec_for(owner, uid="cadence-gone")
        backend.write(owner, [Create(keep), Create(gone)])
        [result] = backend.write(owner, [Cancel(owner, gone.uid)])
        assert result.ok and result.event is None
        assert list(owned_by_uid(backend, owner)) == [keep.uid]

    def test_cancelling_an_event_that_is_already_gone_succeeds(self, backend, owner):
        spec = spec_for(owner)
        backend.write(owner, [Create(spec)])
        backend.write(owner, [Cancel(owner, spec.uid)])
        again = backend.write(owner, [Cancel(owner, spec.uid), Cancel(owner, "cadence-never")])
        assert [r.ok for r in again] == [True, True]
        assert backend.list_owned(owner) == []

    # -- batches -----------------------------------------------------------------------------

    def test_results_come_in_order_and_one_bad_op_fails_alone(self, backend, owner):
        a = spec_for(owner, uid="cadence-a", start=at(4, 9), end=at(4, 10))
        b = spec_for(owner, uid="cadence-b", start=at(4, 11), end=at(4, 12))
        ops = [Create(a), Update(spec_for(owner, uid="cadence-ghost")), Create(b)]
        results = backend.write(owner, ops)
        assert [r.op for r in results] == ops
        assert [r.ok for r in results] == [True, False, True]
        assert isinstance(results[1].error, NotFoundError)
        assert [r.event.uid for r in (results[0], results[2])] == [a.uid, b.uid]
        assert sorted(owned_by_uid(backend, owner)) == [a.uid, b.uid]

    def test_naive_datetimes_are_rejected_per_operation(self, backend, owner):
        naive = spec_for(owner, uid="cadence-naive", start=datetime(2027, 5, 4, 10))
        fine = spec_for(owner, uid="cadence-fine")
        results = backend.write(owner, [Create(naive), Create(fine)])
        assert isinstance(results[0].error, BackendError)
        assert results[1].ok
        assert list(owned_by_uid(backend, owner)) == [fine.uid]

    def test_an_operation_for_another_owner_is_rejected(self, backend, owner, other_owner):
        [result] = backend.write(owner, [Create(spec_for(other_owner))])
        assert isinstance(result.error, BackendError)
        assert backend.list_owned(owner) == []
        assert backend.list_owned(other_owner) == []

    # -- time --------------------------------------------------------------------------------

    def test_timed_event_across_lisbon_spring_forward_keeps_exact_instants(self, backend, owner):
        # Lisbon goes from 01:00 WET to 02:00 WEST at 01:00 UTC on 28 March 2027.
        start = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
        spec = spec_for(owner, start=start, end=start + timedelta(hours=2))
        backend.write(owner, [Create(spec)])
        event = owned_by_uid(backend, owner)[spec.uid]
        assert_same_time(event, spec)
        assert event.end - event.start == timedelta(hours=2)

    def test_timed_events_in_new_york_fall_back_hour_keep_exact_instants(self, backend, owner):
        # New York repeats 01:00-02:00 on 7 November 2027 (06:00 UTC): 01:30 happens twice.
        first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
        second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST
        ny = "America/New_York"
        across = spec_for(owner, uid="cadence-across", start=first, end=second, timezone=ny)
        inside = spec_for(
            owner, uid="cadence-inside", start=second, end=second + timedelta(minutes=20),
            timezone=ny,
        )  # fmt: skip
        backend.write(owner, [Create(across), Create(inside)])
        listed = owned_by_uid(backend, owner)
        assert_same_time(listed[across.uid], across)
        assert listed[across.uid].end - listed[across.uid].start == timedelta(hours=1)
        assert_same_time(listed[inside.uid], inside)

    def test_all_day_events_have_dates_with_an_exclusive_end(self, backend, owner):
        one = spec_for(
            owner, uid="cadence-one", start=date(2027, 5, 5), end=date(2027, 5, 6), all_day=True
        )
        three = spec_for(
            owner, uid="cadence-three", start=date(2027, 5, 10), end=date(2027, 5, 13),
            all_day=True, transparent=True,
        )  # fmt: skip
        backend.write(owner, [Create(one), Create(three)])
        listed = owned_by_uid(backend, owner)
        assert_same_time(listed[one.uid], one)
        assert_same_time(listed[three.uid], three)

    def test_all_day_spec_with_datetimes_is_rejected(self, backend, owner):
        bad = spec_for(owner, all_day=True)  # datetimes, not dates
        [result] = backend.write(owner, [Create(bad)])
        assert isinstance(result.error, BackendError)
        assert backend.list_owned(owner) == []

    # -- the salesperson wins ---------------------------------------------------------------

    def test_a_move_by_the_person_is_seen_at_the_new_time(self, backend, owner, person):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        person.move(owner, created.uid, at(6, 16), at(6, 16, 30))
        event = owned_by_uid(backend, owner)[created.uid]
        assert (event.start, event.end) == (at(6, 16), at(6, 16, 30))
        assert event.etag != created.etag
        assert event.status == "confirmed"
        assert dict(event.tags) == dict(created.tags)

    def test_an_update_after_a_move_by_the_person_is_a_conflict(self, backend, owner, person):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        person.move(owner, created.uid, at(6, 16), at(6, 16, 30))
        later = spec_for(owner, start=at(7, 9), end=at(7, 10))
        [result] = backend.write(owner, [Update(later, etag=created.etag)])
        assert isinstance(result.error, ConflictError)
        event = owned_by_uid(backend, owner)[created.uid]
        assert (event.start, event.end) == (at(6, 16), at(6, 16, 30))

    def test_a_delete_by_the_person_makes_the_event_vanish(self, backend, owner, person):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        person.delete(owner, created.uid)
        listed = owned_by_uid(backend, owner)
        assert created.uid not in listed or listed[created.uid].status == "cancelled"

    def test_a_decline_by_the_person_gives_status_declined(self, backend, owner, person):
        created = only(backend.write(owner, [Create(spec_for(owner))]))
        person.decline(owner, created.uid)
        event = owned_by_uid(backend, owner)[created.uid]
        assert event.status == "declined"
        assert_same_time(event, spec_for(owner))

    # -- past events -------------------------------------------------------------------------

    def test_past_events_have_the_foreign_events_with_lowercase_attendees(
        self, backend, owner, person
    ):
        person.add_event(
            owner, at(4, 9), at(4, 10), attendees=("Bob@Customer.COM", "eve@other.org"),
            title="Review with Bob",
        )  # fmt: skip
        backend.write(owner, [Create(spec_for(owner, start=at(4, 11), end=at(4, 12)))])
        person.add_event(owner, at(20, 9), at(20, 10), attendees=("late@customer.com",))
        past = backend.past_events(owner, at(1, 0), at(8, 0))
        assert len(past) == 1
        [event] = past
        assert (event.start, event.end) == (at(4, 9), at(4, 10))
        assert set(event.attendees) - {owner.lower()} == {"bob@customer.com", "eve@other.org"}
        assert event.title == "Review with Bob"
        assert event.declined is False
        assert event.remote_id

    # -- owners ------------------------------------------------------------------------------

    def test_owners_are_isolated(self, backend, owner, other_owner, person):
        spec = spec_for(owner)
        backend.write(owner, [Create(spec)])
        person.add_event(owner, at(4, 15), at(4, 16))
        assert backend.list_owned(other_owner) == []
        assert backend.busy(other_owner, at(4, 0), at(5, 0)) == []
        assert backend.past_events(other_owner, at(4, 0), at(5, 0)) == []
        [result] = backend.write(other_owner, [Cancel(other_owner, spec.uid)])
        assert result.ok
        assert list(owned_by_uid(backend, owner)) == [spec.uid]


__all__ = [
    "TAGS",
    "BackendContract",
    "Person",
    "assert_same_time",
    "at",
    "only",
    "owned_by_uid",
    "spec_for",
]
