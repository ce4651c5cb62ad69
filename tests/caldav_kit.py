"""A real Radicale server for the caldav backend's tests, and the salesperson acting in it.

The salesperson (``person``) is a *different* CalDAV client: the ``caldav`` library's own
object API, the way any other calendar app would change the events. Test modules take the
fixtures by name (``radicale, owner, person, backend = caldav_kit.radicale, ...``).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import caldav
import icalendar
import pytest
import requests

from cadence.values.model import Salesperson
from connectors.base import BackendContext, Create, EventSpec, MemoryState
from connectors.caldav import CalDavBackend
from tests.local_servers import Radicale, radicale_server

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
