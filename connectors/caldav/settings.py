"""``[calendar.caldav]``: its keys, their help text, and the checks of their values."""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.localfiles import ca_bundle_problem, secret_file_problem

TEMPLATE_FIELDS = frozenset({"email", "user"})
DEFAULT_TIMEOUT = 30.0

CONFIG_KEYS: Mapping[str, str] = {
    "url": "server base URL, or each salesperson's calendar URL as a template with "
    "{email} / {user}",
    "calendars": "table of salesperson e-mail -> calendar URL (overrides url)",
    "principal_url": "principal URL (template allowed) whose calendar-home-set holds the "
    "calendar, for discovery",
    "username": 'user name for HTTP authentication; template allowed, e.g. "{email}"',
    "password_env": "environment variable holding the password",
    "password_file": "file holding the password (relative to cadence.toml; template allowed)",
    "verify_tls": "check the server's TLS certificate: true (default), false, or a CA bundle path",
    "timeout": "seconds to wait for the server (default 30)",
    "invites": "cadence e-mails the attendees iMIP invitations through [smtp] itself (default "
    "false); only for servers that do not schedule (RFC 6638), else customers get two",
}


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


def value_problems(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Malformed URLs and templates, secrets in the wrong place, bad numbers: every one."""
    problems: list[tuple[str, str]] = []
    if "url" in section:
        problems += url_problems("url", section["url"])
    if "principal_url" in section:
        problems += url_problems("principal_url", section["principal_url"])
    calendars = section.get("calendars", {})
    if not isinstance(calendars, Mapping):
        problems.append(("calendars", 'must be a table of e-mail = "calendar URL"'))
    else:
        for email, url in calendars.items():
            if "@" not in str(email):
                problems.append(("calendars", f"{email!r} is not an e-mail address"))
            problems += [("calendars", f"{email}: {msg}") for _, msg in url_problems("url", url)]
    if not any(k in section for k in ("url", "principal_url", "calendars")):
        problems.append(("url", "set url, principal_url or calendars to find the calendars"))
    if "username" in section:
        problems += template_problems("username", section["username"])
    for key in ("password_env", "password_file"):
        if key in section and (not isinstance(section[key], str) or not section[key]):
            problems.append((key, "must be a non-empty string"))
    if "password_file" in section and isinstance(section["password_file"], str):
        problems += template_problems("password_file", section["password_file"])
    if "password_env" in section and "password_file" in section:
        problems.append(("password_file", "set password_env or password_file, not both"))
    has_secret = "password_env" in section or "password_file" in section
    if has_secret and "username" not in section:
        problems.append(("username", "a password is configured but no username"))
    verify = section.get("verify_tls", True)
    if not isinstance(verify, bool | str):
        problems.append(("verify_tls", "must be true, false or a CA bundle path"))
    timeout = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(("timeout", f"must be a positive number of seconds, got {timeout!r}"))
    if "invites" in section and not isinstance(section["invites"], bool):
        problems.append(("invites", f"expected true or false, got {section['invites']!r}"))
    return problems


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
