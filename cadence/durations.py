"""Calendar durations as managers write them: ``4 weeks``, ``2 business days``, ``P6W``.

A :class:`Duration` is a calendar quantity, not a fixed number of seconds: months are calendar
months (31 January + 1 month = 28 or 29 February), business days skip non-working days. Adding
one to a date is the only arithmetic the planner needs; :attr:`Duration.approx_days` gives an
ordering for validation (``min_gap <= every <= max_gap``).

Meeting lengths (``30 minutes``, ``1 hour``, ``PT45M``) are a different thing, parsed by
:func:`parse_meeting_length` into a :class:`datetime.timedelta`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from cadence.errors import ValueParseError

_UNITS = {
    "day": "days",
    "days": "days",
    "business day": "business_days",
    "business days": "business_days",
    "working day": "business_days",
    "working days": "business_days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "quarter": "quarters",
    "quarters": "quarters",
    "year": "years",
    "years": "years",
}
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "six": 6, "twelve": 12}
_PLAIN = re.compile(
    r"^\s*(?:(?P<n>\d+|a|an|one|two|three|four|six|twelve)\s*)?"
    r"(?P<unit>business\s+days?|working\s+days?|days?|weeks?|months?|quarters?|years?)\s*$",
    re.IGNORECASE,
)
_ISO = re.compile(r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", re.IGNORECASE)


def is_weekday(d: date) -> bool:
    """The default business-day rule: Monday to Friday."""
    return d.weekday() < 5


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration: months + days + business days (all non-negative)."""

    months: int = 0
    days: int = 0
    business_days: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"4 weeks"``, ``"2 business days"``, ``"quarter"``, ``"P6W"``, ``"P1Y2M"``.

        Raises :class:`ValueParseError` with a message that says what is accepted.
        """
        if not isinstance(text, str):
            raise ValueParseError(f"expected a duration string like '4 weeks', got {text!r}")
        raw = text.strip()
        m = _ISO.match(raw)
        if m:
            y, mo, w, d = (int(g) if g else 0 for g in m.groups())
            return cls(months=12 * y + mo, days=7 * w + d, text=raw)
        m = _PLAIN.match(raw)
        if not m:
            raise ValueParseError(
                f"cannot read duration {text!r}: write a number and a unit "
                "(day, business day, week, month, quarter, year), 'quarter', or ISO 8601 like 'P6W'"
            )
        n_text = (m.group("n") or "1").lower()
        n = int(n_text) if n_text.isdigit() else _WORDS[n_text]
        unit = _UNITS[re.sub(r"\s+", " ", m.group("unit").lower())]
        if n == 0:
            raise ValueParseError(f"duration {text!r} is zero")
        match unit:
            case "days":
                return cls(days=n, text=raw)
            case "business_days":
                return cls(business_days=n, text=raw)
            case "weeks":
                return cls(days=7 * n, text=raw)
            case "months":
                return cls(months=n, text=raw)
            case "quarters":
                return cls(months=3 * n, text=raw)
            case _:
                return cls(months=12 * n, text=raw)

    @property
    def approx_days(self) -> float:
        """Length in days for ordering only (a month counts 30.44 days, a business day 1.4)."""
        return self.months * 30.436875 + self.days + self.business_days * 1.4

    def add_to(self, d: date, is_business_day: Callable[[date], bool] = is_weekday) -> date:
        """``d`` plus this duration; months clamp to the month's end (31 Jan + 1 month = 28 Feb)."""
        if is_business_day is is_weekday:
            return _add_weekdays(self.months, self.days, self.business_days, d)
        return self._add(d, is_business_day)

    def _add(self, d: date, is_business_day: Callable[[date], bool]) -> date:
        out = add_months(d, self.months) + timedelta(days=self.days)
        remaining = self.business_days
        while remaining > 0:
            out += timedelta(days=1)
            if is_business_day(out):
                remaining -= 1
        return out

    def subtract_from(self, d: date, is_business_day: Callable[[date], bool] = is_weekday) -> date:
        """``d`` minus this duration (the mirror of :meth:`add_to`)."""
        out = add_months(d, -self.months) - timedelta(days=self.days)
        remaining = self.business_days
        while remaining > 0:
            out -= timedelta(days=1)
            if is_business_day(out):
                remaining -= 1
        return out

    def __str__(self) -> str:
        return self.text or f"P{self.months}M{self.days}D+{self.business_days}BD"


@lru_cache(maxsize=1 << 16)
def _add_weekdays(months: int, days: int, business_days: int, d: date) -> date:
    return Duration(months, days, business_days)._add(d, is_weekday)


def add_months(d: date, months: int) -> date:
    """Calendar-month arithmetic, clamping the day to the target month's length."""
    if months == 0:
        return d
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


_LENGTH = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h)\s*$", re.IGNORECASE
)
_ISO_TIME = re.compile(r"^PT(?!$)(?:(\d+)H)?(?:(\d+)M)?$", re.IGNORECASE)


def parse_meeting_length(text: str) -> timedelta:
    """Parse a meeting length: ``"30 minutes"``, ``"1 hour"``, ``"1.5 hours"``, ``"PT45M"``."""
    if not isinstance(text, str):
        raise ValueParseError(f"expected a meeting length like '30 minutes', got {text!r}")
    m = _ISO_TIME.match(text.strip())
    if m:
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    else:
        m = _LENGTH.match(text)
        if not m:
            raise ValueParseError(
                f"cannot read meeting length {text!r}: write e.g. '30 minutes', '1 hour' or 'PT45M'"
            )
        n = float(m.group("n"))
        minutes = round(n * 60) if m.group("unit").lower().startswith("h") else round(n)
    if minutes <= 0 or minutes > 12 * 60:
        raise ValueParseError(f"meeting length {text!r} must be between 1 minute and 12 hours")
    return timedelta(minutes=minutes)
