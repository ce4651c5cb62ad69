"""The file a write produced, told to what comes after it without reading it again: the etag of
each event the batch built (:func:`as_written`), and what a read of the new file would find in
it (:func:`as_read`): cadence's events as :meth:`IcsBackend.list_owned` gives them, and the
file without them, all that busy time and past meetings read."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo

import icalendar

from connectors.base import BackendError, RemoteEvent, WriteResult
from connectors.ics.draft import Part
from connectors.ics.events import etag_of, is_owned, owned_entries, remote_event
from connectors.ics.parse import Loaded
from connectors.ics.render import BuiltEvent
from connectors.ics.serial import Serialised

_END = b"END:VCALENDAR\r\n"


def as_written(
    results: list[WriteResult],
    built: Mapping[str, Part],
    fresh: Collection[int],
    written: Serialised,
) -> list[WriteResult]:
    """``results`` with the etag of each event the batch built (``fresh``: the ids of those
    results' events): the hash of its bytes in the file, which is what every later read
    computes (an event cadence builds reads back as the same bytes: see
    :func:`connectors.ics.build.build_event`), so it is serialised once. An event that is in
    the file as it was built has that etag already (its bytes are the file's)."""
    part = {id(component): data for component, data in written.parts}
    out = []
    for r in results:
        if r.event is not None and id(r.event) in fresh:
            ev = built.get(r.event.uid)
            if isinstance(ev, BuiltEvent) and ev.remote is r.event:
                out.append(r)  # in the file as built: ev.data (serialise writes it so)
                continue
            data = part.get(id(ev)) if ev is not None else None
            if data is None:  # cannot be: every event built is in the file
                raise BackendError(f"event {r.event.uid!r} did not read back from the file")
            r = replace(r, event=replace(r.event, etag=etag_of(data)))
        out.append(r)
    return out


@dataclass(frozen=True, slots=True)
class AsRead:
    """What a read of a file finds in it: cadence's events as
    :meth:`IcsBackend.list_owned` gives them (sorted by uid), and the file without them
    (what busy time and past meetings read, :func:`connectors.ics.foreign.foreign_occurrences`)."""

    events: list[RemoteEvent]
    foreign: bytes


def as_read(
    after: Loaded, written: Serialised, left_out: Iterable[Part], owner: str, zone: tzinfo
) -> AsRead | None:
    """What a read of the file as written finds in it, from ``after`` (the rest of the file,
    parsed by the round-trip check) and the components ``left_out`` of that check (the events
    the batch built, each reads back as its bytes, and VTIMEZONEs checked on their own). None
    when a read must parse the file to say (one of cadence's events in it cannot be read, or
    two have one uid: :meth:`IcsBackend.list_owned` reports those) or when the two do not line
    up (cannot be)."""
    mine = {id(part) for part in left_out}
    rest = after.cal.subcomponents
    if len(rest) != sum(1 for c, _ in written.parts if id(c) not in mine):
        return None
    parsed = iter(rest)
    new: list[RemoteEvent] = []
    foreign = [written.head]
    for component, data in written.parts:
        if id(component) in mine:
            if isinstance(component, BuiltEvent):
                new.append(component.read_back(owner, zone))
            elif component.name != "VEVENT":  # a VTIMEZONE: part of the file without events
                foreign.append(data)
            else:  # built as an object (a second operation on its uid): read as a read would
                event = icalendar.Event.from_ical(data)
                assert isinstance(event, icalendar.Event)
                new.append(remote_event(event, owner, zone))
            continue
        counterpart = next(parsed)
        if counterpart.name != "VEVENT" or not is_owned(counterpart):  # type: ignore[arg-type]
            foreign.append(data)
    foreign.append(_END)
    entries = owned_entries(after.cal, after.problems, owner, zone)
    events = [entry.remote for entry in entries.values()]
    if any(event is None for event in events):
        return None
    uids = {event.uid for event in new}
    if len(uids) != len(new) or uids & set(entries):
        return None  # two events with one uid: unreadable, as a read says
    found = [event for event in events if event is not None] + new
    return AsRead(sorted(found, key=lambda e: e.uid), b"".join(foreign))
