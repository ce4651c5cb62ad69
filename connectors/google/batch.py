"""Batch requests (multipart/mixed) against the configured endpoint, with per-call retries.

``service.new_batch_http_request()`` always posts to Google's own batch URI, ignoring
``api_endpoint``; so batches are built with ``BatchHttpRequest(batch_uri=...)`` instead. A batch
can fail as a whole (the POST itself is throttled or the connection drops: retried as a whole)
or per call (one part answers 429/5xx: only those parts are sent again, after a backoff).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from connectors.base import TransientError
from connectors.google.retry import Retrier, is_retryable, retry_after, to_backend_error

RequestFactory = Callable[[], HttpRequest]
K = TypeVar("K", bound=Hashable)


@dataclass
class Outcome:
    """The answer to one call of a batch: the decoded ``response`` or the ``error``."""

    response: Any = None
    error: BaseException | None = None


def batch_uri(api_endpoint: str, api: str) -> str:
    """The batch URI of ``api`` (``"calendar/v3"``, ``"gmail/v1"``) under ``api_endpoint``."""
    return f"{api_endpoint.rstrip('/')}/batch/{api}"


def run_batch(
    uri: str,
    calls: Sequence[tuple[K, RequestFactory]],
    retrier: Retrier,
    size: int,
    what: str,
) -> dict[K, Outcome]:
    """Send ``calls`` in batches of at most ``size``; the outcome of each call by its key.

    ``calls`` pairs a key with a factory building the request (a request object is sent once,
    so a retry needs a fresh one). Calls still throttled after ``retrier.max_retries`` retries
    get a :class:`TransientError`. Whole-batch failures that survive the retries raise.
    """
    factories = dict(calls)
    outcomes: dict[K, Outcome] = {}
    pending = [key for key, _ in calls]
    attempt = 0
    while pending:
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            _send(uri, chunk, factories, outcomes, retrier, what)
        throttled = [k for k in pending if _retryable(outcomes[k].error)]
        if not throttled:
            break
        hints = [retry_after(e) for k in throttled if isinstance(e := outcomes[k].error, HttpError)]
        hint = max((h for h in hints if h is not None), default=None)
        if attempt >= retrier.max_retries:
            for key in throttled:
                error = outcomes[key].error
                assert error is not None
                outcomes[key] = Outcome(
                    error=TransientError(
                        f"{what}: still failing after {attempt + 1} attempts: "
                        f"{to_backend_error(error, what)}",
                        retry_after=hint,
                    )
                )
            break
        first = outcomes[throttled[0]].error
        assert first is not None
        retrier.pause(retrier.delay(attempt, hint), first, what)
        attempt += 1
        pending = throttled
    return outcomes


def send_once(
    uri: str, calls: Sequence[tuple[K, RequestFactory]], what: str, http: Any = None
) -> dict[K, Outcome]:
    """One batch request of ``calls`` (at most a batch's worth), sent once (through ``http``
    when given, else the first call's): the outcome of each call by its key, errors included.
    A failure of the whole batch raises."""
    outcomes: dict[K, Outcome] = {}
    _send(uri, [key for key, _ in calls], dict(calls), outcomes, Retrier(0), what, http)
    return outcomes


def _retryable(error: BaseException | None) -> bool:
    return error is not None and is_retryable(error)


def _send(
    uri: str,
    keys: Sequence[K],
    factories: dict[K, RequestFactory],
    outcomes: dict[K, Outcome],
    retrier: Retrier,
    what: str,
    http: Any = None,
) -> None:
    ids = {str(index): key for index, key in enumerate(keys)}

    def collect(request_id: str, response: Any, error: BaseException | None) -> None:
        outcomes[ids[request_id]] = Outcome(response, error)

    def execute() -> None:
        batch = BatchHttpRequest(callback=collect, batch_uri=uri)
        for request_id, key in ids.items():
            batch.add(factories[key](), request_id=request_id)
        batch.execute(http=http)

    retrier.call(execute, what)
