"""The ``[calendar.google]`` section: its keys (with help text), defaults and value checks.

The same section serves the calendar backend and the Gmail mail source.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from connectors.google.auth import DEFAULT_TIMEOUT, DEFAULT_TOKEN_URI

DEFAULT_ENDPOINT = "https://www.googleapis.com/"
SEND_UPDATES = ("none", "all", "externalOnly")
MAX_BATCH = 50  # Google recommends at most 50 calls per batch request

CONFIG_KEYS: Mapping[str, str] = {
    "service_account_file": "service account JSON key with domain-wide delegation "
    "(acts as each salesperson)",
    "token_folder": "folder of per-salesperson OAuth tokens written by `cadence auth google EMAIL`",
    "client_secrets_file": "OAuth client (Desktop app) JSON used by `cadence auth google EMAIL`",
    "token_cache_file": "where a service account's access tokens are kept until they expire, "
    "mode 0600 (default: google-token-cache.json in the state directory, $STATE_DIRECTORY or "
    "$XDG_STATE_HOME/cadence or ~/.local/state/cadence)",
    "api_endpoint": f"root URL of the Google APIs (default {DEFAULT_ENDPOINT})",
    "token_uri": f"OAuth token endpoint (default {DEFAULT_TOKEN_URI})",
    "send_updates": "who Google e-mails about changes to invited events: none | all | externalOnly",
    "calendar_id": "calendar of each salesperson to book into (default primary); busy time "
    "always includes the primary calendar",
    "max_retries": "retries of a throttled or failed request before giving up (default 5)",
    "batch_size": "calls per batch request, 1 to 50 (default 50)",
    "timeout": f"seconds to wait for one HTTP response (default {DEFAULT_TIMEOUT:g})",
}

DEFAULTS: Mapping[str, Any] = {
    "api_endpoint": DEFAULT_ENDPOINT,
    "token_uri": DEFAULT_TOKEN_URI,
    "send_updates": "none",
    "calendar_id": "primary",
    "max_retries": 5,
    "batch_size": MAX_BATCH,
    "timeout": DEFAULT_TIMEOUT,
}


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems in a ``[calendar.google]`` section as ``(key, message)`` pairs."""
    problems = [
        (key, f"unknown key (known: {', '.join(sorted(CONFIG_KEYS))})")
        for key in section
        if key not in CONFIG_KEYS
    ]
    has_sa = bool(section.get("service_account_file"))
    has_tokens = bool(section.get("token_folder"))
    if has_sa == has_tokens:
        problems.append(
            (
                "service_account_file",
                "set exactly one of service_account_file (Workspace domain-wide delegation) "
                "or token_folder (per-salesperson OAuth tokens)",
            )
        )
    for key in ("service_account_file", "token_folder", "client_secrets_file", "token_cache_file"):
        if key in section and not (isinstance(section[key], str) and section[key].strip()):
            problems.append((key, "must be a non-empty path"))
    for key in ("api_endpoint", "token_uri"):
        if key in section and not _is_url(section[key]):
            problems.append((key, f"must be an http(s) URL, got {section[key]!r}"))
    if "send_updates" in section and section["send_updates"] not in SEND_UPDATES:
        problems.append(
            (
                "send_updates",
                f"must be one of {', '.join(SEND_UPDATES)}, got {section['send_updates']!r}",
            )
        )
    if "calendar_id" in section and not (
        isinstance(section["calendar_id"], str) and section["calendar_id"].strip()
    ):
        problems.append(("calendar_id", "must be a non-empty calendar id (or primary)"))
    if "max_retries" in section and not _int_in(section["max_retries"], 0, 20):
        problems.append(("max_retries", "must be a whole number from 0 to 20"))
    if "batch_size" in section and not _int_in(section["batch_size"], 1, MAX_BATCH):
        problems.append(("batch_size", f"must be a whole number from 1 to {MAX_BATCH}"))
    timeout = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(("timeout", "must be a positive number of seconds"))
    return problems


def with_defaults(section: Mapping[str, Any]) -> dict[str, Any]:
    """``section`` with every default filled in and ``api_endpoint`` ending in ``/``."""
    merged = {**DEFAULTS, **section}
    if not str(merged["api_endpoint"]).endswith("/"):
        merged["api_endpoint"] = str(merged["api_endpoint"]) + "/"
    return merged
