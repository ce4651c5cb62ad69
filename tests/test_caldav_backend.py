"""The caldav backend against a real Radicale server started on 127.0.0.1 by these tests:
writing, busy time, the shared contract, and what an event shows (:mod:`tests.caldav_kit`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from cadence.values.model import BusyInterval
from connectors import load_backend
from connectors.base import BackendError, Cancel, ConflictError, Create, NotFoundError, Update
from connectors.caldav import CalDavBackend
from connectors.caldav.ical import resource_name
from tests import caldav_kit
from tests.caldav_kit import T0, calendar_url, create, spec
from tests.contract.past_meetings import (
    KeptOwnershipContract,
    PastMeetingsContract,
    RecurringPastMeetingsContract,
)
from tests.contract.suite import BackendContract
from tests.customer_view import GUEST_NAME, assert_customer_safe, invited_spec

radicale, owner, person, backend = (
    caldav_kit.radicale,
    caldav_kit.owner,
    caldav_kit.person,
    caldav_kit.backend,
)


# --------------------------------------------------------------------------------------------
# Writing


def test_registry_loads_the_caldav_backend() -> None:
    assert load_backend("caldav") is CalDavBackend


def test_created_event_is_listed_with_its_tags_etag_and_times(backend, owner, radicale) -> None:
    created = create(backend, spec(owner))

    (listed,) = backend.list_owned(owner)

    assert listed.uid == "acme:check_in:1"
    assert (listed.start, listed.end) == (T0, T0 + timedelta(minutes=30))
    assert listed.status == "confirmed"
    assert listed.title == "Check-in: ACME Ltd"
    assert dict(listed.tags) == {"cadence": "1", "customer_id": "acme", "kind": "check_in"}
    assert listed.etag == created.etag and listed.etag
    assert listed.remote_id == calendar_url(radicale, owner) + resource_name("acme:check_in:1")


def test_event_resource_carries_zone_alarms_transparency_and_owner_partstat(
    backend, owner, person
) -> None:
    create(backend, spec(owner, attendees=("buyer@acme.com",)))

    event = person.raw(owner, "acme:check_in:1")

    assert event["dtstart"].params["TZID"] == "Europe/Lisbon"
    assert event.decoded("dtstart") == T0  # 11:00 in Lisbon (summer time)
    assert str(event["transp"]) == "OPAQUE"
    assert str(event["organizer"]) == f"mailto:{owner}"
    assert event["organizer"].params["CN"] == "Ana Silva"
    names = {str(a): a.params.get("CN") for a in event["attendee"]}
    assert names[f"mailto:{owner}"] == "Ana Silva"
    partstats = {str(a): a.params["PARTSTAT"] for a in event["attendee"]}
    assert partstats == {f"mailto:{owner}": "ACCEPTED", "mailto:buyer@acme.com": "NEEDS-ACTION"}
    assert str(event["x-cadence-uid"]) == "acme:check_in:1"
    assert str(event["x-cadence-customer-id"]) == "acme"
    triggers = sorted(alarm.decoded("trigger") for alarm in event.walk("VALARM"))
    assert triggers == [timedelta(minutes=-60), timedelta(minutes=-15)]


def test_all_day_transparent_reminder_is_written_with_dates(backend, owner, person) -> None:
    reminder = spec(
        owner,
        uid="acme:anniversary_reminder:1",
        start=date(2027, 6, 1),
        end=date(2027, 6, 2),
        all_day=True,
        transparent=True,
    )
    created = create(backend, reminder)

    event = person.raw(owner, "acme:anniversary_reminder:1")
    assert event.decoded("dtstart") == date(2027, 6, 1)
    assert str(event["transp"]) == "TRANSPARENT"
    assert (created.start, created.end, created.all_day) == (
        date(2027, 6, 1),
        date(2027, 6, 2),
        True,
    )
    (listed,) = backend.list_owned(owner)
    assert (listed.start, listed.end, listed.all_day) == (date(2027, 6, 1), date(2027, 6, 2), True)


def test_retried_create_returns_the_existing_event_and_makes_no_second(
    backend, owner, person
) -> None:
    first = create(backend, spec(owner))

    again = create(backend, spec(owner))

    assert again.etag == first.etag  # unchanged: nothing rewritten
    assert person.count(owner) == 1
    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]


def test_retried_create_with_a_changed_spec_updates_the_one_event(backend, owner, person) -> None:
    create(backend, spec(owner))

    later = create(backend, spec(owner, start=T0 + timedelta(days=1)))

    assert later.start == T0 + timedelta(days=1)
    assert later.sequence == 1
    assert person.count(owner) == 1
    (listed,) = backend.list_owned(owner)
    assert listed.start == T0 + timedelta(days=1)


def test_update_with_current_etag_moves_the_event_and_bumps_sequence(backend, owner) -> None:
    created = create(backend, spec(owner))
    moved = spec(owner, start=T0 + timedelta(hours=3))

    (result,) = backend.write(
        owner, [Update(moved, etag=created.etag, remote_id=created.remote_id)]
    )

    assert result.ok, result.error
    assert result.event.start == T0 + timedelta(hours=3)
    assert result.event.sequence == 1
    assert result.event.etag != created.etag
    (listed,) = backend.list_owned(owner)
    assert (listed.start, listed.etag) == (T0 + timedelta(hours=3), result.event.etag)


def test_update_with_stale_etag_is_a_conflict_and_keeps_the_persons_change(
    backend, owner, person
) -> None:
    created = create(backend, spec(owner))
    person.move(owner, "acme:check_in:1", T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1))

    (result,) = backend.write(
        owner, [Update(spec(owner, start=T0 + timedelta(hours=5)), created.etag)]
    )

    assert isinstance(result.error, ConflictError)
    assert person.raw(owner, "acme:check_in:1").decoded("dtstart") == T0 + timedelta(days=2)


def test_update_of_an_event_a_person_deleted_is_not_found(backend, owner, person) -> None:
    created = create(backend, spec(owner))
    person.delete(owner, "acme:check_in:1")

    (result,) = backend.write(owner, [Update(spec(owner), created.etag)])

    assert isinstance(result.error, NotFoundError)
    assert person.count(owner) == 0


def test_cancel_removes_the_event_and_cancelling_again_succeeds(backend, owner, person) -> None:
    created = create(backend, spec(owner))

    first, second = backend.write(
        owner,
        [
            Cancel(owner, created.uid, etag=created.etag, remote_id=created.remote_id),
            Cancel(owner, created.uid, etag=created.etag),
        ],
    )

    assert (first.ok, first.event, second.ok) == (True, None, True)
    assert person.count(owner) == 0
    assert backend.list_owned(owner) == []


def test_cancel_with_stale_etag_is_a_conflict_and_deletes_nothing(backend, owner, person) -> None:
    created = create(backend, spec(owner))
    person.move(owner, created.uid, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))

    (result,) = backend.write(owner, [Cancel(owner, created.uid, etag=created.etag)])

    assert isinstance(result.error, ConflictError)
    assert person.count(owner) == 1


def test_one_failed_op_does_not_fail_the_batch(backend, owner, person) -> None:
    created = create(backend, spec(owner))
    person.move(owner, created.uid, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))

    stale, fresh = backend.write(owner, [Update(spec(owner), created.etag), Create(spec(owner, 2))])

    assert isinstance(stale.error, ConflictError)
    assert fresh.ok and fresh.event.uid == "acme:check_in:2"
    assert person.count(owner) == 2


# --------------------------------------------------------------------------------------------
# Busy time and past events


def test_busy_leaves_out_cadence_free_declined_and_cancelled_events(backend, owner, person) -> None:
    create(backend, spec(owner, start=T0 + timedelta(hours=1)))
    person.add_event(owner, T0, T0 + timedelta(hours=1), title="Board meeting")
    person.add_event(owner, T0 + timedelta(hours=3), T0 + timedelta(hours=4), transparent=True)
    person.add_event(
        owner, T0 + timedelta(hours=5), T0 + timedelta(hours=6), owner_partstat="DECLINED"
    )
    person.add_event(
        owner, T0 + timedelta(hours=6), T0 + timedelta(hours=7), owner_partstat="TENTATIVE"
    )

    busy = backend.busy(owner, T0 - timedelta(days=1), T0 + timedelta(days=1))

    assert busy == [
        BusyInterval(T0, T0 + timedelta(hours=1)),
        BusyInterval(T0 + timedelta(hours=6), T0 + timedelta(hours=7)),
    ]


def test_all_day_busy_event_covers_the_owners_local_day(backend, owner, person) -> None:
    person.add_event(owner, date(2027, 5, 6), date(2027, 5, 7), all_day=True, title="Out of office")

    busy = backend.busy(owner, T0, T0 + timedelta(days=3))

    # Europe/Lisbon is UTC+1 in May: the local day starts at 23:00 UTC the day before.
    assert busy == [
        BusyInterval(
            datetime(2027, 5, 5, 23, tzinfo=UTC), datetime(2027, 5, 6, 23, tzinfo=UTC), True
        )
    ]


def test_busy_expands_recurring_events_within_the_range(backend, owner, person) -> None:
    person.add_event(owner, T0, T0 + timedelta(hours=1), rrule="FREQ=DAILY;COUNT=10")

    busy = backend.busy(owner, T0 + timedelta(days=2), T0 + timedelta(days=4))

    assert [b.start for b in busy] == [T0 + timedelta(days=2), T0 + timedelta(days=3)]


def test_past_events_list_attendees_and_the_owners_decline(backend, owner, person) -> None:
    create(backend, spec(owner, attendees=("buyer@acme.com",)))
    met = person.add_event(owner, T0, T0 + timedelta(hours=1), attendees=("Buyer@ACME.com",))
    skipped = person.add_event(
        owner, T0 + timedelta(hours=2), T0 + timedelta(hours=3), owner_partstat="DECLINED"
    )

    events = backend.past_events(owner, T0 - timedelta(days=1), T0 + timedelta(days=1))

    assert [(e.remote_id, e.attendees, e.declined) for e in events] == [
        (met, ("buyer@acme.com",), False),
        (skipped, (), True),  # the owner is not among the people they met
    ]


def test_busy_rejects_naive_datetimes(backend, owner) -> None:
    with pytest.raises(BackendError, match="timezone-aware"):
        backend.busy(owner, datetime(2027, 5, 5), datetime(2027, 5, 6))


class TestCalDavContract(
    BackendContract, PastMeetingsContract, RecurringPastMeetingsContract, KeptOwnershipContract
):
    """The shared backend contract, against Radicale, with the caldav library as the person."""


def test_a_copy_made_in_another_app_is_the_persons_and_busy(backend, owner, person) -> None:
    create(backend, spec(owner))
    copy = person.raw(owner, "acme:check_in:1")
    copy["uid"] = icalendar.vText("copy-in-another-app")  # the app's "duplicate event"
    del copy["dtstart"], copy["dtend"]
    copy.add("dtstart", T0 + timedelta(days=1))
    copy.add("dtend", T0 + timedelta(days=1, hours=1))
    cal = icalendar.Calendar()
    cal.add("prodid", "-//x//y//EN")
    cal.add("version", "2.0")
    cal.add_component(copy)
    person.calendar(owner).save_event(cal.to_ical().decode())

    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]
    assert backend.busy(owner, T0, T0 + timedelta(days=2)) == [
        BusyInterval(T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))
    ]


def test_an_invited_customer_reads_the_customer_text_and_the_notes_stay_in_an_x_property(
    backend, owner, person
) -> None:
    invited = invited_spec(owner)
    create(backend, invited)

    event = person.raw(owner, invited.uid)

    assert str(event["description"]) == invited.customer_description
    [guest] = [a for a in event["attendee"] if str(a).lower() == "mailto:bob@acme.com"]
    assert guest.params["CN"] == GUEST_NAME
    # Every property a calendar client shows the attendee (a scheduling server sends them).
    shown = icalendar.Event()
    for name, value in event.property_items(recursive=False):
        if not name.startswith("X-") and name not in ("BEGIN", "END"):
            shown.add(name, value)
    assert_customer_safe(shown.to_ical().decode())
    assert str(event["x-cadence-owner-notes"]) == invited.description
    (listed,) = backend.list_owned(owner)
    assert dict(listed.tags) == dict(invited.tags)  # the notes are not a tag


def test_a_video_url_is_the_events_location(backend, owner, person) -> None:
    link = "https://video.example.com/ana/acme"
    create(backend, spec(owner, location=link, description=f"Video: {link}"))

    event = person.raw(owner, "acme:check_in:1")

    assert (str(event["location"]), str(event["description"])) == (link, f"Video: {link}")
