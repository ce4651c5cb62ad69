"""cadence.toml: where things are, how often the daemon runs, who the salespeople are.

:func:`load_config` reads and validates the whole file and either returns a :class:`Config` of
resolved values or raises :class:`UserError` carrying every problem, each located as
``FILE:LINE: [table] key: message``. Relative paths are resolved against the folder holding
cadence.toml. Connector sections (``[calendar.NAME]``, ``[mail.NAME]``) are checked by the
connector's own ``validate_config``; the connector is imported only when its section or a
salesperson uses it. Secrets never live in this file: a key such as ``password`` is an error that
points to ``password_env`` / ``password_file``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from dateparser.languages.loader import default_loader
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import connectors
from cadence.inputs.closures import closure_texts
from cadence.inputs.tomlfile import (
    Field,
    LocatedToml,
    TablePath,
    TomlFileError,
    as_bool,
    as_duration,
    as_hours,
    as_list,
    as_positive_int,
    as_positive_number,
    as_str,
    as_zone,
    check_table,
    describe,
    expect,
    unknown_key_message,
)
from cadence.values.dates import DateReader
from cadence.values.daycal import canonical_region
from cadence.values.durations import Duration, parse_meeting_length
from cadence.values.errors import Problem, UserError, ValueParseError
from cadence.values.model import Salesperson
from cadence.values.workweek import WorkingHours, parse_working_days

DEFAULT_DATABASE = "sqlite:///cadence.db"
DEFAULT_HORIZON = Duration.parse("90 days")
DEFAULT_FORECAST = Duration.parse("1 year")
# How far the daemon books and `plan --forecast` looks, and how long a cycle may be: beyond
# these a typo (an extra zero) would make every cycle plan years of meetings, or never run.
MAX_HORIZON_DAYS = 731  # 2 years
MAX_FORECAST_DAYS = 1096  # 3 years
MAX_INTERVAL = timedelta(days=1)
DATE_ORDERS = ("DMY", "MDY", "YMD")
# Optional dependency groups in pyproject.toml, by connector name.
EXTRAS = {"google": "google", "outlook": "outlook", "caldav": "caldav"}
# Keys that would hold a secret in the file itself. Matched case-insensitively, in any table.
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "private_key",
    }
)
_TABLE_KEYS = frozenset({"calendar", "smtp", "mail", "daemon", "salesperson"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INTERVAL = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\s*$", re.I
)


@dataclass(frozen=True)
class DaemonSettings:
    """``[daemon]``: optional tuning of the long-running process (None: the daemon decides)."""

    lease_seconds: float | None = None
    health_file: Path | None = None


@dataclass(frozen=True)
class Config:
    """cadence.toml, validated and resolved (every path absolute, every default filled in)."""

    path: Path
    base_dir: Path
    database: str
    policies: Path
    customers: Path | None = None
    horizon: Duration = DEFAULT_HORIZON
    interval: timedelta = timedelta(minutes=15)
    forecast: Duration = DEFAULT_FORECAST
    languages: tuple[str, ...] = ("en",)
    date_order: str = "DMY"
    calendar_backend: str = "ics"
    calendars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    smtp: Mapping[str, Any] | None = None
    mail: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    daemon: DaemonSettings = DaemonSettings()
    salespeople: tuple[Salesperson, ...] = ()

    @property
    def horizon_days(self) -> int:
        """How many days ahead bookings are made."""
        return max(1, round(self.horizon.approx_days))

    @property
    def forecast_days(self) -> int:
        """How many days ahead ``cadence plan --forecast`` looks."""
        return max(1, round(self.forecast.approx_days))

    def date_reader(self) -> DateReader:
        """The dateparser reader for customer files and seasons, as configured."""
        return DateReader(self.languages, self.date_order)

    def salesperson(self, email: str) -> Salesperson | None:
        """The salesperson with this e-mail (case-insensitive), or None."""
        wanted = email.strip().lower()
        return next((s for s in self.salespeople if s.email == wanted), None)

    def backend_of(self, salesperson: Salesperson) -> str:
        """The calendar backend holding ``salesperson``'s calendar."""
        return salesperson.calendar or self.calendar_backend


# --------------------------------------------------------------------------------------------
# Converters for values only cadence.toml has


def _as_interval(value: Any) -> timedelta:
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


def _as_email(value: Any) -> str:
    address = expect(value, str, "an e-mail address").strip()
    if not _EMAIL.match(address):
        raise ValueParseError(f"{address!r} is not an e-mail address")
    return address.lower()


def _as_country(value: Any) -> str:
    return canonical_region(expect(value, str, "an ISO 3166 code like 'PT' or 'GB-ENG'"))


def _as_days(value: Any) -> frozenset[int]:
    return parse_working_days(expect(value, str, "working days like 'mon-fri'"))


def _as_breaks(value: Any) -> tuple[WorkingHours, ...]:
    return tuple(as_list(as_hours, "hours like '12:00-13:00'")(value))


def _as_port(value: Any) -> int:
    port = as_positive_int(value)
    if port > 65535:
        raise ValueParseError(f"port {port} is above 65535")
    return port


def _as_backend_name(value: Any) -> str:
    name = expect(value, str, "a calendar backend name")
    if name not in connectors.CALENDAR_BACKENDS:
        known = ", ".join(sorted(connectors.CALENDAR_BACKENDS))
        raise ValueParseError(f"unknown calendar backend {name!r} (known: {known})")
    return name


def _path(base_dir: Path) -> Callable[[Any], Path]:
    def convert(value: Any) -> Path:
        text = expect(value, str, "a path")
        if not text.strip():
            raise ValueParseError("expected a path, got an empty string")
        return _resolved(base_dir, text)

    return convert


def _resolved(base_dir: Path, text: str) -> Path:
    """``text`` as an absolute path (``~`` expanded, relative to ``base_dir``)."""
    try:
        return (base_dir / Path(text).expanduser()).resolve()
    except (ValueError, RuntimeError, OSError) as exc:
        # ValueError: a NUL in the path; RuntimeError: ~user of an unknown user.
        raise ValueParseError(f"cannot use path {text[:80]!r}: {exc}") from None


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
            url = url.set(database=str(_resolved(base_dir, url.database)))
        return url.render_as_string(hide_password=False)

    return convert


def _schemas(base_dir: Path) -> dict[str, dict[str, Field]]:
    """Every table's keys; paths resolve against ``base_dir``."""
    path = _path(base_dir)
    return {
        "": {
            "database": Field(_database(base_dir), "SQLAlchemy URL; default sqlite:///cadence.db"),
            "policies": Field(path, "folder of policy TOML files; default 'policies'"),
            "customers": Field(path, "customer CSV, re-read when it changes"),
            "horizon": Field(_as_horizon, "book this far ahead; default '90 days'"),
            "interval": Field(_as_interval, "daemon cycle; default '15 minutes', at most 1 day"),
            "forecast": Field(_as_forecast, "how far `plan --forecast` looks; default '1 year'"),
            "languages": Field(_as_languages, "dateparser languages; default ['en']"),
            "date_order": Field(_as_date_order, "how 03/04/2027 is read: DMY, MDY or YMD"),
            "calendar": Field(lambda v: v, "[calendar] table"),
            "smtp": Field(lambda v: v, "[smtp] table"),
            "mail": Field(lambda v: v, "[mail.NAME] tables"),
            "daemon": Field(lambda v: v, "[daemon] table"),
            "salesperson": Field(lambda v: v, "[[salesperson]] entries"),
        },
        "smtp": {
            "host": Field(as_str, "SMTP server; default localhost"),
            "port": Field(_as_port, "default 465 with ssl, else 25"),
            "starttls": Field(as_bool, "upgrade the connection with STARTTLS"),
            "ssl": Field(as_bool, "connect with implicit TLS"),
            "username": Field(as_str, "login name, if the server wants one"),
            "password_env": Field(as_str, "environment variable holding the password"),
            "password_file": Field(path, "file holding the password"),
            "sender": Field(_as_email, "From address of invitations"),
            "timeout": Field(as_positive_number, "seconds; default 30"),
        },
        "daemon": {
            "lease_seconds": Field(as_positive_number, "how long one daemon holds the lease"),
            "health_file": Field(path, "file touched after every good cycle"),
        },
        "salesperson": {
            "email": Field(_as_email, "required; customers name it as their owner"),
            "name": Field(as_str, "display name"),
            "timezone": Field(as_zone, "IANA zone; default UTC"),
            "working_hours": Field(as_hours, "default 09:00-17:00"),
            "working_days": Field(_as_days, "default mon-fri"),
            "country": Field(_as_country, "ISO 3166 code (or ISO 3166-2, 'GB-ENG') for holidays"),
            "calendar": Field(_as_backend_name, "backend holding this calendar"),
            "per_day": Field(as_positive_int, "own capacity per day"),
            "per_week": Field(as_positive_int, "own capacity per week"),
            # Replaced by a converter with the configured languages once those are read.
            "closures": Field(closure_texts(DateReader()), "own closure days, like seasons"),
            "breaks": Field(_as_breaks, "local spans never booked, e.g. ['12:00-13:00']"),
        },
    }


# --------------------------------------------------------------------------------------------
# Loading


def load_config(path: Path | str) -> Config:
    """Read and validate cadence.toml; raise :class:`UserError` listing every problem."""
    path = Path(path)
    try:
        doc = LocatedToml(path)
    except TomlFileError as exc:
        raise UserError(f"{path.name} has problems", [exc.problem]) from None
    problems: list[Problem] = []
    config = _Reader(doc, problems).read()
    errors = sorted(p for p in problems if p.is_error)
    if errors:
        raise UserError(f"{path.name} has problems", errors)
    return config


class _Reader:
    """Walks one parsed cadence.toml, collecting problems as it goes."""

    def __init__(self, doc: LocatedToml, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.path = doc.path.resolve()
        self.base_dir = self.path.parent
        self.schemas = _schemas(self.base_dir)

    def read(self) -> Config:
        data = self.doc.data
        self._report_secrets((), data)
        top, _ = self._check((), data, self.schemas[""])
        reader = DateReader(top.get("languages", ("en",)), top.get("date_order", "DMY"))
        closures = self.schemas["salesperson"]["closures"]
        self.schemas["salesperson"]["closures"] = Field(closure_texts(reader), closures.help)
        calendar = self._table((), "calendar", data)
        smtp_data = self._table((), "smtp", data) if "smtp" in data else None
        mail = self._table((), "mail", data)
        daemon_data = self._table((), "daemon", data)
        salespeople = self._salespeople(data.get("salesperson", []))

        default_backend, calendars = self._calendars(calendar, salespeople)
        # A mail source of a calendar backend (Gmail, Graph mail) uses the same connection:
        # [calendar.NAME] keys apply under [mail.NAME] unless it sets them itself.
        merged_mail = {
            name: {**calendars.get(name, {}), **section} if isinstance(section, dict) else section
            for name, section in mail.items()
        }
        mail_sections = self._connector_sections(("mail",), merged_mail, MAIL)
        smtp = self._smtp(smtp_data) if smtp_data is not None else None
        daemon_values, _ = self._check(("daemon",), daemon_data, self.schemas["daemon"])
        settings = {k: v for k, v in top.items() if k not in _TABLE_KEYS}
        settings.setdefault("database", _database(self.base_dir)(DEFAULT_DATABASE))
        settings.setdefault("policies", self.base_dir / "policies")
        return Config(
            path=self.path,
            base_dir=self.base_dir,
            **settings,
            calendar_backend=default_backend,
            calendars=calendars,
            smtp=smtp,
            mail=mail_sections,
            daemon=DaemonSettings(**daemon_values),
            salespeople=salespeople,
        )

    # -- generic helpers

    def _check(
        self, table: TablePath, data: Mapping[str, Any], schema: Mapping[str, Field]
    ) -> tuple[dict[str, Any], set[str]]:
        secrets = frozenset(k for k in data if k.lower() in SECRET_KEYS)
        return check_table(self.doc, table, data, schema, self.problems, ignore=secrets)

    def _table(self, parent: TablePath, key: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The sub-table ``key`` of ``data`` ({} when absent; reported when not a table)."""
        value = data.get(key, {})
        if isinstance(value, dict):
            return value
        self.problems.append(
            self.doc.problem(parent, key, f"expected a table [{key}], got {describe(value)}")
        )
        return {}

    def _report_secrets(self, table: TablePath, data: Mapping[str, Any]) -> None:
        """A secret written into the file is an error wherever it appears."""
        for key, value in data.items():
            if key.lower() in SECRET_KEYS:
                self.problems.append(
                    self.doc.problem(
                        table,
                        key,
                        "secrets never go in cadence.toml: name an environment variable "
                        f"({key}_env) or a file ({key}_file) that holds it instead",
                    )
                )
            elif isinstance(value, dict):
                self._report_secrets((*table, key), value)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        self._report_secrets((*table, key, index), item)

    # -- sections

    def _smtp(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values, _ = self._check(("smtp",), data, self.schemas["smtp"])
        if values.get("ssl") and values.get("starttls"):
            self.problems.append(
                self.doc.problem(
                    ("smtp",), "starttls", "use either ssl (implicit TLS) or starttls, not both"
                )
            )
        if "sender" not in values and "sender" not in data:
            self.problems.append(
                self.doc.problem(("smtp",), None, "sender is required: the From address")
            )
        defaults = {
            "host": "localhost",
            "port": 465 if values.get("ssl") else 25,
            "starttls": False,
            "ssl": False,
            "username": "",
            "password_env": "",
            "password_file": None,
            "timeout": 30.0,
        }
        return {**defaults, **values}

    def _salespeople(self, entries: Any) -> tuple[Salesperson, ...]:
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.problems.append(
                self.doc.problem(
                    (), "salesperson", f"expected [[salesperson]] entries, got {describe(entries)}"
                )
            )
            return ()
        people: list[Salesperson] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            table = ("salesperson", index)
            values, bad = self._check(table, entry, self.schemas["salesperson"])
            if "email" not in entry:
                self.problems.append(
                    self.doc.problem(table, None, "email is required: the salesperson's address")
                )
            if "email" not in values:
                continue
            email = values["email"]
            if email in seen:
                self.problems.append(
                    self.doc.problem(
                        table,
                        "email",
                        f"salesperson {email} is already listed at line {seen[email]}",
                    )
                )
                continue
            seen[email] = self.doc.line(table, "email")
            if bad:
                continue
            # Only what the entry says; Salesperson's own defaults fill in the rest.
            people.append(Salesperson(**values))
        return tuple(people)

    def _calendars(
        self, calendar: Mapping[str, Any], salespeople: tuple[Salesperson, ...]
    ) -> tuple[str, dict[str, dict[str, Any]]]:
        """The default backend and the validated ``[calendar.NAME]`` sections."""
        default = "ics"
        sections = {k: v for k, v in calendar.items() if isinstance(v, dict)}
        for key, value in calendar.items():
            if key in sections:
                continue
            if key != "backend":
                allowed = {"backend", *connectors.CALENDAR_BACKENDS}
                message = unknown_key_message(key, allowed)
                self.problems.append(self.doc.problem(("calendar",), key, message))
                continue
            try:
                default = _as_backend_name(value)
            except ValueParseError as exc:
                self.problems.append(self.doc.problem(("calendar",), "backend", str(exc)))
        validated = self._connector_sections(("calendar",), sections, CALENDAR)
        # A backend some salesperson uses needs no section of its own if its defaults do, but
        # it must be installed and its (empty) configuration acceptable.
        used = {s.calendar or default for s in salespeople}
        for name in sorted(used - set(sections)):
            if name in connectors.CALENDAR_BACKENDS:
                self._connector_section(("calendar",), name, {}, CALENDAR)
        return default, validated

    def _connector_sections(
        self, parent: TablePath, sections: Mapping[str, Any], kind: _ConnectorKind
    ) -> dict[str, dict[str, Any]]:
        """Validate each ``[PARENT.NAME]`` section by its connector; the valid ones, by name."""
        out: dict[str, dict[str, Any]] = {}
        for name, section in sections.items():
            if not isinstance(section, dict):
                message = f"expected a table [{parent[0]}.{name}], got {describe(section)}"
                self.problems.append(self.doc.problem(parent, name, message))
                continue
            if name not in kind.registry:
                known = ", ".join(sorted(kind.registry))
                message = f"unknown {kind.what} {name!r} (known: {known})"
                self.problems.append(self.doc.problem((*parent, name), None, message))
                continue
            if self._connector_section((*parent, name), name, section, kind):
                out[name] = dict(section)
        return out

    def _connector_section(
        self, table: TablePath, name: str, section: Mapping[str, Any], kind: _ConnectorKind
    ) -> bool:
        """Import connector ``name`` and let it validate ``section``; True when it is fine."""
        try:
            cls = kind.load(name)
        except ImportError as exc:
            self.problems.append(self.doc.problem(table, None, kind.import_failure(name, exc)))
            return False
        except AttributeError:  # the module exists but does not define the class (yet)
            message = f"{kind.what} {name} is not available in this installation"
            self.problems.append(self.doc.problem(table, None, message))
            return False
        # Secrets were reported already; the connector need not call them unknown keys too.
        visible = {k: v for k, v in section.items() if k.lower() not in SECRET_KEYS}
        found = list(cls.validate_config(visible))  # type: ignore[attr-defined]
        for key, message in found:
            self.problems.append(self.doc.problem(table, key or None, message))
        return not found


@dataclass(frozen=True)
class _ConnectorKind:
    """Calendar backends or mail sources: their registry and how one is loaded by name."""

    what: str
    registry: Mapping[str, str]
    load: Callable[[str], type]

    def import_failure(self, name: str, exc: ImportError) -> str:
        """Why connector ``name`` could not be imported, and what to install if anything."""
        module = self.registry[name].partition(":")[0]
        missing = exc.name or ""
        if missing and (module == missing or module.startswith(f"{missing}.")):
            return f"{self.what} {name} is not available in this installation"
        extra = EXTRAS.get(name)
        package = f" ({missing})" if missing else ""
        if extra:
            return (
                f"{self.what} {name} needs packages that are not installed{package}: "
                f"install cadence[{extra}]"
            )
        return f"{self.what} {name} cannot be imported{package}: {exc}"


CALENDAR = _ConnectorKind("calendar backend", connectors.CALENDAR_BACKENDS, connectors.load_backend)
MAIL = _ConnectorKind("mail source", connectors.MAIL_SOURCES, connectors.load_mail_source)
