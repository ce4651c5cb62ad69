"""What the calendar backend and the Gmail source share: configuration, one authorised session
per salesperson, API clients built from the discovery documents shipped with the library, the
per-owner error boundary, and reads sent ahead for many salespeople in one batch request.

Reading ahead (:meth:`GoogleClient.read_ahead`): Google's batch endpoint takes calls made as
different users, each part with its own ``Authorization``; so the first request of each
salesperson's next read is sent for all of them in one batch, once (no retries), and each answer
is kept (:class:`connectors.common.http.AnswersAhead`) for :meth:`GoogleClient.execute` of that
very request, which takes it as its first attempt.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.base import AuthError, BackendContext
from connectors.common.http import AHEAD_TIMEOUT, AnswersAhead, side_by_side
from connectors.google import config as google_config
from connectors.google.auth import OwnerSession, open_session
from connectors.google.batch import Outcome, batch_uri, send_once
from connectors.google.retry import Retrier, translated

log = logging.getLogger(__name__)

# API name -> (version, path below api_endpoint that the discovery document's paths start from)
_APIS = {"calendar": ("v3", "calendar/v3/"), "gmail": ("v1", "")}
# The batch path of each API (a batch holds calls of one API).
_BATCH = {"calendar": "calendar/v3", "gmail": "gmail/v1"}

# A read sent ahead: (owner, what, the API method by its path, its params); ``what`` names the
# method as :meth:`GoogleClient.execute` is told it ("events.list"), the path as
# :meth:`GoogleClient.method` takes it ("calendar.events.list").
Read = tuple[str, str, str, Mapping[str, Any]]
AheadKey = tuple[str, str, str]


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
        self.ahead: AnswersAhead[AheadKey, Outcome] = AnswersAhead()

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

    def resource(self, owner: str, path: str) -> Any:
        """The API resource ``path`` ("calendar.events", "gmail.users.history") acting as
        ``owner``, made once per session (making one builds every method it has)."""
        session = self.session(owner)
        if path not in session.services:
            api, *names = path.split(".")
            found = self.service(owner, api)
            for n, name in enumerate(names, 1):
                found = session.services.get(".".join([api, *names[:n]])) or getattr(found, name)()
                session.services[".".join([api, *names[:n]])] = found
        return session.services[path]

    def method(self, owner: str, path: str) -> Callable[..., Any]:
        """The API method ``path`` ("calendar.events.list") acting as ``owner``."""
        where, _, name = path.rpartition(".")
        return getattr(self.resource(owner, where), name)

    def execute(self, owner: str, method: Callable[..., Any], what: str, **params: Any) -> Any:
        """``method(**params).execute()`` for ``owner`` with the retrier's retries; its first
        attempt is the answer read ahead for this very request, when one is kept."""
        kept = self.ahead.take(_ahead_key(owner, what, params))

        def attempt() -> Any:
            nonlocal kept
            if kept is None:
                return method(**params).execute()
            answer, kept = kept, None
            if answer.error is not None:
                raise answer.error
            return answer.response

        return self.retrier.call(attempt, what)

    def read_ahead(self, api: str, reads: Sequence[Read]) -> None:
        """Send ``reads`` (of several owners, all of ``api``) in batch requests of at most
        ``batch_size`` calls, once each, and keep every answer, an error included, for
        :meth:`execute` of the same request. An owner whose token cannot be had keeps that
        error for the read instead (its own call would have met it); a batch that fails as a
        whole keeps nothing (each read then asks for itself). Never raises."""
        owners = list(dict.fromkeys(owner.lower() for owner, *_ in reads))
        # Each owner's token first, several at once (the grants their reads would make).
        readiness = side_by_side(self._ready, owners)
        refused = {o: e for o, e in zip(owners, readiness, strict=True) if e is not None}
        calls: list[tuple[AheadKey, Callable[[], Any]]] = []
        for owner, what, path, params in reads:
            key = _ahead_key(owner, what, params)
            try:
                if owner.lower() in refused:
                    raise refused[owner.lower()]
                method = self.method(owner, path)
            except Exception as error:  # kept for the owner's own read, which meets it
                self.ahead.keep(key, Outcome(error=error))
                continue
            calls.append((key, functools.partial(method, **params)))
        uri = batch_uri(self.endpoint, _BATCH[api])
        chunks = [
            calls[start : start + self.batch_size]
            for start in range(0, len(calls), self.batch_size)
        ]
        # The first batch alone: a token refused there is renewed once (by the library), and
        # the others, sent several at once, carry the new ones.
        first = [self._send_ahead(uri, chunk, api) for chunk in chunks[:1]]
        rest = side_by_side(lambda chunk: self._send_ahead(uri, chunk, api), chunks[1:])
        for answers in first + rest:
            for key, answer in answers.items():
                self.ahead.keep(key, answer)

    def _ready(self, owner: str) -> Exception | None:
        """Open ``owner``'s session with a valid token (granted now when needed, as their own
        call would); the error when it cannot be had."""
        try:
            session = self.session(owner)
            if not session.credentials.valid:
                session.credentials.refresh(google_auth_httplib2.Request(session.http.http))
                self._persist(session)
        except Exception as error:
            return error
        return None

    def _send_ahead(
        self, uri: str, calls: Sequence[tuple[AheadKey, Callable[[], Any]]], api: str
    ) -> dict[AheadKey, Outcome]:
        """One batch of reads sent ahead, once, on a connection of its own that waits at most
        :data:`AHEAD_TIMEOUT`; nothing when it fails as a whole (each read asks for itself)."""
        asker = self.session(calls[0][0][0])  # its token carries the batch itself
        timeout = min(AHEAD_TIMEOUT, float(self.settings.get("timeout") or AHEAD_TIMEOUT))
        http = google_auth_httplib2.AuthorizedHttp(
            asker.credentials, http=httplib2.Http(timeout=timeout)
        )
        try:
            return send_once(uri, calls, f"reading ahead ({api})", http)
        except Exception as error:
            log.debug("google: reading ahead for %d calls failed: %s", len(calls), error)
            return {}

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
        """Forget every session (their HTTP connections close with them) and every answer
        read ahead."""
        self.ahead.forget()
        for session in self._sessions.values():
            for connection in getattr(session.http.http, "connections", {}).values():
                connection.close()
        self._sessions.clear()


def _ahead_key(owner: str, what: str, params: Mapping[str, Any]) -> AheadKey:
    """The key of a read request: who asks, which method, with what (canonical JSON)."""
    return owner.lower(), what, json.dumps(params, sort_keys=True, default=str)
