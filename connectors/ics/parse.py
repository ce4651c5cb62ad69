"""Reading a calendar file, with what in it cannot be read, and checking a new version.

A file that is not an iCalendar file at all (not UTF-8, no VCALENDAR, a broken structure)
raises :class:`BackendError` and is never overwritten. One broken component does not stop the
rest of the file being read: it is listed in :attr:`Loaded.problems`, with its own lines as
the file has them. :func:`check_round_trip` refuses a new version of the file unless every
broken component comes out with exactly its lines (unfolded, in any order) and the new file
reads back with no new problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import cast

import icalendar

from connectors.base import BackendError
from connectors.ics.events import OWNED_MARKER, TAG_PREFIX
from connectors.ics.files import version_of
from connectors.recurrence.times import as_list, ical_text, utc_bounds


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one component of a file cannot be read, and its lines as the file has them."""

    where: str  # "VEVENT <uid>", for messages
    reason: str
    raw: tuple[str, ...] | None  # its own content lines, unfolded; None when not found
    times_ok: bool  # its times (and recurrence) still read: as foreign busy time it counts


@dataclass(frozen=True, slots=True)
class Loaded:
    """A parsed file: the calendar, its unreadable components (by ``id``) and its version."""

    path: Path
    cal: icalendar.Calendar
    problems: Mapping[int, Problem]
    version: str  # a hash of the bytes: "once per version of the file"


def load(path: Path) -> Loaded | None:
    """The calendar in ``path`` and what in it cannot be read; None when there is no file.

    A file that is not an iCalendar file at all raises :class:`BackendError`; a broken
    event does not (it is in ``problems``, and reading the rest goes on).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BackendError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(data, path)


def parse(data: bytes, path: Path) -> Loaded:
    """Parse a whole calendar file.

    :class:`BackendError` naming the file when it is not an iCalendar file at all; a component
    with a broken property, a duplicated single-valued one or unreadable times is listed in
    ``problems`` instead, so that one bad event does not stop the rest of the file being read.
    """
    hint = "fix or remove it; cadence will not overwrite it"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackendError(f"{path}: not UTF-8 text, so not an iCalendar file; {hint}") from None
    try:
        cal = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and others on malformed input
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"{path}: not a valid iCalendar file ({first}); {hint}") from None
    if cal.name != "VCALENDAR":
        raise BackendError(f"{path}: holds a {cal.name}, not a VCALENDAR; {hint}")
    components = list(cal.walk())
    blocks = _raw_blocks(text)
    if len(blocks) != len(components):  # a line icalendar dropped: nothing can be matched up
        blocks = [None] * len(components)  # type: ignore[list-item]
    problems: dict[int, Problem] = {}
    for component, raw in zip(components, blocks, strict=True):
        found = _component_problem(component)
        if found is not None:
            reason, times_ok = found
            problems[id(component)] = Problem(_where(component), reason, raw, times_ok)
    return Loaded(path, cal, problems, version_of(data))


def check_round_trip(loaded: Loaded | None, data: bytes, path: Path) -> Loaded:
    """Refuse (:class:`BackendError`) to write ``data`` over ``path`` unless it reads back with
    no new problem and every broken component of the file as it was keeps its exact lines:
    cadence never "repairs" (and so loses) what a person wrote, even where it is broken.
    Returns ``data`` as read back: what the next read of the new file would parse.
    """
    hint = "fix it in the file; cadence will not rewrite a file it would change there"
    after = parse(data, path)  # a whole-file failure raises here
    if len(after.problems) > (len(loaded.problems) if loaded else 0):
        known = {(p.where, p.reason) for p in (loaded.problems.values() if loaded else ())}
        fresh = [p for p in after.problems.values() if (p.where, p.reason) not in known]
        first = (fresh or list(after.problems.values()))[0]
        raise BackendError(
            f"{path}: the new version would not read back ({first.where}: {first.reason}); "
            "nothing was written"
        )
    if loaded is None:
        return after
    by_id = {id(c): c for c in loaded.cal.walk()}
    for key, problem in loaded.problems.items():
        component = by_id.get(key)
        if component is None:
            raise BackendError(f"{path}: {problem.where} ({problem.reason}) would be lost; {hint}")
        text = component.to_ical().decode("utf-8")
        blocks = _raw_blocks(text)
        if problem.raw is None or not blocks or blocks[0] != problem.raw:
            raise BackendError(
                f"{path}: {problem.where}: {problem.reason}; cadence cannot keep it exactly as "
                f"it is when rewriting the file, so it writes nothing: {hint}"
            )
    return after


def _where(component: icalendar.cal.Component) -> str:
    uid = component.get("UID")
    if isinstance(uid, list):
        uid = uid[0]
    return f"{component.name} {uid}" if uid else str(component.name)


# Properties an event has at most once (RFC 5545 3.6.1). A second one makes the event ambiguous:
# which SEQUENCE, which start? cadence does not guess.
_SINGLE = (
    "UID", "DTSTART", "DTEND", "DURATION", "SEQUENCE", "STATUS", "TRANSP", "RECURRENCE-ID",
    "SUMMARY", "DTSTAMP", "CREATED", "LAST-MODIFIED", "ORGANIZER", OWNED_MARKER,
)  # fmt: skip


# What an event's times and recurrence are read from.
_TIME_PROPS = frozenset(
    {"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)


def _component_problem(component: icalendar.cal.Component) -> tuple[str, bool] | None:
    """Why ``component`` cannot be read (its own properties only) and whether its times still
    can, or None when it reads.
    """
    found: tuple[str, bool] | None = None
    for prop, message in component.errors:
        if prop is None:  # icalendar dropped the line: which property it was is not known
            found = found or (f"a line that is not a property ({message})", True)
        elif str(prop).upper() in _TIME_PROPS:
            return f"bad {prop}: {message}", False
        else:
            found = found or (f"bad {prop}: {message}", True)
    if component.name != "VEVENT":
        return found
    ev = cast(icalendar.Event, component)
    for name in (*_SINGLE, *(n for n in ev if n.upper().startswith(TAG_PREFIX))):
        values = ev.get(name)
        if isinstance(values, list):
            reason = f"{name.upper()} appears {len(values)} times"
            if name.upper() in _TIME_PROPS:
                return reason, False
            found = found or (reason, True)
    if "DTSTART" not in ev:
        return "no DTSTART", False
    try:
        utc_bounds(ev, UTC, None)
    except BackendError as exc:
        return str(exc), False
    for rule in as_list(ev.get("RRULE")):
        if not isinstance(rule, icalendar.vRecur) or not rule.get("FREQ"):
            return f"RRULE {ical_text(rule)!r} has no FREQ", False
    return found


def _content_lines(text: str) -> list[str]:
    """The unfolded content lines of ``text`` (RFC 5545 3.1), blank ones left out."""
    lines: list[str] = []
    for line in re.split(r"\r\n|\n|\r", text):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def _line_key(line: str) -> str:
    """A content line with its property name in upper case (names are case-insensitive)."""
    cut = min((i for i in (line.find(";"), line.find(":")) if i >= 0), default=len(line))
    return line[:cut].upper() + line[cut:]


def _raw_blocks(text: str) -> list[tuple[str, ...]]:
    """Each component's own content lines (not its subcomponents'), in the order of
    ``BEGIN`` lines: the order in which :meth:`icalendar.Calendar.walk` yields components.
    """
    blocks: list[list[str]] = []
    stack: list[list[str]] = []
    for line in _content_lines(text):
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            blocks.append([])
            stack.append(blocks[-1])
        elif name == "END":
            if stack:
                stack.pop()
        elif stack:
            stack[-1].append(_line_key(line))
    return [tuple(sorted(block)) for block in blocks]
