"""Public holidays and weekends per country or subdivision, from the ``holidays`` package.

A *region* is an ISO 3166 country code (``PT``) or an ISO 3166-2 subdivision code (``GB-ENG``,
``US-CA``, ``DE-BY``): the part after the dash is the subdivision as the ``holidays`` package
names it (``ENG``/``SCT``/``WLS``/``NIR`` for the UK, states for the US, Länder for Germany...).
A subdivision gets its country's nationwide holidays and its own; the weekend is the country's.

:func:`canonical_region` reads a code as a user wrote it and says precisely what is wrong with
one the package does not know; :func:`regional_subdivisions` names the subdivisions of a country
whose holidays differ from the nationwide ones (``cadence check`` warns about a plain code
there). At planning time an unknown code simply has no holidays and a Saturday-Sunday weekend.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import holidays

from cadence.values.errors import ValueParseError

DEFAULT_WEEKEND = frozenset({5, 6})
_REGION = re.compile(r"^([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?$")
# Two years (a common and a leap one) in which subdivisions are compared with the nation: regional
# holidays are rules that hold every year, so any pair shows them.
_PROBE_YEARS = (2027, 2028)


@lru_cache(maxsize=512)
def _entity(country: str) -> type[holidays.HolidayBase] | None:
    """The holidays class of a country code (upper case), or None when it is unknown."""
    try:
        return type(holidays.country_holidays(country))
    except (NotImplementedError, KeyError, AttributeError):
        return None


@lru_cache(maxsize=512)
def _calendar(code: str) -> holidays.HolidayBase | None:
    """The holidays calendar of a canonical region code, or None when it is unknown."""
    country, _, sub = code.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=sub or None)
    except (NotImplementedError, KeyError, AttributeError):
        return None


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """Every country code the holidays package knows, from its registry.

    Exactly the codes :func:`holidays.country_holidays` accepts (tests/test_regional_calendar.py
    asks it about every two-letter code), without importing and building each country's
    calendar: 500 salespeople's countries are checked in a millisecond.
    """
    from holidays.registry import EntityLoader

    return frozenset(EntityLoader.get_country_codes())


@lru_cache(maxsize=512)
def subdivisions_of(country: str) -> tuple[str, ...]:
    """The ISO 3166-2 codes (``GB-ENG``) the holidays package knows for ``country``."""
    entity = _entity(country.upper())
    if entity is None:
        return ()
    return tuple(
        f"{country.upper()}-{sub}"
        for sub in entity.subdivisions
        if re.fullmatch(r"[A-Za-z0-9]{1,3}", sub)  # ISO-shaped ones (not 'NSW Western', 'Zone A')
    )


@lru_cache(maxsize=4096)  # 500 salespeople and every customer row name a few dozen at most
def canonical_region(text: str) -> str:
    """``text`` as the region code cadence uses (``gb-eng`` -> ``GB-ENG``).

    Raises :class:`ValueParseError` naming the value: not shaped like an ISO code, a country
    the holidays package does not know, or a subdivision it does not know (the message lists
    the country's subdivisions, and suggests the code when ``text`` used a subdivision's name).
    """
    raw = text.strip()
    m = _REGION.match(raw)
    if m is None:
        alias = _alias(raw)
        hint = f" (did you mean {alias!r}?)" if alias else ""
        raise ValueParseError(
            f"cannot read country {raw[:40]!r}{hint}: use an ISO 3166 code like 'PT' or an "
            "ISO 3166-2 subdivision like 'GB-ENG'"
        )
    country, sub = m.group(1).upper(), m.group(2)
    if country not in country_codes():
        raise ValueParseError(f"unknown country code {country!r}: use an ISO 3166 code like 'PT'")
    if sub is None:
        return country
    codes = subdivisions_of(country)
    wanted = f"{country}-{sub.upper()}"
    for code in codes:
        if code.upper() == wanted:
            return code
    if not codes:
        raise ValueParseError(
            f"unknown subdivision {raw!r}: the holidays package has no regional holidays for "
            f"{country}; use {country!r}"
        )
    raise ValueParseError(f"unknown subdivision {raw!r} of {country}: use one of {_listed(codes)}")


def _alias(text: str) -> str | None:
    """The code of a subdivision written by name (``GB-England`` -> ``GB-ENG``), or None."""
    country, dash, name = text.partition("-")
    if not dash or len(country) != 2:
        return None
    entity = _entity(country.upper())
    aliases = getattr(entity, "subdivisions_aliases", None) or {}
    for alias, sub in aliases.items():
        if alias.casefold() == name.strip().casefold():
            code = f"{country.upper()}-{sub}"
            return code if code in subdivisions_of(country) else None
    return None


def is_known_country(code: str) -> bool:
    """Does the holidays package know this region (ISO 3166 or ISO 3166-2 code)?"""
    try:
        return bool(code) and canonical_region(code) == code.strip().upper()
    except ValueParseError:
        return False


@lru_cache(maxsize=512)
def regional_subdivisions(country: str) -> tuple[str, ...]:
    """The subdivisions of ``country`` whose public holidays differ from its nationwide ones.

    Empty for a country whose holidays do not depend on the subdivision (or that has none).
    """
    country = country.upper()
    try:
        nationwide = set(holidays.country_holidays(country, years=_PROBE_YEARS))
    except (NotImplementedError, KeyError, AttributeError):
        return ()
    out = []
    for code in subdivisions_of(country):
        sub = code.partition("-")[2]
        regional = holidays.country_holidays(country, subdiv=sub, years=_PROBE_YEARS)
        if set(regional) != nationwide:
            out.append(code)
    return tuple(out)


def subdivision_warning(code: str) -> str | None:
    """Why a plain country ``code`` misses regional holidays (naming the codes), or None."""
    if not code or "-" in code:
        return None
    codes = regional_subdivisions(code.upper())
    if not codes:
        return None
    return (
        f"public holidays in {code.upper()} differ by subdivision, and {code.upper()!r} alone "
        f"gets only the nationwide ones: give the ISO 3166-2 code, one of {_listed(codes)}"
    )


def _listed(codes: tuple[str, ...], most: int = 20) -> str:
    shown = ", ".join(codes[:most])
    return f"{shown} and {len(codes) - most} more" if len(codes) > most else shown


@lru_cache(maxsize=512)
def weekend_of(code: str) -> frozenset[int]:
    """The region's weekend as weekday numbers (0 = Monday): ``{4, 5}`` for Saudi Arabia."""
    cal = _calendar(code.upper().partition("-")[0]) if code else None
    if cal is None:
        return DEFAULT_WEEKEND
    return frozenset(int(d) for d in cal.weekend)


@lru_cache(maxsize=8192)
def holidays_in(code: str, year: int) -> dict[date, str]:
    """Public holidays of region ``code`` in ``year`` as {date: name}; empty for unknown codes."""
    if not code:
        return {}
    country, _, sub = code.upper().partition("-")
    try:
        sub = canonical_region(code).partition("-")[2] if sub else ""
        cal = holidays.country_holidays(country, subdiv=sub or None, years=year)
    except (ValueParseError, NotImplementedError, KeyError, AttributeError):
        return {}
    return dict(cal.items())


def holiday_name(code: str, d: date) -> str | None:
    """The name of the public holiday on ``d`` in region ``code``, or None."""
    return holidays_in(code, d.year).get(d)
