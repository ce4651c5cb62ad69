"""``cadence check``: the files and secrets cadence.toml names that ``run`` could not use: the
database's folder, the health file, each connector's own files (secrets readable by others,
token caches that cannot be written, missing CA bundles) and secrets' environment variables
that are not set."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.config import Config
from cadence.inputs.tomlfile import LocatedToml, TablePath, TomlFileError
from cadence.values.errors import Problem
from connectors.localfiles import writable_problem


def check_local_files(config: Config, env: Mapping[str, str]) -> list[Problem]:
    """Files and secrets the configuration names that ``run`` could not use: the database's
    folder, the health file, and each connector's own (secret files readable by others or not
    at all, token caches that cannot be written, missing CA bundles), located in cadence.toml.
    """
    try:
        doc: LocatedToml | None = LocatedToml(config.path)
    except TomlFileError:
        doc = None
    problems: list[Problem] = []

    said: set[str] = set()

    def add(table: TablePath, key: str | None, message: str, severity: str = "error") -> None:
        # A mail source of a calendar backend shares its section's files: say it once.
        if message in said:
            return
        said.add(message)
        if doc is not None:
            problems.append(doc.problem(table, key, message, severity=severity))
        else:
            problems.append(
                Problem(file=str(config.path), key=key or "", message=message, severity=severity)
            )

    database = _sqlite_file(config.database)
    if database is not None:
        why = writable_problem(database)
        if why:
            add((), "database", why)
    if config.daemon.health_file is not None:
        why = writable_problem(config.daemon.health_file)
        if why:
            add(("daemon",), "health_file", why)
    used = {config.backend_of(p) for p in config.salespeople} | {config.calendar_backend}
    for name in sorted(used | set(config.calendars)):
        section = config.calendars.get(name, {})
        for key, message in _connector_local(connectors.load_backend, name, section, config, env):
            add(("calendar", name), key or None, message)
    for name, section in sorted(config.mail.items()):
        for key, message in _connector_local(
            connectors.load_mail_source, name, section, config, env
        ):
            add(("mail", name), key or None, message)
    if config.smtp is not None:
        from connectors.smtp import check_smtp_local

        for key, message in check_smtp_local(config.smtp, config.base_dir, env):
            add(("smtp",), key or None, message)
    for table, key, message in _unset_secret_variables(config, env):
        add(table, key, message, "warning")
    return problems


def _unset_secret_variables(
    config: Config, env: Mapping[str, str]
) -> list[tuple[TablePath, str, str]]:
    """Each ``*_env`` key (a secret's environment variable) of a section in use whose variable
    is not set here. A warning, not an error: `check` may run without the service's environment
    file, but a variable that is missing there too fails every salesperson on that backend."""
    used = {config.backend_of(p) for p in config.salespeople} | {config.calendar_backend}
    sections: list[tuple[TablePath, Mapping[str, Any]]] = [
        (("calendar", name), section) for name, section in config.calendars.items() if name in used
    ]
    sections += [(("mail", name), section) for name, section in config.mail.items()]
    if config.smtp is not None and config.smtp.get("username"):  # no login, no password
        sections.append((("smtp",), config.smtp))
    found = []
    for table, section in sections:
        for key, variable in sorted(section.items()):
            secret = key.endswith("_env") and isinstance(variable, str) and bool(variable)
            if secret and not env.get(variable):
                message = (
                    f"environment variable {variable} is not set here; the service needs it "
                    "(e.g. in /etc/cadence/env, see deploy/README.md)"
                )
                found.append((table, key, message))
    return found


def _connector_local(
    load: Any, name: str, section: Mapping[str, Any], config: Config, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    try:
        cls = load(name)
    except (ImportError, LookupError, AttributeError):
        return []  # load_config reported it already
    found: list[tuple[str, str]] = cls.check_local(section, config.base_dir, env)
    return found


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])
