"""cadence's events written straight to bytes are icalendar's bytes, and read back as the write
says: :func:`connectors.ics.render.render_event` against icalendar building and serialising
the same event (:func:`connectors.ics.build.build_event`), the folding and escaping it uses
against icalendar's own, and the shortcuts of the text cleaning against the long way."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser.content_line import Contentline

from connectors.base import EventSpec
from connectors.email import _clean_text_slowly, _one_line_slowly, clean_text, one_line
from connectors.ics.build import build_event
from connectors.ics.events import etag_of, remote_event
from connectors.ics.lines import component_bytes, escape_text, fold
from connectors.ics.render import render_event

OWNER = "ana@example.com"

# Any text a customer file or a policy can hold (lone surrogates are refused before this).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
# Mostly what cadence writes, and the characters escaping, folding and cleaning care about.
_TRICKY = st.text(
    st.sampled_from(["a", "Z", " ", "\\", "N", "n", ";", ",", ":", '"', "^", "\n", "\r", "\t",
                     "\x0b", "\x85", "\u2028", "é", "€", "😀", "\xa0", "\x00", "'"]),
    max_size=160,
)  # fmt: skip
_ANY = st.one_of(_TEXT, _TRICKY)
_NAMES = st.from_regex(r"[\w .@+-]{0,30}", fullmatch=True)  # names as people have them
_ZONES = st.sampled_from([
    "UTC", "Etc/UTC", "GMT", "Europe/Lisbon", "Europe/London", "America/New_York",
    "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns", "Etc/GMT+5", "UCT",
    "Arctic/Longyearbyen",
])  # fmt: skip
_STAMP_ZONES = st.sampled_from(
    [UTC, None, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=3))]
)
_TAG_KEYS = st.from_regex(r"\A[a-z0-9]{1,6}(_[a-z0-9]{1,4})?\Z").filter(
    lambda k: k not in {"uid", "generated", "customer_description"}
)


@st.composite
def _specs(draw: st.DrawFn) -> tuple[EventSpec, str, int, datetime, datetime, datetime]:
    all_day = draw(st.booleans())
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 60 * 24 * 900)),
        microseconds=draw(st.sampled_from([0, 0, 0, 1, 999_999])),
    )
    length = timedelta(minutes=draw(st.integers(1, 60 * 30)))
    start: date | datetime = base.date() if all_day else base
    end: date | datetime = (
        base.date() + timedelta(days=draw(st.integers(1, 3))) if all_day else base + length
    )
    if not all_day and draw(st.booleans()):  # the caller's zone is not the salesperson's
        start = base.astimezone(ZoneInfo("America/New_York"))
    guests = draw(st.lists(st.sampled_from(["bob@customer.com", "Cy@Other.org", "d@e.f"]),
                           max_size=2, unique=True))  # fmt: skip
    spec = EventSpec(
        uid=draw(st.one_of(st.just("cadence-0123456789abcdef0123456789abcdef"), _ANY)),
        owner=OWNER,
        title=draw(_ANY),
        description=draw(_ANY),
        start=start,
        end=end,
        all_day=all_day,
        transparent=draw(st.booleans()),
        timezone=draw(_ZONES),
        attendees=tuple(guests),
        attendee_names={g: draw(st.one_of(_ANY, _NAMES)) for g in guests if draw(st.booleans())},
        reminder_minutes=tuple(draw(st.lists(st.integers(0, 3000), max_size=3))),
        tags=draw(st.dictionaries(_TAG_KEYS, _ANY, max_size=3)),
        customer_description=draw(_ANY),
        location=draw(_ANY),
    )
    zone = draw(_STAMP_ZONES)
    stamps = [
        (base - timedelta(minutes=draw(st.integers(0, 10**6)))).astimezone(zone or UTC)
        for _ in range(3)
    ]
    stamps = [s.replace(tzinfo=None) if zone is None else s for s in stamps]
    owner_name = draw(st.one_of(_ANY, _NAMES))
    return spec, owner_name, draw(st.integers(-3, 10**6)), *stamps  # type: ignore[return-value]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_specs())
def test_a_rendered_event_is_the_bytes_icalendar_writes_of_the_built_one(args):
    spec, owner_name, sequence, stamp, created, modified = args
    built = build_event(spec, owner_name, sequence, stamp, created, modified)
    rendered = render_event(spec, owner_name, sequence, stamp, created, modified, OWNER)
    assert rendered.data == built.to_ical() == component_bytes(built)
    assert rendered.start == built["DTSTART"].dt and rendered.end == built["DTEND"].dt
    # What the write reports is what it reported when it built the object...
    reported = remote_event(built, OWNER, UTC, with_etag=False)
    assert rendered.remote == replace(reported, etag=etag_of(rendered.data))
    # ... and what the next read of the file gives is what parsing the bytes gives.
    parsed = icalendar.Event.from_ical(rendered.data)
    for zone in (UTC, ZoneInfo("Asia/Kolkata")):
        assert rendered.read_back("Ana@Example.com", zone) == remote_event(
            parsed, "Ana@Example.com", zone
        )
    assert rendered.event().to_ical() == built.to_ical()


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.one_of(_TEXT, _TRICKY, st.text(st.sampled_from('ab\\^;,:" é€😀'), max_size=400)))
def test_lines_fold_as_icalendar_folds_them(text):
    """At most 74 octets a line, never inside a character, an escape never at a line's end."""
    line = "DESCRIPTION:" + text.replace("\n", "").replace("\r", "")
    assert fold(line) == Contentline(line).to_ical() + b"\r\n"


@settings(max_examples=500, deadline=None, derandomize=True)
@given(_ANY)
def test_text_is_escaped_as_icalendar_escapes_it(text):
    assert escape_text(text) == icalendar.vText(text).to_ical().decode("utf-8")


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.one_of(_ANY, st.text(max_size=80)))
def test_cleaning_text_takes_a_shortcut_to_the_same_result(text):
    assert one_line(text) == _one_line_slowly(text)
    assert clean_text(text) == _clean_text_slowly(text)


def test_the_first_sync_renders_without_building_icalendar_objects(monkeypatch):
    """Only an invitation, or a second operation on an event in one batch, builds one."""
    spec = EventSpec(
        uid="cadence-" + "ab" * 16, owner=OWNER, title="Check-in: Acme", description="Agenda",
        start=datetime(2027, 5, 4, 9, tzinfo=UTC), end=datetime(2027, 5, 4, 10, tzinfo=UTC),
        timezone="Europe/Lisbon",
    )  # fmt: skip
    render_event(spec, "Ana", 0, spec.start, spec.start, spec.start, OWNER)  # forms cached
    calls: list[object] = []
    monkeypatch.setattr(icalendar.Event, "add", lambda *a, **k: calls.append(a))
    later = replace(spec, start=spec.start + timedelta(days=1), end=spec.end + timedelta(days=1))
    render_event(later, "Ana", 0, spec.start, spec.start, spec.start, OWNER)
    assert calls == []
