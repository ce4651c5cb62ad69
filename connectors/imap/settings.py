"""``[mail.imap]``: its schema (keys, defaults, help, checks)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cadence.values.errors import ValueParseError
from cadence.values.schema import (
    Computed,
    Converter,
    Field,
    Schema,
    as_seconds,
    is_text,
    rule,
)

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}

Checks = Iterator[tuple[str, str]]


def _text(template: bool = False) -> Converter:
    """A non-empty string; with ``template``, one whose ``{email}`` / ``{user}`` fill in."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise ValueParseError("must be a non-empty string")
        if template:
            try:
                value.format(email="a@b", user="a")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueParseError(
                    f"bad template {value!r} (use {{email}}, {{user}}): {exc}"
                ) from None
        return value

    return convert


def _is_folders(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(f, str) and f for f in value)


def _password(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    if "password_env" not in section and "password_file" not in section:
        yield "password_env", "set password_env or password_file"
    if "password_env" in section and "password_file" in section:
        yield "password_file", "set password_env or password_file, not both"


SCHEMA = Schema(
    {
        "host": Field(
            rule(is_text, "must name the IMAP server"),
            "IMAP server host name",
            required="must name the IMAP server",
        ),
        "security": Field(
            rule(
                lambda v: v in SECURITY,
                lambda v: f"must be one of ssl, starttls, none; got {v!r}",
            ),
            '"ssl", "starttls", or "none" (local tests only)',
            default="ssl",
        ),
        "port": Field(
            rule(
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536,
                lambda v: f"must be a port number, got {v!r}",
            ),
            "IMAP port",
            default=Computed(
                "993 for ssl, 143 for starttls and none",
                lambda values: DEFAULT_PORTS[values["security"]],
            ),
        ),
        "username": Field(
            _text(template=True),
            'login name; template allowed, e.g. "{email}" or "{user}"',
            required='required (template allowed, e.g. "{email}")',
        ),
        "password_env": Field(_text(), "environment variable holding the password"),
        "password_file": Field(
            _text(template=True),
            "file holding the password (relative to cadence.toml; template allowed)",
        ),
        "folders": Field(
            rule(_is_folders, 'must be a list of folder names, e.g. ["INBOX", "Sent"]'),
            "folders to read",
            shown="INBOX and the folder flagged \\Sent",
        ),
        "sent_folder": Field(_text(), "the sent folder, when the server flags none as \\Sent"),
        "timeout": Field(
            as_seconds,
            "seconds to wait for the server",
            default=30.0,
        ),
        "verify_tls": Field(
            rule(lambda v: isinstance(v, bool | str), "must be true, false or a CA bundle path"),
            "check the server's certificate: true, false, or a CA bundle path",
            default=True,
        ),
    },
    checks=(_password,),
    about="any IMAP mailbox",
)
