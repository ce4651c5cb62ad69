"""Credentials for acting as a salesperson: a service account with domain-wide delegation, or
per-salesperson OAuth tokens stored on disk by ``cadence auth google EMAIL``.

* Service account (Workspace): ``service_account_file`` is the JSON key; every call is made as
  the salesperson (``subject=owner``). Nothing is written to disk.
* Stored user tokens: ``token_folder/<email>.json`` holds the refresh token. It is created with
  owner-only permissions (0600), refused when others could read it, and rewritten whenever
  google-auth refreshes the access token, so the newest token survives restarts.

``token_uri`` (default Google's) is applied to both, so tests run against a local token endpoint.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google.auth.credentials
import google_auth_httplib2
import httplib2
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from connectors.base import AuthError, BackendContext

SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/gmail.readonly",
)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_TIMEOUT = 60.0


def _resolve(context: BackendContext, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else context.base_dir / path


def token_path(config: Mapping[str, Any], context: BackendContext, email: str) -> Path:
    """Where the stored OAuth token of ``email`` lives (``token_folder/<email>.json``)."""
    folder = config.get("token_folder")
    if not folder:
        raise AuthError("no token_folder configured in [calendar.google]")
    name = email.strip().lower()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise AuthError(f"not a usable e-mail address for a token file: {email!r}")
    return _resolve(context, str(folder)) / f"{name}.json"


def save_user_token(path: Path, creds: user_credentials.Credentials) -> None:
    """Write ``creds`` (with its refresh token) to ``path``, readable by the owner only.

    Written to a 0600 temporary file in the same folder and renamed over the old one, so a
    crash never leaves a half-written token and the secret is never briefly world-readable.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(creds.to_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_user_token(path: Path, token_uri: str) -> user_credentials.Credentials:
    """The stored credentials in ``path``; AuthError when missing, unreadable or too open."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AuthError(
            f"no Google token for this salesperson at {path}; run `cadence auth google EMAIL`"
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuthError(f"{path} is readable by other users; run `chmod 600 {path}`")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
    except (OSError, ValueError) as error:
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
            creds = service_account.Credentials.from_service_account_file(
                str(path), scopes=list(SCOPES), subject=owner
            )
        except (OSError, ValueError) as error:
            raise AuthError(f"unusable service account key {path}: {error}") from error
        return creds.with_token_uri(token_uri)
    return load_user_token(token_path(config, context, owner), token_uri)


@dataclass
class OwnerSession:
    """One salesperson's credentials and authorised HTTP connection.

    ``persist()`` writes a refreshed user token back to its file (a no-op for service accounts).
    """

    owner: str
    credentials: google.auth.credentials.Credentials
    http: google_auth_httplib2.AuthorizedHttp
    token_file: Path | None = None
    services: dict[str, Any] = field(default_factory=dict)
    _saved_token: str | None = None

    def persist(self) -> None:
        """Save the user token if google-auth refreshed it since the last save."""
        creds = self.credentials
        if self.token_file is None or not isinstance(creds, user_credentials.Credentials):
            return
        if creds.token and creds.token != self._saved_token:
            save_user_token(self.token_file, creds)
            self._saved_token = creds.token


def open_session(config: Mapping[str, Any], context: BackendContext, owner: str) -> OwnerSession:
    """A new :class:`OwnerSession` for ``owner`` (AuthError when its credentials are unusable)."""
    creds = owner_credentials(config, context, owner)
    timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
    authed = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout))
    token_file = None
    saved = None
    if not config.get("service_account_file"):
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
