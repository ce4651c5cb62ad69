"""Calendar durations as managers write them: ``4 weeks``, ``2 business days``, ``P6W``.

A :class:`Duration` is a calendar quantity, not a fixed number of seconds: months are calendar
months (31 January + 1 month = 28 or 29 February), business days skip non-working days. Adding
one to a date is the only arithmetic the planner needs; :attr:`Duration.approx_days` gives an
ordering for validation (``min_gap <= every <= max_gap``).

Durations are bounded: above zero (``0 days``, ``P0D``, ``P0W`` and ``P0Y0M`` are all refused)
and at most 10 years (120 months, 3653 days or 2609 business days, or a mix no longer than
that); texts are at most 100 characters. So every comparison is between small finite numbers,
and adding a duration to a date of the supported range (years 1800-2200, see
:mod:`cadence.values.dates`) neither overflows nor walks day by day for long: Monday-Friday business
days are counted in constant time, and any other business-day rule must offer a business day at
least once a year.

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

from cadence.values.errors import ValueParseError

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

# The bounds of a duration. Ten years is longer than any contact rhythm, win-back track or
# horizon a manager means; a longer value is a typo (an extra zero) and would only push dates
# past what the planner, the calendars and Python's dates handle.
MAX_YEARS = 10
MAX_MONTHS = 12 * MAX_YEARS
MAX_DAYS = 3653  # 10 years of 365.25 days, rounded up: "3653 days" and "P10Y" are accepted
MAX_BUSINESS_DAYS = 2609  # 261 working days a year (Monday-Friday) for 10 years
_APPROX_MONTH_DAYS = 30.436875  # 365.2425 / 12
_APPROX_BUSINESS_DAY = 1.4  # 7 / 5
# A text longer than this is not a duration, and no number needs more digits than this:
# checked before int() ever sees the digits (no 309-digit numbers, no float overflow).
MAX_TEXT = 100
_MAX_DIGITS = 6
# A business-day predicate that says no for a whole year is broken; stop instead of looping.
_MAX_NON_BUSINESS_RUN = 366
LIMITS = (
    f"at most {MAX_YEARS} years ({MAX_MONTHS} months, {MAX_DAYS} days or "
    f"{MAX_BUSINESS_DAYS} business days)"
)
_ACCEPTED = (
    "write a number and a unit (day, business day, week, month, quarter, year), 'quarter', "
    f"or ISO 8601 like 'P6W'; above zero and {LIMITS}"
)


def is_weekday(d: date) -> bool:
    """The default business-day rule: Monday to Friday."""
    return d.weekday() < 5


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration: months + days + business days.

    Every duration is within bounds: each part a non-negative whole number and the whole at most
    :data:`MAX_YEARS` years (:data:`MAX_MONTHS` months, :data:`MAX_DAYS` days,
    :data:`MAX_BUSINESS_DAYS` business days, or a mix of them no longer than that). Building one
    outside raises :class:`ValueParseError`, so :attr:`approx_days` is always a small finite
    number and date arithmetic on dates of the supported range (:mod:`cadence.values.dates`) never
    overflows.
    """

    months: int = 0
    days: int = 0
    business_days: int = 0
    text: str = ""

    def __post_init__(self) -> None:
        parts = (self.months, self.days, self.business_days)
        shown = f"duration {self.text!r}" if self.text else "a duration"
        if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts):
            raise ValueParseError(f"{shown}: its parts must be whole numbers >= 0")
        if (
            self.months > MAX_MONTHS
            or self.days > MAX_DAYS
            or self.business_days > MAX_BUSINESS_DAYS
            or self.approx_days > MAX_DAYS
        ):
            raise ValueParseError(f"{shown} is too long: durations are {LIMITS}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"4 weeks"``, ``"2 business days"``, ``"quarter"``, ``"P6W"``, ``"P1Y2M"``.

        Accepted: above zero (``0 days`` and ``P0D`` alike are refused) and at most 10 years in
        total (see :data:`LIMITS`). Raises :class:`ValueParseError` with a message that says what
        is accepted.
        """
        if not isinstance(text, str):
            raise ValueParseError(
                f"expected a duration string like '4 weeks', got {type(text).__name__}"
            )
        raw = text.strip()
        if len(raw) > MAX_TEXT:
            raise ValueParseError(
                f"cannot read duration {raw[:30]!r}... ({len(raw)} characters): {_ACCEPTED}"
            )
        m = _ISO.match(raw)
        if m:
            y, mo, w, d = (_number(g, raw) if g else 0 for g in m.groups())
            months, days, business_days = 12 * y + mo, 7 * w + d, 0
        else:
            m = _PLAIN.match(raw)
            if not m:
                raise ValueParseError(f"cannot read duration {text!r}: {_ACCEPTED}")
            n_text = (m.group("n") or "1").lower()
            n = _WORDS[n_text] if n_text in _WORDS else _number(n_text, raw)
            unit = _UNITS[re.sub(r"\s+", " ", m.group("unit").lower())]
            months = {"months": n, "quarters": 3 * n, "years": 12 * n}.get(unit, 0)
            days = {"days": n, "weeks": 7 * n}.get(unit, 0)
            business_days = n if unit == "business_days" else 0
        if months == days == business_days == 0:
            raise ValueParseError(
                f"duration {text!r} is zero: durations are above zero and {LIMITS}"
            )
        return cls(months=months, days=days, business_days=business_days, text=raw)

    @property
    def approx_days(self) -> float:
        """Length in days for ordering only (a month counts 30.44 days, a business day 1.4)."""
        return (
            self.months * _APPROX_MONTH_DAYS + self.days + self.business_days * _APPROX_BUSINESS_DAY
        )

    def add_to(self, d: date, is_business_day: Callable[[date], bool] = is_weekday) -> date:
        """``d`` plus this duration; months clamp to the month's end (31 Jan + 1 month = 28 Feb).

        Raises :class:`ValueParseError` when the result would lie outside Python's dates (never
        for a date of the supported range) or when ``is_business_day`` says no for a whole year.
        """
        if not self.months and not self.business_days:  # whole days: most rhythms
            try:
                return d + _DAY_DELTAS[self.days]
            except OverflowError:
                pass  # _move words the error
        return self._move(d, 1, is_business_day)

    def subtract_from(self, d: date, is_business_day: Callable[[date], bool] = is_weekday) -> date:
        """``d`` minus this duration (the mirror of :meth:`add_to`, raising the same way)."""
        if not self.months and not self.business_days:
            try:
                return d - _DAY_DELTAS[self.days]
            except OverflowError:
                pass
        return self._move(d, -1, is_business_day)

    def _move(self, d: date, sign: int, is_business_day: Callable[[date], bool]) -> date:
        try:
            if is_business_day is is_weekday:
                return _shift_weekdays(self.months, self.days, self.business_days, d, sign)
            return _shift(self.months, self.days, self.business_days, d, sign, is_business_day)
        except ValueParseError:
            raise
        except (OverflowError, ValueError):  # past date.max or before date.min
            where = "after" if sign > 0 else "before"
            raise ValueParseError(
                f"{self} {where} {d.isoformat()} is outside the supported dates"
            ) from None

    def __str__(self) -> str:
        return self.text or f"P{self.months}M{self.days}D+{self.business_days}BD"


class _DayDeltas(dict[int, timedelta]):
    """``timedelta(days=n)`` by ``n``, one object per length, made when first asked for.

    The planner adds the same few rhythms to dates hundreds of thousands of times: a subscript
    calls no Python function unless the length is new (adding whole days took about 1,400
    instructions through a helper function that looked the length up, about 1,060 so)."""

    def __missing__(self, days: int) -> timedelta:
        delta = self[days] = timedelta(days=days)
        return delta


_DAY_DELTAS = _DayDeltas()


def _number(digits: str, text: str) -> int:
    """``int(digits)``, refusing before conversion a number no duration needs."""
    if len(digits) > _MAX_DIGITS:
        raise ValueParseError(f"duration {text!r} is too long: durations are {LIMITS}")
    return int(digits)


@lru_cache(maxsize=1 << 16)
def _shift_weekdays(months: int, days: int, business_days: int, d: date, sign: int) -> date:
    """:func:`_shift` for Monday-Friday, in constant time: any 7 days hold 5 weekdays."""
    if business_days <= 5:
        return _shift(months, days, business_days, d, sign, is_weekday)
    # Jump whole weeks, but leave 1-5 business days to walk: walking them from the jump's end
    # or from the last weekday before it gives the same day, as only weekend days lie between.
    weeks = (business_days - 1) // 5
    start = _shift(months, days + 7 * weeks, 0, d, sign, is_weekday)
    return _shift(0, 0, business_days - 5 * weeks, start, sign, is_weekday)


def _shift(
    months: int,
    days: int,
    business_days: int,
    d: date,
    sign: int,
    is_business_day: Callable[[date], bool],
) -> date:
    """``d`` moved by the parts in direction ``sign`` (months, then days, then business days).

    Raises OverflowError or ValueError past Python's dates (the caller words it), and
    ValueParseError when ``is_business_day`` says no for a year on end.
    """
    out = add_months(d, sign * months) + timedelta(days=sign * days)
    step = timedelta(days=sign)
    remaining, idle = business_days, 0
    while remaining > 0:
        out += step
        if is_business_day(out):
            remaining, idle = remaining - 1, 0
        else:
            idle += 1
            if idle >= _MAX_NON_BUSINESS_RUN:
                raise ValueParseError(
                    f"no business day in the {idle} days from {out - (idle - 1) * step}"
                )
    return out


def add_months(d: date, months: int) -> date:
    """Calendar-month arithmetic, clamping the day to the target month's length."""
    if months == 0:
        return d
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    day = d.day
    if day > 28:  # only then can the target month be too short (calendar.monthrange is slow)
        day = min(day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


_LENGTH = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h)\s*$", re.IGNORECASE
)
_ISO_TIME = re.compile(r"^PT(?!$)(?:(\d+)H)?(?:(\d+)M)?$", re.IGNORECASE)


def parse_meeting_length(text: str) -> timedelta:
    """Parse a meeting length: ``"30 minutes"``, ``"1 hour"``, ``"1.5 hours"``, ``"PT45M"``."""
    if not isinstance(text, str):
        raise ValueParseError(
            f"expected a meeting length like '30 minutes', got {type(text).__name__}"
        )
    if len(text.strip()) > MAX_TEXT:  # no number needs more: keeps float() finite
        raise ValueParseError(
            f"cannot read meeting length {text.strip()[:30]!r}...: write e.g. '30 minutes', "
            "'1 hour' or 'PT45M'"
        )
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
