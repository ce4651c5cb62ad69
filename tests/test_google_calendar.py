"""Google Calendar backend against the fake Google: idempotent writes, sync tokens, free/busy,
throttling and per-owner auth failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.base import AuthError, Cancel, Create, EventSpec, TransientError, Update
from connectors.google import GoogleBackend
from connectors.google.events import meet_link, owner_notes
from connectors.google.ids import event_id, is_valid_event_id
from tests import customer_view
from tests.customer_view import assert_customer_safe, invited_spec
from tests.google_fake import FakeGoogle, Person
from tests.google_fake.calendar_api import attendee_copy
from tests.google_fake.harness import Sleeps, context_for, service_account_config

ANA = "ana@example.com"
BOB = "bob@example.com"


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def spec(uid: str = "acme:check_in:1", start: datetime | None = None, **changes) -> EventSpec:
    start = start or at(4, 10)
    values = {
        "uid": uid,
        "owner": ANA,
        "title": "Check-in: ACME",
        "description": "Ask about the renewal.",
        "start": start,
        "end": start + timedelta(minutes=30),
        "timezone": "Europe/Lisbon",
        "reminder_minutes": (15, 60),
        "tags": {"customer": "acme", "kind": "check_in"},
    }
    values.update(changes)
    return EventSpec(**values)


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    for user in (ANA, BOB):
        server.add_user(user)
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_backend(fake, tmp_path, sleeps, **extra) -> GoogleBackend:
    config = service_account_config(fake, tmp_path, **extra)
    assert GoogleBackend.validate_config(config) == []
    return GoogleBackend(config, context_for(tmp_path, [ANA, BOB], sleeps=sleeps))


@pytest.fixture
def backend(fake, tmp_path, sleeps) -> Iterator[GoogleBackend]:
    backend = make_backend(fake, tmp_path, sleeps, max_retries=3)
    yield backend
    backend.close()


def stored(fake: FakeGoogle, owner: str = ANA) -> list[dict]:
    return list(fake.calendar.calendars[owner].events.values())


# -- event ids ------------------------------------------------------------------------------


def test_event_ids_are_deterministic_base32hex_and_distinct_per_uid():
    first = event_id("acme:check_in:1")
    assert first == event_id("acme:check_in:1")
    assert first != event_id("acme:check_in:2")
    assert is_valid_event_id(first)
    assert set(first) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(first) <= 1024


# -- writing --------------------------------------------------------------------------------


def test_created_event_carries_id_tags_reminders_and_zone(backend, fake):
    [result] = backend.write(ANA, [Create(spec(attendees=("buyer@acme.com",)))])
    assert result.ok
    [event] = stored(fake)
    assert event["id"] == event_id("acme:check_in:1")
    assert event["extendedProperties"]["private"] == {
        "cadence": "1",
        "cadence_uid": "acme:check_in:1",
        "tag:customer": "acme",
        "tag:kind": "check_in",
        "notes:0": "Ask about the renewal.",  # invited: the description is the customer's
    }
    assert event["description"] == ""
    assert event["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 15}, {"method": "popup", "minutes": 60}],
    }
    assert event["start"] == {"dateTime": "2027-05-04T11:00:00+01:00", "timeZone": "Europe/Lisbon"}
    assert event["attendees"] == [{"email": "buyer@acme.com"}]
    [(_, params)] = [entry for entry in fake.log if entry[0] == "calendar.events.insert"]
    assert params["sendUpdates"] == "none"


def test_send_updates_setting_is_passed_on_every_write(fake, tmp_path, sleeps):
    backend = make_backend(fake, tmp_path, sleeps, send_updates="externalOnly")
    backend.write(ANA, [Create(spec())])
    backend.write(ANA, [Update(spec(start=at(5, 9)))])
    backend.write(ANA, [Cancel(ANA, "acme:check_in:1")])
    sent = [p.get("sendUpdates") for kind, p in fake.log if kind.startswith("calendar.events.")]
    assert sent == ["externalOnly", "externalOnly", "externalOnly"]


def test_lost_create_response_then_retry_leaves_exactly_one_event(backend, fake):
    fake.drop("calendar.events.insert")  # applied, but the connection closes unanswered
    [result] = backend.write(ANA, [Create(spec())])
    assert result.ok and result.event is not None
    assert result.event.uid == "acme:check_in:1"
    assert len(stored(fake)) == 1
    # The retry met the event the lost call had made: 409, read back, equal, nothing rewritten.
    assert fake.calls["calendar.events.insert"] == 2
    assert fake.calls["calendar.events.get"] == 1
    assert fake.calls["calendar.events.update"] == 0
    # The next cycle books the same uid again: still one event.
    [again] = backend.write(ANA, [Create(spec())])
    assert again.ok
    assert len(stored(fake)) == 1
    assert [e.uid for e in backend.list_owned(ANA)] == ["acme:check_in:1"]


def test_responses_lost_twice_are_retried_after_a_backoff_without_duplicates(backend, fake, sleeps):
    # httplib2 resends once by itself on a dropped connection; the second loss reaches cadence.
    fake.drop("calendar.events.insert", times=2)
    [result] = backend.write(ANA, [Create(spec())])
    assert result.ok
    assert len(sleeps) == 1
    assert fake.calls["calendar.events.insert"] == 3
    assert len(stored(fake)) == 1


def test_update_answered_412_after_its_lost_answer_is_confirmed_by_reading_back(backend, fake):
    [created] = backend.write(ANA, [Create(spec())])
    assert created.event is not None
    moved = spec(start=at(5, 9))
    # The batch is applied, its connection closes unanswered, httplib2 sends it again: the
    # If-Match etag is stale now, and Google answers 412 to cadence's own update.
    fake.drop("batch")
    [result] = backend.write(ANA, [Update(moved, created.event.etag, created.event.remote_id)])
    assert result.ok, result.error
    assert result.event is not None and result.event.start == at(5, 9)
    assert fake.calls["calendar.events.update"] == 2
    assert fake.calls["calendar.events.get"] == 1


def test_update_answered_412_because_a_person_changed_the_event_stays_a_conflict(backend, fake):
    [created] = backend.write(ANA, [Create(spec())])
    assert created.event is not None
    Person(fake).move(ANA, "acme:check_in:1", at(6, 14), at(6, 14, 30))
    update = Update(spec(start=at(5, 9)), created.event.etag, created.event.remote_id)
    [result] = backend.write(ANA, [update])
    assert not result.ok
    assert "412" in str(result.error)
    [event] = stored(fake)
    assert event["start"]["dateTime"].startswith("2027-05-06T14:00")  # the person's, kept


def test_create_after_cadence_cancelled_the_uid_restores_the_deleted_event(backend, fake):
    backend.write(ANA, [Create(spec())])
    backend.write(ANA, [Cancel(ANA, "acme:check_in:1")])
    assert backend.list_owned(ANA) == []
    [result] = backend.write(ANA, [Create(spec(start=at(6, 9)))])
    assert result.ok and result.event is not None
    assert result.event.status == "confirmed"
    assert result.event.start == at(6, 9)
    [event] = stored(fake)
    assert event["status"] == "confirmed"
    assert [(e.uid, e.status) for e in backend.list_owned(ANA)] == [
        ("acme:check_in:1", "confirmed")
    ]


def test_create_after_the_owner_deleted_the_event_brings_it_back(backend, fake):
    backend.write(ANA, [Create(spec())])
    backend.list_owned(ANA)
    Person(fake).delete(ANA, "acme:check_in:1")
    # Seen through the sync token: the deletion is reported, not silently forgotten.
    assert [e.status for e in backend.list_owned(ANA)] == ["cancelled"]
    [result] = backend.write(ANA, [Create(spec())])
    assert result.ok
    assert [e.status for e in backend.list_owned(ANA)] == ["confirmed"]
    assert len(stored(fake)) == 1


def test_writes_are_grouped_into_batches_of_batch_size(fake, tmp_path, sleeps):
    backend = make_backend(fake, tmp_path, sleeps, batch_size=10)
    specs = [spec(f"c{n}:check_in:1", start=at(4, 8) + timedelta(hours=n)) for n in range(25)]
    results = backend.write(ANA, [Create(s) for s in specs])
    assert all(r.ok for r in results)
    assert [r.event.uid for r in results] == [s.uid for s in specs]
    assert fake.requests == {"token": 1, "batch/calendar/v3": 3}
    assert fake.calls["calendar.events.insert"] == 25


def test_create_25_events_is_one_token_and_one_batch_request(backend, fake):
    specs = [spec(f"c{n}:check_in:1", start=at(4, 8) + timedelta(hours=n)) for n in range(25)]
    backend.write(ANA, [Create(s) for s in specs])
    assert fake.http_requests == 2
    assert len(stored(fake)) == 25


# -- reading --------------------------------------------------------------------------------


def test_unchanged_calendar_is_read_with_one_incremental_request(backend, fake):
    backend.write(ANA, [Create(spec())])
    first = backend.list_owned(ANA)
    fake.reset_counts()
    assert backend.list_owned(ANA) == first
    assert fake.requests == {"calendar.events.list": 1}
    [(_, params)] = fake.log
    assert params["syncToken"].startswith("sync-")


def test_expired_sync_token_answers_410_and_everything_is_read_again(backend, fake):
    backend.write(ANA, [Create(spec()), Create(spec("b:check_in:1", start=at(5, 10)))])
    before = backend.list_owned(ANA)
    Person(fake).move(ANA, "b:check_in:1", at(7, 15), at(7, 15, 30))
    calendar = fake.calendar.calendars[ANA]
    calendar.oldest_valid_token = calendar.counter + 1  # every token handed out is now stale
    fake.reset_counts()
    after = {e.uid: e for e in backend.list_owned(ANA)}
    assert sorted(after) == sorted(e.uid for e in before)
    assert (after["b:check_in:1"].start, after["b:check_in:1"].end) == (at(7, 15), at(7, 15, 30))
    assert fake.calls["calendar.events.list"] == 2  # the 410, then the full read
    assert "syncToken" not in fake.log[-1][1]


def test_lost_state_means_a_full_read(backend, fake):
    backend.write(ANA, [Create(spec())])
    backend.list_owned(ANA)
    backend.context.state.values.clear()  # type: ignore[attr-defined]
    assert [e.uid for e in backend.list_owned(ANA)] == ["acme:check_in:1"]
    assert "syncToken" not in fake.log[-1][1]


def test_past_events_skip_cadence_cancelled_and_all_day_events(backend, fake):
    person = Person(fake)
    person.add_event(ANA, at(3, 9), at(3, 10), attendees=("Buyer@ACME.com", ANA), title="Demo")
    person.add_event(ANA, date(2027, 5, 3), date(2027, 5, 4), all_day=True, title="Holiday")
    gone = person.add_event(ANA, at(3, 14), at(3, 15), attendees=("x@acme.com",))
    fake.calendar.delete(ANA, {"calendarId": "primary", "eventId": gone}, None)
    backend.write(ANA, [Create(spec(start=at(3, 11)))])
    [event] = backend.past_events(ANA, at(1, 0), at(8, 0))
    assert (event.title, event.attendees, event.start) == ("Demo", ("buyer@acme.com",), at(3, 9))


FLOOR = at(1, 0, month=1)  # the lookback floor of the past-event reads below


def test_past_meetings_are_read_through_a_sync_token_and_reported_once(backend, fake):
    person = Person(fake)
    person.add_event(ANA, at(3, 9), at(3, 10), attendees=("buyer@acme.com",), title="Demo")
    person.add_event(ANA, at(20, 9), at(20, 10), attendees=("buyer@acme.com",), title="Ahead")
    person.add_event(ANA, at(3, 12), at(3, 13), title="Lunch alone")
    [first] = backend.new_past_events(ANA, FLOOR, at(10, 12))
    assert (first.title, first.start) == ("Demo", at(3, 9))
    [(_, params)] = fake.log[-1:]
    assert (params["timeMin"], params["singleEvents"]) == ("2027-01-01T00:00:00Z", True)

    fake.reset_counts()
    assert backend.new_past_events(ANA, FLOOR, at(10, 13)) == []
    assert fake.requests == {"calendar.events.list": 1}  # an unchanged calendar: one request
    [(_, params)] = fake.log
    assert params["syncToken"].startswith("sync-") and "timeMin" not in params

    # Entered today for February (months old, inside the floor): it comes in that small answer.
    person.add_event(ANA, at(2, 9, month=2), at(2, 10, month=2), attendees=("ceo@acme.com",))
    [late] = backend.new_past_events(ANA, FLOOR, at(10, 14))
    assert (late.start, late.attendees) == (at(2, 9, month=2), ("ceo@acme.com",))
    # The meeting booked ahead never changes, yet is reported once its time has come.
    [ahead] = backend.new_past_events(ANA, FLOOR, at(20, 11))
    assert (ahead.title, ahead.start) == ("Ahead", at(20, 9))
    assert backend.new_past_events(ANA, FLOOR, at(21, 0)) == []


def test_a_moved_past_meeting_is_reported_again_with_its_new_time(backend, fake):
    person = Person(fake)
    gid = person.add_event(ANA, at(3, 9), at(3, 10), attendees=("buyer@acme.com",))
    assert [e.start for e in backend.new_past_events(ANA, FLOOR, at(10, 12))] == [at(3, 9)]
    with fake.lock:
        event = fake.calendar.calendars[ANA].events[gid]
        body = {k: event[k] for k in ("summary", "attendees", "transparency")}
        body["start"], body["end"] = (
            {"dateTime": "2027-05-04T09:00:00Z"},
            {"dateTime": "2027-05-04T10:00:00Z"},
        )
        fake.calendar.update(ANA, {"calendarId": "primary", "eventId": gid}, body)
    [moved] = backend.new_past_events(ANA, FLOOR, at(10, 13))
    assert (moved.remote_id, moved.start) == (gid, at(4, 9))


def test_an_expired_past_event_token_reads_again_from_the_floor_without_repeats(backend, fake):
    person = Person(fake)
    person.add_event(ANA, at(3, 9), at(3, 10), attendees=("buyer@acme.com",))
    assert len(backend.new_past_events(ANA, FLOOR, at(10, 12))) == 1
    calendar = fake.calendar.calendars[ANA]
    calendar.oldest_valid_token = calendar.counter + 1
    person.add_event(ANA, at(4, 9), at(4, 10), attendees=("ceo@acme.com",))
    fake.reset_counts()
    [new] = backend.new_past_events(ANA, FLOOR, at(10, 13))  # the old one is not repeated
    assert new.start == at(4, 9)
    assert fake.calls["calendar.events.list"] == 2  # the 410, then the read from the floor
    assert fake.log[-1][1]["timeMin"] == "2027-01-01T00:00:00Z"


# -- busy -----------------------------------------------------------------------------------


def test_busy_block_merged_with_a_cadence_event_is_read_exactly(backend, fake):
    person = Person(fake)
    backend.write(ANA, [Create(spec(start=at(4, 10), end=at(4, 11)))])
    person.add_event(ANA, at(4, 10, 30), at(4, 12))  # free/busy merges it with ours: 10:00-12:00
    person.add_event(ANA, at(4, 15), at(4, 16))
    backend.list_owned(ANA)
    fake.reset_counts()
    busy = backend.busy(ANA, at(4, 0), at(5, 0))
    assert [(b.start, b.end) for b in busy] == [(at(4, 10, 30), at(4, 12)), (at(4, 15), at(4, 16))]
    windows = [p for kind, p in fake.log if kind == "calendar.events.list" and "timeMin" in p]
    assert [(w["timeMin"], w["timeMax"]) for w in windows] == [
        ("2027-05-04T10:00:00Z", "2027-05-04T12:00:00Z")
    ]


def test_busy_block_merged_with_a_cadence_event_is_told_apart_by_the_meetings_stream(backend, fake):
    person = Person(fake)
    backend.write(ANA, [Create(spec(start=at(4, 10), end=at(4, 11)))])
    person.add_event(ANA, at(4, 10, 30), at(4, 12))  # free/busy merges it with ours: 10:00-12:00
    person.add_event(ANA, at(4, 15), at(4, 16))
    backend.list_owned(ANA)
    backend.new_past_events(ANA, at(1, 0), at(3, 0))  # the stream the cycle reads just before
    fake.reset_counts()
    busy = backend.busy(ANA, at(4, 0), at(5, 0))
    assert [(b.start, b.end) for b in busy] == [(at(4, 10, 30), at(4, 12)), (at(4, 15), at(4, 16))]
    assert fake.requests == {"calendar.freebusy.query": 1}  # the block is not read again


def test_busy_of_many_salespeople_takes_one_query_and_falls_back_for_a_private_calendar(
    backend, fake
):
    person = Person(fake)
    fake.add_user("cy@example.com")
    person.add_event(ANA, at(4, 9), at(4, 10))
    person.add_event(BOB, at(4, 11), at(4, 12))
    person.add_event("cy@example.com", at(4, 13), at(4, 14))
    fake.calendar.private_free_busy.add("cy@example.com")  # Ana cannot see Cy's free/busy
    found = backend.busy_many([ANA, BOB, "cy@example.com"], at(4, 0), at(5, 0))
    assert {o: [(b.start, b.end) for b in found[o]] for o in found} == {
        ANA: [(at(4, 9), at(4, 10))],
        BOB: [(at(4, 11), at(4, 12))],
    }
    assert fake.calls["calendar.freebusy.query"] == 1  # asked as Ana, for all three
    # Cy is left out for the cycle to ask on her own.
    assert [(b.start, b.end) for b in backend.busy("cy@example.com", at(4, 0), at(5, 0))] == [
        (at(4, 13), at(4, 14))
    ]


def test_busy_without_cadence_events_in_it_uses_free_busy_only(backend, fake):
    Person(fake).add_event(ANA, at(4, 9), at(4, 10))
    backend.list_owned(ANA)
    fake.reset_counts()
    assert [(b.start, b.end) for b in backend.busy(ANA, at(4, 0), at(5, 0))] == [
        (at(4, 9), at(4, 10))
    ]
    assert fake.requests == {"calendar.freebusy.query": 1}


def test_busy_knows_events_just_written_without_reading_them_again(backend, fake):
    backend.list_owned(ANA)
    backend.write(ANA, [Create(spec(start=at(4, 10), end=at(4, 11)))])
    fake.reset_counts()
    assert backend.busy(ANA, at(4, 0), at(5, 0)) == []
    assert fake.requests == {"calendar.freebusy.query": 1, "calendar.events.list": 1}
    [(_, window)] = fake.log[1:]
    assert (window["timeMin"], window["timeMax"]) == (
        "2027-05-04T10:00:00Z",
        "2027-05-04T11:00:00Z",
    )


def test_busy_with_nothing_cached_reads_cadences_events_first(backend, fake):
    Person(fake).add_event(ANA, at(4, 9), at(4, 10))
    assert [(b.start, b.end) for b in backend.busy(ANA, at(4, 0), at(5, 0))] == [
        (at(4, 9), at(4, 10))
    ]
    assert [kind for kind, _ in fake.log] == ["calendar.freebusy.query", "calendar.events.list"]


def test_booking_into_a_secondary_calendar_still_sees_the_primary_calendar(fake, tmp_path, sleeps):
    team = "cadence-ana@group.calendar.google.com"
    fake.add_calendar(ANA, team)
    backend = make_backend(fake, tmp_path, sleeps, calendar_id=team)
    [result] = backend.write(ANA, [Create(spec(start=at(4, 10), end=at(4, 11)))])
    assert result.ok
    assert [e["id"] for e in stored(fake, team)] == [event_id("acme:check_in:1")]
    assert stored(fake) == []
    person = Person(fake)
    person.add_event(ANA, at(4, 10, 30), at(4, 12), attendees=("buyer@acme.com",), title="Demo")
    busy = backend.busy(ANA, at(4, 0), at(5, 0))
    assert [(b.start, b.end) for b in busy] == [(at(4, 10, 30), at(4, 12))]
    assert fake.calls["calendar.freebusy.query"] == 1  # both calendars in one query
    assert [event.title for event in backend.past_events(ANA, at(4, 0), at(5, 0))] == ["Demo"]
    assert [e.uid for e in backend.list_owned(ANA)] == ["acme:check_in:1"]


def test_long_busy_windows_are_split_into_90_day_queries_and_merged(backend, fake):
    person = Person(fake)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    # An event across the first 90-day boundary (1 April 2027 00:00 UTC).
    person.add_event(
        ANA, datetime(2027, 3, 31, 22, tzinfo=UTC), datetime(2027, 4, 1, 2, tzinfo=UTC)
    )
    busy = backend.busy(ANA, start, start + timedelta(days=200))
    assert [(b.start, b.end) for b in busy] == [
        (datetime(2027, 3, 31, 22, tzinfo=UTC), datetime(2027, 4, 1, 2, tzinfo=UTC))
    ]
    assert fake.calls["calendar.freebusy.query"] == 3


def test_out_of_office_and_declined_events(fake, tmp_path, sleeps):
    fake.add_user("cy@example.com", zone="Europe/Lisbon")
    config = service_account_config(fake, tmp_path)
    context = context_for(tmp_path, ["cy@example.com"], zone="Europe/Lisbon", sleeps=sleeps)
    backend = GoogleBackend(config, context)
    person = Person(fake)
    lisbon_midnight = datetime(2027, 5, 9, 23, tzinfo=UTC)  # 10 May 00:00 WEST
    person.add_event(
        "cy@example.com", lisbon_midnight, lisbon_midnight + timedelta(days=2), out_of_office=True
    )
    declined = person.add_event("cy@example.com", at(12, 9), at(12, 10))
    event = fake.calendar.calendars["cy@example.com"].events[declined]
    event["attendees"] = [{"email": "cy@example.com", "responseStatus": "declined"}]
    [ooo] = backend.busy("cy@example.com", at(9, 0), at(13, 0))
    assert (ooo.start, ooo.end, ooo.all_day) == (
        lisbon_midnight,
        lisbon_midnight + timedelta(days=2),
        True,
    )


# -- throttling and faults ------------------------------------------------------------------


def test_throttled_free_busy_is_retried_honouring_retry_after(backend, fake, sleeps):
    fake.fail(
        "calendar.freebusy.query", times=2, status=429, reason="rateLimitExceeded", retry_after="7"
    )
    Person(fake).add_event(ANA, at(4, 9), at(4, 10))
    assert len(backend.busy(ANA, at(4, 0), at(5, 0))) == 1
    assert sleeps == [7.0, 7.0]
    assert fake.calls["calendar.freebusy.query"] == 3


def test_403_rate_limit_and_500_back_off_exponentially_with_jitter(backend, fake, sleeps):
    fake.fail("calendar.events.list", times=1, status=403, reason="userRateLimitExceeded")
    fake.fail("calendar.events.list", times=1, status=500)
    fake.fail("calendar.events.list", times=1, status=503)
    assert backend.list_owned(ANA) == []
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4


def test_forbidden_403_is_not_retried(backend, fake, sleeps):
    fake.fail("calendar.events.list", times=1, status=403, reason="forbidden")
    with pytest.raises(AuthError):
        backend.list_owned(ANA)
    assert sleeps == []


def test_retries_are_bounded_and_end_in_transient_error_with_retry_after(backend, fake, sleeps):
    fake.fail(
        "calendar.freebusy.query",
        times=10,
        status=429,
        reason="rateLimitExceeded",
        retry_after="30",
    )
    with pytest.raises(TransientError) as caught:
        backend.busy(ANA, at(4, 0), at(5, 0))
    assert caught.value.retry_after == 30.0
    assert sleeps == [30.0, 30.0, 30.0]  # max_retries=3: four attempts
    assert fake.calls["calendar.freebusy.query"] == 4


def test_a_throttled_batch_part_is_resent_alone(backend, fake, sleeps):
    fake.fail(
        "calendar.events.insert", times=1, status=429, reason="rateLimitExceeded", retry_after="3"
    )
    results = backend.write(ANA, [Create(spec()), Create(spec("b:check_in:1", start=at(5, 9)))])
    assert [r.ok for r in results] == [True, True]
    assert sleeps == [3.0]
    assert fake.calls["calendar.events.insert"] == 3
    assert fake.requests["batch/calendar/v3"] == 2
    assert len(stored(fake)) == 2


def test_a_part_throttled_past_the_retries_fails_alone(backend, fake, sleeps):
    fake.fail("calendar.events.delete", times=10, status=503)
    results = backend.write(ANA, [Create(spec()), Cancel(ANA, "never:check_in:1")])
    assert results[0].ok
    assert isinstance(results[1].error, TransientError)


def test_a_failing_batch_endpoint_is_retried_as_a_whole(backend, fake, sleeps):
    fake.fail("batch", times=1, status=502)
    [result] = backend.write(ANA, [Create(spec())])
    assert result.ok
    assert len(sleeps) == 1
    assert fake.requests["batch/calendar/v3"] == 2


# -- auth -----------------------------------------------------------------------------------


def test_revoked_delegation_stops_only_that_owner_and_recovers_when_fixed(backend, fake):
    backend.write(BOB, [Create(spec(owner=BOB))])
    fake.revoke(BOB)
    with pytest.raises(AuthError, match="invalid_grant"):
        backend.list_owned(BOB)
    with pytest.raises(AuthError):
        backend.busy(BOB, at(4, 0), at(5, 0))
    backend.write(ANA, [Create(spec())])
    assert [e.uid for e in backend.list_owned(ANA)] == ["acme:check_in:1"]
    fake.revoked.discard(BOB)
    assert [e.uid for e in backend.list_owned(BOB)] == ["acme:check_in:1"]


def test_unauthorised_even_after_refresh_is_an_auth_error(backend, fake):
    fake.fail("calendar.events.list", times=5, status=401, reason="authError")
    with pytest.raises(AuthError, match="401"):
        backend.list_owned(ANA)


def test_missing_key_file_is_an_auth_error_for_the_call(fake, tmp_path, sleeps):
    config = dict(service_account_config(fake, tmp_path), service_account_file="nope.json")
    backend = GoogleBackend(config, context_for(tmp_path, [ANA], sleeps=sleeps))
    with pytest.raises(AuthError, match=r"nope\.json"):
        backend.list_owned(ANA)


# -- what an invited customer sees ------------------------------------------------------------


def test_an_invited_customer_gets_the_customer_text_and_the_notes_stay_private(backend, fake):
    invited = invited_spec(ANA, agenda=customer_view.PLAYBOOK + "\n" + "Prepare. " * 200)
    [result] = backend.write(ANA, [Create(invited)])
    assert result.ok
    [event] = stored(fake)
    assert event["description"] == invited.customer_description
    [guest] = event["attendees"]
    assert (guest["email"], guest["displayName"]) == ("bob@acme.com", customer_view.GUEST_NAME)
    seen = attendee_copy(event)  # what Google puts in the customer's calendar and e-mails
    assert_customer_safe(json.dumps(seen))
    # The owner's copy keeps every word of the notes, in values Google accepts.
    private = event["extendedProperties"]["private"]
    assert owner_notes(event) == invited.description
    assert len(invited.description) > 1024 and all(len(v) <= 1024 for v in private.values())
    chunks = -(-len(invited.description) // 1000)
    assert [k for k in private if k.startswith("notes:")] == [f"notes:{n}" for n in range(chunks)]
    assert backend.list_owned(ANA)[0].tags == invited.tags  # the notes are not tags
    [again] = backend.write(ANA, [Create(invited)])  # nothing to rewrite
    assert again.ok and [e[0] for e in fake.log].count("calendar.events.update") == 0


def test_an_event_without_attendees_shows_the_owner_their_notes(backend, fake):
    backend.write(ANA, [Create(spec())])
    [event] = stored(fake)
    assert event["description"] == "Ask about the renewal."
    assert owner_notes(event) == ""


# -- video links ------------------------------------------------------------------------------


def test_meet_is_asked_for_with_conference_data_version_1_and_made_once(backend, fake):
    meeting = spec(video="meet", attendees=("buyer@acme.com",))
    [result] = backend.write(ANA, [Create(meeting)])
    assert result.ok
    [event] = stored(fake)
    [(_, params)] = [entry for entry in fake.log if entry[0] == "calendar.events.insert"]
    assert params["conferenceDataVersion"] == 1
    request = event["conferenceData"]["createRequest"]
    assert request["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert request["requestId"] == "cadence-" + event_id(meeting.uid)
    link = meet_link(event)
    assert link.startswith("https://meet.google.com/") and event["hangoutLink"] == link
    # A move rewrites the event: the same request id keeps the same conference.
    backend.write(ANA, [Update(spec(video="meet", attendees=("buyer@acme.com",),
                                    start=at(5, 10)))])  # fmt: skip
    [moved] = stored(fake)
    assert meet_link(moved) == link
    [(_, update)] = [entry for entry in fake.log if entry[0] == "calendar.events.update"]
    assert update["conferenceDataVersion"] == 1  # without it Google would ignore the request
    [again] = backend.write(ANA, [Create(spec(video="meet", attendees=("buyer@acme.com",),
                                              start=at(5, 10)))])  # fmt: skip
    assert again.ok and fake.calls["calendar.events.update"] == 1  # nothing to rewrite


@pytest.mark.parametrize("pending", [False, True], ids=["made", "pending first"])
def test_the_meet_link_is_shown_in_location_and_both_texts_with_one_patch(backend, fake, pending):
    backend.list_owned(ANA)  # the first sync, as every cycle starts
    fake.calendar.meet_pending = 1 if pending else 0
    invited = replace(invited_spec(ANA), video="meet")
    fake.calls.clear()
    [created] = backend.write(ANA, [Create(invited)])
    assert created.ok and created.event is not None
    [event] = stored(fake)
    link = meet_link(event)
    assert link.startswith("https://meet.google.com/")
    assert event["location"] == link
    seen = attendee_copy(event)  # what the customer's calendar and mail get
    assert seen["description"] == f"Video: {link}\n\n{invited.customer_description}"
    assert_customer_safe(json.dumps(seen))
    assert owner_notes(event) == f"Video: {link}\n\n{invited.description}"
    assert created.event.etag == event["etag"]  # the etag of the last write
    calls = {"calendar.events.insert": 1, "calendar.events.patch": 1}
    if pending:
        calls["calendar.events.get"] = 1  # a pending conference is read once for its link
    assert dict(fake.calls) == calls
    # A move keeps the link shown in the update itself: no second write.
    moved = replace(invited, start=at(5, 10), end=at(5, 10, 30))
    assert backend.write(ANA, [Update(moved, etag=created.event.etag)])[0].ok
    [event] = stored(fake)
    assert (event["location"], meet_link(event)) == (link, link)
    assert attendee_copy(event)["description"] == seen["description"]
    assert fake.calls["calendar.events.patch"] == 1 and fake.calls["calendar.events.update"] == 1
    [again] = backend.write(ANA, [Create(moved)])  # repeated: found as it should be
    assert again.ok and fake.calls["calendar.events.update"] == 1
    assert fake.calls["calendar.events.patch"] == 1


def test_events_without_meet_get_no_patch(backend, fake):
    backend.list_owned(ANA)
    backend.write(ANA, [Create(invited_spec(ANA)), Create(spec(uid="other:check_in:1"))])
    assert fake.calls["calendar.events.patch"] == 0 and fake.calls["calendar.events.get"] == 0


def test_an_event_without_video_sends_no_conference_parameter(backend, fake):
    backend.write(ANA, [Create(spec())])
    [(_, params)] = [entry for entry in fake.log if entry[0] == "calendar.events.insert"]
    assert "conferenceDataVersion" not in params
    [event] = stored(fake)
    assert "conferenceData" not in event and "location" not in event


def test_a_video_url_is_the_events_location(backend, fake):
    link = "https://video.example.com/ana/acme"
    backend.write(ANA, [Create(spec(location=link, description=f"Video: {link}"))])
    [event] = stored(fake)
    assert (event["location"], event["description"]) == (link, f"Video: {link}")
