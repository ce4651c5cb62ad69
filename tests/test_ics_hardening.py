"""The ics backend given bad input: one broken event, a recurring event that would take hours
to expand, a umask: each is handled on its own, reported once, and the rest goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser.content_line import Contentline

from cadence.values.model import Salesperson
from connectors.base import BackendContext, BackendError, Cancel, Create, EventSpec, Update
from connectors.ics import UNKNOWN_TIME, UNREADABLE, IcsBackend, process_umask
from connectors.ics.build import build_event, new_calendar
from connectors.ics.cache import without_cadence_events
from connectors.ics.draft import Draft, refresh_timezones
from connectors.ics.events import etag, etag_of, is_owned
from connectors.ics.lines import fold_ascii
from connectors.ics.parse import parse
from connectors.ics.serial import serialise
from connectors.recurrence import limits
from tests.contract.suite import at, only, spec_for
from tests.cost import bounded

OWNER = "ana@example.com"
WINDOW = (datetime(2027, 5, 1, tzinfo=UTC), datetime(2027, 8, 29, tzinfo=UTC))  # 120 days


@pytest.fixture
def backend(tmp_path: Path) -> IcsBackend:
    context = BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(OWNER, name="Ana Silva", timezone="Europe/Lisbon")],
        now=lambda: datetime(2027, 4, 1, 12, tzinfo=UTC),
    )
    return IcsBackend({"folder": "calendars"}, context)


def calendar_file(tmp_path: Path) -> Path:
    return tmp_path / "calendars" / f"{OWNER}.ics"


def vevent(uid: str, *lines: str, start: str = "20270504T130000Z", end: str = "") -> str:
    """A foreign VEVENT as a calendar application writes it (CRLF lines)."""
    body = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20270401T120000Z",
        *([f"DTSTART:{start}"] if start else []),
        *([f"DTEND:{end}"] if end else []),
        *lines,
        "END:VEVENT",
    ]
    return "".join(line + "\r\n" for line in body)


def add_to_file(tmp_path: Path, *events: str) -> None:
    """Put ``events`` (raw text) at the end of the calendar file, as a person's editor would."""
    path = calendar_file(tmp_path)
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("END:VCALENDAR\r\n")
    path.write_bytes(
        (text[: -len("END:VCALENDAR\r\n")] + "".join(events)).encode() + b"END:VCALENDAR\r\n"
    )


def edit_cadence_event(tmp_path: Path, uid: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` inside cadence's event ``uid``; returns the new file text."""
    path = calendar_file(tmp_path)
    text = path.read_bytes().decode("utf-8")
    block = event_block(text, uid)
    begin = text.index(block)
    cut = begin + len(block)
    assert old in block
    text = text[:begin] + block.replace(old, new, 1) + text[cut:]
    path.write_bytes(text.encode("utf-8"))
    return text


def event_block(text: str, uid: str) -> str:
    begin = text.rindex("BEGIN:VEVENT", 0, text.index(f"\r\nUID:{uid}\r\n"))
    return text[begin : text.index("END:VEVENT", begin)]


def warnings_naming(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# --------------------------------------------------------------------------------------------
# (a) recurring events that would take hours to expand


def test_sub_hourly_series_are_busy_for_their_whole_span_in_bounded_time(tmp_path, backend, caplog):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        # Every second for an hour, inside the window.
        vevent("seconds@app", "RRULE:FREQ=SECONDLY;UNTIL=20270510T150000Z",
               start="20270510T140000Z", end="20270510T140001Z"),
        # Every minute since January 2026 (13.8 s of CPU and 508 MB before), until 20 May.
        vevent("minutes@app", "RRULE:FREQ=MINUTELY;UNTIL=20270520T120000Z",
               start="20260101T090000Z", end="20260101T093000Z"),
        # Every ten seconds, 30 times: evenly spaced, so its end is known without expanding.
        vevent("counted@app", "RRULE:FREQ=SECONDLY;INTERVAL=10;COUNT=30",
               start="20270601T080000Z", end="20270601T080005Z"),
        # Every second from 1 August on, no end: busy to the end of the window.
        vevent("forever@app", "RRULE:FREQ=SECONDLY", start="20270801T080000Z",
               end="20270801T080001Z"),
        # An ordinary weekly meeting still counts occurrence by occurrence.
        vevent("weekly@app", "RRULE:FREQ=WEEKLY;COUNT=3", "ATTENDEE:mailto:bob@customer.com",
               start="20270525T090000Z", end="20270525T100000Z"),
    )  # fmt: skip
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731

    with caplog.at_level(logging.WARNING, logger="connectors.ics"), bounded(2.0, 100):
        busy = backend.busy(OWNER, *WINDOW)
        past = backend.past_events(OWNER, *WINDOW)
        again = backend.busy(OWNER, *WINDOW)

    assert [(b.start, b.end) for b in busy] == [
        (WINDOW[0], utc(2027, 5, 20, 12, 30)),
        (utc(2027, 5, 10, 14), utc(2027, 5, 10, 15, 0, 1)),
        (utc(2027, 5, 25, 9), utc(2027, 5, 25, 10)),
        (utc(2027, 6, 1, 8), utc(2027, 6, 1, 8, 4, 55)),
        (utc(2027, 6, 1, 9), utc(2027, 6, 1, 10)),
        (utc(2027, 6, 8, 9), utc(2027, 6, 8, 10)),
        (utc(2027, 8, 1, 8), WINDOW[1]),
    ]
    assert again == busy
    # The dense series give no contacts; the weekly meeting does.
    assert [(p.remote_id, p.attendees) for p in past] == [
        (f"weekly@app/{day:%Y%m%d}T090000Z", ("bob@customer.com",))
        for day in (date(2027, 5, 25), date(2027, 6, 1), date(2027, 6, 8))
    ]
    for uid in ("seconds@app", "minutes@app", "counted@app", "forever@app"):
        [message] = warnings_naming(caplog, uid)  # once, though the file was read three times
        assert str(calendar_file(tmp_path)) in message
        assert "more than once an hour" in message
    assert warnings_naming(caplog, "weekly@app") == []


def test_a_rule_that_names_no_real_day_counts_once_and_costs_little(tmp_path, backend, caplog):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        # 30 February does not exist: the expander would walk every day up to the year 9999.
        vevent("feb30@app", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
               start="20270505T090000Z", end="20270505T100000Z"),
        vevent("hourly@app", "RRULE:FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31;UNTIL=20271231T000000Z",
               start="20270506T090000Z", end="20270506T093000Z"),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="connectors.ics"), bounded(2.0, 100):
        busy = backend.busy(OWNER, *WINDOW)
    assert [(b.start, b.end) for b in busy] == [
        (at(5, 9), at(5, 10)),
        (at(6, 9), at(6, 9, 30)),
    ]
    [message] = warnings_naming(caplog, "feb30@app")
    assert "names no day that exists" in message and str(calendar_file(tmp_path)) in message


def test_a_series_with_too_many_steps_counts_whole(tmp_path, backend, caplog, monkeypatch):
    monkeypatch.setattr(limits, "MAX_STEPS_PER_SERIES", 100)
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        # 200 days before the window: more steps than the (lowered) cap.
        vevent("daily@app", "RRULE:FREQ=DAILY;UNTIL=20270515T000000Z",
               start="20261001T090000Z", end="20261001T100000Z"),
        vevent("short@app", "RRULE:FREQ=DAILY;COUNT=2", start="20270503T090000Z",
               end="20270503T100000Z"),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="connectors.ics"):
        busy = backend.busy(OWNER, *WINDOW)
    assert [(b.start, b.end) for b in busy] == [
        (WINDOW[0], datetime(2027, 5, 15, 1, tzinfo=UTC)),  # UNTIL plus the hour it lasts
        (at(3, 9), at(3, 10)),
        (at(4, 9), at(4, 10)),
    ]
    [message] = warnings_naming(caplog, "daily@app")
    assert "too many occurrences" in message


def test_the_file_cap_on_occurrences_stops_expanding(tmp_path, backend, caplog, monkeypatch):
    monkeypatch.setattr(limits, "MAX_OCCURRENCES_PER_CALENDAR", 5)
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        vevent("many@app", "RRULE:FREQ=DAILY;COUNT=50", start="20270503T090000Z",
               end="20270503T100000Z"),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="connectors.ics"):
        busy = backend.busy(OWNER, *WINDOW)
    # Five occurrences, then the series counts whole: never less busy than it is.
    assert [(b.start, b.end) for b in busy] == [
        (at(3, 9), at(3, 10)),
        (at(3, 9), datetime(2027, 6, 21, 10, tzinfo=UTC)),
        (at(4, 9), at(4, 10)),
        (at(5, 9), at(5, 10)),
        (at(6, 9), at(6, 10)),
        (at(7, 9), at(7, 10)),
    ]
    [message] = warnings_naming(caplog, "many@app")
    assert "more than 5 occurrences" in message


# --------------------------------------------------------------------------------------------
# (b) one broken event


def test_a_duplicated_sequence_makes_that_event_unreadable_and_nothing_else(
    tmp_path, backend, caplog
):
    broken_spec = spec_for(OWNER)
    other = spec_for(OWNER, uid="cadence-other", start=at(5, 9), end=at(5, 10))
    backend.write(OWNER, [Create(broken_spec), Create(other)])
    text = edit_cadence_event(tmp_path, broken_spec.uid, "SEQUENCE:0\r\n",
                              "SEQUENCE:0\r\nSEQUENCE:3\r\n")  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="connectors.ics"):
        events = backend.list_owned(OWNER)
        assert backend.list_owned(OWNER) == events
    broken, fine = events
    assert (broken.uid, broken.status, broken.start, broken.end) == (
        broken_spec.uid, UNREADABLE, broken_spec.start, broken_spec.end,
    )  # fmt: skip
    assert broken.tags["customer"] == "acme" and broken.title == broken_spec.title
    assert (fine.uid, fine.status) == (other.uid, "confirmed")
    [message] = warnings_naming(caplog, broken_spec.uid)  # once for this version of the file
    assert "SEQUENCE appears 2 times" in message and str(calendar_file(tmp_path)) in message

    moved = spec_for(OWNER, start=at(6, 9), end=at(6, 10))
    third = spec_for(OWNER, uid="cadence-third", start=at(7, 9), end=at(7, 10))
    results = backend.write(
        OWNER, [Update(moved), Cancel(OWNER, broken_spec.uid), Create(broken_spec), Create(third)]
    )
    for result in results[:3]:
        assert isinstance(result.error, BackendError)
        assert "unreadable" in str(result.error) and "fix it in the file" in str(result.error)
    assert results[3].ok
    after = calendar_file(tmp_path).read_bytes().decode("utf-8")
    assert event_block(after, broken_spec.uid) == event_block(text, broken_spec.uid)
    assert after.count(f"\r\nUID:{broken_spec.uid}\r\n") == 1
    assert [e.uid for e in backend.list_owned(OWNER)] == [
        broken_spec.uid, other.uid, third.uid,
    ]  # fmt: skip
    # The file changed: its new version is reported again, once.
    assert len(warnings_naming(caplog, broken_spec.uid)) == 2


@pytest.mark.parametrize(
    ("old", "new", "reason", "times"),
    [
        ("DTSTART;TZID=Europe/Lisbon:20270504T110000",
         "DTSTART;TZID=Europe/Lisbon:20270504T110000\r\nDTSTART:20270509T110000Z",
         "DTSTART appears 2 times", (at(4, 10), at(4, 10, 30))),
        ("DTSTART;TZID=Europe/Lisbon:20270504T110000", "DTSTART:tomorrow",
         "bad DTSTART", (UNKNOWN_TIME, UNKNOWN_TIME)),
        ("X-CADENCE-KIND:check_in", "X-CADENCE-KIND:check_in\r\nX-CADENCE-KIND:winback",
         "X-CADENCE-KIND appears 2 times", (at(4, 10), at(4, 10, 30))),
    ],
)  # fmt: skip
def test_other_broken_cadence_events_are_unreadable(tmp_path, backend, old, new, reason, times):
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    text = edit_cadence_event(tmp_path, spec.uid, old, new)
    [event] = backend.list_owned(OWNER)
    assert (event.uid, event.status, event.start, event.end) == (spec.uid, UNREADABLE, *times)
    [result] = backend.write(OWNER, [Cancel(OWNER, spec.uid)])
    assert reason in str(result.error)
    assert calendar_file(tmp_path).read_bytes().decode("utf-8") == text


def test_two_cadence_events_with_one_uid_are_unreadable_and_never_duplicated(tmp_path, backend):
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    text = calendar_file(tmp_path).read_bytes().decode("utf-8")
    add_to_file(tmp_path, event_block(text, spec.uid) + "END:VEVENT\r\n")
    [event] = backend.list_owned(OWNER)
    assert event.status == UNREADABLE
    [result] = backend.write(OWNER, [Create(spec)])
    assert "two events have this UID" in str(result.error)
    assert (
        calendar_file(tmp_path).read_bytes().decode("utf-8").count(f"\r\nUID:{spec.uid}\r\n") == 2
    )


def test_a_broken_foreign_event_is_left_out_and_the_rest_counts(tmp_path, backend, caplog):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        vevent("bad-time@app", start="tomorrow", end="20270504T140000Z"),
        vevent("no-start@app", start=""),
        vevent("dentist@app", start="20270504T150000Z", end="20270504T160000Z"),
        # A broken line that is not about time: the event still counts as busy.
        vevent("odd@app", "CATEGORIES;X=\"unclosed:work", start="20270506T150000Z",
               end="20270506T160000Z"),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="connectors.ics"):
        busy = backend.busy(OWNER, *WINDOW)
        backend.past_events(OWNER, *WINDOW)
    assert [(b.start, b.end) for b in busy] == [(at(4, 15), at(4, 16)), (at(6, 15), at(6, 16))]
    for uid in ("bad-time@app", "no-start@app"):
        [message] = warnings_naming(caplog, uid)
        assert "left out of busy time" in message
    [message] = warnings_naming(caplog, "odd@app")
    assert "still counts as busy" in message
    assert [e.uid for e in backend.list_owned(OWNER)] == [spec_for(OWNER).uid]


def test_a_file_whose_broken_part_would_not_survive_is_never_rewritten(tmp_path, backend):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    # icalendar reads this RRULE as empty and would write "RRULE:" back: the rule would be lost.
    add_to_file(tmp_path, vevent("garbage@app", "RRULE:garbage", end="20270504T140000Z"))
    before = calendar_file(tmp_path).read_bytes()
    assert backend.busy(OWNER, *WINDOW) == []  # left out: its recurrence cannot be read
    with pytest.raises(BackendError, match=r"garbage@app.*writes nothing"):
        backend.write(OWNER, [Create(spec_for(OWNER, uid="cadence-new"))])
    assert calendar_file(tmp_path).read_bytes() == before


def test_a_file_whose_broken_part_survives_is_still_written(tmp_path, backend):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(tmp_path, vevent("twice@app", "SUMMARY:one", "SUMMARY:two", end="20270504T140000Z"))
    new = spec_for(OWNER, uid="cadence-new", start=at(5, 9), end=at(5, 10))
    assert only(backend.write(OWNER, [Create(new)])).uid == new.uid
    text = calendar_file(tmp_path).read_bytes().decode("utf-8")
    assert "SUMMARY:one\r\n" in event_block(text, "twice@app")
    assert "SUMMARY:two\r\n" in event_block(text, "twice@app")


# --------------------------------------------------------------------------------------------
# (c) the mode of a new file follows the umask


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o027, 0o640), (0o077, 0o600), (0o022, 0o644)])
def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path, backend, mask, mode):
    with umask(mask):
        assert process_umask() == mask
        backend.write(OWNER, [Create(spec_for(OWNER))])
    assert calendar_file(tmp_path).stat().st_mode & 0o777 == mode


def test_an_existing_file_keeps_its_mode(tmp_path, backend):
    backend.write(OWNER, [Create(spec_for(OWNER))])
    calendar_file(tmp_path).chmod(0o604)
    with umask(0o077):
        backend.write(OWNER, [Create(spec_for(OWNER, uid="cadence-new"))])
    assert calendar_file(tmp_path).stat().st_mode & 0o777 == 0o604


def test_the_umask_is_read_without_proc_too(tmp_path):
    with umask(0o027):
        assert process_umask(tmp_path / "no-such-status") == 0o027
        assert process_umask() == 0o027  # and the fallback put it back


# Any text a customer file or a policy can hold, in every field the builder writes from.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
_ZONES = st.sampled_from(["UTC", "Europe/Lisbon", "America/New_York", "Asia/Kolkata"])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    title=_TEXT,
    description=_TEXT,
    location=_TEXT,
    customer_text=_TEXT,
    guest_name=_TEXT,
    tag=_TEXT,
    zone=_ZONES,
    minute=st.integers(0, 60 * 24 * 400),
    all_day=st.booleans(),
)
def test_an_event_cadence_builds_reads_back_as_its_own_bytes(
    title, description, location, customer_text, guest_name, tag, zone, minute, all_day
):
    """A write never parses back the events it built (IcsBackend.write): that is sound only
    because each reads back with no problem, and serialises again to exactly its bytes, so
    the hash of those bytes is the etag every later read computes."""
    start = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    spec = EventSpec(
        uid="cadence-0123456789abcdef0123456789abcdef",
        owner=OWNER,
        title=title,
        description=description,
        start=start.date() if all_day else start,
        end=(start.date() + timedelta(days=1)) if all_day else start + timedelta(minutes=30),
        all_day=all_day,
        timezone=zone,
        attendees=("guest@example.com",),
        attendee_names={"guest@example.com": guest_name},
        tags={"key": tag, "customer": "B1"},
        customer_description=customer_text,
        location=location,
    )
    cal = new_calendar(OWNER, "Ana Silva")
    event = build_event(spec, "Ana Silva", 0, start, start, start)
    cal.add_component(event)
    draft = Draft.of(cal)
    refresh_timezones(draft)
    cal.subcomponents[:] = draft.parts  # type: ignore[assignment]
    written = serialise(draft)
    assert written.data == cal.to_ical()
    loaded = parse(written.data, Path("x.ics"))
    assert loaded.problems == {}
    (back,) = loaded.cal.walk("VEVENT")
    mine = next(part for component, part in written.parts if component is event)
    assert back.to_ical() == mine
    assert etag(back) == etag_of(mine)


def test_busy_time_read_without_cadences_events_is_what_the_whole_file_gives(tmp_path, backend):
    """Busy time and past meetings parse the file without cadence's own events (most of a
    salesperson's file): what they find is exactly what the whole file gives, whatever a
    person wrote next to cadence's events (a copy made in an app, an alarm that carries a
    cadence-looking UID, a folded UID line, a series and its exception)."""
    ours = "cadence-" + "ab" * 16
    writer = backend
    writer.write(
        OWNER,
        [
            Create(spec_for(OWNER, uid=ours)),
            Create(spec_for(OWNER, uid="cadence-other", start=at(5, 9), end=at(5, 10))),
        ],
    )
    add_to_file(
        tmp_path,
        vevent("copy@app", f"X-CADENCE-UID:{ours}", "ATTENDEE:mailto:bob@customer.com",
               start="20270506T090000Z", end="20270506T100000Z"),
        vevent("alarm@app", "BEGIN:VALARM", f"UID:{ours}", "ACTION:DISPLAY",
               "TRIGGER:-PT5M", "END:VALARM", start="20270507T090000Z", end="20270507T100000Z"),
        vevent("folded-uid-that-is-long-enough-to-fold-over-the-line-limit-of-seventy-five@app",
               start="20270508T090000Z", end="20270508T100000Z").replace("-of-", "-of\r\n -", 1),
        vevent("weekly@app", "RRULE:FREQ=WEEKLY;COUNT=3", "ATTENDEE:mailto:bob@customer.com",
               start="20270511T090000Z", end="20270511T100000Z"),
        vevent("weekly@app", "RECURRENCE-ID:20270518T090000Z", start="20270518T120000Z",
               end="20270518T130000Z"),
        vevent(ours, "RECURRENCE-ID:20270504T100000Z", start="20270504T150000Z",
               end="20270504T160000Z"),
        vevent("lf@app", start="20270509T090000Z", end="20270509T100000Z").replace("\r\n", "\n"),
        vevent("cadence-" + "cd" * 16, start="20270510T090000Z").replace("\r\n", "\n"),
    )  # fmt: skip
    data = calendar_file(tmp_path).read_bytes()
    whole = parse(data, calendar_file(tmp_path))
    foreign = parse(without_cadence_events(data), calendar_file(tmp_path))
    assert [e.to_ical() for e in whole.cal.walk("VEVENT") if not is_owned(e)] == [
        e.to_ical() for e in foreign.cal.walk("VEVENT") if not is_owned(e)
    ]
    assert len(list(foreign.cal.walk("VEVENT"))) == len(list(whole.cal.walk("VEVENT"))) - 3
    assert len(writer.list_owned(OWNER)) == 3  # the writer parsed the whole file
    fresh = IcsBackend({"folder": "calendars"}, backend.context)  # busy time first: a part
    assert fresh.busy(OWNER, *WINDOW) == writer.busy(OWNER, *WINDOW) != []
    assert fresh.past_events(OWNER, *WINDOW) == writer.past_events(OWNER, *WINDOW) != []
    assert fresh.files.parses == 1 and writer.files.parses == 1


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(st.sampled_from('ab\\^;,:" '), max_size=400))
def test_ascii_lines_fold_as_icalendar_folds_them(text):
    """Escapes (a backslash, a caret) never end a folded line: as icalendar does it."""
    line = Contentline("DESCRIPTION:" + text)
    assert fold_ascii(line).encode() == line.to_ical()


def test_what_a_write_hands_the_next_read_is_what_parsing_the_file_gives(tmp_path, backend):
    """A write keeps the file as written for the next read of this process (the daemon's
    next cycle), with the events it built in their places unparsed: the same events, etags,
    busy time and past meetings as a fresh read of the file."""
    backend.write(OWNER, [Create(spec_for(OWNER))])
    add_to_file(
        tmp_path,
        vevent("lunch@app", "ATTENDEE:mailto:bob@customer.com", start="20270506T120000Z",
               end="20270506T130000Z"),
    )  # fmt: skip
    first = spec_for(OWNER, uid="cadence-" + "ef" * 16, start=at(7, 9), end=at(7, 10))
    (moved,) = backend.list_owned(OWNER)
    backend.write(
        OWNER,
        [Create(first), Update(spec_for(OWNER, start=at(4, 11), end=at(4, 12)), moved.etag)],
    )
    parses = backend.files.parses
    fresh = IcsBackend({"folder": "calendars"}, backend.context)
    assert backend.list_owned(OWNER) == fresh.list_owned(OWNER)
    assert backend.busy(OWNER, *WINDOW) == fresh.busy(OWNER, *WINDOW) != []
    assert backend.past_events(OWNER, *WINDOW) == fresh.past_events(OWNER, *WINDOW) != []
    assert backend.files.parses == parses  # nothing parsed again
