"""The caldav backend reading what the calendar holds: what people did to cadence's events (with
sync-collection or without), past meetings by what changed, a person's recurring series.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import icalendar

from cadence.values.model import Salesperson
from connectors.base import BackendContext, Create, MemoryState
from connectors.caldav.ical import resource_name
from connectors.caldav.webdav import Collection, SyncUnsupported, Transport
from connectors.ics import IcsBackend
from tests import caldav_kit
from tests.caldav_kit import T0, calendar_url, create, spec
from tests.cost import bounded

radicale, owner, person, backend = (
    caldav_kit.radicale,
    caldav_kit.owner,
    caldav_kit.person,
    caldav_kit.backend,
)


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
