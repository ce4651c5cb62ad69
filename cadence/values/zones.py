"""The one rule for what counts as a time zone name.

A time zone is a real IANA key that :mod:`zoneinfo` lists and loads: ``Europe/Lisbon``, ``UTC``,
``America/Argentina/Buenos_Aires``. Everything else is refused *before* it reaches
:class:`zoneinfo.ZoneInfo`, which otherwise raises a zoo of exceptions on user text: a tzdata
folder (``America``) gives ``IsADirectoryError``, a 300-character name ``OSError`` (file name too
long), a NUL ``ValueError``, ``../etc`` or ``Europe/`` ``ValueError``, a data file of the tz
database (``zone.tab``) ``ValueError``. Refused as well, although ``ZoneInfo`` would load them:
``localtime`` and ``posixrules`` (they mean whatever the machine is set to), and the
``posix/`` and ``right/`` copies of the database (``right/`` counts leap seconds: wrong times).

Use :func:`is_zone` to test and :func:`zone_problem` for the message a user should see; both are
cached, so calling them once per customer row costs a dictionary lookup.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

MAX_ZONE_NAME = 64  # the longest IANA key today is 32 characters ("America/Argentina/...")
EXAMPLE_ZONE = "Europe/Lisbon"

# IANA keys are ASCII letters, digits, '_', '+', '-' between single slashes (``Etc/GMT+5``).
_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)
# Loadable, but not a zone: they name the machine's own setting.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


def is_zone(name: object) -> bool:
    """Is ``name`` an IANA time zone key that :class:`zoneinfo.ZoneInfo` loads? Never raises."""
    return zone_problem(name) is None


def zone_problem(name: object) -> str | None:
    """Why ``name`` is not a time zone, as a message for the user; None when it is one.

    The message starts with ``unknown time zone`` and says what is accepted; a tzdata folder
    (``America``) is named as a region with an example zone inside it, and a name that differs
    from a zone only in case gets that zone as a suggestion. Never raises.
    """
    if not isinstance(name, str):
        return f"expected an IANA time zone name like {EXAMPLE_ZONE!r}, got {type(name).__name__}"
    return _problem(name)


@lru_cache(maxsize=4096)
def _problem(name: str) -> str | None:
    accepted = f"use an IANA name like {EXAMPLE_ZONE!r} or 'UTC'"
    if not name:
        return f"empty time zone name: {accepted}"
    if len(name) > MAX_ZONE_NAME:
        return (
            f"unknown time zone {_shown(name)}: the name is {len(name)} characters long, "
            f"IANA names have at most {MAX_ZONE_NAME}; {accepted}"
        )
    known = _known_zones()
    listed = name in known or not known
    if _KEY.fullmatch(name) and name not in _NOT_ZONES and listed and _loads(name):
        return None
    inside = sorted(z for z in known if z.startswith(f"{name}/"))
    if inside:
        example = EXAMPLE_ZONE if EXAMPLE_ZONE in inside else inside[0]
        return f"unknown time zone {name!r}: that is a region, name a zone in it like {example!r}"
    same_but_case = _by_casefold().get(name.casefold())
    if same_but_case is not None:
        return f"unknown time zone {name!r}: did you mean {same_but_case!r}?"
    return f"unknown time zone {_shown(name)}: {accepted}"


def _loads(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, OSError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    """The keys tzdata and the system's zoneinfo folders list (read once: a few ms).

    ``available_timezones`` already leaves out ``posix/`` and ``right/``. Empty only on a
    system without any tz database, where :func:`_loads` alone then decides.
    """
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@lru_cache(maxsize=1)
def _by_casefold() -> dict[str, str]:
    return {z.casefold(): z for z in _known_zones()}


def _shown(name: str) -> str:
    """``name`` for a message: quoted, and cut short when it is long."""
    return repr(name) if len(name) <= 40 else f"{name[:37]!r}..."
