"""Calendars as bytes: icalendar's serialisation, one component at a time.

:func:`serialise` gives the bytes of :meth:`icalendar.Calendar.to_ical` with each component's
bytes at hand (an event's etag is the hash of its bytes; a write checks the file without the
events it built). ASCII lines are folded by :func:`fold_ascii`, exactly as icalendar folds them
but without its loop over characters (a third of the cost of serialising an event).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import icalendar

from connectors.base import BackendError

_END = b"END:VCALENDAR\r\n"
_FOLD = 74  # characters of a folded line, as icalendar writes them


@dataclass(frozen=True, slots=True)
class Serialised:
    """A calendar as bytes, serialised one component at a time (the bytes of
    :meth:`icalendar.Calendar.to_ical`): each component's bytes are at hand, for the etag
    of an event just built and for the file without some of its components."""

    head: bytes  # BEGIN:VCALENDAR and the calendar's own properties
    parts: tuple[tuple[icalendar.cal.Component, bytes], ...]

    @property
    def data(self) -> bytes:
        """The whole file."""
        return b"".join([self.head, *(part for _, part in self.parts), _END])

    def without(self, left_out: Collection[icalendar.cal.Component]) -> bytes:
        """The file without the components ``left_out`` (by identity)."""
        skip = {id(component) for component in left_out}
        kept = (part for component, part in self.parts if id(component) not in skip)
        return b"".join([self.head, *kept, _END])


def serialise(cal: icalendar.Calendar) -> Serialised:
    """``cal`` as :class:`Serialised` (``.data`` is ``cal.to_ical()``, byte for byte)."""
    shell = icalendar.Calendar()
    for name, value in cal.items():
        shell[name] = value
    head = shell.to_ical()
    if not head.endswith(_END):  # cannot be: icalendar ends every calendar so
        raise BackendError("the calendar did not serialise as a VCALENDAR")
    parts = tuple((c, component_bytes(c)) for c in cal.subcomponents)
    return Serialised(head[: -len(_END)], parts)


def component_bytes(component: icalendar.cal.Component) -> bytes:
    """``component.to_ical()``, byte for byte, with ASCII lines folded by :func:`fold_ascii`
    (icalendar folds a character at a time in Python: a third of serialising an event)."""
    lines = [
        fold_ascii(line).encode("ascii") if line.isascii() else line.to_ical()
        for line in component.content_lines()
        if line
    ]
    return b"\r\n".join(lines) + b"\r\n"


def fold_ascii(line: str) -> str:
    """An ASCII content line folded as icalendar folds it (RFC 5545 3.1): 74 characters a
    line, and a backslash or caret that would end a line moves to the next, so no escape is
    split (tested against icalendar)."""
    if len(line) <= _FOLD:
        return line
    parts = []
    start = 0
    while len(line) - start > _FOLD:
        end = start + _FOLD
        if line[end - 1] in "\\^":
            end -= 1
        parts.append(line[start:end])
        start = end
    parts.append(line[start:])
    return "\r\n ".join(parts)
