"""HTTP to Microsoft Graph: one ``requests`` session, bounded retries, paging and ``$batch``.

Retries cover what Graph documents as transient: 429 (throttled), 500/502/503/504 and lost
connections, each waiting for the server's ``Retry-After`` when it sends one, otherwise backing
off exponentially (:mod:`connectors.common.http`). They are bounded by ``max_retries``; a wait
longer than :data:`connectors.common.http.MAX_WAIT` is not slept through but handed up as
:class:`TransientError` with ``retry_after``, so the daemon reschedules the owner instead of
blocking everyone. Re-sending a write is safe here: creates carry
a ``transactionId`` Graph deduplicates on (or refuses the copy, 409), updates are whole-value
PATCHes (refused 412 when their If-Match etag went stale because the first copy applied), and
deleting an event that is already gone counts as done; the calendar backend reads back what a
409 or 412 leaves unclear.

Inside a ``$batch`` every part has its own status: throttled parts are re-sent after the largest
``Retry-After`` among them while finished parts are kept. Graph runs at most 4 requests at once
per mailbox, so one mailbox's parts are chained with ``dependsOn`` into at most 4 sequences
(:func:`connectors.outlook.replies.chained`); a part whose predecessor failed is answered 424
unrun, and sent again.

Reading ahead (:meth:`GraphClient.read_ahead`): the first requests of many mailboxes' next reads
go out together in ``$batch`` calls, once, and each answer is kept
(:class:`connectors.common.http.AnswersAhead`) for the :meth:`GraphClient.call` or
:meth:`GraphClient.batch` part making that very request, which takes it as its first attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from connectors.base import BackendError, TransientError
from connectors.common.http import AHEAD_TIMEOUT, AnswersAhead, Backoff, side_by_side
from connectors.outlook.auth import GraphAuth
from connectors.outlook.replies import (
    FAILED_DEPENDENCY,
    MAX_BATCH,
    PREFER_UTC,
    RETRY_STATUSES,
    BatchRequest,
    Reply,
    SyncStateGone,
    chained,
    kind,
)

__all__ = ["PREFER_UTC", "BatchRequest", "GraphClient", "Reply", "SyncStateGone"]

# Without a Retry-After: 1, 2, 4... seconds, at most 30; a longer Retry-After than
# connectors.common.http.MAX_WAIT is handed to the caller, not slept through.
BACKOFF = Backoff(base=1.0, cap=30.0)
# A request as answers read ahead are kept by: method, address, query parameters.
AheadKey = tuple[str, str, tuple[tuple[str, str], ...]]


class GraphClient:
    """Authenticated calls to one Graph endpoint."""

    def __init__(
        self,
        endpoint: str,
        auth: GraphAuth,
        *,
        max_retries: int,
        timeout: float,
        sleep: Callable[[float], None] | None = None,
        verify: str | bool = True,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.auth = auth
        self.max_retries = max_retries
        self.timeout = timeout
        self.sleep = sleep or time.sleep
        self.verify = verify  # per request: REQUESTS_CA_BUNDLE would override a session setting
        self.session = requests.Session()
        self.session.headers["Prefer"] = PREFER_UTC
        self.ahead: AnswersAhead[AheadKey, Reply] = AnswersAhead()

    def close(self) -> None:
        """Close pooled connections; forget the answers read ahead."""
        self.session.close()
        self.ahead.forget()

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (a ``/users/...`` path, or already absolute)."""
        return path if urlsplit(path).scheme else f"{self.endpoint}{path}"

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request with retries; returns the final reply, 2xx or not (not raised).

        Raises AuthError (no token, or Graph refused a fresh one), TransientError (retries
        exhausted on a connection failure), BackendError (a request requests cannot send).
        """
        url = self.url(path)
        attempt = 0
        refreshed = False
        kept = self.ahead.take(self._ahead_key(method, url, params)) if method == "GET" else None
        while True:
            try:
                if kept is not None:  # read ahead: the answer to this first attempt
                    reply, kept = kept, None
                else:
                    reply = self._send(method, url, params, body, headers)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.max_retries:
                    raise TransientError(f"{method} {kind(url)}: {exc}") from exc
                self._wait(None, attempt)
                attempt += 1
                continue
            except requests.RequestException as exc:  # a malformed URL or request: our bug
                raise BackendError(f"{method} {kind(url)}: {exc}") from exc
            except OSError as exc:  # not a RequestException: e.g. no CA bundle at ca_bundle
                raise BackendError(f"{method} {kind(url)}: {exc}") from exc
            if reply.status == 401 and not refreshed:
                # An expired or revoked token: ask for a new one once.
                self.auth.forget_token()
                refreshed = True
                continue
            if reply.status == 401:
                reply.hint = self._audience_hint(reply)
            if reply.status not in RETRY_STATUSES or attempt >= self.max_retries:
                return reply
            if BACKOFF.hands_back(reply.retry_after):
                return reply
            self._wait(reply.retry_after, attempt)
            attempt += 1

    def json(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> Any:
        """Like :meth:`call`, but a non-2xx reply raises its contract error."""
        reply = self.call(method, path, params=params, body=body)
        if not reply.ok:
            raise reply.error(f"{method} {kind(path)}")
        return reply.body

    def pages(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Any = None,
        first: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following ``@odata.nextLink``; the last page holds the
        ``@odata.deltaLink`` when the collection is a delta query. Non-2xx raises. ``first``:
        the first page, already read (in a ``$batch``); ``path`` is then not asked for."""
        url: str | None = path
        query: Mapping[str, str] | None = params
        if first is not None:
            yield dict(first)
            url, query = first.get("@odata.nextLink"), None
        while url:
            reply = self.call("GET", url, params=query, headers=headers)
            if not reply.ok:
                raise reply.error(f"GET {kind(url)}")
            page = reply.body if isinstance(reply.body, dict) else {}
            yield page
            url, query = page.get("@odata.nextLink"), None  # the link carries the query

    def batch(self, requests_: Sequence[BatchRequest]) -> list[Reply]:
        """Send ``requests_`` as ``$batch`` calls of at most 20 parts; one reply per request.

        Parts answered 429/5xx are re-sent (honouring their ``Retry-After``) up to
        ``max_retries`` times; after that their last reply is returned as is.
        """
        replies: list[Reply | None] = [None] * len(requests_)
        kept: dict[int, Reply] = {}  # answers read ahead: the first attempt of their part
        for i, request in enumerate(requests_):
            if request.method == "GET":
                answer = self.ahead.take(self._ahead_key("GET", self.url(request.url), None))
                if answer is not None:
                    kept[i] = answer
        pending = [i for i in range(len(requests_)) if i not in kept]
        if kept:
            self._batch_chunk(requests_, sorted(kept), replies, kept)
        for first in range(0, len(pending), MAX_BATCH):
            self._batch_chunk(requests_, pending[first : first + MAX_BATCH], replies)
        return [r for r in replies if r is not None]

    def read_ahead(self, requests_: Sequence[BatchRequest]) -> None:
        """Send the GET ``requests_`` (of several mailboxes) in ``$batch`` calls of at most
        20 parts, once each (no retries), and keep every part's answer, an error included,
        for the :meth:`call` or :meth:`batch` part that makes the same request, which takes it
        as its first attempt (:class:`connectors.common.http.AnswersAhead`). A ``$batch``
        that fails as a whole keeps nothing: each read then asks for itself. Never raises."""
        chunks = [
            list(requests_[first : first + MAX_BATCH])
            for first in range(0, len(requests_), MAX_BATCH)
        ]
        # The first $batch alone: a token Graph refuses there is renewed once, and the others,
        # sent several at once, carry the new one.
        first = [self._send_ahead(chunk) for chunk in chunks[:1]]
        for answers in first + side_by_side(self._send_ahead, chunks[1:]):
            for key, part in answers:
                self.ahead.keep(key, part)

    def _send_ahead(self, chunk: Sequence[BatchRequest]) -> list[tuple[AheadKey, Reply]]:
        """One ``$batch`` of reads sent ahead, once (a 401 asks for a new token once, as
        :meth:`call` does), waiting at most :data:`AHEAD_TIMEOUT`: each part's key and answer;
        none when it fails as a whole."""
        payload = {"requests": chained(chunk, range(len(chunk)))}
        timeout = min(self.timeout, AHEAD_TIMEOUT)  # a slow server is not waited for
        try:
            reply = self._send("POST", self.url("/$batch"), None, payload, None, timeout)
            if reply.status == 401:
                self.auth.forget_token()
                reply = self._send("POST", self.url("/$batch"), None, payload, None, timeout)
        except (requests.RequestException, OSError, BackendError):
            return []
        if not reply.ok:
            return []
        answers = {str(a.get("id")): a for a in (reply.body or {}).get("responses", [])}
        kept = []
        for i, request in enumerate(chunk):
            answer = answers.get(str(i))
            if answer is None or int(answer.get("status", 500)) == FAILED_DEPENDENCY:
                continue
            part = Reply(int(answer["status"]), answer.get("body"), answer.get("headers") or {})
            kept.append((self._ahead_key("GET", self.url(request.url), None), part))
        return kept

    def relative(self, url: str) -> str | None:
        """``url`` (absolute, as Graph's ``@odata`` links are) relative to the endpoint, as a
        ``$batch`` part names it; None when it is not under the endpoint."""
        if not urlsplit(url).scheme:
            return url
        return url[len(self.endpoint) :] if url.startswith(self.endpoint + "/") else None

    @staticmethod
    def _ahead_key(method: str, url: str, params: Mapping[str, str] | None) -> AheadKey:
        """A request as :class:`AnswersAhead` knows it: method, address, and the query's
        parameters whether in the URL or given apart (decoded, in order)."""
        parts = urlsplit(url)
        query = [*parse_qsl(parts.query, keep_blank_values=True), *(params or {}).items()]
        where = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return method, where, tuple(sorted((str(k), str(v)) for k, v in query))

    # ----------------------------------------------------------------------------------------

    def _batch_chunk(
        self,
        requests_: Sequence[BatchRequest],
        indexes: list[int],
        out: list[Reply | None],
        kept: Mapping[int, Reply] | None = None,
    ) -> None:
        """One ``$batch`` of ``indexes``, re-sent for its throttled parts and for parts not
        run because the part before them in their chain failed (424: sent again at once,
        not counted as a retry; each round settles at least the head of every chain).
        ``kept``: answers read ahead, taken as the first round's for their parts."""
        pending = indexes
        attempt = 0
        given = dict(kept or {})
        while pending:
            answers: dict[str, Any] = {}
            unsent = [i for i in pending if i not in given]
            if unsent:
                payload = {"requests": chained(requests_, unsent)}
                reply = self.call("POST", "/$batch", body=payload)
                if not reply.ok:
                    raise reply.error("POST $batch")
                answers = {str(a.get("id")): a for a in (reply.body or {}).get("responses", [])}
            for i, known in given.items():
                answers[str(i)] = {
                    "status": known.status,
                    "body": known.body,
                    "headers": known.headers,
                }
            given = {}
            retry: list[int] = []
            waits: list[float] = []
            follow: list[int] = []  # not run: their chain broke before them
            for i in pending:
                answer = answers.get(str(i))
                if answer is None:
                    out[i] = Reply(502, {"error": {"code": "missingBatchPart"}})
                    retry.append(i)
                    continue
                part = Reply(int(answer.get("status", 500)), answer.get("body"))
                part.headers = answer.get("headers") or {}
                out[i] = part
                if part.status == FAILED_DEPENDENCY:
                    follow.append(i)
                    continue
                if part.status in RETRY_STATUSES:
                    retry.append(i)
                    waits.append(part.retry_after or 0.0)
            wait = max(waits, default=0.0)
            if retry and BACKOFF.hands_back(wait):
                # The mailbox is throttled for long: the parts behind throttled ones are not
                # sent again either, and share their answer (the caller reschedules).
                for i in follow:
                    out[i] = out[retry[0]]
                return
            if retry and attempt >= self.max_retries:
                retry = []  # their last replies stand
            if retry:
                self._wait(wait or None, attempt)
                attempt += 1
            if follow and len(follow) == len(pending):
                return  # nothing ran (a server answering 424 to every part): no progress
            pending = sorted(retry + follow)

    def _audience_hint(self, reply: Reply) -> str:
        """What to do about a 401 whose message says the token's audience is wrong: the
        token was asked for ``scope``, which this Graph does not accept."""
        error = reply.body.get("error") if isinstance(reply.body, dict) else None
        message = str(error.get("message", "")) if isinstance(error, dict) else ""
        if "audience" not in message.lower():
            return ""
        scope = self.auth.settings.scope
        return (
            f"the token was issued for the scope {scope}, which the Graph at {self.endpoint} "
            "does not accept: this is not a wrong secret; set `scope` in [calendar.outlook] "
            "to the scope this Graph expects"
        )

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        timeout: float | None = None,
    ) -> Reply:
        all_headers = {"Authorization": f"Bearer {self.auth.token()}", **(headers or {})}
        response = self.session.request(
            method,
            url,
            params=params,
            json=body,
            headers=all_headers,
            timeout=timeout or self.timeout,
            verify=self.verify,
        )
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return Reply(response.status_code, data, dict(response.headers))

    def _wait(self, retry_after: float | None, attempt: int) -> None:
        BACKOFF.pause(self.sleep, BACKOFF.delay(attempt, retry_after), "Graph asked to wait")
