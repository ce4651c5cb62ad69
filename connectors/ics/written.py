"""The file a write produced, told to what comes after it without reading it again: the etag of
each event the batch built (:func:`as_written`) and the file as the next read would parse it
(:func:`with_built`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import icalendar

from connectors.base import BackendError, WriteResult
from connectors.ics import parse
from connectors.ics.events import etag_of
from connectors.ics.serial import Serialised


def as_written(
    results: list[WriteResult], built: Mapping[str, icalendar.Event], written: Serialised
) -> list[WriteResult]:
    """``results`` with the etag of each event the batch built: the hash of its bytes in the
    file, which is what every later read computes (an event cadence builds reads back as the
    same bytes: see :func:`connectors.ics.build.build_event`), so it is serialised once."""
    part = {id(component): data for component, data in written.parts}
    out = []
    for r in results:
        if r.event is not None and r.event.etag is None:
            ev = built.get(r.event.uid)
            data = part.get(id(ev)) if ev is not None else None
            if data is None:  # cannot be: every event built is in the file
                raise BackendError(f"event {r.event.uid!r} did not read back from the file")
            r = replace(r, event=replace(r.event, etag=etag_of(data)))
        out.append(r)
    return out


def with_built(
    after: parse.Loaded, cal: icalendar.Calendar, built: Iterable[icalendar.Event], data: bytes
) -> parse.Loaded | None:
    """The file as written (``data``) as the next read would parse it: ``after`` (the rest of
    the file, parsed by the round-trip check) with the events the batch built in their places
    (each reads back as itself, see :func:`as_written`); None when they do not line up."""
    mine = {id(ev) for ev in built}
    rest = after.cal.subcomponents
    if len(rest) != sum(1 for c in cal.subcomponents if id(c) not in mine):
        return None
    parsed = iter(rest)
    after.cal.subcomponents = [c if id(c) in mine else next(parsed) for c in cal.subcomponents]
    return parse.Loaded(after.path, after.cal, after.problems, parse.version_of(data))
