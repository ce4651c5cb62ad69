"""The ics backend: the contract suite, and what is particular to files.

:class:`IcsPerson` edits the .ics file the way a calendar application would: it loads the file
with icalendar, changes it, and writes it back (without cadence's lock or atomic rename).
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import vobject

from cadence.values.model import Salesperson
from connectors import load_backend
from connectors.base import (
    BackendContext,
    BackendError,
    Cancel,
    Create,
    MemoryState,
    TransientError,
    Update,
)
from connectors.ics import IcsBackend
from connectors.ics import writing as ics_writing
from tests.contract.past_meetings import (
    KeptOwnershipContract,
    PastMeetingsContract,
    RecurringPastMeetingsContract,
)
from tests.contract.suite import BackendContract, at, only, spec_for

OWNER = "ana@example.com"


class IcsPerson:
    """The salesperson editing ``<folder>/<owner>.ics`` with a calendar application."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def edit(self, owner: str) -> Iterator[icalendar.Calendar]:
        path = self.folder / f"{owner}.ics"
        if path.exists():
            cal = icalendar.Calendar.from_ical(path.read_bytes())
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            cal = icalendar.Calendar()
            cal.add("prodid", "-//Example Corp.//Calendar App//EN")
            cal.add("version", "2.0")
        yield cal
        cal.add_missing_timezones()
        path.write_bytes(cal.to_ical())

    @staticmethod
    def find(cal: icalendar.Calendar, uid: str) -> icalendar.Event:
        [event] = [e for e in cal.events if str(e["UID"]) == uid]
        return event

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        with self.edit(owner) as cal:
            event = self.find(cal, uid)
            zone = getattr(event["DTSTART"].dt, "tzinfo", None)
            for name, value in (("DTSTART", start), ("DTEND", end)):
                del event[name]
                if isinstance(value, datetime) and zone is not None:
                    value = value.astimezone(zone)  # apps keep the event's zone
                event.add(name, value)
            event.pop("LAST-MODIFIED", None)
            event.add("last-modified", datetime.now(UTC))

    def delete(self, owner: str, uid: str) -> None:
        with self.edit(owner) as cal:
            cal.subcomponents.remove(self.find(cal, uid))

    def decline(self, owner: str, uid: str) -> None:
        with self.edit(owner) as cal:
            attendees = self.find(cal, uid).get("ATTENDEE")
            for attendee in attendees if isinstance(attendees, list) else [attendees]:
                if str(attendee).lower() == f"mailto:{owner}":
                    attendee.params["PARTSTAT"] = "DECLINED"

    def cancel(self, owner: str, uid: str) -> None:
        with self.edit(owner) as cal:
            event = self.find(cal, uid)
            event.pop("STATUS", None)
            event.add("status", "CANCELLED")

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
        rrule: dict | None = None,
        declined_by: Sequence[str] = (),
        cancelled: bool = False,
        weekly: int = 0,
    ) -> str:
        uid = f"{uuid.uuid4()}@calendar-app.example"
        if weekly:
            rrule = {"FREQ": "WEEKLY", "COUNT": weekly}
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", title)
        if transparent:
            event.add("transp", "TRANSPARENT")
        if rrule:
            event.add("rrule", rrule)
        if attendees:
            event.add("organizer", f"mailto:{owner}")
            for address in attendees:
                answer = "DECLINED" if address in declined_by else "ACCEPTED"
                event.add("attendee", f"mailto:{address}", parameters={"PARTSTAT": answer})
        if cancelled:
            event.add("status", "CANCELLED")
        with self.edit(owner) as cal:
            cal.add_component(event)
        return uid

    def strip_cadence_properties(self, owner: str, uid: str) -> None:
        """Save cadence's event ``uid`` the way a client that drops unknown properties does:
        same UID, no ``X-CADENCE-*``."""
        with self.edit(owner) as cal:
            event = self.find(cal, uid)
            for name in [n for n in event if n.upper().startswith("X-CADENCE-")]:
                del event[name]


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(OWNER, name="Ana Silva", timezone="Europe/Lisbon")],
        now=lambda: datetime(2027, 4, 1, 12, tzinfo=UTC),
    )


@pytest.fixture
def backend(context: BackendContext) -> IcsBackend:
    return IcsBackend({"folder": "calendars"}, context)


@pytest.fixture
def owner() -> str:
    return OWNER


@pytest.fixture
def person(tmp_path: Path) -> IcsPerson:
    return IcsPerson(tmp_path / "calendars")


class TestIcsContract(
    BackendContract, PastMeetingsContract, RecurringPastMeetingsContract, KeptOwnershipContract
):
    pass


# -- helpers ---------------------------------------------------------------------------------


def calendar_file(tmp_path: Path, owner: str = OWNER) -> Path:
    return tmp_path / "calendars" / f"{owner}.ics"


def parsed(tmp_path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(calendar_file(tmp_path).read_bytes())


def vevent(tmp_path: Path, uid: str) -> icalendar.Event:
    return IcsPerson.find(parsed(tmp_path), uid)


# -- configuration ---------------------------------------------------------------------------


def test_ics_backend_is_registered_by_name():
    assert load_backend("ics") is IcsBackend


def test_config_rejects_unknown_keys_and_wrong_types():
    problems = IcsBackend.validate_config({"folder": 3, "invites": "yes", "colour": "red"})
    assert sorted(key for key, _ in problems) == ["colour", "folder", "invites"]
    assert IcsBackend.validate_config({"folder": "cal", "invites": False, "busy_folder": "b"}) == []


def test_folder_is_relative_to_the_base_dir(tmp_path, context):
    backend = IcsBackend({}, context)
    backend.write(OWNER, [Create(spec_for(OWNER))])
    assert (tmp_path / "calendars" / "ana@example.com.ics").is_file()


# -- the file --------------------------------------------------------------------------------


def test_written_file_has_the_rfc5545_properties_of_the_booking(tmp_path, backend):
    spec = spec_for(OWNER, reminder_minutes=(10, 60), attendees=("Bob@Customer.com",))
    backend.write(OWNER, [Create(spec)])
    cal = parsed(tmp_path)
    assert str(cal["VERSION"]) == "2.0"
    assert "PRODID" in cal
    event = vevent(tmp_path, spec.uid)
    assert str(event["X-CADENCE-UID"]) == spec.uid
    assert str(event["X-CADENCE-CUSTOMER"]) == "acme"
    assert str(event["X-CADENCE-KIND"]) == "check_in"
    assert str(event["X-CADENCE-KEY"]) == f"{spec.uid}:key"
    assert str(event["TRANSP"]) == "OPAQUE"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTAMP"].dt == datetime(2027, 4, 1, 12, tzinfo=UTC)
    assert event["LAST-MODIFIED"].dt == datetime(2027, 4, 1, 12, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Lisbon"
    assert event["DTSTART"].dt == spec.start
    assert [tz["TZID"] for tz in cal.timezones] == ["Europe/Lisbon"]
    assert str(event["ORGANIZER"]) == f"mailto:{OWNER}"
    assert event["ORGANIZER"].params["CN"] == "Ana Silva"
    people = {str(a): a.params["PARTSTAT"] for a in event["ATTENDEE"]}
    assert people == {f"mailto:{OWNER}": "ACCEPTED", "mailto:Bob@Customer.com": "NEEDS-ACTION"}
    triggers = sorted(alarm["TRIGGER"].dt for alarm in event.walk("VALARM"))
    assert triggers == [timedelta(minutes=-60), timedelta(minutes=-10)]
    assert {str(alarm["ACTION"]) for alarm in event.walk("VALARM")} == {"DISPLAY"}


def test_anniversary_reminder_is_an_all_day_transparent_event(tmp_path, backend):
    spec = spec_for(
        OWNER, uid="cadence-acme-anniversary_reminder-5", title="Anniversary: ACME Ltd (5 years)",
        start=date(2027, 6, 1), end=date(2027, 6, 2), all_day=True, transparent=True,
    )  # fmt: skip
    backend.write(OWNER, [Create(spec)])
    event = vevent(tmp_path, spec.uid)
    assert str(event["TRANSP"]) == "TRANSPARENT"
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (date(2027, 6, 1), date(2027, 6, 2))
    assert event.walk("VALARM")
    assert backend.busy(OWNER, at(31, 0), datetime(2027, 6, 3, tzinfo=UTC)) == []


def test_a_second_parser_reads_the_same_events(tmp_path, backend):
    """vobject (with dateutil's VTIMEZONE handling) must agree with what cadence meant."""
    specs = [
        spec_for(OWNER, uid="cadence-plain", tags={"customer": "Müller, Söhne; & Co"}),
        spec_for(
            OWNER, uid="cadence-lisbon-dst", start=datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
            end=datetime(2027, 3, 28, 2, 30, tzinfo=UTC),
        ),
        spec_for(
            OWNER, uid="cadence-ny-repeated-hour", timezone="America/New_York",
            start=datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
            end=datetime(2027, 11, 7, 6, 30, tzinfo=UTC),
        ),
        spec_for(
            OWNER, uid="cadence-allday", start=date(2027, 6, 1), end=date(2027, 6, 2),
            all_day=True, transparent=True,
        ),
    ]  # fmt: skip
    backend.write(OWNER, [Create(s) for s in specs])
    text = calendar_file(tmp_path).read_text(encoding="utf-8")
    [vcal] = list(vobject.readComponents(text))
    events = {ev.uid.value: ev for ev in vcal.vevent_list}
    assert sorted(events) == sorted(s.uid for s in specs)
    for spec in specs:
        ev = events[spec.uid]
        start, end = ev.dtstart.value, ev.dtend.value
        if spec.all_day:
            assert (start, end) == (spec.start, spec.end)
        else:
            assert (start.astimezone(UTC), end.astimezone(UTC)) == (spec.start, spec.end)
        assert ev.summary.value == spec.title
        assert ev.x_cadence_uid.value == spec.uid
        assert int(ev.sequence.value) == 0
    assert events["cadence-plain"].x_cadence_customer.value == "Müller, Söhne; & Co"
    assert events["cadence-allday"].transp.value == "TRANSPARENT"
    assert [a.trigger.value for a in events["cadence-plain"].valarm_list] == [
        timedelta(minutes=-15)
    ]


def test_sequence_increments_on_every_change_and_not_on_a_retry(tmp_path, backend):
    spec = spec_for(OWNER)
    first = only(backend.write(OWNER, [Create(spec)]))
    retry = only(backend.write(OWNER, [Create(spec)]))
    assert (retry.sequence, retry.etag) == (0, first.etag)
    moved = spec_for(OWNER, start=at(5, 10), end=at(5, 11))
    second = only(backend.write(OWNER, [Update(moved, etag=first.etag)]))
    retitled = spec_for(OWNER, start=at(5, 10), end=at(5, 11), title="Check-in: ACME Group")
    third = only(backend.write(OWNER, [Update(retitled, etag=second.etag)]))
    assert (first.sequence, second.sequence, third.sequence) == (0, 1, 2)
    assert int(vevent(tmp_path, spec.uid)["SEQUENCE"]) == 2


def test_an_unchanged_write_does_not_touch_the_file(tmp_path, backend):
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    before = calendar_file(tmp_path).stat()
    backend.write(OWNER, [Create(spec), Cancel(OWNER, "cadence-never-made")])
    after = calendar_file(tmp_path).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_atomic_write_leaves_no_temporary_files(tmp_path, backend):
    for i in range(5):
        spec = spec_for(OWNER, uid=f"cadence-{i}", start=at(4, 9 + i), end=at(4, 10 + i))
        backend.write(OWNER, [Create(spec)])
    backend.write(OWNER, [Cancel(OWNER, "cadence-0")])
    names = sorted(p.name for p in (tmp_path / "calendars").iterdir())
    assert names == [".ana@example.com.ics.lock", "ana@example.com.ics"]


def test_a_broken_file_raises_and_is_not_overwritten(tmp_path, backend, person):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    path = calendar_file(tmp_path)
    broken = path.read_text(encoding="utf-8").replace("END:VCALENDAR", "")
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(BackendError, match=r"ana@example\.com\.ics: not a valid iCalendar"):
        backend.list_owned(OWNER)
    with pytest.raises(BackendError, match="will not overwrite"):
        backend.write(OWNER, [Create(spec_for(OWNER, uid="cadence-other"))])
    with pytest.raises(BackendError):
        backend.busy(OWNER, at(4, 0), at(5, 0))
    assert path.read_text(encoding="utf-8") == broken


def test_a_bad_date_in_the_file_names_the_event(tmp_path, backend, person):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    path = calendar_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    broken = text.replace("DTSTART;TZID=Europe/Lisbon:20270504T110000", "DTSTART:tomorrow")
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    # The event is reported as unreadable (naming its uid), not the whole file; it is left alone.
    [event] = backend.list_owned(OWNER)
    assert (event.uid, event.status) == ("cadence-acme-check_in-1", "unreadable")
    [result] = backend.write(OWNER, [Cancel(OWNER, event.uid)])
    assert "bad DTSTART" in str(result.error)
    assert path.read_text(encoding="utf-8") == broken


def test_status_cancelled_set_in_the_file_reads_as_cancelled(backend, person):
    created = only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    person.cancel(OWNER, created.uid)
    [event] = backend.list_owned(OWNER)
    assert event.status == "cancelled"
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert backend.write(OWNER, [Cancel(OWNER, created.uid)])[0].ok
    assert backend.list_owned(OWNER) == []


def test_events_a_person_added_survive_cadence_writes(tmp_path, backend, person):
    uid = person.add_event(OWNER, at(4, 15), at(4, 16), title="Dentist")
    backend.write(OWNER, [Create(spec_for(OWNER))])
    backend.write(OWNER, [Cancel(OWNER, spec_for(OWNER).uid)])
    assert str(vevent(tmp_path, uid)["SUMMARY"]) == "Dentist"
    assert [(b.start, b.end) for b in backend.busy(OWNER, at(4, 0), at(5, 0))] == [
        (at(4, 15), at(4, 16))
    ]


def test_a_copy_made_in_an_app_is_not_cadences(tmp_path, backend, person):
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    with person.edit(OWNER) as cal:
        copy = icalendar.Event.from_ical(IcsPerson.find(cal, spec.uid).to_ical())
        copy["UID"] = icalendar.vText("copied-in-app")
        cal.add_component(copy)
    assert [e.uid for e in backend.list_owned(OWNER)] == [spec.uid]
    busy = backend.busy(OWNER, at(4, 0), at(5, 0))
    assert [(b.start, b.end) for b in busy] == [(spec.start, spec.end)]


def test_recurring_busy_events_are_expanded_in_the_window(backend, person):
    weekly = {"FREQ": "WEEKLY", "COUNT": 10}
    person.add_event(OWNER, at(3, 8), at(3, 9), title="Weekly sync", rrule=weekly)
    busy = backend.busy(OWNER, at(9, 0), at(24, 0))
    assert [(b.start, b.end) for b in busy] == [
        (at(10, 8), at(10, 9)),
        (at(17, 8), at(17, 9)),
    ]


def test_busy_folder_events_count_as_busy(tmp_path, context):
    exported = IcsPerson(tmp_path / "exported")
    exported.add_event(OWNER, at(4, 13), at(4, 14), title="From the other calendar")
    exported.add_event(OWNER, date(2027, 5, 6), date(2027, 5, 7), all_day=True, title="OOO")
    backend = IcsBackend({"busy_folder": "exported"}, context)
    busy = backend.busy(OWNER, at(4, 0), at(8, 0))
    lisbon_day = (datetime(2027, 5, 5, 23, tzinfo=UTC), datetime(2027, 5, 6, 23, tzinfo=UTC))
    assert [(b.start, b.end, b.all_day) for b in busy] == [
        (at(4, 13), at(4, 14), False),
        (*lisbon_day, True),  # an all-day event is a day in the salesperson's zone
    ]
    assert backend.busy("bo@example.com", at(4, 0), at(8, 0)) == []


def test_tag_names_the_file_cannot_carry_are_rejected_per_op(backend):
    bad = spec_for(OWNER, uid="cadence-bad", tags={"Customer-ID": "x"})
    good = spec_for(OWNER, uid="cadence-good")
    results = backend.write(OWNER, [Create(bad), Create(good)])
    assert isinstance(results[0].error, BackendError)
    assert "Customer-ID" in str(results[0].error)
    assert results[1].ok


def test_backend_state_is_not_needed_to_read_the_file_back(tmp_path, context):
    spec = spec_for(OWNER)
    IcsBackend({}, context).write(OWNER, [Create(spec)])
    fresh = IcsBackend({}, BackendContext(base_dir=tmp_path, state=MemoryState()))
    [event] = fresh.list_owned(OWNER)
    assert (event.uid, event.start, event.end) == (spec.uid, spec.start, spec.end)


def _write_many(base_dir: str, worker: int) -> None:
    backend = IcsBackend({}, BackendContext(base_dir=Path(base_dir)))
    for i in range(10):
        uid = f"cadence-w{worker}-{i}"
        backend.write(OWNER, [Create(spec_for(OWNER, uid=uid))])


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_write_many, args=(str(tmp_path), w)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    backend = IcsBackend({}, BackendContext(base_dir=tmp_path))
    assert len(backend.list_owned(OWNER)) == 20


def test_an_edit_saved_while_cadence_writes_is_kept(tmp_path, backend, person, monkeypatch):
    created = only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    real_refresh = ics_writing.refresh_timezones
    edits = []

    def person_saves_meanwhile(cal):
        if not edits:  # the app saves its version after cadence read the file
            edits.append(person.add_event(OWNER, at(4, 15), at(4, 16), title="Saved meanwhile"))
        real_refresh(cal)

    monkeypatch.setattr(ics_writing, "refresh_timezones", person_saves_meanwhile)
    other = spec_for(OWNER, uid="cadence-other", start=at(5, 9), end=at(5, 10))
    assert only(backend.write(OWNER, [Create(other)])).uid == other.uid
    assert sorted(e.uid for e in backend.list_owned(OWNER)) == [created.uid, other.uid]
    assert str(vevent(tmp_path, edits[0])["SUMMARY"]) == "Saved meanwhile"


def test_a_file_that_keeps_changing_gives_a_transient_error(tmp_path, backend, monkeypatch):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    path = calendar_file(tmp_path)
    real_refresh = ics_writing.refresh_timezones

    def someone_touches_the_file(cal):
        path.write_bytes(path.read_bytes() + b"\r\n")
        real_refresh(cal)

    monkeypatch.setattr(ics_writing, "refresh_timezones", someone_touches_the_file)
    with pytest.raises(TransientError, match="kept changing"):
        backend.write(OWNER, [Create(spec_for(OWNER, uid="cadence-other"))])
    assert [e.uid for e in backend.list_owned(OWNER)] == [spec_for(OWNER).uid]


def test_past_events_name_occurrences_of_recurring_meetings_apart(backend, person):
    weekly = {"FREQ": "WEEKLY", "COUNT": 4}
    series = person.add_event(
        OWNER, at(3, 8), at(3, 9), attendees=("Bob@Customer.com",), rrule=weekly
    )
    single = person.add_event(OWNER, at(5, 14), at(5, 15), attendees=("eve@customer.com",))
    past = backend.past_events(OWNER, at(1, 0), at(12, 0))
    assert [(p.remote_id, p.start, p.attendees) for p in past] == [
        (f"{series}/20270503T080000Z", at(3, 8), ("bob@customer.com",)),
        (single, at(5, 14), ("eve@customer.com",)),
        (f"{series}/20270510T080000Z", at(10, 8), ("bob@customer.com",)),
    ]
