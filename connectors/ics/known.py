"""The file versions cadence wrote, told to later reads without parsing them again.

A write knows what a read of the file it wrote would find (:func:`connectors.ics.written.as_read`):
cadence's events as :meth:`IcsBackend.list_owned` gives them, and the file without them (what
busy time and past meetings read). :class:`KnownFiles` keeps that for each owner's file in the
backend's :class:`~connectors.state.StateStore` (the events in the common codec,
:mod:`connectors.common.codec`), keyed by the version the write produced: the file's inode,
size and modification time, and the SHA-256 of its bytes. A later read, in this process or
the next, of a file still at that version (same inode, size and mtime; or other ones and the
same bytes) takes it from there; any other version (a person edited the file) is parsed as
before. What is kept is also keyed by the owner's zone (floating times are read in it) and by
:data:`FORMAT`, the version of this record's form: a record from another format or zone, or one
that cannot be read, is ignored (and replaced by the next write).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import BackendError, RemoteEvent, StateStore
from connectors.common.codec import event_from_json, event_to_json
from connectors.ics.files import fingerprint

if TYPE_CHECKING:  # parsing is imported when a record's file must be parsed (icalendar)
    from connectors.ics.parse import Loaded
    from connectors.ics.written import AsRead

log = logging.getLogger(__name__)

FORMAT = 1  # the form of a record; a record of another form is ignored


@dataclass(slots=True)
class _Record:
    seen: tuple[int, int, int]  # inode, size and mtime (ns) of the file as written
    digest: str  # SHA-256 of its bytes
    zone: str
    events: str  # the events as JSON, in the common codec: decoded only when asked for
    foreign: bytes
    owned: list[RemoteEvent] | None = None  # ``events`` decoded, once
    parsed: Loaded | None = None  # ``foreign`` parsed, once
    checked: tuple[int, int, int] | None = None  # a stat seen to hold other bytes


class KnownFiles:
    """What each owner's file held when cadence last wrote it (see the module docs)."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        self._records: dict[str, _Record | None] = {}  # owner (lower case) -> record
        self.hits = 0  # reads answered from a record (for tests and benchmarks)

    def remember(
        self, owner: str, path: Path, zone: tzinfo, data: bytes, found: AsRead | None
    ) -> None:
        """``path`` now holds ``data`` (just written by this process), in which a read finds
        ``found`` (None: a read must parse it to say). A file that is not ``data``'s size any
        more was changed meanwhile by someone else: nothing is kept (the next read parses it)."""
        seen = fingerprint(path)
        record = None
        if found is not None and seen is not None and seen[1] == len(data):
            record = _Record(
                seen,
                hashlib.sha256(data).hexdigest(),
                str(zone),
                json.dumps([event_to_json(e) for e in found.events], separators=(",", ":")),
                found.foreign,
                owned=found.events,
            )
        self._records[owner.lower()] = record
        try:
            self.state.set(_key(owner), _encode(record) if record is not None else None)
        except Exception as exc:  # a record is a shortcut: without it the next process parses
            log.warning("%s: cannot keep what was written in the state store: %s", path, exc)

    def owned(self, owner: str, path: Path, zone: tzinfo) -> list[RemoteEvent] | None:
        """cadence's events in ``owner``'s file as :meth:`IcsBackend.list_owned` gives them,
        when the file is still as cadence wrote it; else None."""
        record = self._current(owner, path, zone)
        if record is None:
            return None
        if record.owned is None:
            try:
                record.owned = [event_from_json(owner, e) for e in _event_list(record.events)]
            except (KeyError, TypeError, ValueError, AttributeError):
                self._records[owner.lower()] = None  # unreadable: parse the file instead
                return None
        self.hits += 1
        return [e if e.owner == owner else replace(e, owner=owner) for e in record.owned]

    def holds_others(self, owner: str, path: Path, zone: tzinfo) -> bool | None:
        """Whether ``owner``'s file holds anyone else's events, when it is still as cadence
        wrote it (None when it is not): when it holds none, busy time and past meetings have
        nothing to read in it, and nothing is parsed."""
        record = self._current(owner, path, zone)
        if record is None:
            return None
        if _holds_events(record.foreign):
            return True  # :meth:`foreign` answers (and counts the hit)
        self.hits += 1
        return False

    def foreign(self, owner: str, path: Path, zone: tzinfo) -> Loaded | None:
        """``owner``'s file without cadence's events, parsed (its version is the file's),
        when the file is still as cadence wrote it; else None."""
        record = self._current(owner, path, zone)
        if record is None:
            return None
        if record.parsed is None:
            import icalendar

            from connectors.ics.parse import Loaded, parse

            version = record.digest[:16]
            if not _holds_events(record.foreign):  # nobody else's events
                record.parsed = Loaded(path, icalendar.Calendar(), {}, version)
            else:
                try:
                    loaded = parse(record.foreign, path)
                except BackendError:  # cannot be: it was part of a file that read back
                    self._records[owner.lower()] = None
                    return None
                record.parsed = Loaded(path, loaded.cal, loaded.problems, version)
        self.hits += 1
        return record.parsed

    def version(self, owner: str, path: Path, zone: tzinfo) -> str | None:
        """The version of ``owner``'s file (:func:`connectors.ics.files.version_of`) when it
        is still as cadence wrote it, without reading it; else None."""
        record = self._current(owner, path, zone)
        return None if record is None else record.digest[:16]

    def _current(self, owner: str, path: Path, zone: tzinfo) -> _Record | None:
        """The record of ``owner``'s file when the file is at its version, else None."""
        record = self._record(owner)
        if record is None or record.zone != str(zone):
            return None
        seen = fingerprint(path)
        if seen is None or seen == record.checked:
            return None
        if seen == record.seen:
            return record
        if seen[1] != record.seen[1]:
            return None
        try:  # touched, or copied back: the same bytes are the same version
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != record.digest:
            record.checked = seen
            return None
        record.seen = seen
        return record

    def _record(self, owner: str) -> _Record | None:
        name = owner.lower()
        if name not in self._records:
            self._records[name] = _decode(self.state.get(_key(owner)))
        return self._records[name]


def _holds_events(foreign: bytes) -> bool:
    """Does the file without cadence's events hold a VEVENT (anyone else's)?"""
    return b"\nBEGIN:VEVENT" in foreign.upper()


def _key(owner: str) -> str:
    return f"ics.written:{owner.lower()}"


def _encode(record: _Record) -> str:
    """The record as stored: a line of JSON saying which file version it is of, then the
    events' JSON (so that busy time reads the first line alone)."""
    head = {
        "format": FORMAT,
        "file": list(record.seen),
        "sha256": record.digest,
        "zone": record.zone,
        "foreign": record.foreign.decode("utf-8"),
    }
    return json.dumps(head, separators=(",", ":")) + "\n" + record.events


def _decode(raw: str | None) -> _Record | None:
    """The record stored as ``raw`` (its events still JSON); None when there is none, or it
    is of another format or cannot be read (ignored: the file is parsed, and the next write
    replaces it)."""
    if not raw:
        return None
    head_json, _, events = raw.partition("\n")
    try:
        head = json.loads(head_json)
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            return None
        ino, size, mtime = (int(n) for n in head["file"])
        return _Record(
            (ino, size, mtime),
            str(head["sha256"]),
            str(head["zone"]),
            events,
            str(head["foreign"]).encode("utf-8"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _event_list(raw: str) -> list[dict[str, Any]]:
    """The events of a record, decoded; :class:`ValueError` when they are not a list of
    objects."""
    events = json.loads(raw)
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("not a list of events")
    return events
