"""Content lines as icalendar writes them: TEXT escaping, folding, a component's bytes.

icalendar folds a line one character at a time in Python, a third of the cost of serialising
an event; :func:`fold` gives the same bytes from the encoded line in a few slices.
:func:`escape_text` is icalendar's TEXT escaping (RFC 5545 3.3.11) as it does it. Both are
held to icalendar's own output by property tests (tests/test_ics_render.py).
"""

from __future__ import annotations

import icalendar

_FOLD = 74  # octets of a folded line, as icalendar writes them (the CRLF and space aside)
_ESCAPES = (b"\\", b"^")  # an escape never ends a folded line: it moves to the next


def component_bytes(component: icalendar.cal.Component) -> bytes:
    """``component.to_ical()``, byte for byte, each line folded by :func:`fold`."""
    return b"".join(fold(line) for line in component.content_lines() if line)


def fold(line: str) -> bytes:
    """``line`` folded and encoded as :meth:`icalendar.parser.content_line.Contentline.to_ical`
    folds it, with its CRLF: at most 74 octets a line, never inside a character, and a
    backslash or caret that would end a line (not alone on it) moves to the next, so no escape
    is split (RFC 5545 3.1; icalendar issue #1501)."""
    if line.isascii():
        if len(line) <= _FOLD:
            return line.encode("ascii") + b"\r\n"
        return fold_ascii(line).encode("ascii") + b"\r\n"
    data = line.encode("utf-8")
    if len(data) <= _FOLD:
        return data + b"\r\n"
    parts = []
    start = 0
    size = len(data)
    while size - start > _FOLD:
        end = start + _FOLD
        while data[end] & 0xC0 == 0x80:  # inside a character: it goes to the next line
            end -= 1
        if data[end - 1 : end] in _ESCAPES and end - 1 > start:
            end -= 1
        parts.append(data[start:end])
        start = end
    parts.append(data[start:])
    return b"\r\n ".join(parts) + b"\r\n"


def fold_ascii(line: str) -> str:
    """An ASCII content line folded as icalendar folds it (see :func:`fold`)."""
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


def escape_text(text: str) -> str:
    """A TEXT value escaped as :meth:`icalendar.vText.to_ical` escapes it (the order matters:
    a ``\\N`` becomes a line break first, and every line break, CRLF, LF or a lone CR, is
    written ``\\n``)."""
    return (
        text.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )
