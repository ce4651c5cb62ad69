"""A file version cadence wrote is not parsed again, in this process or the next: what the write
kept (:class:`connectors.ics.known.KnownFiles`) is exactly what parsing the file gives, and a
version anyone else made is parsed as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cadence.values.model import Salesperson
from connectors.base import BackendContext, Create, MemoryState, Update
from connectors.ics import IcsBackend
from connectors.ics.known import FORMAT
from tests.contract.suite import at, spec_for

OWNER = "ana@example.com"
WINDOW = (datetime(2027, 5, 1, tzinfo=UTC), datetime(2027, 8, 29, tzinfo=UTC))
KEY = f"ics.written:{OWNER}"


def _context(tmp_path: Path, state: MemoryState) -> BackendContext:
    return BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(OWNER, name="Ana Silva", timezone="Europe/Lisbon")],
        state=state,
        now=lambda: datetime(2027, 4, 1, 12, tzinfo=UTC),
    )


@pytest.fixture
def state() -> MemoryState:
    return MemoryState()


@pytest.fixture
def backend(tmp_path: Path, state: MemoryState) -> IcsBackend:
    return IcsBackend({"folder": "calendars"}, _context(tmp_path, state))


def _next_process(tmp_path: Path, state: MemoryState) -> IcsBackend:
    """A backend as the next ``cadence run`` makes it: the same state store, nothing else."""
    return IcsBackend({"folder": "calendars"}, _context(tmp_path, state))


def _parsing(tmp_path: Path) -> IcsBackend:
    """A backend that knows nothing: it parses the file."""
    return IcsBackend({"folder": "calendars"}, _context(tmp_path, MemoryState()))


def _path(tmp_path: Path) -> Path:
    return tmp_path / "calendars" / f"{OWNER}.ics"


def _foreign_event(tmp_path: Path) -> None:
    """A meeting a person adds next to cadence's events, as their editor would."""
    path = _path(tmp_path)
    text = path.read_bytes().decode()
    lunch = (
        "BEGIN:VEVENT\r\nUID:lunch@app\r\nDTSTAMP:20270401T120000Z\r\n"
        "DTSTART:20270506T120000Z\r\nDTEND:20270506T130000Z\r\n"
        "ATTENDEE:mailto:bob@customer.com\r\nEND:VEVENT\r\n"
    )
    path.write_bytes(text.replace("END:VCALENDAR\r\n", lunch + "END:VCALENDAR\r\n").encode())


def _same_reads(known: IcsBackend, parsing: IcsBackend) -> None:
    assert known.list_owned(OWNER) == parsing.list_owned(OWNER)
    assert known.busy(OWNER, *WINDOW) == parsing.busy(OWNER, *WINDOW)
    assert known.past_events(OWNER, *WINDOW) == parsing.past_events(OWNER, *WINDOW)


def test_the_run_after_a_write_parses_nothing_and_reads_what_a_parse_gives(
    tmp_path, backend, state
):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    _foreign_event(tmp_path)  # a person's meeting: busy time and a past meeting
    (moved,) = backend.list_owned(OWNER)
    extra = spec_for(OWNER, uid="cadence-" + "ef" * 16, start=at(7, 9), end=at(7, 10))
    backend.write(
        OWNER, [Create(extra), Update(spec_for(OWNER, start=at(4, 11), end=at(4, 12)), moved.etag)]
    )
    later = _next_process(tmp_path, state)
    parsing = _parsing(tmp_path)
    _same_reads(later, parsing)
    _same_reads(backend, parsing)
    assert parsing.busy(OWNER, *WINDOW) != [] and parsing.past_events(OWNER, *WINDOW) != []
    assert later.files.parses == 0 and later.files.reads == 0  # not even read
    assert later.new_past_events(OWNER, *WINDOW) == parsing.new_past_events(OWNER, *WINDOW)
    assert later.files.reads == 0


def test_a_file_edited_after_the_write_is_parsed(tmp_path, backend, state):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    _foreign_event(tmp_path)
    later = _next_process(tmp_path, state)
    _same_reads(later, _parsing(tmp_path))
    assert later.files.parses >= 1 and later.known.hits == 0


def test_a_file_touched_or_copied_back_is_the_same_version(tmp_path, backend, state):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    path = _path(tmp_path)
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)  # another inode and mtime, the same bytes
    later = _next_process(tmp_path, state)
    _same_reads(later, _parsing(tmp_path))
    assert later.files.parses == 0 and later.known.hits > 0


def test_an_edit_that_keeps_the_size_is_told_by_the_bytes(tmp_path, backend, state):
    backend.write(OWNER, [Create(spec_for(OWNER, title="Check-in: Acme"))])
    path = _path(tmp_path)
    path.write_bytes(
        path.read_bytes().replace(b"SUMMARY:Check-in: Acme", b"SUMMARY:Check-in: Acne")
    )
    later = _next_process(tmp_path, state)
    assert [e.title for e in later.list_owned(OWNER)] == ["Check-in: Acne"]
    assert later.known.hits == 0


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[]",
        json.dumps({"format": FORMAT + 1}),
        json.dumps({"format": FORMAT, "file": [1, 2], "events": []}),
        "kept events of another form",
    ],
)
def test_a_record_that_cannot_be_read_is_ignored(tmp_path, backend, state, stored):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    state.set(KEY, stored)
    later = _next_process(tmp_path, state)
    _same_reads(later, _parsing(tmp_path))
    assert later.files.parses >= 1 and later.known.hits == 0


@pytest.mark.parametrize("events", ['[{"uid": "x"}]', "{}", "[1]", "not json"])
def test_a_record_with_broken_events_is_ignored(tmp_path, backend, state, events):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    head = (state.get(KEY) or "").partition("\n")[0]
    state.set(KEY, head + "\n" + events)
    later = _next_process(tmp_path, state)
    assert later.list_owned(OWNER) == _parsing(tmp_path).list_owned(OWNER)
    assert later.known.hits == 0


def test_a_record_is_kept_per_zone(tmp_path, backend, state):
    """Floating times are read in the owner's zone: another zone, another reading."""
    backend.write(OWNER, [Create(spec_for(OWNER))])
    moved = BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(OWNER, name="Ana Silva", timezone="Asia/Kolkata")],
        state=state,
    )
    later = IcsBackend({"folder": "calendars"}, moved)
    later.list_owned(OWNER)
    assert later.known.hits == 0 and later.files.parses == 1


def test_what_cannot_be_kept_is_not(tmp_path, backend, state):
    """A file holding one of cadence's events that cannot be read: the read reports it."""
    backend.write(OWNER, [Create(spec_for(OWNER))])
    path = _path(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"SEQUENCE:0\r\n", b"SEQUENCE:0\r\nSEQUENCE:1\r\n"))
    backend.write(
        OWNER, [Create(spec_for(OWNER, uid="cadence-other", start=at(5, 9), end=at(5, 10)))]
    )
    assert state.get(KEY) is None
    assert sorted(e.status for e in _next_process(tmp_path, state).list_owned(OWNER)) == [
        "confirmed",
        "unreadable",
    ]
