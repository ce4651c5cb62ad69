"""Graph's answers and ``$batch`` parts: what a reply means for the contract (:class:`Reply`),
one part of a ``$batch`` (:class:`BatchRequest`) and how a ``$batch``'s parts are chained so
that Graph never runs more than 4 at once for one mailbox (:func:`chained`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from connectors.base import AuthError, BackendError, ConflictError, NotFoundError, TransientError
from connectors.common.http import parse_retry_after

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FAILED_DEPENDENCY = 424  # a $batch part not run because the part it depends on failed
SYNC_STATE_GONE = frozenset({"SyncStateNotFound", "SyncStateInvalid", "resyncRequired"})
MAX_BATCH = 20  # Graph's limit of requests in one $batch
# Graph serves at most 4 requests at once per mailbox (and app); the parts of a $batch for one
# mailbox are therefore chained with dependsOn into at most this many sequences.
MAILBOX_CONCURRENCY = 4
# Graph answers in UTC when asked; all times we parse rely on it.
PREFER_UTC = 'outlook.timezone="UTC"'


class SyncStateGone(BackendError):
    """A delta link the server no longer knows (410 / SyncStateNotFound / resyncRequired)."""


@dataclass
class Reply:
    """One Graph answer: an HTTP response or one part of a ``$batch`` response."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    hint: str = ""  # what the operator can do, added to the error's message

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(_header(self.headers, "Retry-After"))

    def error(self, what: str) -> BackendError:
        """The contract error for this non-2xx reply, its message naming ``what`` failed."""
        code, message = "", ""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = str(self.body["error"].get("code", ""))
            message = str(self.body["error"].get("message", ""))
        text = f"{what}: HTTP {self.status} {code} {message}".rstrip()
        if self.hint:
            text = f"{text} ({self.hint})"
        if self.status == 401 or self.status == 403:
            return AuthError(text)
        if self.status == 404:
            return NotFoundError(text)
        if self.status in (409, 412):
            return ConflictError(text)
        if self.status == 410 or code in SYNC_STATE_GONE:
            return SyncStateGone(text)
        if self.status in RETRY_STATUSES:
            return TransientError(text, self.retry_after)
        return BackendError(text)


@dataclass(frozen=True)
class BatchRequest:
    """One part of a ``$batch``: ``url`` relative to the Graph version root (``/users/...``)."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def chained(requests_: Sequence[BatchRequest], indexes: Sequence[int]) -> list[dict[str, Any]]:
    """The parts of one ``$batch``: each mailbox's parts (by the ``/users/{id}`` of their URL)
    dealt in turn onto :data:`MAILBOX_CONCURRENCY` chains, each part depending on the one
    before it in its chain, so Graph never runs more than that many at once for a mailbox."""
    parts = []
    seen: dict[str, int] = {}
    last: dict[tuple[str, int], str] = {}
    for i in indexes:
        part = batch_part(str(i), requests_[i])
        mailbox = _mailbox(requests_[i].url)
        if mailbox:
            n = seen.get(mailbox, 0)
            seen[mailbox] = n + 1
            chain = (mailbox, n % MAILBOX_CONCURRENCY)
            if chain in last:
                part["dependsOn"] = [last[chain]]
            last[chain] = str(i)
        parts.append(part)
    return parts


def _mailbox(url: str) -> str:
    """The mailbox a ``/users/{id}/...`` URL addresses, lowercased ("" for other URLs)."""
    segments = urlsplit(url).path.split("/")
    if "users" in segments[:-1]:
        return segments[segments.index("users") + 1].lower()
    return ""


def batch_part(part_id: str, request: BatchRequest) -> dict[str, Any]:
    part: dict[str, Any] = {"id": part_id, "method": request.method, "url": request.url}
    # Headers of the outer request do not reach the parts: each asks for UTC itself.
    headers = {"Prefer": PREFER_UTC, **request.headers}
    if request.body is not None:
        part["body"] = request.body
        headers.setdefault("Content-Type", "application/json")
    part["headers"] = headers
    return part


def kind(url: str) -> str:
    """A short name of what a URL addresses, for messages (never the query: no addresses)."""
    path = urlsplit(url).path
    return path.rsplit("/users/", 1)[-1].split("/", 1)[-1] if "/users/" in path else path
