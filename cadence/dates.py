"""Reading dates the way people write them, through dateparser.

One :class:`DateReader` per configuration (``languages`` and ``date_order`` from cadence.toml).
It reads customer-file dates (``2019-03-15``, ``15 March 2019``, ``March 2019``, ``15 मार्च 2019``),
season boundaries (``Nov 15``, ``December``) and relative moments for ``cadence log``
(``yesterday 3pm``, in the customer's zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache

from dateparser.date import DateDataParser

from cadence.errors import ValueParseError

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
        data = parser.get_date_data(text)
        return data.date_obj, data.period

    def partial(self, text: str) -> PartialDate:
        """Read ``Nov 15``, ``15 November``, ``December`` or ``2027-03-01`` (a PartialDate)."""
        raw = (text or "").strip()
        if not raw:
            raise ValueParseError("empty date")
        obj, period = self._data(raw, {"RELATIVE_BASE": _LEAP_BASE, "REQUIRE_PARTS": ["month"]})
        if obj is None:
            raise ValueParseError(f"cannot read date {text!r}")
        year = obj.year if _YEAR.search(raw) else None
        day = None if period in ("month", "year") else obj.day
        if day is None and _DAY_NUMBER.search(_YEAR.sub("", raw)):
            # dateparser reads "Nov 45" as the month of November and drops the 45 silently.
            raise ValueParseError(f"cannot read date {text!r}: no such day in that month")
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
        local_now = now.astimezone(zone).replace(tzinfo=None)
        obj, _ = self._data(
            text,
            {
                "RELATIVE_BASE": local_now,
                "PREFER_DATES_FROM": "past",
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        if obj is None:
            raise ValueParseError(f"cannot read moment {text!r}; try e.g. 'yesterday 3pm'")
        aware = obj.replace(tzinfo=zone)
        if aware > now.astimezone(zone):
            raise ValueParseError(f"{text!r} is in the future ({aware.isoformat()})")
        return aware


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], settings: tuple = ()) -> DateDataParser:
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in settings}
    return DateDataParser(languages=list(languages), settings=plain or None)
