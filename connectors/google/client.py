"""What the calendar backend and the Gmail source share: configuration, one authorised session
per salesperson, API clients built from the discovery documents shipped with the library, and
the per-owner error boundary.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.base import AuthError, BackendContext
from connectors.google import config as google_config
from connectors.google.auth import OwnerSession, open_session
from connectors.google.retry import Retrier, translated

log = logging.getLogger(__name__)

# API name -> (version, path below api_endpoint that the discovery document's paths start from)
_APIS = {"calendar": ("v3", "calendar/v3/"), "gmail": ("v1", "")}


class GoogleClient:
    """Sessions and API clients for many owners; trouble with one owner stays with that owner."""

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        self.settings = google_config.with_defaults(config)
        self.context = context
        self.endpoint: str = self.settings["api_endpoint"]
        self.batch_size: int = int(self.settings["batch_size"])
        self.retrier = Retrier(int(self.settings["max_retries"]), context.sleep)
        self._sessions: dict[str, OwnerSession] = {}
        self._save_failing: str | None = None  # why refreshed tokens cannot be saved

    def session(self, owner: str) -> OwnerSession:
        """The owner's session, opened on first use."""
        key = owner.lower()
        if key not in self._sessions:
            self._sessions[key] = open_session(self.settings, self.context, owner)
        return self._sessions[key]

    def service(self, owner: str, api: str) -> Any:
        """The ``calendar`` or ``gmail`` API client acting as ``owner``.

        Built from the discovery document bundled with google-api-python-client (no network),
        pointed at ``api_endpoint``.
        """
        session = self.session(owner)
        if api not in session.services:
            version, path = _APIS[api]
            session.services[api] = build(
                api,
                version,
                http=session.http,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self.endpoint + path},
            )
        return session.services[api]

    @contextlib.contextmanager
    def guard(self, owner: str, what: str) -> Iterator[None]:
        """Error boundary of one public call for ``owner``.

        Library errors become :mod:`connectors.base` errors; after an :class:`AuthError` the
        session is dropped so the next call re-reads the (perhaps fixed) credentials; a token
        refreshed during the call is saved (see :meth:`_persist`).
        """
        try:
            with translated(f"google {what} for {owner}"):
                yield
        except AuthError as error:
            self._sessions.pop(owner.lower(), None)
            if isinstance(error.__cause__, RefreshError | HttpError):  # Google said no
                raise AuthError(f"{error}; {self._auth_hint(owner)}") from error
            raise
        finally:
            session = self._sessions.get(owner.lower())
            if session is not None:
                self._persist(session)

    def _persist(self, session: OwnerSession) -> None:
        """Save a refreshed token. A file that cannot be written is logged once for this
        backend (and once when saving works again), not raised: the token in memory works, and
        failing every salesperson's call over a read-only folder would stop the whole team."""
        try:
            written = session.persist()
        except OSError as error:
            where = session.cache_file or session.token_file
            folder = where.parent if where else "token_folder"
            key = "token_cache_file" if session.cache_file else "token_folder"
            problem = (
                f"cannot save refreshed Google tokens in {folder}: "
                f"{error.strerror or error}; they are kept in memory only, "
                "so each restart refreshes them again. Make the folder writable by the user "
                f"cadence runs as, or move {key} (`cadence check` names the problem)"
            )
            if self._save_failing != problem:
                log.error("%s", problem)
            self._save_failing = problem
            return
        if written and self._save_failing is not None:
            log.warning("Google tokens are saved again")
            self._save_failing = None

    def _auth_hint(self, owner: str) -> str:
        if self.settings.get("service_account_file"):
            return (
                "check the service account key and its domain-wide delegation with the "
                "calendar and gmail.readonly scopes (docs/google.md)"
            )
        return f"run `cadence auth google {owner}` to grant access again"

    def close(self) -> None:
        """Forget every session (their HTTP connections close with them)."""
        for session in self._sessions.values():
            for connection in getattr(session.http.http, "connections", {}).values():
                connection.close()
        self._sessions.clear()
