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

The forms cadence's own docs and examples use (``Nov 15``, ``15 November``, ``December``,
``2027-03-01``) are read without dateparser when ``en`` is among the languages: the same
answers (tests/test_quick_dates.py holds the two to each other over those forms), at a
thousandth of the cost. Anything else, including every text that is no date, goes to
dateparser, which is imported only then.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from cadence.values.errors import ValueParseError

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

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
        # dateparser reads English first whenever it is among the languages (its own order of
        # languages, not the given one, decides), so the English forms can be read without it.
        self._quick = "en" in self.languages
        if not set(self.languages) <= KNOWN_LANGUAGES:
            _parser(self.languages)  # a language dateparser does not know fails here, as ever

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
        if self._quick:
            quick = quick_partial(raw, self.date_order)
            if quick is not None:
                return quick
        return self._read_partial(text, raw)

    def _read_partial(self, text: str, raw: str) -> PartialDate:
        """:meth:`partial` through dateparser (``raw`` is ``text`` checked and stripped)."""
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


# Languages dateparser is known to accept (tests/test_quick_dates.py asks it about each), so
# that cadence.toml's usual ``languages`` are checked without importing it.
KNOWN_LANGUAGES = frozenset({"en", "es", "de", "fr", "it", "pt", "nl", "hi", "ar"})

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_MONTH_DAY = re.compile(r"([A-Za-z]+)(?: +(\d{1,2}))?", re.ASCII)
_DAY_MONTH = re.compile(r"(\d{1,2}) +([A-Za-z]+)", re.ASCII)


def quick_partial(raw: str, date_order: str) -> PartialDate | None:
    """``raw`` read as dateparser reads it in English, for the usual forms only; else None.

    ``2027-03-01`` (a real date in the supported years), ``Nov 15`` / ``November 15``,
    ``15 Nov`` (not with ``YMD``, where dateparser takes the number for a year), and a month
    alone (``December``); month names in English, any case, full or abbreviated. Everything
    else, a day that is not in the month included, is None: dateparser decides, and words it.
    """
    m = _ISO_DAY.fullmatch(raw)
    if m is not None:
        year, month, day = (int(g) for g in m.groups())
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            return None
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            return None
        return PartialDate(month=month, day=day, year=year)
    m = _MONTH_DAY.fullmatch(raw)
    if m is not None:
        name, day_text = m.groups()
    else:
        m = _DAY_MONTH.fullmatch(raw) if date_order != "YMD" else None
        if m is None:
            return None
        day_text, name = m.groups()
    named = _MONTHS.get(name.lower())
    if named is None:
        return None
    if day_text is None:
        return PartialDate(month=named, day=None, year=None)
    day = int(day_text)
    if not 1 <= day <= calendar.monthrange(_LEAP_BASE.year, named)[1]:
        return None
    return PartialDate(month=named, day=day, year=None)


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], settings: tuple = ()) -> DateDataParser:
    from dateparser.date import DateDataParser  # imported when a text needs it: ~0.15 s

    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in settings}
    return DateDataParser(languages=list(languages), settings=plain or None)
