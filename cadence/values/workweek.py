"""Working hours (``"09:00-17:00"``) and working days (``"mon-fri"``, ``"Mon to Fri"``).

Both parsers are strict: a value is read whole or refused with a message naming it. Nothing is
ever read in part (``"Mon to Fri"`` is Monday to Friday, never Monday alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from cadence.values.errors import ValueParseError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Every spelling of a day that is read: full names, three letters, iCalendar's two letters and
# the usual longer abbreviations.
_DAY_SPELLINGS: dict[str, int] = {
    **{name: i for i, name in enumerate(FULL_DAY_NAMES)},
    **{name: i for i, name in enumerate(DAY_NAMES)},
    **{name: i for i, name in enumerate(("mo", "tu", "we", "th", "fr", "sa", "su"))},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
# Between the two ends of a range of days: these words, or ``..`` and the dashes people type.
_RANGE_WORDS = frozenset({"to", "through", "thru", "until", "till"})
# Between the items of a list of days: ``and``, ``, ; / & +``, or whitespace alone.
_LIST_WORDS = frozenset({"and"})
_MAX_TEXT = 200
# One token: a word (group 1), a range mark (group 2) or a list mark (group 3).
_DAYS_TOKEN = re.compile(r"\s*(?:([A-Za-z]+)|(\.\.|[-–—])|([,;/&+]))")
_HOURS = re.compile(
    r"\s*(\d{1,2}):(\d{2})\s*(?:[-–—]|\.\.|\s(?:to|until|till)\s)\s*(\d{1,2}):(\d{2})\s*",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A daily span of local wall-clock time; ``end`` may be ``24:00`` (stored as minutes)."""

    start_minute: int
    end_minute: int

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """``"09:00-17:00"`` (also ``–``, ``..``, ``to``): a forward span inside one day.

        Raises :class:`ValueParseError` naming the value unless all of it is understood.
        """
        if not isinstance(text, str):
            raise ValueParseError(f"expected hours like '09:00-17:00', got {text!r}")
        m = _HOURS.fullmatch(text) if len(text) <= _MAX_TEXT else None
        if not m:
            raise ValueParseError(
                f"cannot read hours {text[:60]!r}: write e.g. '09:00-17:00' or '08:30 to 16:30'"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            raise ValueParseError(f"hours {text!r} must be a forward span inside one day")
        return cls(start, end)

    @property
    def start(self) -> time:
        return time(self.start_minute // 60, self.start_minute % 60)

    def __str__(self) -> str:
        s, e = self.start_minute, self.end_minute
        return f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


def parse_working_days(text: str, what: str = "working days") -> frozenset[int]:
    """Weekday numbers (0 = Monday) of a text naming days, as people write them.

    Items are days or ranges of days; a range runs forward and wraps (``sun-thu`` is Sunday to
    Thursday). Ranges: ``mon-fri``, ``Mon to Fri``, ``mon..fri``, ``monday through friday``.
    Items are separated by commas, spaces, ``;``, ``/``, ``&`` or ``and``: ``mon tue wed``,
    ``mon,tue``, ``Mon-Wed, Fri``. Days are full names or abbreviations (``Monday``, ``mon``,
    ``tues``, ``thurs``, ``mo``), in any case. Anything else raises :class:`ValueParseError`
    naming the value (``what`` says which setting it was, in the message).
    """
    if not isinstance(text, str) or not text.strip():
        got = repr(text) if isinstance(text, str) else type(text).__name__
        raise ValueParseError(f"expected {what} like 'mon-fri', got {got}")
    if len(text) > _MAX_TEXT:
        raise ValueParseError(f"cannot read {what} {text[:30]!r}...: too long for a list of days")
    tokens = _day_tokens(text, what)
    days: set[int] = set()
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind != "day":
            raise _days_error(text, what, f"expected a day name where {value!r} is")
        first = last = _DAY_SPELLINGS[value]
        i += 1
        if i < len(tokens) and tokens[i][0] == "range":
            if i + 1 >= len(tokens) or tokens[i + 1][0] != "day":
                raise _days_error(text, what, f"the range after {value!r} has no last day")
            last = _DAY_SPELLINGS[tokens[i + 1][1]]
            i += 2
        days.update(_day_range(first, last))
        if i < len(tokens) and tokens[i][0] == "list":
            if i + 1 >= len(tokens):
                raise _days_error(text, what, f"nothing follows the last {tokens[i][1]!r}")
            i += 1
    return frozenset(days)


def _day_tokens(text: str, what: str) -> list[tuple[str, str]]:
    """``text`` as ``(kind, text)`` tokens: ``day``, ``range`` or ``list``; refuses the rest."""
    tokens: list[tuple[str, str]] = []
    position, stripped = 0, text.rstrip()
    while position < len(stripped):
        m = _DAYS_TOKEN.match(stripped, position)
        if m is None:
            bad = stripped[position:].strip()[:20]
            raise _days_error(text, what, f"{bad!r} is not a day name")
        word, mark, separator = m.groups()
        if word is not None:
            low = word.lower()
            if low in _DAY_SPELLINGS:
                tokens.append(("day", low))
            elif low in _RANGE_WORDS:
                tokens.append(("range", word))
            elif low in _LIST_WORDS:
                tokens.append(("list", word))
            else:
                raise _days_error(text, what, f"{word!r} is not a day name")
        elif mark is not None:
            tokens.append(("range", mark))
        else:
            tokens.append(("list", separator))
        position = m.end()
    return tokens


def _day_range(first: int, last: int) -> list[int]:
    """``first`` to ``last`` inclusive, wrapping past Sunday."""
    return [(first + k) % 7 for k in range((last - first) % 7 + 1)]


def _days_error(text: str, what: str, why: str) -> ValueParseError:
    return ValueParseError(
        f"cannot read {what} {text!r}: {why}; write e.g. 'mon-fri', 'Mon to Fri', "
        "'mon tue wed' or 'sun-thu'"
    )
