"""``[calendar.caldav]``: its schema (keys, defaults, help, checks) and the checks of its files."""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cadence.values.errors import ValueParseError
from cadence.values.schema import Converter, Field, Schema, as_seconds, rule
from connectors.localfiles import ca_bundle_problem, secret_file_problem

Checks = Iterator[tuple[str, str]]

TEMPLATE_FIELDS = frozenset({"email", "user"})


def fill_template(template: str, owner: str) -> str:
    """``template`` with ``{email}`` and ``{user}`` (the part before the ``@``) filled in."""
    return template.format(email=owner, user=owner.partition("@")[0])


def template_problems(key: str, value: Any) -> list[tuple[str, str]]:
    """Problems of a string that may hold ``{email}`` / ``{user}`` placeholders."""
    if not isinstance(value, str) or not value.strip():
        return [(key, "must be a non-empty string")]
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        return [(key, f"bad template {value!r}: {exc}")]
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        return [(key, f"unknown placeholder {{{unknown[0]}}} (known: {{email}}, {{user}})")]
    return []


def url_problems(key: str, value: Any) -> list[tuple[str, str]]:
    """Problems of an http(s) URL that may be a template."""
    problems = template_problems(key, value)
    if not problems and urlsplit(value).scheme not in ("http", "https"):
        problems.append((key, f"must be an http:// or https:// URL, got {value!r}"))
    return problems


def _no_problem(find: Callable[[str, Any], list[tuple[str, str]]]) -> Converter:
    """A converter refusing a value with the first problem ``find`` sees in it."""

    def convert(value: Any) -> Any:
        problems = find("", value)
        if problems:
            raise ValueParseError(problems[0][1])
        return value

    return convert


def _password_file(key: str, value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, str) or not value:
        return [(key, "must be a non-empty string")]
    return template_problems(key, value)


def _calendars(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    calendars = section.get("calendars", {})
    if not isinstance(calendars, Mapping):
        yield "calendars", 'must be a table of e-mail = "calendar URL"'
        return
    for email, url in calendars.items():
        if "@" not in str(email):
            yield "calendars", f"{email!r} is not an e-mail address"
        yield from (("calendars", f"{email}: {msg}") for _, msg in url_problems("url", url))


def _somewhere(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    if not any(k in section for k in ("url", "principal_url", "calendars")):
        yield "url", "set url, principal_url or calendars to find the calendars"


def _password(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    if "password_env" in section and "password_file" in section:
        yield "password_file", "set password_env or password_file, not both"
    has_secret = "password_env" in section or "password_file" in section
    if has_secret and "username" not in section:
        yield "username", "a password is configured but no username"


SCHEMA = Schema(
    {
        "url": Field(
            _no_problem(url_problems),
            "a template giving each salesperson's calendar collection (`{email}`, `{user}`), or "
            "the server's base URL (then the calendar is discovered)",
        ),
        "calendars": Field(
            help='a table `"e-mail" = "calendar URL"` for people whose calendar does not fit the '
            "template; wins over `url`"
        ),
        "principal_url": Field(
            _no_problem(url_problems),
            "a principal URL (template allowed) to discover the calendar from: cadence reads its "
            "`calendar-home-set` and uses the first calendar that holds events",
        ),
        "password_env": Field(
            rule(lambda v: isinstance(v, str) and bool(v), "must be a non-empty string"),
            "environment variable holding the password (never the password itself)",
        ),
        "password_file": Field(
            _no_problem(_password_file),
            "file holding the password (relative to cadence.toml; template allowed, so each person "
            "can have an app password)",
        ),
        "username": Field(
            _no_problem(template_problems),
            "HTTP user name (Basic authentication); template allowed, e.g. `{email}`",
        ),
        "verify_tls": Field(
            rule(lambda v: isinstance(v, bool | str), "must be true, false or a CA bundle path"),
            "check the server's TLS certificate: `true`, `false` (never in production), or a CA "
            "bundle path",
            default=True,
        ),
        "timeout": Field(
            as_seconds,
            "seconds to wait for the server",
            default=30.0,
        ),
        "invites": Field(
            rule(lambda v: isinstance(v, bool), lambda v: f"expected true or false, got {v!r}"),
            "`true`: cadence e-mails invited customers iMIP invitations itself, through `[smtp]` "
            "(required then). **Only for servers that do not schedule** (RFC 6638), e.g. Radicale "
            "and Xandikos; on a server that schedules (Nextcloud, SOGo, iCloud, Fastmail) "
            "customers would get two invitations for every change",
            default=False,
        ),
    },
    checks=(_calendars, _somewhere, _password),
    about="CalDAV servers (Fastmail, iCloud, Nextcloud, SOGo, Radicale...)",
)
CONFIG_KEYS: Mapping[str, str] = SCHEMA.help_texts()
DEFAULT_TIMEOUT: float = SCHEMA.default("timeout")


def local_problems(section: Mapping[str, Any], base_dir: Path) -> list[tuple[str, str]]:
    """Problems with the files ``section`` names, as ``(key, message)`` pairs.

    ``password_file`` must be readable by cadence and by nobody else. When it is a template
    (``secrets/{user}.caldav``) the files depend on the salesperson, so only their folder (the
    part before the first placeholder) is checked here; each file is checked when it is used,
    and a bad one stops only that salesperson. ``verify_tls`` given as a path must be a CA
    bundle that can be read. Relative paths are resolved against ``base_dir``.
    """
    problems: list[tuple[str, str]] = []
    template = section.get("password_file")
    if isinstance(template, str) and template.strip() and not template_problems("", template):
        fixed, placeholder, _ = template.partition("{")
        if not placeholder:
            problem = secret_file_problem(_resolve(base_dir, template))
        else:
            # "secrets/{user}.caldav" -> secrets/; "{user}.caldav" -> cadence.toml's folder.
            head, slash, _ = fixed.rpartition("/")
            problem = _folder_problem(_resolve(base_dir, head + slash or "."), template)
        if problem:
            problems.append(("password_file", problem))
    verify = section.get("verify_tls")
    if isinstance(verify, str) and verify.strip():
        problem = ca_bundle_problem(_resolve(base_dir, verify))
        if problem:
            problems.append(("verify_tls", problem))
    return problems


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _folder_problem(folder: Path, template: str) -> str | None:
    what = f"the folder of the per-salesperson password files {template}"
    if not folder.is_dir():
        return f"{folder} ({what}) does not exist"
    if not os.access(folder, os.R_OK | os.X_OK):
        return f"cannot read {folder} ({what}): permission denied"
    return None
