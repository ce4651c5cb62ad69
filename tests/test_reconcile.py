"""The pure reconciler: plan + bookings -> actions (diff), calendar view -> bookings (observe)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cadence.store.repository import BookingRecord, Confirmed
from cadence.sync.reconcile import SPEC_TAG, ActionKind, diff, observe, uid_for
from cadence.values.model import (
    BookingKind,
    BookingState,
    Contact,
    ContactKind,
    PlannedContact,
    PlanStatus,
)
from connectors.base import RemoteEvent

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OWNER = "ana@example.com"


def utc_today(owner: str) -> date:
    """The owners of these tests live in UTC."""
    return NOW.date()


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def planned(
    key: str = "c1:check_in:2026-11-02.0",
    start: datetime = at("2026-11-30"),
    *,
    customer: str = "c1",
    kind: BookingKind = BookingKind.CHECK_IN,
    status: PlanStatus = PlanStatus.PLANNED,
) -> PlannedContact:
    return PlannedContact(
        key=key,
        customer_id=customer,
        customer_name="ACME Ltd",
        owner=OWNER,
        kind=kind,
        seq=0,
        title="Check-in: ACME Ltd",
        start=start,
        end=start + timedelta(minutes=30),
        all_day=False,
        day=start.date(),
        ideal=start.date(),
        window_start=start.date() - timedelta(days=14),
        window_end=start.date() + timedelta(days=14),
        status=status,
        reasons=("ideal date",),
    )


def record(
    key: str = "c1:check_in:2026-11-02.0",
    start: datetime = at("2026-11-30"),
    *,
    customer: str = "c1",
    kind: BookingKind = BookingKind.CHECK_IN,
    state: BookingState = BookingState.BOOKED,
    etag: str | None = '"1"',
) -> BookingRecord:
    return BookingRecord(
        key=key,
        uid=uid_for(key),
        customer_id=customer,
        owner=OWNER,
        kind=kind,
        backend="memory",
        start=start,
        end=start + timedelta(minutes=30),
        state=state,
        remote_id=uid_for(key),
        etag=etag,
        created_at=NOW - timedelta(days=7),
        updated_at=NOW - timedelta(days=7),
    )


def remote(r: BookingRecord, **changes: Any) -> RemoteEvent:
    ev = RemoteEvent(
        uid=r.uid,
        owner=r.owner,
        start=r.start,
        end=r.end,
        etag=r.etag,
        remote_id=r.remote_id,
        tags={"customer": r.customer_id, "kind": r.kind.value, "key": r.key},
    )
    return replace(ev, **changes)


# ---- diff -----------------------------------------------------------------------------------


def test_unchanged_world_gives_only_keep_actions() -> None:
    plan = [planned(), planned("c2:check_in:2026-11-09.0", at("2026-12-07"), customer="c2")]
    records = [record(), record("c2:check_in:2026-11-09.0", at("2026-12-07"), customer="c2")]
    actions = diff(plan, records, NOW, utc_today)
    assert [(a.kind, a.record.key) for a in actions] == [
        (ActionKind.KEEP, "c1:check_in:2026-11-02.0"),
        (ActionKind.KEEP, "c2:check_in:2026-11-09.0"),
    ]


def test_changed_plan_time_moves_the_same_record() -> None:
    [action] = diff([planned(start=at("2026-12-01", 14))], [record()], NOW, utc_today)
    assert action.kind is ActionKind.MOVE
    assert action.record == record()
    assert action.planned.start == at("2026-12-01", 14)


def test_new_key_for_same_customer_and_kind_moves_the_spare_record() -> None:
    # A new contact re-anchored the chain: the key changed, the booking is reused, not recreated.
    new = planned("c1:check_in:2026-11-22.0", at("2026-12-21"))
    [action] = diff([new], [record()], NOW, utc_today)
    assert action.kind is ActionKind.MOVE
    assert action.record.key == "c1:check_in:2026-11-02.0"
    assert action.planned.key == "c1:check_in:2026-11-22.0"


def test_new_key_of_another_kind_creates_and_cancels() -> None:
    new = planned("c1:winback:2026-11-20.0", at("2026-11-24"), kind=BookingKind.WINBACK)
    actions = diff([new], [record()], NOW, utc_today)
    assert sorted((a.kind, a.planned.key if a.planned else a.record.key) for a in actions) == [
        (ActionKind.CANCEL, "c1:check_in:2026-11-02.0"),
        (ActionKind.CREATE, "c1:winback:2026-11-20.0"),
    ]


def test_record_no_longer_planned_is_cancelled() -> None:
    [action] = diff([], [record()], NOW, utc_today)
    assert action.kind is ActionKind.CANCEL
    assert action.record == record()
    assert action.planned is None


def test_moved_by_owner_booking_is_kept_at_the_owners_time() -> None:
    moved = record(start=at("2026-12-03", 15), state=BookingState.MOVED_BY_OWNER)
    p = planned(start=at("2026-12-03", 15), status=PlanStatus.MOVED_BY_OWNER)
    [action] = diff([p], [moved], NOW, utc_today)
    assert action.kind is ActionKind.KEEP
    assert action.record == moved


def test_moved_by_owner_booking_is_never_the_spare_for_a_new_key() -> None:
    moved = record(start=at("2026-12-03", 15), state=BookingState.MOVED_BY_OWNER)
    new = planned("c1:check_in:2026-11-22.0", at("2026-12-21"))
    actions = diff([new], [moved], NOW, utc_today)
    assert sorted(a.kind for a in actions) == [ActionKind.CANCEL, ActionKind.CREATE]


def test_past_and_refused_records_are_neither_kept_nor_cancelled() -> None:
    past = record("c1:check_in:2026-10-05.0", at("2026-11-02"))
    deleted = record(state=BookingState.DELETED)
    declined = record("c2:check_in:2026-11-09.0", customer="c2", state=BookingState.DECLINED)
    assert diff([], [past, deleted, declined], NOW, utc_today) == []


# ---- observe --------------------------------------------------------------------------------


def test_missing_remote_event_is_deleted_with_seen_at() -> None:
    seen = observe([record()], {}, NOW, "memory")
    assert seen.save == [replace(record(), state=BookingState.DELETED, seen_at=NOW, updated_at=NOW)]
    assert seen.drop == [] and seen.contacts == [] and seen.recancel == []


def test_cancelled_remote_event_is_deleted() -> None:
    r = record()
    [saved] = observe([r], {r.uid: remote(r, status="cancelled")}, NOW, "memory").save
    assert (saved.state, saved.seen_at) == (BookingState.DELETED, NOW)


def test_declined_remote_event_is_declined() -> None:
    r = record()
    [saved] = observe([r], {r.uid: remote(r, status="declined")}, NOW, "memory").save
    assert (saved.state, saved.seen_at) == (BookingState.DECLINED, NOW)


def test_moved_remote_event_is_moved_by_owner_with_the_new_times() -> None:
    r = record()
    new_start = at("2026-12-02", 15)
    ev = remote(r, start=new_start, end=new_start + timedelta(minutes=30), etag='"7"')
    [saved] = observe([r], {r.uid: ev}, NOW, "memory").save
    assert saved.state is BookingState.MOVED_BY_OWNER
    assert (saved.start, saved.end) == (new_start, new_start + timedelta(minutes=30))
    assert saved.etag == '"7"'
    assert saved.seen_at == NOW


def test_pending_create_missing_remotely_is_dropped() -> None:
    pending = record(state=BookingState.PENDING, etag=None)
    seen = observe([pending], {}, NOW, "memory")
    assert seen.drop == [pending.key]
    assert seen.save == []


def test_pending_create_present_remotely_becomes_booked() -> None:
    pending = record(state=BookingState.PENDING, etag=None)
    ev = remote(pending, etag='"3"')
    [saved] = observe([pending], {pending.uid: ev}, NOW, "memory").save
    assert saved.state is BookingState.BOOKED
    assert saved.etag == '"3"'
    assert observe([pending], {pending.uid: ev}, NOW, "memory").drop == []


def test_unchanged_remote_event_saves_nothing() -> None:
    r = record()
    seen = observe([r], {r.uid: remote(r)}, NOW, "memory")
    assert (seen.save, seen.drop, seen.recancel, seen.contacts) == ([], [], [], [])


def test_past_booked_booking_becomes_a_booking_contact() -> None:
    past = record("c1:check_in:2026-10-05.0", at("2026-11-02"))
    seen = observe([past], {past.uid: remote(past)}, NOW, "memory")
    # the key (not the uid) says what the meeting was for
    assert seen.contacts == [
        Contact("c1", ContactKind.MEETING, at("2026-11-02"), "booking", past.key)
    ]


def test_past_winback_booking_becomes_a_call_and_reminders_no_contact() -> None:
    winback = record("c1:winback:2026-10-01.0", at("2026-10-02"), kind=BookingKind.WINBACK)
    reminder = BookingRecord(
        key="c1:anniversary_reminder:2026-11-10",
        uid=uid_for("c1:anniversary_reminder:2026-11-10"),
        customer_id="c1",
        owner=OWNER,
        kind=BookingKind.ANNIVERSARY_REMINDER,
        backend="memory",
        start=date(2026, 11, 10),
        end=date(2026, 11, 11),
        all_day=True,
        created_at=NOW,
        updated_at=NOW,
    )
    events = {winback.uid: remote(winback), reminder.uid: remote(reminder, all_day=True)}
    seen = observe([winback, reminder], events, NOW, "memory")
    assert seen.contacts == [
        Contact("c1", ContactKind.CALL, at("2026-10-02"), "booking", winback.key)
    ]


def test_past_declined_booking_is_no_contact() -> None:
    past = record("c1:check_in:2026-10-05.0", at("2026-11-02"))
    seen = observe([past], {past.uid: remote(past, status="declined")}, NOW, "memory")
    assert seen.contacts == []


def test_orphan_remote_cadence_event_with_tags_is_adopted() -> None:
    lost = record("c9:check_in:2026-11-01.0", at("2026-12-10"), customer="c9")
    [adopted] = observe([], {lost.uid: remote(lost)}, NOW, "memory").save
    assert adopted.key == "c9:check_in:2026-11-01.0"
    assert adopted.uid == lost.uid
    assert (adopted.customer_id, adopted.kind, adopted.owner) == ("c9", BookingKind.CHECK_IN, OWNER)
    assert (adopted.start, adopted.state, adopted.backend) == (
        lost.start,
        BookingState.BOOKED,
        "memory",
    )


def test_remote_event_without_cadence_tags_is_not_adopted() -> None:
    lost = record("c9:check_in:2026-11-01.0", at("2026-12-10"), customer="c9")
    seen = observe([], {lost.uid: remote(lost, tags={})}, NOW, "memory")
    assert seen.save == []


def test_cadence_cancelled_record_still_in_calendar_is_cancelled_again() -> None:
    r = record(state=BookingState.CANCELLED)
    seen = observe([r], {r.uid: remote(r)}, NOW, "memory")
    assert seen.recancel == [r]


# ---- writes in flight: done only when the calendar shows them ---------------------------------


def in_flight(
    before: BookingRecord, state: BookingState = BookingState.PENDING, **intended: Any
) -> BookingRecord:
    """``before`` with a change recorded but not confirmed, as the cycle stores it."""
    return replace(before, state=state, confirmed=Confirmed.of(before), **intended)


def test_a_rename_not_applied_restores_the_confirmed_details() -> None:
    before = replace(record(), spec_hash="old-title")
    pending = in_flight(before, spec_hash="new-title")
    ev = remote(before, tags={**remote(before).tags, SPEC_TAG: "old-title"})

    seen = observe([pending], {pending.uid: ev}, NOW, "memory")

    assert seen.save == [before]  # the diff sees the old details and rewrites them
    assert seen.drop == []


def test_a_rename_the_calendar_shows_is_done() -> None:
    before = replace(record(), spec_hash="old-title")
    pending = in_flight(before, spec_hash="new-title")
    ev = remote(before, tags={**remote(before).tags, SPEC_TAG: "new-title"})

    [saved] = observe([pending], {pending.uid: ev}, NOW, "memory").save

    assert (saved.state, saved.spec_hash, saved.confirmed) == (
        BookingState.BOOKED,
        "new-title",
        None,
    )


def test_a_move_whose_answer_was_lost_is_cadences_own_not_the_owners() -> None:
    before = record()
    later = at("2026-12-04")
    pending = in_flight(
        before, key="c1:check_in:2026-11-09.0", start=later, end=later + timedelta(minutes=30)
    )
    ev = remote(pending)  # the move applied; its answer (or the process) was lost

    seen = observe([pending], {pending.uid: ev}, NOW, "memory")

    [saved] = seen.save
    assert saved.state is BookingState.BOOKED  # not MOVED_BY_OWNER: the planner may move it
    assert (saved.key, saved.start, saved.confirmed) == (pending.key, later, None)
    assert seen.drop == []


def test_a_move_not_applied_restores_the_confirmed_key_time_and_reasons() -> None:
    before = replace(record(), reasons=("moved from 2026-11-28 to 2026-11-30: a full day",))
    later = at("2026-12-04")
    pending = in_flight(
        before,
        key="c1:check_in:2026-11-09.0",
        start=later,
        end=later + timedelta(minutes=30),
        reasons=("last contact 2026-11-09; every 4 weeks -> ideal 2026-12-07",),
    )

    seen = observe([pending], {pending.uid: remote(before)}, NOW, "memory")

    assert seen.drop == [pending.key]
    assert seen.save == [before]


def test_a_move_in_flight_while_the_owner_moved_it_is_the_owners() -> None:
    before = record()
    later, theirs = at("2026-12-04"), at("2026-12-08", 14)
    pending = in_flight(before, start=later, end=later + timedelta(minutes=30))
    ev = remote(before, start=theirs, end=theirs + timedelta(minutes=30))

    [saved] = observe([pending], {pending.uid: ev}, NOW, "memory").save

    assert (saved.state, saved.start, saved.key) == (
        BookingState.MOVED_BY_OWNER,
        theirs,
        before.key,
    )


def test_an_update_in_flight_to_a_deleted_event_is_deleted_not_forgotten() -> None:
    before = replace(record(), etag=None)  # a backend without etags
    pending = in_flight(before, spec_hash="new-title")

    [saved] = observe([pending], {}, NOW, "memory").save

    assert (saved.state, saved.key, saved.confirmed) == (BookingState.DELETED, before.key, None)


def test_a_rewrite_read_back_without_the_spec_tag_is_rewritten_again() -> None:
    # A client dropped cadence's properties: the time shows, the details cannot be confirmed.
    before = replace(record(), spec_hash="old-title")
    pending = in_flight(before, spec_hash="new-title")

    [saved] = observe([pending], {pending.uid: remote(before, tags={})}, NOW, "memory").save

    assert (saved.state, saved.spec_hash) == (BookingState.BOOKED, "")


def test_a_details_rewrite_keeps_the_owners_own_time() -> None:
    before = replace(record(), state=BookingState.MOVED_BY_OWNER, spec_hash="old-title")
    pending = in_flight(before, spec_hash="new-title")
    ev = remote(before, tags={SPEC_TAG: "new-title"})

    [saved] = observe([pending], {pending.uid: ev}, NOW, "memory").save

    assert saved.state is BookingState.MOVED_BY_OWNER


def test_a_cancel_in_flight_is_done_when_the_event_is_gone() -> None:
    before = record()
    cancelling = in_flight(before, BookingState.CANCELLED)

    [saved] = observe([cancelling], {}, NOW, "memory").save

    assert (saved.state, saved.confirmed) == (BookingState.CANCELLED, None)


def test_a_cancel_not_applied_restores_the_booking_for_the_diff_to_decide() -> None:
    before = record()
    cancelling = in_flight(before, BookingState.CANCELLED)

    seen = observe([cancelling], {before.uid: remote(before)}, NOW, "memory")

    assert seen.save == [before]
    assert seen.recancel == []
