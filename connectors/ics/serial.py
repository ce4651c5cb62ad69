"""Calendars as bytes: icalendar's serialisation, one component at a time.

:func:`serialise` gives the bytes of :meth:`icalendar.Calendar.to_ical` with each component's
bytes at hand (an event's etag is the hash of its bytes; a write checks the file without the
events it built). The events a write built are already bytes
(:class:`connectors.ics.render.BuiltEvent`); the rest are serialised by icalendar, their lines
folded by :func:`connectors.ics.lines.fold`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import icalendar

from connectors.base import BackendError
from connectors.ics.draft import Draft, Part
from connectors.ics.lines import component_bytes
from connectors.ics.render import BuiltEvent

_END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True, slots=True)
class Serialised:
    """A calendar as bytes, serialised one component at a time (the bytes of
    :meth:`icalendar.Calendar.to_ical`): each component's bytes are at hand, for the etag
    of an event just built and for the file without some of its components."""

    head: bytes  # BEGIN:VCALENDAR and the calendar's own properties
    parts: tuple[tuple[Part, bytes], ...]

    @property
    def data(self) -> bytes:
        """The whole file."""
        return b"".join([self.head, *(part for _, part in self.parts), _END])

    def without(self, left_out: Collection[Part]) -> bytes:
        """The file without the components ``left_out`` (by identity)."""
        skip = {id(component) for component in left_out}
        kept = (part for component, part in self.parts if id(component) not in skip)
        return b"".join([self.head, *kept, _END])


def serialise(draft: Draft) -> Serialised:
    """``draft`` as :class:`Serialised` (``.data`` is what ``to_ical()`` gives of the calendar
    with those components, byte for byte)."""
    shell = icalendar.Calendar()
    for name, value in draft.cal.items():
        shell[name] = value
    head = shell.to_ical()
    if not head.endswith(_END):  # cannot be: icalendar ends every calendar so
        raise BackendError("the calendar did not serialise as a VCALENDAR")
    parts = tuple(
        (c, c.data if isinstance(c, BuiltEvent) else component_bytes(c)) for c in draft.parts
    )
    return Serialised(head[: -len(_END)], parts)
