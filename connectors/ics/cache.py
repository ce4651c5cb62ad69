"""Parsed files kept while they stay the same, and the view of a file without cadence's events.

A file is parsed once per version (:class:`LoadCache`). Busy time and past meetings are read
from the events that are not cadence's: in a salesperson's file those are few among hundreds
of cadence's own, so :meth:`LoadCache.foreign` parses the file without cadence's events (found
by their ``UID`` in the text, the way :func:`connectors.ics.events.owned_uid` tells them),
unless the whole file is parsed already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import CADENCE_UID, BackendError
from connectors.ics.files import fingerprint, version_of

if TYPE_CHECKING:  # parsing (icalendar) is imported when a file is parsed
    from connectors.ics.parse import Loaded


@dataclass(slots=True)
class _Entry:
    seen: tuple[int, int, int]  # the file's inode, size and mtime
    version: str
    whole: Loaded | None = None
    foreign: Loaded | None = None


class LoadCache:
    """Parsed files kept while they stay the same: a file is parsed once per version.

    A file whose inode, size and modification time are unchanged is not read again; one whose
    bytes hash as before (touched, copied back) is read but not parsed again. What it returns
    is shared: callers must not change the calendar (a write parses its own copy, see
    :meth:`connectors.ics.backend.IcsBackend.write`; what it wrote is kept by
    :class:`connectors.ics.known.KnownFiles`).
    """

    def __init__(self) -> None:
        self._files: dict[Path, _Entry] = {}
        self.reads = 0  # files read (for tests and benchmarks)
        self.parses = 0  # files parsed (whole or without cadence's events)

    def load(self, path: Path) -> Loaded | None:
        """The whole file parsed (:func:`connectors.ics.parse.load`); None: no file."""
        found = self._current(path)
        if found is None:
            return None
        entry, data = found
        if entry.whole is None:
            from connectors.ics.parse import parse

            self.parses += 1
            entry.whole = parse(data if data is not None else self._read(path), path)
        return entry.whole

    def foreign(self, path: Path) -> Loaded | None:
        """The file parsed without cadence's own events (all that busy time and past meetings
        read); the whole file when it is parsed already. None: no file."""
        found = self._current(path)
        if found is None:
            return None
        entry, data = found
        if entry.whole is not None:
            return entry.whole
        if entry.foreign is None:
            from connectors.ics.parse import Loaded, parse

            data = data if data is not None else self._read(path)
            self.parses += 1
            loaded = parse(without_cadence_events(data), path)
            entry.foreign = Loaded(path, loaded.cal, loaded.problems, entry.version)
        return entry.foreign

    def version(self, path: Path) -> str | None:
        """The version of the file's bytes (:func:`connectors.ics.files.version_of`),
        without parsing it; None: no file."""
        found = self._current(path)
        return None if found is None else found[0].version

    def forget(self, path: Path) -> None:
        """``path`` changed in a way not parsed here: its next load reads it."""
        self._files.pop(path, None)

    def _current(self, path: Path) -> tuple[_Entry, bytes | None] | None:
        """The entry of the file as it is now, and its bytes when they were read for it."""
        seen = fingerprint(path)
        cached = self._files.get(path)
        if seen is None:
            self._files.pop(path, None)
            return None
        if cached is not None and cached.seen == seen:
            return cached, None
        try:
            data = self._read(path)
        except FileNotFoundError:
            self._files.pop(path, None)
            return None
        version = version_of(data)
        if cached is not None and cached.version == version:
            cached.seen = seen
            return cached, data
        entry = self._files[path] = _Entry(seen, version)
        return entry, data

    def _read(self, path: Path) -> bytes:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise BackendError(f"{path}: cannot read: {exc.strerror}") from None
        self.reads += 1
        return data


def without_cadence_events(data: bytes) -> bytes:
    """``data`` without the VEVENTs that are cadence's by their UID (one matching
    :data:`connectors.base.CADENCE_UID`, as :func:`connectors.ics.events.owned_uid` reads
    it), each taken out with its lines exactly; everything else is kept byte for byte. Bytes
    that are not UTF-8 come back as they are (parsing them says why they cannot be read)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return _VEVENT.sub(lambda m: "" if _is_cadences(m.group(0)) else m.group(0), text).encode()


# A VEVENT from its BEGIN line to its END line (alarms inside it end with END:VALARM).
_VEVENT = re.compile(
    r"^BEGIN:VEVENT[ \t]*(?:\r\n|\n|\r).*?^END:VEVENT[ \t]*(?:\r\n|\n|\r|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
_ALARM = re.compile(r"^BEGIN:VALARM\b.*?^END:VALARM\b", re.IGNORECASE | re.MULTILINE | re.DOTALL)
# The event's UID line, when it is one cadence gives (not folded: cadence's are short).
_OWN_UID = re.compile(r"^UID(?:;[^:\r\n]*)?:" + CADENCE_UID.pattern + r"\r?$", re.MULTILINE)


def _is_cadences(block: str) -> bool:
    """Whether one of the event's own ``UID`` lines (not its alarms') is one cadence gives."""
    upper = block.upper()
    if upper.count("BEGIN:VEVENT") != 1:  # an END line missing: left to the parser
        return False
    if "BEGIN:VALARM" in upper:
        block = _ALARM.sub("", block)
    return _OWN_UID.search(block) is not None
