"""Public holidays and weekends per country, from the ``holidays`` package.

A country code that the package does not know is reported by ``cadence check``; at planning time
it simply has no holidays and a Saturday-Sunday weekend.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

DEFAULT_WEEKEND = frozenset({5, 6})


@lru_cache(maxsize=512)
def _country(code: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(code)
    except (NotImplementedError, KeyError, AttributeError):
        return None


def is_known_country(code: str) -> bool:
    """Does the holidays package know this ISO 3166 code?"""
    return bool(code) and _country(code.upper()) is not None


@lru_cache(maxsize=512)
def weekend_of(code: str) -> frozenset[int]:
    """The country's weekend as weekday numbers (0 = Monday): ``{4, 5}`` for Saudi Arabia."""
    cal = _country(code.upper()) if code else None
    if cal is None:
        return DEFAULT_WEEKEND
    return frozenset(int(d) for d in cal.weekend)


@lru_cache(maxsize=8192)
def holidays_in(code: str, year: int) -> dict[date, str]:
    """Public holidays of ``code`` in ``year`` as {date: name}; empty for unknown codes."""
    if not code:
        return {}
    try:
        cal = holidays.country_holidays(code.upper(), years=year)
    except (NotImplementedError, KeyError, AttributeError):
        return {}
    return dict(cal.items())


def holiday_name(code: str, d: date) -> str | None:
    """The name of the public holiday on ``d`` in ``code``, or None."""
    return holidays_in(code, d.year).get(d)
