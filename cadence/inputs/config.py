"""cadence.toml: where things are, how often the daemon runs, who the salespeople are.

:func:`load_config` reads and validates the whole file and either returns a :class:`Config` of
resolved values or raises :class:`UserError` carrying every problem, each located as
``FILE:LINE: [table] key: message``. Every table's keys, defaults and checks are its schema's
(:mod:`cadence.inputs.config_schema`, :func:`connectors.smtp.smtp_schema`, each connector's own);
relative paths are resolved against the folder holding cadence.toml. Connector sections
(``[calendar.NAME]``, ``[mail.NAME]``) are checked by the connector
(:mod:`cadence.inputs.connector_sections`). Secrets never live in this file: a key such as
``password`` is an error that points to ``password_env`` / ``password_file``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.config_schema import (
    CALENDAR_TABLE,
    TABLE_KEYS,
    daemon_schema,
    salesperson_schema,
    top_schema,
)
from cadence.inputs.connector_sections import CALENDAR, MAIL, ConnectorSections
from cadence.inputs.tomlfile import LocatedToml, TablePath, TomlFileError, check_table
from cadence.values.dates import DateReader
from cadence.values.durations import Duration
from cadence.values.errors import Problem, UserError
from cadence.values.model import Salesperson
from cadence.values.schema import Schema, describe, unknown_key_message
from connectors.smtp import smtp_schema

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


@dataclass(frozen=True)
class DaemonSettings:
    """``[daemon]``: optional tuning of the long-running process (None: the daemon decides)."""

    lease_seconds: float | None = None
    health_file: Path | None = None


@dataclass(frozen=True)
class Config:
    """cadence.toml, validated and resolved (every path absolute, every default filled in from
    the schemas)."""

    path: Path
    base_dir: Path
    database: str
    policies: Path
    customers: Path | None
    horizon: Duration
    interval: timedelta
    forecast: Duration
    languages: tuple[str, ...]
    date_order: str
    calendar_backend: str
    calendars: Mapping[str, Mapping[str, Any]]
    smtp: Mapping[str, Any] | None
    mail: Mapping[str, Mapping[str, Any]]
    daemon: DaemonSettings
    salespeople: tuple[Salesperson, ...]

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


def _is_secret(key: str) -> bool:
    return key.lower() in SECRET_KEYS


class _Reader:
    """Walks one parsed cadence.toml, collecting problems as it goes."""

    def __init__(self, doc: LocatedToml, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.path = doc.path.resolve()
        self.base_dir = self.path.parent
        self.connectors = ConnectorSections(doc, problems, _is_secret)

    def read(self) -> Config:
        data = self.doc.data
        self._report_secrets((), data)
        schema = top_schema(self.base_dir)
        top = schema.resolve(self._check((), data, schema)[0])
        reader = DateReader(top["languages"], top["date_order"])
        calendar = self._table((), "calendar", data)
        smtp_data = self._table((), "smtp", data) if "smtp" in data else None
        mail = self._table((), "mail", data)
        daemon_data = self._table((), "daemon", data)
        salespeople = self._salespeople(data.get("salesperson", []), salesperson_schema(reader))

        default_backend, calendars = self._calendars(calendar, salespeople)
        # A mail source of a calendar backend (Gmail, Graph mail) uses the same connection:
        # [calendar.NAME] keys apply under [mail.NAME] unless it sets them itself.
        merged_mail = {
            name: {**calendars.get(name, {}), **section} if isinstance(section, dict) else section
            for name, section in mail.items()
        }
        mail_sections = self.connectors.sections(("mail",), merged_mail, MAIL)
        smtp = self._smtp(smtp_data) if smtp_data is not None else None
        daemon = daemon_schema(self.base_dir)
        daemon_values = daemon.resolve(self._check(("daemon",), daemon_data, daemon)[0])
        settings = {k: v for k, v in top.items() if k not in TABLE_KEYS}
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
        self, table: TablePath, data: Mapping[str, Any], schema: Schema
    ) -> tuple[dict[str, Any], set[str]]:
        secrets = frozenset(k for k in data if _is_secret(k))
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
            if _is_secret(key):
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
        schema = smtp_schema(self.base_dir)
        return schema.resolve(self._check(("smtp",), data, schema)[0])

    def _salespeople(self, entries: Any, schema: Schema) -> tuple[Salesperson, ...]:
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.problems.append(
                self.doc.problem(
                    (), "salesperson", f"expected [[salesperson]] entries, got {describe(entries)}"
                )
            )
            return ()
        people: list[Salesperson] = []
        seen: dict[str, TablePath] = {}  # e-mail -> its first entry (a line only if needed)
        for index, entry in enumerate(entries):
            table = ("salesperson", index)
            values, bad = self._check(table, entry, schema)
            if "email" not in values:
                continue
            email = values["email"]
            if email in seen:
                self.problems.append(
                    self.doc.problem(
                        table,
                        "email",
                        f"salesperson {email} is already listed at line "
                        f"{self.doc.line(seen[email], 'email')}",
                    )
                )
                continue
            seen[email] = table
            if bad:
                continue
            # The schema's defaults; Salesperson's own fill in what has none (no country...).
            people.append(Salesperson(**schema.resolve(values)))
        return tuple(people)

    def _calendars(
        self, calendar: Mapping[str, Any], salespeople: tuple[Salesperson, ...]
    ) -> tuple[str, dict[str, dict[str, Any]]]:
        """The default backend and the validated ``[calendar.NAME]`` sections."""
        sections = {k: v for k, v in calendar.items() if isinstance(v, dict)}
        plain = {k: v for k, v in calendar.items() if k not in sections}
        allowed = {*CALENDAR_TABLE.fields, *connectors.CALENDAR_BACKENDS}
        for key in [k for k in plain if k not in CALENDAR_TABLE]:
            message = unknown_key_message(key, allowed)
            self.problems.append(self.doc.problem(("calendar",), key, message))
            del plain[key]
        values = CALENDAR_TABLE.resolve(self._check(("calendar",), plain, CALENDAR_TABLE)[0])
        default = values["backend"]
        validated = self.connectors.sections(("calendar",), sections, CALENDAR)
        # A backend some salesperson uses needs no section of its own if its defaults do, but
        # it must be installed and its (empty) configuration acceptable.
        used = {s.calendar or default for s in salespeople}
        for name in sorted(used - set(sections)):
            if name in connectors.CALENDAR_BACKENDS:
                self.connectors.section(("calendar",), name, {}, CALENDAR)
        return default, validated
