"""The outlook calendar backend against the fake Graph: idempotence, throttling, delta, faults."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cadence.values.model import Salesperson
from connectors.base import (
    AuthError,
    BackendContext,
    Cancel,
    Create,
    TransientError,
    Update,
)
from connectors.outlook import OutlookBackend
from connectors.outlook.wire import NOTES_PROP, transaction_id
from tests.contract.suite import at, spec_for
from tests.customer_view import GUEST_NAME, assert_customer_safe, invited_spec
from tests.graph_fake import SECRET, SECRET_ENV
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER


def creates(owner: str, count: int, day: int = 4) -> list[Create]:
    """``count`` half-hour bookings on consecutive slots (distinct uids)."""
    base = at(day, 8)
    return [
        Create(
            spec_for(
                owner,
                uid=f"cadence-c{i}",
                start=base + timedelta(minutes=30 * i),
                end=base + timedelta(minutes=30 * i + 30),
            )
        )
        for i in range(count)
    ]


# -- idempotence ------------------------------------------------------------------------------


def test_transaction_id_is_a_guid_derived_from_the_uid():
    first = transaction_id("cadence-acme-check_in-1")
    assert first == transaction_id("cadence-acme-check_in-1")
    assert first != transaction_id("cadence-acme-check_in-2")
    assert str(uuid.UUID(first)) == first


def test_create_applied_with_its_answer_lost_is_retried_into_one_event(backend, graph, owner):
    backend.list_owned(owner)  # the full read (a $batch itself) comes first
    graph.requests.clear()
    graph.drop_after_apply(1)  # the $batch is applied, its answer never arrives
    [result] = backend.write(owner, [Create(spec_for(owner))])
    assert result.ok
    assert len(graph.find(owner, "cadence-acme-check_in-1")) == 1
    assert graph.requests["POST $batch"] == 2  # the retry Graph deduplicated by transactionId
    assert [e.uid for e in backend.list_owned(owner)] == ["cadence-acme-check_in-1"]


def test_create_whose_answers_are_all_lost_is_looked_up_next_cycle(backend, graph, owner, sleeps):
    backend.list_owned(owner)  # the full read (a $batch itself) comes first
    graph.batch_parts.clear()
    graph.drop_after_apply(4)  # the first attempt and all three retries
    with pytest.raises(TransientError):
        backend.write(owner, [Create(spec_for(owner))])
    assert len(graph.find(owner, "cadence-acme-check_in-1")) == 1
    assert len(sleeps) == 3

    [result] = backend.write(owner, [Create(spec_for(owner))])  # the next cycle
    assert result.ok and result.event is not None
    assert graph.batch_parts["GET events"] == 1  # looked the pending uid up first ...
    assert graph.batch_parts["POST events"] == 4  # ... so no fifth create was sent
    assert len(graph.find(owner, "cadence-acme-check_in-1")) == 1
    assert [e.uid for e in backend.list_owned(owner)] == ["cadence-acme-check_in-1"]


def test_lost_state_does_not_duplicate_an_existing_booking(config, graph, tmp_path, owner):
    first = OutlookBackend(config, BackendContext(base_dir=tmp_path, env=_env(), sleep=_no_wait))
    first.write(owner, [Create(spec_for(owner))])
    fresh = OutlookBackend(config, BackendContext(base_dir=tmp_path, env=_env(), sleep=_no_wait))
    [result] = fresh.write(owner, [Create(spec_for(owner, start=at(5, 9), end=at(5, 10)))])
    assert result.ok
    [event] = graph.find(owner, "cadence-acme-check_in-1")
    assert event["start"]["dateTime"].startswith("2027-05-05T09:00")


# -- throttling -------------------------------------------------------------------------------


def test_throttled_batch_parts_wait_their_retry_after_and_are_resent(backend, graph, owner, sleeps):
    backend.list_owned(owner)
    graph.throttle_parts(2, retry_after="7")
    results = backend.write(owner, creates(owner, 5))
    assert [r.ok for r in results] == [True] * 5
    assert sleeps == [7.0]
    # 5 parts, the 2 throttled sent again, and the 5th, chained after the 1st (at most 4 at
    # once per mailbox), which Graph therefore did not run (424) the first time.
    assert graph.batch_parts["POST events"] == 8
    assert len(graph.live_events(owner)) == 5


def test_a_part_throttled_beyond_the_retries_fails_alone_as_transient(backend, graph, owner):
    backend.list_owned(owner)
    graph.throttle_parts(4, retry_after="2", match="cadence-c0")  # its three retries too
    results = backend.write(owner, creates(owner, 2))
    assert results[0].ok is False
    assert isinstance(results[0].error, TransientError)
    assert results[0].error.retry_after == 2.0
    assert results[1].ok


def test_a_throttled_request_honours_retry_after(backend, graph, owner, sleeps):
    graph.fail(2, status=429, retry_after="4", kind="GET calendarView")
    assert backend.busy(owner, at(4, 0), at(5, 0)) == []
    assert sleeps == [4.0, 4.0]


def test_service_unavailable_beyond_the_retries_is_transient(backend, graph, owner, sleeps):
    graph.fail(4, status=503, retry_after="5", kind="GET calendarView")
    with pytest.raises(TransientError) as caught:
        backend.busy(owner, at(4, 0), at(5, 0))
    assert caught.value.retry_after == 5.0
    assert sleeps == [5.0, 5.0, 5.0]


def test_a_long_retry_after_is_handed_up_not_slept_through(backend, graph, owner, sleeps):
    graph.fail(1, status=429, retry_after="600", kind="GET calendarView")
    with pytest.raises(TransientError) as caught:
        backend.busy(owner, at(4, 0), at(5, 0))
    assert caught.value.retry_after == 600.0
    assert sleeps == []


def test_gateway_timeouts_without_retry_after_back_off_exponentially(backend, graph, owner, sleeps):
    graph.fail(2, status=504, retry_after=None, kind="GET calendarView")
    backend.busy(owner, at(4, 0), at(5, 0))
    assert sleeps == [1.0, 2.0]


# -- delta ------------------------------------------------------------------------------------


def test_an_unchanged_calendar_costs_one_delta_request(backend, graph, owner):
    backend.write(owner, creates(owner, 3))
    backend.list_owned(owner)
    before = graph.requests.copy()
    assert len(backend.list_owned(owner)) == 3
    assert graph.requests - before == {"GET delta": 1}


def test_sync_state_gone_means_a_full_read(backend, graph, owner, person):
    backend.write(owner, creates(owner, 2))
    backend.list_owned(owner)
    graph.expire_sync_state(owner)
    person.move(owner, "cadence-c1", at(6, 16), at(6, 17))
    before = graph.requests.copy()
    listed = {e.uid: e for e in backend.list_owned(owner)}
    assert (listed["cadence-c1"].start, listed["cadence-c1"].end) == (at(6, 16), at(6, 17))
    assert set(listed) == {"cadence-c0", "cadence-c1"}
    spent = graph.requests - before
    assert spent["GET delta"] == 1  # the refused link
    assert spent["POST $batch"] == 1  # the full read: events by property and a fresh link
    assert graph.batch_parts == {"GET events": 2, "GET delta": 2, "POST events": 2}


def test_delta_pages_are_followed_to_the_delta_link(backend, graph, owner, person):
    backend.write(owner, creates(owner, 25))  # full read happens first, on an empty calendar
    for i in range(250):  # more changes than one page holds
        person.add_event(owner, at(10, 9) + timedelta(minutes=i), at(10, 9) + timedelta(minutes=i))
    person.decline(owner, "cadence-c3")
    before = graph.requests.copy()
    listed = {e.uid: e for e in backend.list_owned(owner)}
    assert len(listed) == 25
    assert listed["cadence-c3"].status == "declined"
    assert graph.requests - before == {"GET delta": 2}


def test_an_event_moved_out_of_the_delta_window_is_still_ours(backend, graph, owner, person):
    backend.write(owner, creates(owner, 1))
    backend.list_owned(owner)
    far = datetime(2030, 1, 7, 10, tzinfo=UTC)  # beyond the two-year delta window
    person.move(owner, "cadence-c0", far, far + timedelta(hours=1))
    [event] = backend.list_owned(owner)
    assert (event.start, event.end) == (far, far + timedelta(hours=1))
    assert graph.requests["GET event"] == 1  # "@removed" checked against the event itself


def test_a_deleted_event_vanishes_after_one_check(backend, graph, owner, person):
    backend.write(owner, creates(owner, 2))
    backend.list_owned(owner)
    person.delete(owner, "cadence-c0")
    assert [e.uid for e in backend.list_owned(owner)] == ["cadence-c1"]
    assert backend.list_owned(owner)[0].uid == "cadence-c1"


def test_create_after_a_delete_in_outlook_makes_a_new_event(backend, graph, owner, person):
    first = backend.write(owner, [Create(spec_for(owner))])[0].event
    person.delete(owner, first.uid)  # cadence has not read the calendar since
    [again] = backend.write(owner, [Create(spec_for(owner))])
    assert again.ok and again.event.remote_id != first.remote_id
    [live] = graph.find(owner, first.uid)
    assert live["id"] == again.event.remote_id
    assert live["transactionId"] != transaction_id(first.uid)


# -- writes -----------------------------------------------------------------------------------


def test_cancelling_an_event_with_attendees_uses_graphs_cancel(backend, graph, owner):
    with_guest = spec_for(owner, uid="cadence-guest", attendees=("bob@customer.example",))
    alone = spec_for(owner, uid="cadence-alone", start=at(4, 14), end=at(4, 15))
    backend.write(owner, [Create(with_guest), Create(alone)])
    [guest_event] = graph.find(owner, "cadence-guest")
    assert guest_event["attendees"] == [
        {"emailAddress": {"address": "bob@customer.example"}, "type": "required"}
    ]
    results = backend.write(owner, [Cancel(owner, "cadence-guest"), Cancel(owner, "cadence-alone")])
    assert [r.ok for r in results] == [True, True]
    assert graph.cancellations == [(owner, guest_event["id"])]  # Exchange tells the guest
    assert graph.batch_parts["POST cancel"] == 1
    assert graph.batch_parts["DELETE event"] == 1
    assert graph.live_events(owner) == []


def test_creates_carry_transaction_id_and_the_cadence_properties(backend, graph, owner):
    spec = spec_for(owner, all_day=True, start=date(2027, 5, 5), end=date(2027, 5, 6))
    backend.write(owner, [Create(spec)])
    [event] = graph.find(owner, spec.uid)
    assert event["transactionId"] == transaction_id(spec.uid)
    assert event["isAllDay"] is True
    assert event["start"] == {"dateTime": "2027-05-05T00:00:00", "timeZone": "Europe/Lisbon"}
    names = sorted(p["id"].rsplit(" ", 1)[-1] for p in event["singleValueExtendedProperties"])
    assert names == ["cadence_owned", "cadence_tags", "cadence_uid"]


def test_batches_hold_at_most_twenty_parts(backend, graph, owner):
    results = backend.write(owner, creates(owner, 45))
    assert all(r.ok for r in results)
    assert graph.requests["POST $batch"] == 1 + 3  # the full read, then 20 + 20 + 5
    assert len(graph.live_events(owner)) == 45


# -- availability -----------------------------------------------------------------------------


def test_free_and_working_elsewhere_do_not_block_but_tentative_does(backend, graph, owner):
    graph.add_event(owner, at(4, 9), at(4, 10), show_as="workingElsewhere")
    graph.add_event(owner, at(4, 10), at(4, 11), show_as="free")
    graph.add_event(owner, at(4, 11), at(4, 12), show_as="tentative")
    graph.add_event(owner, at(4, 13), at(4, 14), show_as="oof")
    busy = backend.busy(owner, at(4, 0), at(5, 0))
    assert [(b.start, b.end) for b in busy] == [(at(4, 11), at(4, 12)), (at(4, 13), at(4, 14))]


def test_all_day_out_of_office_covers_the_owners_local_day(config, graph, tmp_path, owner):
    context = BackendContext(
        base_dir=tmp_path,
        env=_env(),
        salespeople=[Salesperson(email=owner, timezone="Europe/Lisbon")],
    )
    backend = OutlookBackend(config, context)
    graph.add_event(owner, date(2027, 5, 10), date(2027, 5, 11), all_day=True, show_as="oof")
    [ooo] = backend.busy(owner, at(9, 0), at(13, 0))
    assert (ooo.start, ooo.end, ooo.all_day) == (at(9, 23), at(10, 23), True)  # WEST = UTC+1


# -- one mailbox's trouble --------------------------------------------------------------------


def test_a_forbidden_mailbox_fails_alone(backend, graph, owner):
    graph.forbid(OTHER)
    with pytest.raises(AuthError):
        backend.list_owned(OTHER)
    with pytest.raises(AuthError):
        backend.write(OTHER, [Create(spec_for(OTHER))])
    assert backend.write(owner, [Create(spec_for(owner))])[0].ok
    assert [e.uid for e in backend.list_owned(owner)] == ["cadence-acme-check_in-1"]


# -- request counts ---------------------------------------------------------------------------


def test_twenty_five_creates_for_one_owner_take_four_requests(backend, graph, authority, owner):
    tokens = authority.requests["POST token"]
    assert all(r.ok for r in backend.write(owner, creates(owner, 25)))
    # the first read of the calendar (events by property and a delta link, in one $batch),
    # then 20 + 5 creates
    assert graph.requests == {"POST $batch": 3}
    assert authority.requests["POST token"] - tokens == 1


@pytest.mark.parametrize(
    ("availability", "first_cycle", "second_cycle"),
    [("calendarView", 20 * 4, 20 * 2), ("getSchedule", 20 * 3 + 2, 20 * 1 + 2)],
)
def test_requests_of_a_cycle_for_500_customers_across_20_salespeople(
    config, authority, graph, tmp_path, availability, first_cycle, second_cycle
):
    """First cycle: read bookings, availability over 90 days, 25 creates per salesperson;
    second cycle: nothing changed, nothing written.

    Per salesperson, first cycle: the full read (events by property and a delta link, one
    $batch), $batch 2 (20 + 5 creates), and availability: calendarView 1 each, or getSchedule 2
    for all 20 (61 + 29 days).
    Unchanged cycle: delta 1 each, plus the same availability requests.
    """
    owners = [f"sales{i:02d}@contoso.example" for i in range(20)]
    for owner in owners:
        graph.add_mailbox(owner)
    context = BackendContext(base_dir=tmp_path, env=_env(), sleep=_no_wait)
    backend = OutlookBackend(config, context)
    tokens_before = authority.requests["POST token"]
    start, end = at(1, 0), at(1, 0) + timedelta(days=90)

    def cycle(write: bool) -> int:
        before = sum(graph.requests.values())
        for owner in owners:
            backend.list_owned(owner)
        if availability == "getSchedule":
            busy = backend.busy_many(owners, start, end)
        else:
            busy = {owner: backend.busy(owner, start, end) for owner in owners}
        assert busy == {owner: [] for owner in owners}  # cadence's own bookings never count
        if write:
            for owner in owners:
                assert all(r.ok for r in backend.write(owner, creates(owner, 25)))
        return sum(graph.requests.values()) - before

    first = cycle(write=True)
    second = cycle(write=False)
    assert sum(len(graph.live_events(o)) for o in owners) == 500
    assert (first, second) == (first_cycle, second_cycle)
    assert graph.requests["POST $batch"] == 60  # all in the first cycle: 20 reads, 40 writes
    assert authority.requests["POST token"] - tokens_before == 1  # one token, reused


def _env() -> dict[str, str]:
    return {SECRET_ENV: SECRET}


def _no_wait(seconds: float) -> None:
    pass


# -- past meetings, read through their own delta link -----------------------------------------

FLOOR = at(1, 0, month=1)


def test_past_meetings_are_read_through_a_delta_link_and_reported_once(backend, graph, owner):
    graph.add_event(owner, at(3, 9), at(3, 10), attendees=("buyer@acme.com",), title="Demo")
    graph.add_event(owner, at(20, 9), at(20, 10), attendees=("buyer@acme.com",), title="Ahead")
    graph.add_event(owner, at(3, 12), at(3, 13), title="Lunch alone")
    [first] = backend.new_past_events(owner, FLOOR, at(10, 12))
    assert (first.title, first.start) == ("Demo", at(3, 9))

    graph.requests.clear()
    assert backend.new_past_events(owner, FLOOR, at(10, 13)) == []
    assert sum(graph.requests.values()) == 1 and graph.requests["GET delta"] == 1

    # Entered today for February: months old, inside the floor, in that one small answer.
    graph.add_event(owner, at(2, 9, month=2), at(2, 10, month=2), attendees=("ceo@acme.com",))
    [late] = backend.new_past_events(owner, FLOOR, at(10, 14))
    assert (late.start, late.attendees) == (at(2, 9, month=2), ("ceo@acme.com",))
    # The meeting booked ahead never changes, yet is reported once its time has come.
    [ahead] = backend.new_past_events(owner, FLOOR, at(20, 11))
    assert (ahead.title, ahead.start) == ("Ahead", at(20, 9))
    assert backend.new_past_events(owner, FLOOR, at(21, 0)) == []


def test_a_moved_past_meeting_is_reported_again_and_a_lost_delta_repeats_nothing(
    backend, graph, owner
):
    gid = graph.add_event(owner, at(3, 9), at(3, 10), attendees=("buyer@acme.com",))
    assert [e.start for e in backend.new_past_events(owner, FLOOR, at(10, 12))] == [at(3, 9)]
    graph.move(owner, gid, at(4, 9), at(4, 10))
    [moved] = backend.new_past_events(owner, FLOOR, at(10, 13))
    assert (moved.remote_id, moved.start) == (gid, at(4, 9))

    graph.expire_sync_state(owner)
    graph.add_event(owner, at(5, 9), at(5, 10), attendees=("ceo@acme.com",))
    [new] = backend.new_past_events(owner, FLOOR, at(10, 14))  # read again, nothing repeated
    assert new.start == at(5, 9)


def test_cadences_own_events_with_customers_invited_are_not_past_meetings(backend, graph, owner):
    invited = spec_for(owner, attendees=("buyer@acme.com",), start=at(3, 9), end=at(3, 10))
    assert backend.write(owner, [Create(invited)])[0].ok
    backend.list_owned(owner)
    assert backend.new_past_events(owner, FLOOR, at(10, 12)) == []


# -- what an invited customer sees ------------------------------------------------------------


def test_an_invited_customer_gets_the_customer_text_and_the_notes_stay_on_the_organizer(
    backend, graph, owner
):
    invited = invited_spec(owner)
    backend.write(owner, [Create(invited)])
    sent = graph.invitation(owner, invited.uid)
    assert sent["body"] == {"contentType": "text", "content": invited.customer_description}
    [guest] = sent["attendees"]
    assert guest["emailAddress"] == {"address": "bob@acme.com", "name": GUEST_NAME}
    assert_customer_safe(json.dumps(sent))
    [event] = graph.find(owner, invited.uid)
    notes = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
    assert notes[NOTES_PROP] == invited.description
    [listed] = backend.list_owned(owner)
    assert listed.tags == invited.tags


def test_an_event_without_attendees_shows_the_owner_their_notes(backend, graph, owner):
    alone = spec_for(owner)
    backend.write(owner, [Create(alone)])
    [event] = graph.find(owner, alone.uid)
    assert event["body"] == {"contentType": "text", "content": alone.description}
    assert NOTES_PROP not in {p["id"] for p in event["singleValueExtendedProperties"]}


# -- video links ------------------------------------------------------------------------------


def test_teams_is_asked_for_through_the_online_meeting_fields(backend, graph, owner):
    meeting = spec_for(owner, video="teams", attendees=("bob@customer.example",))
    backend.write(owner, [Create(meeting)])
    [event] = graph.find(owner, meeting.uid)
    assert (event["isOnlineMeeting"], event["onlineMeetingProvider"]) == (True, "teamsForBusiness")
    join = event["onlineMeeting"]["joinUrl"]
    assert join.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert graph.invitation(owner, meeting.uid)["onlineMeeting"] == {"joinUrl": join}
    moved = spec_for(owner, video="teams", attendees=("bob@customer.example",),
                     start=at(5, 10), end=at(5, 10, 30))  # fmt: skip
    backend.write(owner, [Update(moved)])
    [event] = graph.find(owner, meeting.uid)
    assert event["onlineMeeting"]["joinUrl"] == join  # the same meeting after a move


def test_the_teams_link_is_shown_in_location_and_both_texts_with_one_patch(backend, graph, owner):
    invited = replace(invited_spec(owner), video="teams")
    backend.list_owned(owner)  # the full read comes first
    graph.batch_parts.clear()
    [created] = backend.write(owner, [Create(invited)])
    assert created.ok and created.event is not None
    [event] = graph.find(owner, invited.uid)
    join = event["onlineMeeting"]["joinUrl"]
    assert event["location"] == {"displayName": join, "locationUri": join}
    sent = graph.invitation(owner, invited.uid)
    assert sent["body"]["content"] == f"Video: {join}\n\n{invited.customer_description}"
    assert_customer_safe(json.dumps(sent))
    notes = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
    assert notes[NOTES_PROP] == f"Video: {join}\n\n{invited.description}"
    assert created.event.etag == event["@odata.etag"]  # the etag of the second write
    assert (graph.batch_parts["POST events"], graph.batch_parts["PATCH event"]) == (1, 1)

    moved = replace(invited, start=at(5, 10), end=at(5, 10, 30))
    [result] = backend.write(owner, [Update(moved, etag=created.event.etag)])
    assert result.ok
    [event] = graph.find(owner, invited.uid)
    assert event["onlineMeeting"]["joinUrl"] == join
    assert event["location"] == {"displayName": join, "locationUri": join}
    assert graph.invitation(owner, invited.uid)["body"] == sent["body"]
    assert graph.batch_parts["PATCH event"] == 2  # the move shows it at once: no second write
    [again] = backend.write(owner, [Create(invited)])  # a create repeated: already shown
    assert again.ok and graph.batch_parts["PATCH event"] == 3


def test_events_without_teams_get_no_second_write(backend, graph, owner):
    backend.list_owned(owner)
    graph.batch_parts.clear()
    backend.write(owner, [Create(invited_spec(owner))])
    assert graph.batch_parts["PATCH event"] == 0


def test_a_video_url_is_the_events_location(backend, graph, owner):
    link = "https://video.example.com/ana/acme"
    meeting = spec_for(owner, location=link)
    backend.write(owner, [Create(meeting)])
    [event] = graph.find(owner, meeting.uid)
    assert event["location"] == {"displayName": link, "locationUri": link}
    assert "isOnlineMeeting" not in event
