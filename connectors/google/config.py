"""The ``[calendar.google]`` section: its schema (keys, defaults, help, checks) and its reading.

The same section serves the calendar backend and the Gmail mail source.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from cadence.values.schema import Field, Schema, as_seconds, is_text, is_whole, rule

SEND_UPDATES = ("none", "all", "externalOnly")
MAX_BATCH = 50  # Google recommends at most 50 calls per batch request
TOKEN_CACHE = "google-token-cache.json"  # in the state directory, unless token_cache_file says


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


_path = rule(is_text, "must be a non-empty path")
_url = rule(_is_url, lambda value: f"must be an http(s) URL, got {value!r}")


def _one_credential(
    section: Mapping[str, Any], values: Mapping[str, Any]
) -> Iterable[tuple[str, str]]:
    if bool(section.get("service_account_file")) == bool(section.get("token_folder")):
        yield (
            "service_account_file",
            "set exactly one of service_account_file (Workspace domain-wide delegation) "
            "or token_folder (per-salesperson OAuth tokens)",
        )


SCHEMA = Schema(
    {
        "service_account_file": Field(
            _path,
            "service account JSON key with domain-wide delegation (acts as each salesperson); "
            "exclusive with `token_folder`",
        ),
        "token_folder": Field(
            _path, "folder of per-salesperson OAuth tokens written by `cadence auth google EMAIL`"
        ),
        "client_secrets_file": Field(
            _path, "OAuth client (Desktop app) JSON used by `cadence auth google EMAIL`"
        ),
        "token_cache_file": Field(
            _path,
            "where a service account's access tokens are kept until they expire, mode 0600",
            shown=f"{TOKEN_CACHE} in the state directory ($STATE_DIRECTORY, "
            "$XDG_STATE_HOME/cadence or ~/.local/state/cadence)",
        ),
        "api_endpoint": Field(
            _url,
            "root URL of the Google APIs (tests point it at a local server)",
            default="https://www.googleapis.com/",
        ),
        "token_uri": Field(
            _url, "OAuth token endpoint", default="https://oauth2.googleapis.com/token"
        ),
        "send_updates": Field(
            rule(
                lambda v: v in SEND_UPDATES,
                lambda v: f"must be one of {', '.join(SEND_UPDATES)}, got {v!r}",
            ),
            "who Google e-mails about changes to invited events: `none`, `all` or `externalOnly`",
            default="none",
        ),
        "calendar_id": Field(
            rule(is_text, "must be a non-empty calendar id (or primary)"),
            "calendar of each salesperson to book into; busy time always includes the primary "
            "calendar",
            default="primary",
        ),
        "max_retries": Field(
            rule(lambda v: is_whole(v, 0, 20), "must be a whole number from 0 to 20"),
            "retries of a throttled or failed request before giving up (exponential backoff with "
            "jitter, `Retry-After` honoured up to 10 s; a longer wait defers that salesperson to a "
            "later cycle)",
            default=5,
        ),
        "batch_size": Field(
            rule(
                lambda v: is_whole(v, 1, MAX_BATCH), f"must be a whole number from 1 to {MAX_BATCH}"
            ),
            f"calls per batch request (1 to {MAX_BATCH})",
            default=MAX_BATCH,
        ),
        "timeout": Field(
            as_seconds,
            "seconds to wait for one HTTP response",
            default=60.0,
        ),
    },
    checks=(_one_credential,),
    about="Google Calendar; Gmail ([mail.google]) reads the same keys",
)
CONFIG_KEYS: Mapping[str, str] = SCHEMA.help_texts()


def validate(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems in a ``[calendar.google]`` section as ``(key, message)`` pairs."""
    return SCHEMA.problems(section)


def with_defaults(section: Mapping[str, Any]) -> dict[str, Any]:
    """``section`` with every default filled in and ``api_endpoint`` ending in ``/``."""
    merged = SCHEMA.resolve(section)
    if not str(merged["api_endpoint"]).endswith("/"):
        merged["api_endpoint"] = str(merged["api_endpoint"]) + "/"
    return merged
