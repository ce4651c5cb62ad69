"""Working hours (``"09:00-17:00"``) and working days (``"mon-fri"``, ``"sun-thu"``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from cadence.errors import ValueParseError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A daily span of local wall-clock time; ``end`` may be ``24:00`` (stored as minutes)."""

    start_minute: int
    end_minute: int

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        if not isinstance(text, str):
            raise ValueParseError(f"expected hours like '09:00-17:00', got {text!r}")
        m = _HOURS.match(text)
        if not m:
            raise ValueParseError(f"cannot read hours {text!r}: write e.g. '09:00-17:00'")
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


def parse_working_days(text: str) -> frozenset[int]:
    """``"mon-fri"`` -> {0..4}; ranges wrap (``"sun-thu"``); lists with commas; ISO weekday - 1."""
    if not isinstance(text, str) or not text.strip():
        raise ValueParseError(f"expected working days like 'mon-fri', got {text!r}")
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        bounds = part.split("-")
        if len(bounds) not in (1, 2) or any(b[:3] not in DAY_NAMES for b in bounds):
            raise ValueParseError(
                f"cannot read working days {text!r}: use day names like 'mon-fri' or 'sun,tue'"
            )
        first = DAY_NAMES.index(bounds[0][:3])
        last = DAY_NAMES.index(bounds[-1][:3])
        i = first
        while True:
            days.add(i)
            if i == last:
                break
            i = (i + 1) % 7
    return frozenset(days)
