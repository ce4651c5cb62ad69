"""The ``[calendar.outlook]`` section: its keys, their defaults and their validation.

The schema below is the single source of the keys' help text (``cadence check`` shows it) and of
their defaults; :func:`validate` finds every problem at once, :meth:`OutlookSettings.from_config`
turns an already-validated section into typed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.localfiles import default_state_dir

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
# The token cache's file name in the state directory (connectors.localfiles.default_state_dir): the
# folder holding cadence.toml is read-only under the shipped systemd unit.
DEFAULT_TOKEN_CACHE = "outlook-token-cache.json"
DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT = 30.0

CONFIG_KEYS: Mapping[str, str] = {
    "tenant_id": "Entra ID tenant (directory) id or primary domain",
    "client_id": "application (client) id of the app registration",
    "client_secret_env": "environment variable holding the app's client secret",
    "certificate_file": "PEM file with the app certificate's private key and certificate "
    "(instead of a client secret)",
    "certificate_thumbprint": "SHA-1 thumbprint of that certificate as Entra ID shows it "
    "(computed from the file when left out)",
    "authority": f"token authority (default {DEFAULT_AUTHORITY})",
    "graph_endpoint": f"Microsoft Graph root (default {DEFAULT_GRAPH})",
    "scope": "the token's scope, the resource Graph accepts tokens for (default: "
    "graph_endpoint's host with /.default, e.g. https://graph.microsoft.us/.default); set it "
    "when Graph is reached through a proxy or another host name",
    "token_cache_file": "token cache file, written with mode 0600 (default: "
    f"{DEFAULT_TOKEN_CACHE} in the state directory, $STATE_DIRECTORY or "
    "$XDG_STATE_HOME/cadence or ~/.local/state/cadence)",
    "max_retries": f"retries of a throttled or failed request (default {DEFAULT_MAX_RETRIES})",
    "timeout": f"seconds per HTTP request (default {DEFAULT_TIMEOUT:g})",
    "ca_bundle": "CA certificates file for TLS (corporate proxies, tests); default: system",
}

_STRING_KEYS = (
    "tenant_id",
    "client_id",
    "client_secret_env",
    "certificate_file",
    "certificate_thumbprint",
    "authority",
    "graph_endpoint",
    "scope",
    "token_cache_file",
    "ca_bundle",
)


def validate(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem in ``section`` as ``(key, message)`` pairs; empty when it is usable."""
    problems = [
        (key, f"unknown key (known: {', '.join(sorted(CONFIG_KEYS))})")
        for key in section
        if key not in CONFIG_KEYS
    ]
    for key in _STRING_KEYS:
        if key in section and not (isinstance(section[key], str) and section[key].strip()):
            problems.append((key, "must be a non-empty string"))
    for key in ("tenant_id", "client_id"):
        if key not in section:
            problems.append((key, "required"))
    has_secret = "client_secret_env" in section
    has_cert = "certificate_file" in section
    if has_secret == has_cert:
        problems.append(
            ("client_secret_env", "give exactly one of client_secret_env or certificate_file")
        )
    if "certificate_thumbprint" in section and not has_cert:
        problems.append(("certificate_thumbprint", "only meaningful with certificate_file"))
    thumb = section.get("certificate_thumbprint")
    if isinstance(thumb, str) and not _is_hex(thumb.replace(":", ""), 40):
        problems.append(("certificate_thumbprint", "must be 40 hexadecimal digits (SHA-1)"))
    for key, schemes in (("authority", ("https",)), ("graph_endpoint", ("https", "http"))):
        value = section.get(key)
        if isinstance(value, str) and value.strip():
            parts = urlsplit(value)
            if parts.scheme not in schemes or not parts.netloc:
                problems.append((key, f"must be an {' or '.join(schemes)} URL, got {value!r}"))
    scope = section.get("scope")
    if isinstance(scope, str) and scope.strip():
        parts = urlsplit(scope.strip())
        if (
            parts.scheme not in ("https", "http")
            or not parts.netloc
            or not scope.endswith("/.default")
        ):
            problems.append(("scope", f"must be a resource URL ending in /.default, got {scope!r}"))
    retries = section.get("max_retries", DEFAULT_MAX_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        problems.append(("max_retries", "must be a whole number from 0 to 10"))
    timeout = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(("timeout", "must be a positive number of seconds"))
    return problems


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


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


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

        tenant = section["tenant_id"].strip()
        thumb = section.get("certificate_thumbprint")
        graph = section.get("graph_endpoint", DEFAULT_GRAPH).rstrip("/")
        return cls(
            tenant_id=tenant,
            client_id=section["client_id"].strip(),
            client_secret_env=section.get("client_secret_env"),
            certificate_file=path("certificate_file"),
            certificate_thumbprint=thumb.replace(":", "").upper() if thumb else None,
            # "{tenant}" in a configured authority stands for tenant_id, as in the default.
            authority=section.get("authority", DEFAULT_AUTHORITY)
            .replace("{tenant}", tenant)
            .rstrip("/"),
            graph_endpoint=graph,
            token_cache_file=token_cache_path(section, base_dir, env),
            max_retries=int(section.get("max_retries", DEFAULT_MAX_RETRIES)),
            timeout=float(section.get("timeout", DEFAULT_TIMEOUT)),
            ca_bundle=path("ca_bundle"),
            scope=(section.get("scope") or "").strip() or default_scope(graph),
        )


def default_scope(graph_endpoint: str) -> str:
    """The application-permission scope of a Graph root's host (``.../.default``): the
    national cloud's Graph for its endpoint (``https://graph.microsoft.us/.default``)."""
    parts = urlsplit(graph_endpoint)
    return f"{parts.scheme}://{parts.netloc}/.default"
