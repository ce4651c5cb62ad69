"""The ``[calendar.outlook]`` section: its schema (keys, defaults, help, checks) and its reading.

:data:`SCHEMA` is the single source of the keys' help text, defaults and checks; :func:`validate`
finds every problem at once, :meth:`OutlookSettings.from_config` turns an already-validated
section into typed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cadence.values.errors import ValueParseError
from cadence.values.schema import (
    Converter,
    Field,
    Schema,
    as_seconds,
    is_text,
    is_whole,
    rule,
)
from connectors.localfiles import default_state_dir

Checks = Iterator[tuple[str, str]]

# The token cache's file name in the state directory (connectors.localfiles.default_state_dir): the
# folder holding cadence.toml is read-only under the shipped systemd unit.
DEFAULT_TOKEN_CACHE = "outlook-token-cache.json"


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


def _text(then: Callable[[str], str | None] = lambda value: None) -> Converter:
    """A non-empty string, then ``then``'s problem with it, if any."""

    def convert(value: Any) -> Any:
        if not is_text(value):
            raise ValueParseError("must be a non-empty string")
        problem = then(value)
        if problem:
            raise ValueParseError(problem)
        return value

    return convert


def _url(*schemes: str) -> Converter:
    def problem(value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme in schemes and parts.netloc:
            return None
        return f"must be an {' or '.join(schemes)} URL, got {value!r}"

    return _text(problem)


def _scope_problem(scope: str) -> str | None:
    parts = urlsplit(scope.strip())
    if parts.scheme in ("https", "http") and parts.netloc and scope.endswith("/.default"):
        return None
    return f"must be a resource URL ending in /.default, got {scope!r}"


def _one_credential(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    if ("client_secret_env" in section) == ("certificate_file" in section):
        yield "client_secret_env", "give exactly one of client_secret_env or certificate_file"


def _thumbprint(section: Mapping[str, Any], values: Mapping[str, Any]) -> Checks:
    if "certificate_thumbprint" in section and "certificate_file" not in section:
        yield "certificate_thumbprint", "only meaningful with certificate_file"
    thumb = section.get("certificate_thumbprint")
    if isinstance(thumb, str) and not _is_hex(thumb.replace(":", ""), 40):
        yield "certificate_thumbprint", "must be 40 hexadecimal digits (SHA-1)"


SCHEMA = Schema(
    {
        "tenant_id": Field(
            _text(), "Entra ID tenant (directory) id or primary domain", required="required"
        ),
        "client_id": Field(
            _text(), "application (client) id of the app registration", required="required"
        ),
        "client_secret_env": Field(_text(), "environment variable holding the app's client secret"),
        "certificate_file": Field(
            _text(),
            "PEM file with the app certificate's private key and certificate "
            "(instead of a client secret)",
        ),
        "certificate_thumbprint": Field(
            _text(),
            "SHA-1 thumbprint of that certificate as Entra ID shows it",
            shown="computed from certificate_file",
        ),
        "authority": Field(
            _url("https"),
            "token authority ({tenant}: tenant_id)",
            default="https://login.microsoftonline.com/{tenant}",
        ),
        "graph_endpoint": Field(
            _url("https", "http"),
            "Microsoft Graph root",
            default="https://graph.microsoft.com/v1.0",
        ),
        "scope": Field(
            _text(_scope_problem),
            "the token's scope, the resource Graph accepts tokens for; set it when Graph is "
            "reached through a proxy or another host name",
            shown="graph_endpoint's host with /.default, e.g. https://graph.microsoft.us/.default",
        ),
        "token_cache_file": Field(
            _text(),
            "token cache file, written with mode 0600",
            shown=f"{DEFAULT_TOKEN_CACHE} in the state directory ($STATE_DIRECTORY, "
            "$XDG_STATE_HOME/cadence or ~/.local/state/cadence)",
        ),
        "max_retries": Field(
            rule(lambda v: is_whole(v, 0, 10), "must be a whole number from 0 to 10"),
            "retries of a throttled or failed request",
            default=4,
        ),
        "timeout": Field(
            as_seconds,
            "seconds per HTTP request",
            default=30.0,
        ),
        "ca_bundle": Field(
            _text(), "CA certificates file for TLS (corporate proxies, tests)", shown="the system's"
        ),
    },
    checks=(_one_credential, _thumbprint),
    about="Microsoft Graph calendars; Graph mail ([mail.outlook]) reads the same keys",
)
CONFIG_KEYS: Mapping[str, str] = SCHEMA.help_texts()


def validate(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem in ``section`` as ``(key, message)`` pairs; empty when it is usable."""
    return SCHEMA.problems(section)


def section_path(section: Mapping[str, Any], key: str, base_dir: Path) -> Path | None:
    """The path ``section[key]`` names, relative ones resolved against ``base_dir`` (the
    folder holding cadence.toml); None when the key is not set (or not a usable string)."""
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    return base_dir / Path(value).expanduser()


def token_cache_path(section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]) -> Path:
    """Where the token cache lives: ``token_cache_file`` (relative to cadence.toml's folder),
    else :data:`DEFAULT_TOKEN_CACHE` in the state directory that ``env`` names."""
    return section_path(section, "token_cache_file", base_dir) or (
        default_state_dir(env) / DEFAULT_TOKEN_CACHE
    )


@dataclass(frozen=True)
class OutlookSettings:
    """Typed values of a validated ``[calendar.outlook]`` section (paths made absolute)."""

    tenant_id: str
    client_id: str
    client_secret_env: str | None
    certificate_file: Path | None
    certificate_thumbprint: str | None
    authority: str
    graph_endpoint: str
    token_cache_file: Path
    max_retries: int
    timeout: float
    ca_bundle: Path | None
    scope: str

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> OutlookSettings:
        """Read ``section`` (already checked by :func:`validate`); relative paths are resolved
        against ``base_dir``, the folder holding cadence.toml; ``env`` locates the state
        directory holding the default token cache."""

        def path(key: str) -> Path | None:
            return section_path(section, key, base_dir)

        values = SCHEMA.resolve(section)
        tenant = values["tenant_id"].strip()
        thumb = values.get("certificate_thumbprint")
        graph = values["graph_endpoint"].rstrip("/")
        return cls(
            tenant_id=tenant,
            client_id=values["client_id"].strip(),
            client_secret_env=values.get("client_secret_env"),
            certificate_file=path("certificate_file"),
            certificate_thumbprint=thumb.replace(":", "").upper() if thumb else None,
            # "{tenant}" in a configured authority stands for tenant_id, as in the default.
            authority=values["authority"].replace("{tenant}", tenant).rstrip("/"),
            graph_endpoint=graph,
            token_cache_file=token_cache_path(section, base_dir, env),
            max_retries=int(values["max_retries"]),
            timeout=float(values["timeout"]),
            ca_bundle=path("ca_bundle"),
            scope=(values.get("scope") or "").strip() or default_scope(graph),
        )


def default_scope(graph_endpoint: str) -> str:
    """The application-permission scope of a Graph root's host (``.../.default``): the
    national cloud's Graph for its endpoint (``https://graph.microsoft.us/.default``)."""
    parts = urlsplit(graph_endpoint)
    return f"{parts.scheme}://{parts.netloc}/.default"
