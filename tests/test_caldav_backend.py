"""The caldav backend against a real Radicale server started on 127.0.0.1 by these tests.

The salesperson acting in their calendar (``person``) is a *different* CalDAV client: the
``caldav`` library's own object API, the way any other calendar app would change the events.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import caldav
import icalendar
import pytest
import requests

from cadence.values.model import BusyInterval, Salesperson
from connectors import load_backend
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    Cancel,
    ConflictError,
    Create,
    EventSpec,
    MemoryState,
    NotFoundError,
    TransientError,
    Update,
)
from connectors.caldav import CalDavBackend
from connectors.caldav.ical import resource_name
from connectors.caldav.webdav import Collection, SyncUnsupported, Transport
from connectors.ics import IcsBackend
from tests.contract.past_meetings import (
    KeptOwnershipContract,
    PastMeetingsContract,
    RecurringPastMeetingsContract,
)
from tests.contract.suite import BackendContract
from tests.cost import bounded
from tests.customer_view import GUEST_NAME, assert_customer_safe, invited_spec
from tests.local_servers import Radicale, free_port, radicale_server

SERVICE_USER, SERVICE_PASSWORD = "cadence", "service-secret"
PASSWORD_ENV = "CADENCE_CALDAV_PASSWORD"
T0 = datetime(2027, 5, 5, 10, 0, tzinfo=UTC)  # a Wednesday
_owner_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    users = {SERVICE_USER: SERVICE_PASSWORD, "bob@example.com": "bob-secret"}
    with radicale_server(tmp_path_factory.mktemp("radicale"), users) as server:
        yield server


class CalDavPerson:
    """The salesperson using another CalDAV client (the caldav library's object API)."""

    def __init__(self, server: Radicale) -> None:
        # Credentials sent up front: the library otherwise tries without, and Radicale pauses
        # after every refused login.
        self.client = caldav.DAVClient(
            server.url, auth=requests.auth.HTTPBasicAuth(SERVICE_USER, SERVICE_PASSWORD)
        )
        self.server = server

    def calendar(self, owner: str) -> caldav.Calendar:
        return self.client.calendar(url=calendar_url(self.server, owner))

    def make_calendar(self, owner: str) -> None:
        principal = self.client.principal()
        principal.make_calendar(name=owner, cal_id=owner.partition("@")[0])

    def _event(self, owner: str, uid: str) -> caldav.Event:
        return self.calendar(owner).event_by_uid(uid)

    def _edit(self, owner: str, uid: str, change) -> None:
        event = self._event(owner, uid)
        cal = icalendar.Calendar.from_ical(event.data)
        for component in cal.walk("VEVENT"):
            change(component)
        event.data = cal.to_ical().decode()
        event.save()

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        def change(component: icalendar.Event) -> None:
            for name, value in (("dtstart", start), ("dtend", end)):
                del component[name]
                component.add(name, value)

        self._edit(owner, uid, change)

    def delete(self, owner: str, uid: str) -> None:
        self._event(owner, uid).delete()

    def decline(self, owner: str, uid: str) -> None:
        def change(component: icalendar.Event) -> None:
            attendees = component.get("attendee", [])
            for attendee in attendees if isinstance(attendees, list) else [attendees]:
                if str(attendee).lower() == f"mailto:{owner}":
                    attendee.params["PARTSTAT"] = "DECLINED"

        self._edit(owner, uid, change)

    def strip_cadence_properties(self, owner: str, uid: str) -> None:
        """Save cadence's event ``uid`` the way a client that drops unknown properties does:
        same UID, no ``X-CADENCE-*``."""

        def change(component: icalendar.Event) -> None:
            for name in [n for n in component if n.upper().startswith("X-CADENCE-")]:
                del component[name]

        self._edit(owner, uid, change)

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        attendees: tuple[str, ...] = (),
        title: str = "",
        rrule: str = "",
        owner_partstat: str = "",
        declined_by: tuple[str, ...] = (),
        cancelled: bool = False,
        weekly: int = 0,
    ) -> str:
        uid = f"person-{uuid.uuid4()}"
        cal = icalendar.Calendar()
        cal.add("prodid", "-//a person//their calendar app//EN")
        cal.add("version", "2.0")
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", T0)
        event.add("summary", title or "a person's event")
        event.add("dtstart", start.date() if all_day and isinstance(start, datetime) else start)
        event.add("dtend", end.date() if all_day and isinstance(end, datetime) else end)
        event.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
        for address in attendees:
            answer = "DECLINED" if address in declined_by else "ACCEPTED"
            event.add("attendee", f"mailto:{address}", parameters={"PARTSTAT": answer})
        if cancelled:
            event.add("status", "CANCELLED")
        if weekly:
            rrule = f"FREQ=WEEKLY;COUNT={weekly}"
        if owner_partstat:
            event.add("attendee", f"mailto:{owner}", parameters={"PARTSTAT": owner_partstat})
        if rrule:
            event.add("rrule", icalendar.vRecur.from_ical(rrule))
        cal.add_component(event)
        self.calendar(owner).save_event(cal.to_ical().decode())
        return uid

    def raw(self, owner: str, uid: str) -> icalendar.Event:
        data = self._event(owner, uid).data
        return next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))

    def count(self, owner: str) -> int:
        return len(self.calendar(owner).events())


def calendar_url(server: Radicale, owner: str) -> str:
    return f"{server.url}{SERVICE_USER}/{owner.partition('@')[0]}/"


def make_backend(server: Radicale, tmp_path: Path, owner: str, **extra) -> CalDavBackend:
    config = {
        "url": server.url + SERVICE_USER + "/{user}/",
        "username": SERVICE_USER,
        "password_env": PASSWORD_ENV,
        **extra,
    }
    assert CalDavBackend.validate_config(config) == []
    context = BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(owner, name="Ana Silva", timezone="Europe/Lisbon")],
        state=MemoryState(),
        env={PASSWORD_ENV: SERVICE_PASSWORD},
    )
    return CalDavBackend(config, context)


@pytest.fixture
def owner(radicale: Radicale) -> str:
    return f"seller{next(_owner_numbers)}@example.com"


@pytest.fixture
def person(radicale: Radicale, owner: str) -> Iterator[CalDavPerson]:
    person = CalDavPerson(radicale)
    person.make_calendar(owner)
    person.make_calendar("other." + owner)  # the contract suite's second owner
    yield person
    person.client.close()


@pytest.fixture
def backend(radicale: Radicale, tmp_path: Path, owner: str, person) -> Iterator[CalDavBackend]:
    backend = make_backend(radicale, tmp_path, owner)
    yield backend
    backend.close()


def spec(owner: str, n: int = 1, *, start: datetime = T0, **changes) -> EventSpec:
    values = {
        "uid": f"acme:check_in:{n}",
        "owner": owner,
        "title": "Check-in: ACME Ltd",
        "description": "Last contact 3 March.",
        "start": start,
        "end": start + timedelta(minutes=30),
        "timezone": "Europe/Lisbon",
        "reminder_minutes": (15, 60),
        "tags": {"cadence": "1", "customer_id": "acme", "kind": "check_in"},
    }
    values.update(changes)
    return EventSpec(**values)


def create(backend: CalDavBackend, event_spec: EventSpec):
    (result,) = backend.write(event_spec.owner, [Create(event_spec)])
    assert result.ok, result.error
    return result.event


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
# Reading back what people did


def test_moves_and_deletions_in_another_client_are_seen_by_list_owned(
    backend, owner, person
) -> None:
    create(backend, spec(owner, 1))
    create(backend, spec(owner, 2, start=T0 + timedelta(days=7)))
    create(backend, spec(owner, 3, start=T0 + timedelta(days=14)))
    before = {e.uid: e for e in backend.list_owned(owner)}

    person.move(owner, "acme:check_in:1", T0 + timedelta(hours=4), T0 + timedelta(hours=5))
    person.delete(owner, "acme:check_in:2")
    after = {e.uid: e for e in backend.list_owned(owner)}

    assert sorted(after) == ["acme:check_in:1", "acme:check_in:3"]
    moved = after["acme:check_in:1"]
    assert (moved.start, moved.end) == (T0 + timedelta(hours=4), T0 + timedelta(hours=5))
    assert moved.etag != before["acme:check_in:1"].etag
    assert after["acme:check_in:3"] == before["acme:check_in:3"]


def test_decline_in_another_client_shows_as_declined(backend, owner, person) -> None:
    create(backend, spec(owner))
    backend.list_owned(owner)

    person.decline(owner, "acme:check_in:1")

    (listed,) = backend.list_owned(owner)
    assert listed.status == "declined"


def test_second_read_fetches_only_changes_through_the_stored_sync_token(
    backend, owner, person, monkeypatch
) -> None:
    create(backend, spec(owner, 1))
    create(backend, spec(owner, 2))
    rounds: list[tuple[str, int]] = []
    real_sync = Collection.sync

    def counting_sync(collection, token):
        new_token, changes = real_sync(collection, token)
        rounds.append((token, len(changes)))
        return new_token, changes

    monkeypatch.setattr(Collection, "sync", counting_sync)
    backend.list_owned(owner)
    backend.list_owned(owner)
    person.delete(owner, "acme:check_in:1")
    remaining = backend.list_owned(owner)

    assert [n for _, n in rounds] == [2, 0, 1]
    # The first read starts from nothing; the later ones send the token (unchanged by a read
    # that found nothing new).
    assert rounds[0][0] == "" and rounds[1][0] and rounds[2][0] == rounds[1][0]
    assert [e.uid for e in remaining] == ["acme:check_in:2"]


def test_refused_sync_token_means_a_full_reread(backend, owner, person) -> None:
    create(backend, spec(owner, 1))
    create(backend, spec(owner, 2))
    backend.list_owned(owner)
    key = next(iter(backend.context.state.values))
    saved = json.loads(backend.context.state.values[key])
    # The server forgot the token (a restore, a migration): Radicale answers 403 valid-sync-token.
    saved["token"] = "http://radicale.org/ns/sync/" + "0" * 64
    backend.context.state.values[key] = json.dumps(saved)
    person.delete(owner, "acme:check_in:1")

    listed = backend.list_owned(owner)

    assert [e.uid for e in listed] == ["acme:check_in:2"]
    assert json.loads(backend.context.state.values[key])["token"] != saved["token"]


def test_lost_state_reads_everything_again(backend, owner) -> None:
    create(backend, spec(owner, 1))
    backend.list_owned(owner)
    backend.context.state = MemoryState()

    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]


def test_list_owned_ignores_events_that_are_not_cadences(backend, owner, person) -> None:
    create(backend, spec(owner))
    person.add_event(owner, T0, T0 + timedelta(hours=1), title="Dentist")

    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]


def test_create_refuses_to_overwrite_a_persons_event_with_the_same_uid(
    backend, owner, person, radicale
) -> None:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//x//y//EN")
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", "acme:check_in:1")
    event.add("dtstamp", T0)
    event.add("dtstart", T0)
    event.add("dtend", T0 + timedelta(hours=1))
    event.add("summary", "Not cadence's")
    cal.add_component(event)
    href = calendar_url(radicale, owner) + resource_name("acme:check_in:1")
    person.client.put(href, cal.to_ical().decode(), {"Content-Type": "text/calendar"})

    (result,) = backend.write(owner, [Create(spec(owner))])

    assert result.error is not None and "not a cadence event" in str(result.error)
    assert str(person.raw(owner, "acme:check_in:1")["summary"]) == "Not cadence's"


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


# --------------------------------------------------------------------------------------------
# Configuration, credentials, discovery, failures


def test_discovery_through_the_principal_with_templated_user_and_password_file(
    radicale, tmp_path
) -> None:
    owner = "bob@example.com"
    client = caldav.DAVClient(radicale.url, auth=requests.auth.HTTPBasicAuth(owner, "bob-secret"))
    client.principal().make_calendar(name="Bob's work", cal_id="work")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "bob.txt").write_text("bob-secret\n", encoding="utf-8")
    (tmp_path / "secrets" / "bob.txt").chmod(0o600)  # a password file others can read is refused
    config = {
        "principal_url": radicale.url + "{email}/",
        "username": "{email}",
        "password_file": "secrets/{user}.txt",
    }
    assert CalDavBackend.validate_config(config) == []
    backend = CalDavBackend(config, BackendContext(base_dir=tmp_path))

    assert backend.calendar_url(owner) == f"{radicale.url}bob%40example.com/work/"
    create(backend, spec(owner))
    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]
    backend.close()


def test_explicit_calendar_table_wins_over_the_url_template(
    radicale, tmp_path, owner, person
) -> None:
    backend = make_backend(
        radicale, tmp_path, owner, calendars={owner: calendar_url(radicale, owner)}
    )
    backend.config["url"] = "http://127.0.0.1:9/nowhere/{user}/"

    assert backend.calendar_url(owner) == calendar_url(radicale, owner)


def test_wrong_password_is_an_auth_error(radicale, tmp_path, owner, person) -> None:
    backend = make_backend(radicale, tmp_path, owner)
    backend.context.env = {PASSWORD_ENV: "wrong"}

    with pytest.raises(AuthError, match="401"):
        backend.list_owned(owner)


def test_missing_password_variable_is_an_auth_error_naming_it(radicale, tmp_path, owner) -> None:
    backend = make_backend(radicale, tmp_path, owner)
    backend.context.env = {}

    with pytest.raises(AuthError, match=PASSWORD_ENV):
        backend.write(owner, [Create(spec(owner))])


def test_unreachable_server_is_transient(tmp_path) -> None:
    config = {"url": f"http://127.0.0.1:{free_port()}/{{user}}/", "timeout": 2}
    backend = CalDavBackend(config, BackendContext(base_dir=tmp_path))

    with pytest.raises(TransientError, match="cannot connect"):
        backend.busy("ana@example.com", T0, T0 + timedelta(days=1))


def test_validate_config_reports_every_problem() -> None:
    problems = CalDavBackend.validate_config(
        {
            "url": "ftp://example.com/{login}/",
            "calendars": {"not-an-email": "https://example.com/cal/"},
            "password_env": "X",
            "password_file": "y",
            "verify_tls": 3,
            "timeout": -1,
            "colour": "blue",
        }
    )

    assert problems == [
        (
            "colour",
            "unknown key (allowed: calendars, invites, password_env, password_file, principal_url, "
            "timeout, url, username, verify_tls)",
        ),
        ("url", "unknown placeholder {login} (known: {email}, {user})"),
        ("calendars", "'not-an-email' is not an e-mail address"),
        ("password_file", "set password_env or password_file, not both"),
        ("username", "a password is configured but no username"),
        ("verify_tls", "must be true, false or a CA bundle path"),
        ("timeout", "must be a positive number of seconds, got -1"),
    ]


def test_validate_config_needs_somewhere_to_find_calendars() -> None:
    assert CalDavBackend.validate_config({"username": "x"}) == [
        ("url", "set url, principal_url or calendars to find the calendars")
    ]


# -- local files: the password file and the CA bundle -------------------------------------------


def offline_backend(tmp_path: Path, **extra) -> CalDavBackend:
    """A backend whose server is never reached (the trouble is found before any request)."""
    config = {"url": f"https://127.0.0.1:{free_port()}/{{user}}/", "timeout": 2, **extra}
    assert CalDavBackend.validate_config(config) == []
    return CalDavBackend(config, BackendContext(base_dir=tmp_path))


def test_a_password_file_others_can_read_is_refused_for_that_person(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "ana.txt").write_text("ana-secret\n")
    (secrets / "ana.txt").chmod(0o644)
    backend = offline_backend(tmp_path, username="{email}", password_file="secrets/{user}.txt")
    path = secrets / "ana.txt"

    with pytest.raises(AuthError) as caught:
        backend.calendar_url("ana@example.com")

    assert str(caught.value) == (
        f"caldav: password_file: {path} can be read by other users (mode 0644); "
        f"run `chmod 600 {path}`"
    )


def test_a_missing_ca_bundle_is_a_backend_error_naming_it(tmp_path) -> None:
    backend = offline_backend(tmp_path, verify_tls="missing-ca.pem")

    with pytest.raises(BackendError) as caught:
        backend.busy("ana@example.com", T0, T0 + timedelta(days=1))

    assert type(caught.value) is BackendError  # not transient: retrying cannot fix it
    assert str(tmp_path / "missing-ca.pem") in str(caught.value)


def test_check_local_reports_a_fixed_password_file(tmp_path) -> None:
    path = tmp_path / "caldav.password"
    config = {"url": "https://dav.example.com/{user}/", "username": "cadence"}
    config["password_file"] = "caldav.password"

    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("password_file", f"cannot read {path}: No such file or directory")
    ]
    path.write_text("secret\n")
    path.chmod(0o640)
    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("password_file", f"{path} can be read by other users (mode 0640); run `chmod 600 {path}`")
    ]
    path.chmod(0o600)
    assert CalDavBackend.check_local(config, tmp_path, {}) == []


def test_check_local_checks_the_folder_of_per_person_password_files(tmp_path) -> None:
    config = {"url": "https://dav.example.com/{user}/", "username": "{email}"}
    per_person = {**config, "password_file": "secrets/{user}.caldav"}

    assert CalDavBackend.check_local(per_person, tmp_path, {}) == [
        (
            "password_file",
            f"{tmp_path / 'secrets'} (the folder of the per-salesperson password files "
            "secrets/{user}.caldav) does not exist",
        )
    ]
    (tmp_path / "secrets").mkdir()
    assert CalDavBackend.check_local(per_person, tmp_path, {}) == []
    # Next to cadence.toml, or in an absolute folder: that folder is the one checked.
    assert CalDavBackend.check_local({**config, "password_file": "{user}.pw"}, tmp_path, {}) == []
    absolute = {**config, "password_file": str(tmp_path / "none" / "{email}")}
    assert CalDavBackend.check_local(absolute, tmp_path, {}) == [
        (
            "password_file",
            f"{tmp_path / 'none'} (the folder of the per-salesperson password files "
            f"{tmp_path / 'none' / '{email}'}) does not exist",
        )
    ]


def test_check_local_reports_a_wrong_ca_bundle(tmp_path) -> None:
    config = {"url": "https://dav.example.com/{user}/", "verify_tls": "certs/ca.pem"}
    path = tmp_path / "certs" / "ca.pem"

    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("verify_tls", f"CA bundle {path} does not exist")
    ]
    path.parent.mkdir()
    path.write_text("-----BEGIN NOTHING-----\n")
    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("verify_tls", f"{path} holds no PEM certificate; give the CA certificates file")
    ]
    assert CalDavBackend.check_local({**config, "verify_tls": True}, tmp_path, {}) == []


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


def test_without_sync_collection_owned_events_come_from_a_calendar_query(
    backend, owner, person, monkeypatch
) -> None:
    create(backend, spec(owner, 1))
    create(backend, spec(owner, 2))
    person.add_event(owner, T0, T0 + timedelta(hours=1), title="Dentist")

    def no_sync(collection, token):  # a server without RFC 6578 refuses the REPORT
        raise SyncUnsupported(f"{collection.url}: sync-collection refused (403)")

    monkeypatch.setattr(Collection, "sync", no_sync)
    listed = backend.list_owned(owner)

    assert [e.uid for e in listed] == ["acme:check_in:1", "acme:check_in:2"]
    assert all(e.etag and e.remote_id for e in listed)
    assert backend.context.state.values == {}  # no token to keep


# --------------------------------------------------------------------------------------------
# Past meetings, read by what changed (sync-collection, or etags without it)

FLOOR = datetime(2027, 1, 1, tzinfo=UTC)


def sent_requests(monkeypatch) -> list[str]:
    """The requests the backend sends from now on, as ``METHOD first-element-of-the-body``."""
    sent: list[str] = []
    real_send = Transport.send

    def recording(transport, method, url, account, **kw):
        body = kw.get("body") or b""
        element = body.split(b"?>", 1)[-1].lstrip()[:40].split(b" ")[0].decode(errors="replace")
        sent.append(f"{method} {element}".strip())
        return real_send(transport, method, url, account, **kw)

    monkeypatch.setattr(Transport, "send", recording)
    return sent


def test_past_meetings_follow_a_sync_collection_stream_and_come_once(
    backend, owner, person, monkeypatch
) -> None:
    person.add_event(owner, T0, T0 + timedelta(hours=1), attendees=("bob@customer.com",))
    person.add_event(owner, T0, T0 + timedelta(hours=1), title="Alone")
    weekly = T0 + timedelta(days=1)
    person.add_event(owner, weekly, weekly + timedelta(hours=1), attendees=("amy@c.com",), weekly=3)
    [first, occurrence] = backend.new_past_events(owner, FLOOR, T0 + timedelta(days=2))
    assert (first.start, first.attendees, occurrence.start) == (
        T0,
        ("bob@customer.com",),
        weekly,
    )
    sent = sent_requests(monkeypatch)
    assert backend.new_past_events(owner, FLOOR, T0 + timedelta(days=3)) == []
    assert len(sent) == 1 and sent[0].startswith("REPORT") and "sync-collection" in sent[0]

    # Entered today for March: months old, inside the floor, in that one small answer.
    march = datetime(2027, 3, 2, 9, tzinfo=UTC)
    person.add_event(owner, march, march + timedelta(hours=1), attendees=("bob@customer.com",))
    [late] = backend.new_past_events(owner, FLOOR, T0 + timedelta(days=3, hours=1))
    assert late.start == march
    # The series did not change, yet its next occurrence is reported once its time has come.
    [second] = backend.new_past_events(owner, FLOOR, T0 + timedelta(days=8, hours=12))
    assert second.start == weekly + timedelta(days=7)


def test_without_sync_collection_past_meetings_are_found_by_etags(
    backend, owner, person, monkeypatch
) -> None:
    def no_sync(collection, token):  # a server without RFC 6578 refuses the REPORT
        raise SyncUnsupported(f"{collection.url}: sync-collection refused (403)")

    monkeypatch.setattr(Collection, "sync", no_sync)
    person.add_event(owner, T0, T0 + timedelta(hours=1), attendees=("bob@customer.com",))
    person.add_event(owner, T0, T0 + timedelta(hours=1), title="Alone")
    assert [e.start for e in backend.new_past_events(owner, FLOOR, T0 + timedelta(days=1))] == [T0]
    sent = sent_requests(monkeypatch)
    assert backend.new_past_events(owner, FLOOR, T0 + timedelta(days=2)) == []
    assert sent == ["PROPFIND <D:propfind"]  # every etag, no body fetched again

    march = datetime(2027, 3, 2, 9, tzinfo=UTC)
    person.add_event(owner, march, march + timedelta(hours=1), attendees=("amy@c.com",))
    sent.clear()
    [late] = backend.new_past_events(owner, FLOOR, T0 + timedelta(days=2, hours=1))
    assert (late.start, late.attendees) == (march, ("amy@c.com",))
    assert sent == ["PROPFIND <D:propfind", "REPORT <C:calendar-multiget"]  # only the new one


# --------------------------------------------------------------------------------------------
# A person's recurring events, expanded within bounds (connectors.recurrence, as for ics)

WINDOW = (datetime(2027, 5, 1, tzinfo=UTC), datetime(2027, 8, 29, tzinfo=UTC))  # 120 days


def person_vevent(uid: str, rrule: str, start: str, end: str, *lines: str) -> str:
    """A person's recurring VEVENT as a calendar application writes it (CRLF lines)."""
    body = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270401T120000Z", f"DTSTART:{start}",
            f"DTEND:{end}", f"RRULE:{rrule}", *lines, "END:VEVENT"]  # fmt: skip
    return "".join(line + "\r\n" for line in body)


def as_calendar(*vevents: str) -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//a person//their calendar app//EN\r\n"
    return head + "".join(vevents) + "END:VCALENDAR\r\n"


DENSE_AND_WEEKLY = (
    # Every second for an hour, inside the window.
    person_vevent("seconds@app", "FREQ=SECONDLY;UNTIL=20270510T150000Z",
                  "20270510T140000Z", "20270510T140001Z"),
    # Every minute from before the window to 2 May (Radicale refuses more than 10000 steps).
    person_vevent("minutes@app", "FREQ=MINUTELY;UNTIL=20270502T120000Z",
                  "20270426T000000Z", "20270426T003000Z"),
    # Every ten seconds, 30 times: evenly spaced, so its end is known without expanding.
    person_vevent("counted@app", "FREQ=SECONDLY;INTERVAL=10;COUNT=30",
                  "20270601T080000Z", "20270601T080005Z"),
    # Every second from 1 August on, no end: busy to the end of the window.
    person_vevent("forever@app", "FREQ=SECONDLY", "20270801T080000Z", "20270801T080001Z"),
    # An ordinary weekly meeting still counts occurrence by occurrence.
    person_vevent("weekly@app", "FREQ=WEEKLY;COUNT=3", "20270525T090000Z", "20270525T100000Z",
                  "ATTENDEE:mailto:bob@customer.com"),
)  # fmt: skip


def test_sub_hourly_series_are_busy_for_their_whole_span_in_bounded_time(
    backend, owner, person, tmp_path, caplog
) -> None:
    for vevent in DENSE_AND_WEEKLY:  # one resource per event, as CalDAV has it
        person.calendar(owner).save_event(as_calendar(vevent))
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731

    with caplog.at_level(logging.WARNING, logger="connectors.caldav"), bounded(2.0, 100):
        busy = backend.busy(owner, *WINDOW)
        past = backend.past_events(owner, *WINDOW)
        again = backend.busy(owner, *WINDOW)

    assert [(b.start, b.end, b.all_day) for b in busy] == [
        (WINDOW[0], utc(2027, 5, 2, 12, 30), False),
        (utc(2027, 5, 10, 14), utc(2027, 5, 10, 15, 0, 1), False),
        (utc(2027, 5, 25, 9), utc(2027, 5, 25, 10), False),
        (utc(2027, 6, 1, 8), utc(2027, 6, 1, 8, 4, 55), False),
        (utc(2027, 6, 1, 9), utc(2027, 6, 1, 10), False),
        (utc(2027, 6, 8, 9), utc(2027, 6, 8, 10), False),
        (utc(2027, 8, 1, 8), WINDOW[1], False),
    ]
    assert again == busy
    # The dense series give no contacts; the weekly meeting does, once a week.
    assert [(p.remote_id, p.start, p.attendees) for p in past] == [
        (f"weekly@app/{day.isoformat()}", day, ("bob@customer.com",))
        for day in (utc(2027, 5, 25, 9), utc(2027, 6, 1, 9), utc(2027, 6, 8, 9))
    ]
    for uid in ("seconds@app", "minutes@app", "counted@app", "forever@app"):
        [message] = [r.getMessage() for r in caplog.records if uid in r.getMessage()]
        assert "more than once an hour" in message  # once, though the calendar was read 3 times
        assert backend.calendar_url(owner) in message
    assert not [r for r in caplog.records if "weekly@app" in r.getMessage()]

    # The ics backend, given the same events in a file, finds exactly the same busy time.
    folder = tmp_path / "ics"
    folder.mkdir()
    (folder / f"{owner}.ics").write_text(as_calendar(*DENSE_AND_WEEKLY), encoding="utf-8")
    context = BackendContext(
        base_dir=tmp_path, salespeople=[Salesperson(owner, timezone="Europe/Lisbon")]
    )
    assert IcsBackend({"folder": "ics"}, context).busy(owner, *WINDOW) == busy


def test_a_series_changed_by_the_person_is_reported_again(backend, owner, person, caplog) -> None:
    person.calendar(owner).save_event(
        as_calendar(person_vevent("dense@app", "FREQ=SECONDLY", "20270510T140000Z",
                                  "20270510T140001Z"))
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="connectors.caldav"):
        backend.busy(owner, *WINDOW)
        backend.busy(owner, *WINDOW)
        person.move(owner, "dense@app", datetime(2027, 5, 11, 14, tzinfo=UTC),
                    datetime(2027, 5, 11, 14, 0, 1, tzinfo=UTC))  # fmt: skip
        busy = backend.busy(owner, *WINDOW)

    assert [(b.start, b.end) for b in busy] == [(datetime(2027, 5, 11, 14, tzinfo=UTC), WINDOW[1])]
    assert len([r for r in caplog.records if "dense@app" in r.getMessage()]) == 2


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
