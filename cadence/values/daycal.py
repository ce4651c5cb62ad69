"""Public holidays and weekends per country or subdivision, from the ``holidays`` package.

A *region* is an ISO 3166 country code (``PT``) or an ISO 3166-2 subdivision code (``GB-ENG``,
``US-CA``, ``DE-BY``): the part after the dash is the subdivision as the ``holidays`` package
names it (``ENG``/``SCT``/``WLS``/``NIR`` for the UK, states for the US, Länder for Germany...).
A subdivision gets its country's nationwide holidays and its own; the weekend is the country's.

:func:`canonical_region` reads a code as a user wrote it and says precisely what is wrong with
one the package does not know; :func:`regional_subdivisions` names the subdivisions of a country
whose holidays differ from the nationwide ones (``cadence check`` warns about a plain code
there). At planning time an unknown code simply has no holidays and a Saturday-Sunday weekend.

Importing the package and, on the first calendar, every one of its country modules costs about
0.15 s of a command's start. Within :func:`tables_on_disk` (every command that opens the
workspace) the answers asked of it most (the known countries, a country's subdivisions and
weekend, a region's holidays in a year) are kept in a file, for the installed package: a command
that finds every answer there never imports it. tests/test_holiday_tables.py holds the file's
answers to the package's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cadence.values.errors import ValueParseError

if TYPE_CHECKING:  # imported where a calendar is built (see the module's text)
    import holidays

DEFAULT_WEEKEND = frozenset({5, 6})
_REGION = re.compile(r"^([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?$")
# Two years (a common and a leap one) in which subdivisions are compared with the nation: regional
# holidays are rules that hold every year, so any pair shows them.
_PROBE_YEARS = (2027, 2028)


@lru_cache(maxsize=512)
def _entity(country: str) -> type[holidays.HolidayBase] | None:
    """The holidays class of a country code (upper case), or None when it is unknown."""
    import holidays

    try:
        return type(holidays.country_holidays(country))
    except (NotImplementedError, KeyError, AttributeError):
        return None


@lru_cache(maxsize=512)
def _calendar(code: str) -> holidays.HolidayBase | None:
    """The holidays calendar of a canonical region code, or None when it is unknown."""
    import holidays

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

    def ask() -> list[str]:
        from holidays.registry import EntityLoader

        return sorted(EntityLoader.get_country_codes())

    return frozenset(_kept("countries", "", ask, _strings))


@lru_cache(maxsize=512)
def subdivisions_of(country: str) -> tuple[str, ...]:
    """The ISO 3166-2 codes (``GB-ENG``) the holidays package knows for ``country``."""

    def ask() -> list[str]:
        entity = _entity(country.upper())
        if entity is None:
            return []
        return [
            f"{country.upper()}-{sub}"
            for sub in entity.subdivisions
            if re.fullmatch(r"[A-Za-z0-9]{1,3}", sub)  # ISO-shaped (not 'NSW Western', 'Zone A')
        ]

    return _kept("subdivisions", country.upper(), ask, _strings)


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
    import holidays

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
    if not code:
        return DEFAULT_WEEKEND
    country = code.upper().partition("-")[0]

    def ask() -> list[int] | None:
        cal = _calendar(country)
        return None if cal is None else sorted(int(d) for d in cal.weekend)

    days = _kept("weekends", country, ask, _weekdays)
    return DEFAULT_WEEKEND if days is None else days


@lru_cache(maxsize=8192)
def holidays_in(code: str, year: int) -> dict[date, str]:
    """Public holidays of region ``code`` in ``year`` as {date: name}; empty for unknown codes."""
    if not code:
        return {}

    def ask() -> dict[str, str]:
        import holidays

        country, _, sub = code.upper().partition("-")
        try:
            sub = canonical_region(code).partition("-")[2] if sub else ""
            cal = holidays.country_holidays(country, subdiv=sub or None, years=year)
        except (ValueParseError, NotImplementedError, KeyError, AttributeError):
            return {}
        return {day.isoformat(): name for day, name in cal.items()}

    return _kept("holidays", f"{code} {year}", ask, _names)


def holiday_name(code: str, d: date) -> str | None:
    """The name of the public holiday on ``d`` in region ``code``, or None."""
    return holidays_in(code, d.year).get(d)


# ---- answers kept on disk ----------------------------------------------------------------------

_FORMAT = 1  # the form of the file; a file of another form is ignored (and replaced)
_T = TypeVar("_T")


class _Tables:
    """The answers of one installed holidays package, as kept in ``path`` (JSON): by kind
    (``countries``, ``subdivisions``, ``weekends``, ``holidays``), then by key."""

    def __init__(self, path: Path, package: str) -> None:
        self.path = path
        self.package = package
        self.kinds: dict[str, dict[str, Any]] = {}
        self.added = False
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if (
            isinstance(found, dict)
            and found.get("format") == _FORMAT
            and found.get("package") == package
            and isinstance(found.get("kinds"), dict)
        ):
            self.kinds = {k: v for k, v in found["kinds"].items() if isinstance(v, dict)}

    def save(self) -> None:
        """Write the file, when an answer was added, replacing it whole (a reader never sees
        half of it); a folder that cannot take it only means the next command asks again."""
        if not self.added:
            return
        data = {"format": _FORMAT, "package": self.package, "kinds": self.kinds}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".holidays-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return


_tables: _Tables | None = None


def _package() -> str | None:
    """What identifies the installed holidays package, without importing it: the path, size and
    modification time of its ``version.py`` (every release rewrites it). None: not found."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        return None
    version = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        seen = version.stat()
    except OSError:
        return None
    return f"{version}:{seen.st_size}:{seen.st_mtime_ns}"


@contextmanager
def tables_on_disk(folder: Path) -> Iterator[None]:
    """Within the block, keep the holidays package's answers in ``folder/holidays.json``
    (read when the block starts, written when it ends if an answer was added): see the
    module's text. Without a block every answer is asked of the package."""
    global _tables
    package = _package()
    previous = _tables
    tables = _Tables(folder / "holidays.json", package) if package else None
    _tables = tables
    try:
        yield
    finally:
        _tables = previous
        if tables is not None:
            tables.save()


def _kept(kind: str, key: str, ask: Callable[[], Any], decode: Callable[[Any], _T]) -> _T:
    """``decode`` of the answer ``ask`` gives (in JSON's types): from the file when it holds
    one that decodes (see :func:`tables_on_disk`), else asked and added to it."""
    tables = _tables
    if tables is None:
        return decode(ask())
    kept = tables.kinds.get(kind, {})
    if key in kept:
        try:
            return decode(kept[key])
        except (TypeError, ValueError, AttributeError):  # not what this module wrote: ask again
            pass
    answer = ask()
    tables.kinds.setdefault(kind, {})[key] = answer
    tables.added = True
    return decode(answer)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("not a list of strings")
    return tuple(value)


def _weekdays(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and 0 <= v <= 6 for v in value):
        raise TypeError("not a list of weekday numbers")
    return frozenset(value)


def _names(value: Any) -> dict[date, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("not holiday names by date")
    return {date.fromisoformat(day): name for day, name in value.items()}
