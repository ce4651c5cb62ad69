"""Bounded retries with exponential backoff and jitter, and the translation of Google's failures
into the backend error tree of :mod:`connectors.base`.

Retried: HTTP 429, 5xx, and 403 whose reason is ``rateLimitExceeded`` or
``userRateLimitExceeded`` (Google's documented throttling answers), plus transport failures
(connection reset, timeout). A ``Retry-After`` header is honoured as the delay. Writes are safe
to retry because event ids are deterministic (see :mod:`connectors.google.ids`).

The waits are :mod:`connectors.common.http`'s (the Retry-After parser and the capped backoff
every connector uses): a wait over two minutes is handed back as :class:`TransientError` with
the wait as ``retry_after``, never slept through. The others go through
``BackendContext.sleep``: inside a cycle that is the workspace's, which waits at most
``cadence.sync.cycle.NAP_CAP`` seconds and refuses a longer wait the same way, so a salesperson told
to come back in an hour is deferred rather than slept through; a stop cuts any wait short.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from connectors.base import AuthError, BackendError, ConflictError, NotFoundError, TransientError
from connectors.common.http import Backoff, parse_retry_after

log = logging.getLogger(__name__)

T = TypeVar("T")

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    google.auth.exceptions.TransportError,
)
# Google's guidance: from a second, doubling up to about a minute, with jitter.
BACKOFF = Backoff(base=1.0, cap=64.0, jitter=True)


def error_reason(error: HttpError) -> str:
    """The first ``errors[].reason`` of a Google JSON error body ("" when there is none)."""
    try:
        body = json.loads(error.content.decode("utf-8") if error.content else "{}")
    except (ValueError, UnicodeDecodeError):
        return ""
    details = body.get("error") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        return ""
    errors = details.get("errors") or []
    if errors and isinstance(errors[0], dict):
        return str(errors[0].get("reason", ""))
    return str(details.get("status", ""))


def retry_after(error: HttpError) -> float | None:
    """The ``Retry-After`` of the response in seconds (delta-seconds or an HTTP date)."""
    return parse_retry_after(error.resp.get("retry-after") if error.resp is not None else None)


def is_retryable(error: BaseException) -> bool:
    """Whether trying ``error``'s request again later may succeed."""
    if isinstance(error, HttpError):
        status = error.status_code
        if status == 429 or status >= 500:
            return True
        return status == 403 and error_reason(error) in RATE_LIMIT_REASONS
    if isinstance(error, google.auth.exceptions.RefreshError):
        return bool(getattr(error, "retryable", False))
    return isinstance(error, TRANSPORT_ERRORS)


def to_backend_error(error: BaseException, what: str) -> BackendError:
    """The :mod:`connectors.base` error that describes ``error`` (raised while doing ``what``)."""
    if isinstance(error, BackendError):
        return error
    if isinstance(error, google.auth.exceptions.RefreshError):
        if is_retryable(error):
            return TransientError(f"{what}: token endpoint unavailable: {error}")
        detail = error.args[0] if error.args else error
        return AuthError(f"{what}: Google rejected the credentials ({detail})")
    if isinstance(error, google.auth.exceptions.DefaultCredentialsError):
        return AuthError(f"{what}: unusable credentials: {error}")
    if isinstance(error, HttpError):
        status = error.status_code
        reason = error_reason(error)
        text = f"{what}: HTTP {status} {reason or error.reason}".rstrip()
        if status == 401:
            # google-auth-httplib2 has already refreshed the token and retried once.
            return AuthError(f"{text} (still unauthorized after refreshing the token)")
        if is_retryable(error):
            return TransientError(text, retry_after=retry_after(error))
        if status in (404, 410):
            return NotFoundError(text)
        if status == 412:
            return ConflictError(text)
        if status == 403:
            return AuthError(f"{text} (access denied: check scopes and delegation)")
        return BackendError(text)
    if isinstance(error, TRANSPORT_ERRORS):
        return TransientError(f"{what}: {type(error).__name__}: {error}")
    return BackendError(f"{what}: {type(error).__name__}: {error}")


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn library and transport exceptions raised inside into :class:`BackendError` types."""
    try:
        yield
    except BackendError:
        raise
    except Exception as error:
        raise to_backend_error(error, what) from error


class Retrier:
    """Runs calls with bounded retries: ``max_retries`` more attempts after the first one.

    ``sleep`` is injectable (``BackendContext.sleep``) so tests record delays instead of waiting.
    """

    def __init__(
        self,
        max_retries: int,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.sleep = sleep if sleep is not None else time.sleep
        self.rng = rng or random.Random()

    def delay(self, attempt: int, server_hint: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): the server's
        ``Retry-After`` when given, otherwise :data:`BACKOFF` (with jitter, so many salespeople
        throttled at once do not retry in lockstep)."""
        return BACKOFF.delay(attempt, server_hint, self.rng)

    def execute(self, method: Callable[..., Any], what: str, **params: Any) -> Any:
        """Build the request ``method(**params)`` and run it with :meth:`call`."""
        return self.call(lambda: method(**params).execute(), what)

    def call(self, fn: Callable[[], T], what: str) -> T:
        """``fn()``, retried while it fails with a retryable error.

        Non-retryable errors propagate unchanged (callers handle e.g. 409 or 410 themselves);
        when the retries are used up a :class:`TransientError` is raised.
        """
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as error:
                if not is_retryable(error):
                    raise
                hint = retry_after(error) if isinstance(error, HttpError) else None
                if attempt >= self.max_retries:
                    raise TransientError(
                        f"{what}: still failing after {attempt + 1} attempts: "
                        f"{to_backend_error(error, what)}",
                        retry_after=hint,
                    ) from error
                wait = self.delay(attempt, hint)
                log.debug("%s: retrying in %.1fs after %s", what, wait, error)
                self.pause(wait, error, what)
                attempt += 1

    def pause(self, seconds: float, error: BaseException, what: str) -> None:
        """Sleep before trying again after ``error``. A wait too long to sleep through
        (:meth:`Backoff.pause`), or a sleep that refuses (inside a cycle: a wait longer than it
        allows, or a stop), raises :class:`TransientError` naming ``error`` too, with the wait
        as ``retry_after``."""
        try:
            BACKOFF.pause(self.sleep, seconds, "waiting before trying again")
        except TransientError as refused:
            raise TransientError(
                f"{to_backend_error(error, what)}; {refused}",
                retry_after=refused.retry_after,
            ) from error
