"""Fuzz: reading back .ics files, mutations of a real file the ics backend wrote.

The file is written by :meth:`IcsBackend.write` (cadence's own bookings: timed, all-day,
with attendees) and holds what a calendar application adds (recurring series with a zone and
exceptions, all-day and declined events). Mutated copies are read with ``list_owned``, ``busy``
and ``past_events``: each returns its values or raises :class:`BackendError`, within the deadline
and a memory bound (recurrence expansion must not run away on ``FREQ=SECONDLY``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
from hypothesis import event, given
from hypothesis import strategies as st

from cadence.values.model import Salesperson
from connectors.base import BackendContext, Create, EventSpec, MemoryState
from connectors.ics import IcsBackend
from tests.fuzz.fuzzkit import fuzz, mutate, mutate_lines, mutations, outcome, peak_memory_below

OWNER = "ana@example.com"
START = datetime(2027, 4, 1, tzinfo=UTC)
END = datetime(2027, 7, 1, tzinfo=UTC)
TAGS = {"cadence": "1", "customer": "acme", "kind": "check_in"}
# Property lines worth splicing into the file: recurrence that expands to a lot, odd dates.
ICS_TOKENS = (
    "RRULE:FREQ=SECONDLY;INTERVAL=1",
    "RRULE:FREQ=MINUTELY",
    "RRULE:FREQ=DAILY;COUNT=1000000000",
    "RRULE:FREQ=YEARLY;BYMONTH=13",
    "RRULE:FREQ=WEEKLY;UNTIL=99991231T000000Z",
    "DTSTART:00010101T000000Z",
    "DTSTART:99991231T235959Z",
    "DTSTART;TZID=America:20270504T100000",
    "DTSTART;TZID=Mars/Olympus:20270504T100000",
    "DTEND;VALUE=DATE:20270504",
    "DURATION:P9999999W",
    "DURATION:-PT1H",
    "EXDATE:garbage",
    "RECURRENCE-ID:20270511T100000Z",
    "ATTENDEE;PARTSTAT=DECLINED:mailto:ana@example.com",
    "ATTENDEE:mailto:",
    "ORGANIZER:mailto:\x00@x.com",
    "X-CADENCE-UID:foreign-1@calendar-app.example",
    "STATUS:CANCELLED",
    "TRANSP:TRANSPARENT",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "BEGIN:VTIMEZONE",
    "SEQUENCE:99999999999999999999999",
)


def _spec(uid: str, **changes: object) -> EventSpec:
    values: dict = {
        "uid": uid,
        "owner": OWNER,
        "title": "Check-in: ACME Ltd",
        "description": "Last contact 2 March 2027.\nAsk what problems they had.",
        "start": datetime(2027, 5, 4, 10, tzinfo=UTC),
        "end": datetime(2027, 5, 4, 10, 30, tzinfo=UTC),
        "timezone": "Europe/Lisbon",
        "tags": dict(TAGS, key=f"{uid}:key"),
    }
    values.update(changes)
    return EventSpec(**values)


def _backend(folder: Path) -> IcsBackend:
    person = Salesperson(email=OWNER, timezone="Europe/Lisbon")
    context = BackendContext(base_dir=folder, salespeople=(person,), state=MemoryState())
    return IcsBackend({"folder": "calendars"}, context)


def _foreign(
    uid: str, start: datetime | date, end: datetime | date, **props: object
) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime(2027, 1, 1, tzinfo=UTC))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    for name, value in props.items():
        ev.add(name, value)
    return ev


def _real_file() -> bytes:
    """A calendar file as the demo leaves it, plus what a person's calendar app added."""
    with tempfile.TemporaryDirectory() as folder:
        backend = _backend(Path(folder))
        results = backend.write(
            OWNER,
            [
                Create(_spec("cadence-acme-check_in-1")),
                Create(
                    _spec(
                        "cadence-acme-anniversary_reminder-1",
                        title="Anniversary: ACME Ltd (5 years)",
                        start=date(2027, 5, 10),
                        end=date(2027, 5, 11),
                        all_day=True,
                        transparent=True,
                    )
                ),
                Create(
                    _spec(
                        "cadence-beta-check_in-1",
                        title="Check-in: Beta",
                        start=datetime(2027, 6, 1, 14, tzinfo=UTC),
                        end=datetime(2027, 6, 1, 14, 45, tzinfo=UTC),
                        attendees=("buyer@beta.example",),
                    )
                ),
            ],
        )
        assert all(r.ok for r in results), results
        path = backend.path_for(OWNER)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        lisbon = "Europe/Lisbon"
        weekly = _foreign(
            "weekly@calendar-app.example",
            datetime(2027, 4, 5, 9, 0),
            datetime(2027, 4, 5, 10, 0),
            rrule={"FREQ": "WEEKLY", "COUNT": 20},
            exdate=datetime(2027, 4, 12, 9, 0),
            attendees=None,
        )
        weekly["DTSTART"].params["TZID"] = lisbon
        weekly["DTEND"].params["TZID"] = lisbon
        for ev in (
            weekly,
            _foreign(
                "lunch@calendar-app.example",
                datetime(2027, 5, 5, 12, tzinfo=UTC),
                datetime(2027, 5, 5, 13, tzinfo=UTC),
                organizer="mailto:ana@example.com",
                attendee=["mailto:buyer@acme.example", "mailto:ana@example.com"],
                summary="Lunch with ACME",
            ),
            _foreign("holiday@calendar-app.example", date(2027, 5, 20), date(2027, 5, 22)),
            _foreign(
                "free@calendar-app.example",
                datetime(2027, 5, 6, 8, tzinfo=UTC),
                datetime(2027, 5, 6, 9, tzinfo=UTC),
                transp="TRANSPARENT",
            ),
        ):
            ev.pop("ATTENDEES", None)
            cal.add_component(ev)
        return cal.to_ical()


REAL = _real_file()
ics_edits = st.one_of(
    mutations(max_ops=6).map(lambda ops: ("bytes", ops)),
    mutations(max_ops=4).map(lambda ops: ("lines", ops)),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(ICS_TOKENS)), min_size=1, max_size=4
    ).map(lambda picks: ("tokens", picks)),
)


def _edited(edit: tuple[str, list]) -> bytes:
    kind, ops = edit
    if kind == "bytes":
        return mutate(REAL, ops)
    text = REAL.decode("utf-8")
    if kind == "lines":
        return mutate_lines(text, ops).encode("utf-8")
    lines = text.split("\r\n")
    for position, token in ops:
        lines.insert(position % len(lines), token)
    return "\r\n".join(lines).encode("utf-8")


@fuzz(weight=0.5)
@given(ics_edits)
def test_mutated_calendar_files_read_back_or_fail_cleanly(edit):
    with tempfile.TemporaryDirectory() as folder:
        backend = _backend(Path(folder))
        path = backend.path_for(OWNER)
        path.parent.mkdir(parents=True)
        path.write_bytes(_edited(edit))
        with peak_memory_below(300):
            owned = outcome(backend.list_owned, OWNER)
            busy = outcome(backend.busy, OWNER, START, END)
            past = outcome(backend.past_events, OWNER, START, END)
    event("unreadable file" if isinstance(owned, Exception) else "read")
    if not isinstance(owned, Exception):
        for remote in owned:
            assert remote.owner == OWNER and remote.uid
    if not isinstance(busy, Exception):
        for interval in busy:
            assert interval.start.tzinfo is not None and interval.end.tzinfo is not None
            assert interval.start < interval.end
    if not isinstance(past, Exception):
        for item in past:
            assert item.start.tzinfo is not None and item.start <= item.end
            assert OWNER not in item.attendees


def test_the_unmutated_file_reads_back_whole():
    with tempfile.TemporaryDirectory() as folder:
        backend = _backend(Path(folder))
        path = backend.path_for(OWNER)
        path.parent.mkdir(parents=True)
        path.write_bytes(REAL)
        owned = backend.list_owned(OWNER)
        busy = backend.busy(OWNER, START, END)
        past = backend.past_events(OWNER, START, END)
    assert [e.uid for e in owned] == [
        "cadence-acme-anniversary_reminder-1",
        "cadence-acme-check_in-1",
        "cadence-beta-check_in-1",
    ]
    # Of the 20 Mondays from 5 April, 13 fall before 1 July, one is an exception; the lunch;
    # the holiday. Cadence's own bookings and the transparent event are not busy time.
    assert len(busy) == 12 + 1 + 1
    assert [p.attendees for p in past if p.title == "Lunch with ACME"] == [("buyer@acme.example",)]
    assert timedelta(0) < busy[0].end - busy[0].start
