"""Reading dates the way people write them, through dateparser.

One :class:`DateReader` per configuration (``languages`` and ``date_order`` from cadence.toml).
It reads customer-file dates (``2019-03-15``, ``15 March 2019``, ``March 2019``, ``15 मार्च 2019``),
season boundaries (``Nov 15``, ``December``) and relative moments for ``cadence log``
(``yesterday 3pm``, in the customer's zone).

Dates people write are accepted in one range, years :data:`FIRST_YEAR` to :data:`LAST_YEAR`
(:data:`EARLIEST` to :data:`LATEST`): wide enough for any relationship start or contact in
a customer file and any one-off season, narrow enough that adding a duration (at most ten
years, :mod:`cadence.values.durations`) or walking a season's days can never leave Python's dates
(year 1 to 9999). A date outside it is a :class:`ValueParseError` naming the range, wherever a
date enters: :meth:`DateReader.partial` and :meth:`DateReader.calendar_date` when a year is
given, :meth:`DateReader.moment`, and the customer file's ISO fast path
(:func:`check_supported_date`). Texts longer than :data:`MAX_DATE_TEXT` characters are refused
before dateparser sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache

from dateparser.date import DateDataParser

from cadence.values.errors import ValueParseError

FIRST_YEAR = 1800
LAST_YEAR = 2200
EARLIEST = date(FIRST_YEAR, 1, 1)
LATEST = date(LAST_YEAR, 12, 31)
MAX_DATE_TEXT = 100  # "15 September 2019" is 17; dateparser's time grows with the length

_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_DAY_NUMBER = re.compile(r"(?<!\d)\d{1,2}(?!\d)")
# A leap year as the base, so that a recurring "Feb 29" can be read at all.
_LEAP_BASE = datetime(2024, 1, 1)


@dataclass(frozen=True, slots=True)
class PartialDate:
    """What a date string said: always a month, maybe a day, maybe a year."""

    month: int
    day: int | None
    year: int | None


class DateReader:
    """dateparser configured once: languages in order of preference and the numeric date order."""

    def __init__(self, languages: tuple[str, ...] = ("en",), date_order: str = "DMY") -> None:
        self.languages = tuple(languages)
        self.date_order = date_order
        self._parser = _parser(self.languages)

    def _data(self, text: str, settings: dict) -> tuple[datetime | None, str | None]:
        base = {"DATE_ORDER": self.date_order, "PREFER_DAY_OF_MONTH": "first"}
        base.update(settings)
        # DateDataParser's settings are bound at construction; the cached one per languages
        # is rebuilt only when settings differ (they differ only between reader kinds).
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in base.items()))
        parser = _parser(self.languages, key)
        try:
            data = parser.get_date_data(text)
        except (ValueError, OverflowError):
            # dateparser builds dates from the digits it finds; some combinations are no date
            # at all ("year 0 is out of range"): that is text it cannot read, not a crash.
            return None, None
        return data.date_obj, data.period

    def partial(self, text: str) -> PartialDate:
        """Read ``Nov 15``, ``15 November``, ``December`` or ``2027-03-01`` (a PartialDate)."""
        raw = _checked_text(text)
        obj, period = self._data(raw, {"RELATIVE_BASE": _LEAP_BASE, "REQUIRE_PARTS": ["month"]})
        if obj is None:
            raise ValueParseError(f"cannot read date {text!r}")
        year = obj.year if _YEAR.search(raw) else None
        day = None if period in ("month", "year") else obj.day
        if day is None and _DAY_NUMBER.search(_YEAR.sub("", raw)):
            # dateparser reads "Nov 45" as the month of November and drops the 45 silently.
            raise ValueParseError(f"cannot read date {text!r}: no such day in that month")
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueParseError(f"date {text!r} is outside the supported years {_RANGE}")
        return PartialDate(month=obj.month, day=day, year=year)

    def calendar_date(self, text: str) -> date:
        """Read a full date (``2019-03-15``, ``15 March 2019``, ``March 2019`` = 1 March 2019).

        The year must be present; a bare ``March`` is ambiguous and rejected.
        """
        part = self.partial(text)
        if part.year is None:
            raise ValueParseError(f"date {text!r} has no year")
        try:
            return date(part.year, part.month, part.day or 1)
        except ValueError as exc:  # pragma: no cover - dateparser validates already
            raise ValueParseError(f"invalid date {text!r}: {exc}") from exc

    def moment(self, text: str, zone: tzinfo, now: datetime) -> datetime:
        """Read ``yesterday 3pm`` or ``2026-11-20 14:00`` as an aware datetime in ``zone``.

        ``now`` (aware) anchors relative expressions; the result never lies in the future.
        """
        raw = _checked_text(text)
        local_now = now.astimezone(zone).replace(tzinfo=None)
        obj, _ = self._data(
            raw,
            {
                "RELATIVE_BASE": local_now,
                "PREFER_DATES_FROM": "past",
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        if obj is None:
            raise ValueParseError(f"cannot read moment {text!r}; try e.g. 'yesterday 3pm'")
        if not EARLIEST <= obj.date() <= LATEST:
            raise ValueParseError(f"{text!r} is outside the supported years {_RANGE}")
        aware = obj.replace(tzinfo=zone)
        if aware > now.astimezone(zone):
            raise ValueParseError(f"{text!r} is in the future ({aware.isoformat()})")
        return aware


_RANGE = f"{FIRST_YEAR}-{LAST_YEAR}"


def check_supported_date(d: date, text: str | None = None) -> date:
    """``d`` when it lies in :data:`EARLIEST`..:data:`LATEST`, else a :class:`ValueParseError`.

    ``text`` is how the date was written, for the message (default: its ISO form).
    """
    if not EARLIEST <= d <= LATEST:
        shown = repr(text) if text is not None else d.isoformat()
        raise ValueParseError(f"date {shown} is outside the supported years {_RANGE}")
    return d


def _checked_text(text: object) -> str:
    """The stripped text, refusing what is not a string, empty, or too long to be a date."""
    if not isinstance(text, str):
        raise ValueParseError(f"expected a date, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise ValueParseError("empty date")
    if len(raw) > MAX_DATE_TEXT:
        raise ValueParseError(
            f"cannot read date {raw[:30]!r}...: {len(raw)} characters is too long for a date"
        )
    return raw


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], settings: tuple = ()) -> DateDataParser:
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in settings}
    return DateDataParser(languages=list(languages), settings=plain or None)
