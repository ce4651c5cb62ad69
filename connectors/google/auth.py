"""Credentials for acting as a salesperson: a service account with domain-wide delegation, or
per-salesperson OAuth tokens stored on disk by ``cadence auth google EMAIL``.

* Service account (Workspace): ``service_account_file`` is the JSON key; every call is made as
  the salesperson (``subject=owner``). The key is refused when other users can read it. The
  access tokens granted for each salesperson (valid an hour) are kept in ``token_cache_file``
  (default ``google-token-cache.json`` in the state directory, written 0600 like every token
  file), so ``run --once`` started again within the hour, and the Gmail source after the
  calendar, grant none anew; a token is used only until a minute before it expires, and a
  cache that cannot be read (or that others could read) is ignored and written afresh.
* Stored user tokens: ``token_folder/<email>.json`` holds the refresh token. It is written
  atomically with owner-only permissions (0600, in a folder created 0700), never read through a
  symbolic link, refused when others could read it, and rewritten whenever google-auth
  refreshes the access token, so the newest token survives restarts.

Reading and writing go through :func:`connectors.localfiles.read_private_file` and
:func:`connectors.localfiles.write_private_file`, as the Outlook token cache does;
:func:`check_local_files` is what ``cadence check`` reports about these files.

``token_uri`` (default Google's) is applied to both, so tests run against a local token endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import google.auth.credentials
import google_auth_httplib2
import httplib2
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from connectors.base import AuthError, BackendContext
from connectors.google.config import SCHEMA, TOKEN_CACHE
from connectors.localfiles import (
    default_state_dir,
    read_private_file,
    secret_file_problem,
    token_file_problem,
    writable_problem,
    write_private_file,
)

SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/gmail.readonly",
)
# The defaults are the [calendar.google] schema's (connectors.google.config).
DEFAULT_TOKEN_URI: str = SCHEMA.default("token_uri")
DEFAULT_TIMEOUT: float = SCHEMA.default("timeout")
DEFAULT_TOKEN_CACHE = TOKEN_CACHE
TOKEN_MARGIN = timedelta(minutes=1)  # a cached access token this close to expiry is not used
_cache_lock = threading.Lock()  # the calendar backend and the Gmail source share the file


def _resolve(context: BackendContext, value: str) -> Path:
    return resolve_path(context.base_dir, value)


def resolve_path(base_dir: Path, value: str) -> Path:
    """``value`` as a path; a relative one is resolved against ``base_dir`` (cadence.toml's)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def token_path(config: Mapping[str, Any], context: BackendContext, email: str) -> Path:
    """Where the stored OAuth token of ``email`` lives (``token_folder/<email>.json``)."""
    folder = config.get("token_folder")
    if not folder:
        raise AuthError("no token_folder configured in [calendar.google]")
    name = email.strip().lower()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise AuthError(f"not a usable e-mail address for a token file: {email!r}")
    return _resolve(context, str(folder)) / f"{name}.json"


log = logging.getLogger(__name__)


def token_cache_path(config: Mapping[str, Any], context: BackendContext) -> Path:
    """Where service-account access tokens are cached (``token_cache_file``, or
    ``google-token-cache.json`` in the state directory)."""
    value = config.get("token_cache_file")
    if value:
        return _resolve(context, str(value))
    return default_state_dir(context.env) / DEFAULT_TOKEN_CACHE


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_private_file(path, follow_symlinks=False))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AuthError) as error:  # ignored: written afresh next time
        log.debug("google: token cache %s not used: %s", path, error)
        return {}
    return data if isinstance(data, dict) else {}


def _naive_utc(moment: datetime) -> datetime:
    """google-auth keeps ``expiry`` as a naive UTC datetime."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def restore_cached_token(path: Path, key: str, creds: Any) -> bool:
    """Give ``creds`` the access token cached under ``key`` when it is still good for more
    than :data:`TOKEN_MARGIN`; whether it did."""
    with _cache_lock:
        entry = _read_cache(path).get(key)
    if not isinstance(entry, dict):
        return False
    try:
        expiry = datetime.fromisoformat(str(entry["expiry"]))
        token = str(entry["token"])
    except (KeyError, ValueError):
        return False
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    if expiry - TOKEN_MARGIN <= datetime.now(UTC):
        return False
    creds.token = token
    creds.expiry = _naive_utc(expiry)
    return True


def cache_token(path: Path, key: str, token: str, expiry: datetime | None) -> None:
    """Keep ``token`` under ``key`` (dropping entries that have expired). Raises OSError."""
    if expiry is None:
        return
    now = datetime.now(UTC)
    with _cache_lock:
        entries = _read_cache(path)
        kept = {}
        for name, entry in entries.items():
            try:
                when = datetime.fromisoformat(str(entry["expiry"]))
            except (KeyError, ValueError, TypeError):
                continue
            if (when if when.tzinfo else when.replace(tzinfo=UTC)) > now:
                kept[name] = entry
        kept[key] = {"token": token, "expiry": expiry.replace(tzinfo=UTC).isoformat()}
        write_private_file(path, json.dumps(kept, sort_keys=True, indent=1).encode("utf-8"))


def save_user_token(path: Path, creds: user_credentials.Credentials) -> None:
    """Write ``creds`` (with its refresh token) to ``path``, readable by the owner only.

    Written to a 0600 temporary file in the same folder (created 0700 when missing) and
    renamed over the old one, so a crash never leaves a half-written token and the secret is
    never briefly readable by others. Raises OSError when the folder cannot be written.
    """
    write_private_file(path, creds.to_json().encode("utf-8"))


def load_user_token(path: Path, token_uri: str) -> user_credentials.Credentials:
    """The stored credentials in ``path``; AuthError when missing, unreadable, a symbolic link
    or readable by other users (the message names the file and the fix)."""
    try:
        data = read_private_file(path, follow_symlinks=False)
    except FileNotFoundError:
        raise AuthError(
            f"no Google token for this salesperson at {path}; run `cadence auth google EMAIL`"
        ) from None
    except OSError as error:
        raise AuthError(f"unusable Google token file {path}: {error}") from error
    try:
        info = json.loads(data)
        creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
    except ValueError as error:
        raise AuthError(f"unusable Google token file {path}: {error}") from error
    return creds.with_token_uri(token_uri)


def owner_credentials(
    config: Mapping[str, Any], context: BackendContext, owner: str
) -> google.auth.credentials.Credentials:
    """Credentials acting as ``owner``, from the service account or the stored token."""
    token_uri = str(config.get("token_uri") or DEFAULT_TOKEN_URI)
    key_file = config.get("service_account_file")
    if key_file:
        path = _resolve(context, str(key_file))
        try:
            # Read here rather than by google-auth, to refuse a key other users can read.
            info = json.loads(read_private_file(path))
            creds = service_account.Credentials.from_service_account_info(
                info, scopes=list(SCOPES), subject=owner
            )
        except (OSError, ValueError) as error:
            raise AuthError(f"unusable service account key {path}: {error}") from error
        return creds.with_token_uri(token_uri)
    return load_user_token(token_path(config, context, owner), token_uri)


@dataclass
class OwnerSession:
    """One salesperson's credentials and authorised HTTP connection.

    ``persist()`` writes a refreshed user token back to its file, or a service account's new
    access token to the token cache (``cache_file`` under ``cache_key``).
    """

    owner: str
    credentials: google.auth.credentials.Credentials
    http: google_auth_httplib2.AuthorizedHttp
    token_file: Path | None = None
    services: dict[str, Any] = field(default_factory=dict)
    _saved_token: str | None = None
    cache_file: Path | None = None
    cache_key: str = ""

    def persist(self) -> bool:
        """Save the token if google-auth refreshed it since the last save; True when a file
        was written. Raises OSError when it cannot be (tried once per new token)."""
        creds = self.credentials
        token = getattr(creds, "token", None)
        if not token or token == self._saved_token:
            return False
        if self.cache_file is not None:
            self._saved_token = token
            cache_token(self.cache_file, self.cache_key, token, getattr(creds, "expiry", None))
            return True
        if self.token_file is None or not isinstance(creds, user_credentials.Credentials):
            return False
        self._saved_token = token
        save_user_token(self.token_file, creds)
        return True


def open_session(config: Mapping[str, Any], context: BackendContext, owner: str) -> OwnerSession:
    """A new :class:`OwnerSession` for ``owner`` (AuthError when its credentials are unusable)."""
    creds = owner_credentials(config, context, owner)
    timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
    authed = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout))
    if config.get("service_account_file"):
        cache = token_cache_path(config, context)
        token_uri = str(config.get("token_uri") or DEFAULT_TOKEN_URI)
        key = f"{getattr(creds, 'service_account_email', '')} {owner.lower()} {token_uri}"
        restore_cached_token(cache, key, creds)
        return OwnerSession(
            owner,
            creds,
            authed,
            _saved_token=getattr(creds, "token", None),
            cache_file=cache,
            cache_key=key,
        )
    token_file = token_path(config, context, owner)
    saved = getattr(creds, "token", None)
    return OwnerSession(owner, creds, authed, token_file, _saved_token=saved)


def run_oauth_flow(config: Mapping[str, Any], context: BackendContext, email: str) -> Path:
    """Ask ``email`` to grant cadence access in a browser and store the token; returns its path.

    Runs google-auth-oauthlib's installed-app flow with a local redirect server (Google retired
    the copy-and-paste console flow). ``client_secrets_file`` is the OAuth client of type
    "Desktop app" downloaded from the Google Cloud console.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    secrets = config.get("client_secrets_file")
    if not secrets:
        raise AuthError("set client_secrets_file in [calendar.google] to run the OAuth flow")
    path = token_path(config, context, email)
    flow = InstalledAppFlow.from_client_secrets_file(
        str(_resolve(context, str(secrets))), scopes=list(SCOPES)
    )
    creds = flow.run_local_server(
        port=0,
        login_hint=email,
        access_type="offline",
        prompt="consent",  # always return a refresh token, even on a repeated grant
        open_browser=True,
    )
    save_user_token(path, creds)
    return path


def check_local_files(
    section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Problems with the files ``[calendar.google]`` names, as ``(key, message)`` pairs.

    The service account key must be readable by cadence and by nobody else, and be a service
    account key. The token folder must be writable (refreshed tokens are saved there); each
    token file already in it (one per salesperson, ``<email>.json``) must be a regular file only
    its owner can read. ``client_secrets_file`` (used by ``cadence auth google`` only) must be
    readable. The token cache of a service account (``token_cache_file``, by default in the state
    directory ``env`` names) must be writable.
    """
    problems: list[tuple[str, str]] = []
    key_file = _section_path(section, "service_account_file", base_dir)
    if key_file is not None:
        problem = secret_file_problem(key_file)
        if problem is None:
            try:
                info = json.loads(read_private_file(key_file))
                service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            except (OSError, ValueError) as error:  # AuthError: changed since the check above
                problem = f"{key_file} is not a usable service account key: {error}"
        if problem:
            problems.append(("service_account_file", problem))
        cache = _section_path(section, "token_cache_file", base_dir)
        cache = cache or default_state_dir(env) / DEFAULT_TOKEN_CACHE
        problem = writable_problem(cache)
        if problem:
            problems.append(("token_cache_file", f"{problem} (access tokens are kept there)"))
    folder = _section_path(section, "token_folder", base_dir)
    if folder is not None:
        problems += [("token_folder", problem) for problem in _token_folder_problems(folder)]
    secrets = _section_path(section, "client_secrets_file", base_dir)
    if secrets is not None and not (secrets.is_file() and os.access(secrets, os.R_OK)):
        problems.append(
            ("client_secrets_file", f"cannot read {secrets} (`cadence auth google` needs it)")
        )
    return problems


def _section_path(section: Mapping[str, Any], key: str, base_dir: Path) -> Path | None:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    return resolve_path(base_dir, value)


def _token_folder_problems(folder: Path) -> list[str]:
    if folder.exists() and not folder.is_dir():
        return [f"{folder} is not a folder"]
    # A salesperson's file stands for all of them: the check is about the folder.
    problem = writable_problem(folder / "EMAIL.json")
    problems = [f"{problem} (refreshed tokens are saved there)"] if problem else []
    if not folder.is_dir():
        return problems  # nobody has run `cadence auth google` yet: nothing else to check
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError as error:
        return [*problems, f"cannot list {folder}: {error.strerror or error}"]
    for name in names:
        if name.endswith(".json") and not name.startswith("."):  # not write temporaries
            problem = token_file_problem(folder / name)
            if problem:
                problems.append(problem)
    return problems
