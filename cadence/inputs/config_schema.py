"""The tables of cadence.toml: every key's converter, default and help, in one place.

:func:`top_schema`, :data:`CALENDAR_TABLE`, :func:`daemon_schema` and :func:`salesperson_schema`
are the schemas :mod:`cadence.inputs.config` reads the file with; ``[smtp]`` is
:func:`connectors.smtp.smtp_schema` and each ``[calendar.NAME]`` / ``[mail.NAME]`` belongs to its
connector. Paths resolve against the folder holding cadence.toml (``base_dir``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.closures import closure_texts
from cadence.values.dates import KNOWN_LANGUAGES, DateReader
from cadence.values.daycal import canonical_region
from cadence.values.durations import Duration, parse_meeting_length
from cadence.values.errors import ValueParseError
from cadence.values.schema import (
    Field,
    Schema,
    as_duration,
    as_email,
    as_hours,
    as_list,
    as_path,
    as_positive_int,
    as_positive_number,
    as_str,
    as_zone,
    expect,
    resolved_path,
)
from cadence.values.workweek import WorkingHours, parse_working_days

# How far the daemon books and `plan --forecast` looks, and how long a cycle may be: beyond
# these a typo (an extra zero) would make every cycle plan years of meetings, or never run.
MAX_HORIZON_DAYS = 731  # 2 years
MAX_FORECAST_DAYS = 1096  # 3 years
MAX_INTERVAL = timedelta(days=1)
DATE_ORDERS = ("DMY", "MDY", "YMD")
# The top-level keys that are tables of their own, each with its schema elsewhere.
TABLE_KEYS = {
    "calendar": "[calendar] and one [calendar.NAME] table per backend",
    "smtp": "[smtp] table",
    "mail": "[mail.NAME] tables",
    "daemon": "[daemon] table",
    "salesperson": "[[salesperson]] entries",
}
_INTERVAL = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\s*$", re.I
)


# --------------------------------------------------------------------------------------------
# Converters for values only cadence.toml has


def as_interval(value: Any) -> timedelta:
    """How often the daemon runs: ``15 minutes``, ``1 hour``, ``PT15M``; 1 second to 1 day."""
    text = expect(value, str, "an interval like '15 minutes'")
    too_long = f"interval {text[:40]!r} is longer than 1 day; the daemon runs at least daily"
    m = _INTERVAL.match(text) if len(text) <= 100 else None  # no number needs more
    if m:
        n, unit = float(m.group(1)), m.group(2).lower()
        seconds = n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[0]]
        if seconds > MAX_INTERVAL.total_seconds():  # before timedelta(), which overflows
            raise ValueParseError(too_long)
        length = timedelta(seconds=round(seconds))
    else:
        try:  # ISO 8601 such as PT15M
            length = parse_meeting_length(text)
        except ValueParseError:
            raise ValueParseError(
                f"cannot read interval {text[:40]!r}: write e.g. '15 minutes', '1 hour' or '1 day'"
            ) from None
    if length < timedelta(seconds=1):
        raise ValueParseError(f"interval {text!r} is shorter than 1 second")
    if length > MAX_INTERVAL:
        raise ValueParseError(too_long)
    return length


def _bounded_duration(what: str, max_days: int, limit: str) -> Callable[[Any], Duration]:
    """A duration converter refusing values longer than ``max_days`` (``limit`` in words)."""

    def convert(value: Any) -> Duration:
        duration = as_duration(value)
        if duration.approx_days > max_days:
            raise ValueParseError(f"{what} {str(duration)!r} is longer than {limit}")
        return duration

    return convert


_as_horizon = _bounded_duration("horizon", MAX_HORIZON_DAYS, "2 years")
_as_forecast = _bounded_duration("forecast", MAX_FORECAST_DAYS, "3 years")


def _as_languages(value: Any) -> tuple[str, ...]:
    names = tuple(
        as_list(lambda v: expect(v, str, "a language code like 'en'"), "languages")(value)
    )
    if not names:
        raise ValueParseError("name at least one language, e.g. ['en']")
    if set(names) <= KNOWN_LANGUAGES:  # no need to ask (and import) dateparser
        return names
    from dateparser.languages.loader import default_loader

    try:
        default_loader.get_locale_map(languages=list(names))
    except ValueError as exc:  # dateparser: "Unknown language(s): 'xx'"
        raise ValueParseError(f"{exc}; use codes dateparser knows, like 'en', 'hi', 'ar'") from None
    return names


def _as_date_order(value: Any) -> str:
    order = expect(value, str, "one of DMY, MDY, YMD")
    if order.upper() not in DATE_ORDERS:
        raise ValueParseError(f"expected one of DMY, MDY, YMD, got {order!r}")
    return order.upper()


def _as_country(value: Any) -> str:
    return canonical_region(expect(value, str, "an ISO 3166 code like 'PT' or 'GB-ENG'"))


def _as_days(value: Any) -> frozenset[int]:
    return parse_working_days(expect(value, str, "working days like 'mon-fri'"))


def _as_breaks(value: Any) -> tuple[WorkingHours, ...]:
    return tuple(as_list(as_hours, "hours like '12:00-13:00'")(value))


def as_backend_name(value: Any) -> str:
    """The name of a registered calendar backend."""
    name = expect(value, str, "a calendar backend name")
    if name not in connectors.CALENDAR_BACKENDS:
        known = ", ".join(sorted(connectors.CALENDAR_BACKENDS))
        raise ValueParseError(f"unknown calendar backend {name!r} (known: {known})")
    return name


def masked_url(text: str) -> str:
    """A database URL as it may be shown: any password replaced by ``***``.

    Works on text that is not a valid URL, too: everything between the scheme's ``://`` and the
    last ``@`` after the user name's ``:`` is hidden.
    """
    scheme, sep, rest = text.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return text
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}"


def _database(base_dir: Path) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        from sqlalchemy.engine import make_url  # not imported by commands that need no store
        from sqlalchemy.exc import ArgumentError

        text = expect(value, str, "a database URL like 'sqlite:///cadence.db'")
        try:
            url = make_url(text)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            # Never echo the text as written: it may hold a password.
            raise ValueParseError(
                f"cannot read database URL {masked_url(text)[:200]!r}: write e.g. "
                "'sqlite:///cadence.db' or 'postgresql+psycopg://user@host/db'"
            ) from None
        if url.port is not None and not 0 < url.port <= 65535:
            raise ValueParseError(f"the database URL's port {url.port} is not a port number")
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            close = difflib.get_close_matches(backend, ["sqlite", "postgresql"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueParseError(
                f"database URL {masked_url(text)[:200]!r}: only sqlite:/// and "
                f"postgresql+psycopg:// URLs are supported{hint}"
            )
        if url.password:
            raise ValueParseError(
                "the database URL holds a password; secrets never go in cadence.toml: use "
                "PGPASSWORD or ~/.pgpass for PostgreSQL"
            )
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            # relative to cadence.toml, not to the working dir
            url = url.set(database=str(resolved_path(base_dir, url.database)))
        return url.render_as_string(hide_password=False)

    return convert


# --------------------------------------------------------------------------------------------
# The schemas


def top_schema(base_dir: Path) -> Schema:
    """cadence.toml's top level; paths resolve against ``base_dir``."""
    path = as_path(base_dir)
    return Schema(
        {
            "database": Field(
                _database(base_dir),
                "SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://user@host/db",
                default="sqlite:///cadence.db",
            ),
            "policies": Field(path, "folder of policy TOML files", default="policies"),
            "customers": Field(path, "customer CSV, re-read when it changes", default=None),
            "horizon": Field(
                _as_horizon, "book this far ahead; at most 2 years", default="90 days"
            ),
            "interval": Field(as_interval, "daemon cycle; at most 1 day", default="15 minutes"),
            "forecast": Field(
                _as_forecast, "how far `plan --forecast` looks; at most 3 years", default="1 year"
            ),
            "languages": Field(
                _as_languages, "dateparser languages of dates in files", default=["en"]
            ),
            "date_order": Field(
                _as_date_order, "how 03/04/2027 is read: DMY, MDY or YMD", default="DMY"
            ),
            **{key: Field(help=text) for key, text in TABLE_KEYS.items()},
        },
        about="relative paths are read from the folder holding cadence.toml",
    )


CALENDAR_TABLE = Schema(
    {
        "backend": Field(
            as_backend_name, "the backend of salespeople who name none of their own", default="ics"
        ),
    },
    about="the default backend; each backend's own keys are in its [calendar.NAME]",
)


def daemon_schema(base_dir: Path) -> Schema:
    """``[daemon]``; ``health_file`` resolves against ``base_dir``."""
    return Schema(
        {
            "lease_seconds": Field(
                as_positive_number,
                "how long one daemon holds its salespeople (several daemons on one database)",
                shown="none: one daemon serves everyone",
            ),
            "health_file": Field(as_path(base_dir), "file touched after every good cycle"),
        },
        about="optional tuning of the long-running process",
    )


def salesperson_schema(reader: DateReader) -> Schema:
    """``[[salesperson]]``; closure dates are read with ``reader``."""
    return Schema(
        {
            "email": Field(
                as_email,
                "their address; customers name it as their owner",
                required="email is required: the salesperson's address",
                required_at_table=True,
            ),
            "name": Field(as_str, "display name"),
            "timezone": Field(as_zone, "IANA zone of their working hours", default="UTC"),
            "working_hours": Field(as_hours, "local hours they meet in", default="09:00-17:00"),
            "working_days": Field(_as_days, "days they work", default="mon-fri"),
            "country": Field(
                _as_country, "ISO 3166 code (or ISO 3166-2, 'GB-ENG') of their public holidays"
            ),
            "calendar": Field(
                as_backend_name, "backend holding this calendar", shown="[calendar] backend"
            ),
            "per_day": Field(as_positive_int, "own capacity per day", shown="[capacity] per_day"),
            "per_week": Field(
                as_positive_int, "own capacity per week", shown="[capacity] per_week"
            ),
            "closures": Field(closure_texts(reader), "own closure days, like seasons"),
            "breaks": Field(_as_breaks, "local spans never booked, e.g. ['12:00-13:00']"),
        },
        about="one entry per salesperson",
    )
