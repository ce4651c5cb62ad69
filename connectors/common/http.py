"""Waiting before trying an HTTP request again (the server's ``Retry-After`` and one capped
backoff) and answers read ahead, for every connector that talks to a server (Google, Graph,
CalDAV).

A server that throttles says how long to wait (``Retry-After``: delta-seconds or an HTTP date,
RFC 9110 section 10.2.3); otherwise the wait doubles from ``base`` up to ``cap``, with "full
jitter" when asked (many salespeople throttled at once then do not retry in lockstep). A wait
longer than ``longest`` is never slept through: :meth:`Backoff.pause` hands it back as a
:class:`~connectors.base.TransientError` whose ``retry_after`` is that wait, so the cycle defers
the salesperson (and serves the others) instead of blocking on one mailbox for an hour.

Every sleep goes through the ``sleep`` it is given: inside a cycle that is the workspace's,
which also refuses long waits and ends at once when the cycle is told to stop.
"""

from __future__ import annotations

import email.utils
import queue
import random
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from connectors.values import TransientError

# The longest wait a connector sleeps through before trying again; a longer Retry-After is
# handed back to the caller (the cycle defers that salesperson).
MAX_WAIT = 120.0

K = TypeVar("K", bound=Hashable)
A = TypeVar("A")
T = TypeVar("T")
R = TypeVar("R")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value (delta-seconds or an HTTP date,
    counted from ``now``, the current time by default); None when absent or unreadable.

    >>> parse_retry_after("7")
    7.0
    >>> now = datetime(2026, 10, 21, 7, 27, tzinfo=UTC)
    >>> parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now)
    60.0
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as HTTP dates are
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number ``attempt`` (0-based): the server's Retry-After
    when it sent one, else ``base * 2**attempt`` capped at ``cap`` (a random share of it,
    from half to all, with ``jitter``). Waits over ``longest`` are handed back, not slept."""

    base: float = 1.0
    cap: float = 30.0
    jitter: bool = False
    longest: float = MAX_WAIT

    def delay(
        self, attempt: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """Seconds before retry number ``attempt``; ``retry_after`` (the server's) wins."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.cap, self.base * 2**attempt)
        if not self.jitter:
            return ceiling
        return (rng or random.Random()).uniform(ceiling / 2, ceiling)

    def hands_back(self, seconds: float | None) -> bool:
        """Whether a wait of ``seconds`` is too long to sleep through."""
        return seconds is not None and seconds > self.longest

    def pause(self, sleep: Callable[[float], None], seconds: float, why: str) -> None:
        """Sleep ``seconds`` through ``sleep``; a wait over ``longest`` raises
        :class:`TransientError` (``retry_after=seconds``) instead, naming ``why``."""
        if self.hands_back(seconds):
            raise TransientError(
                f"{why}; asked to wait {seconds:.0f}s, longer than {self.longest:.0f}s: "
                "deferred, not slept through",
                retry_after=seconds,
            )
        sleep(seconds)


# How long an answer read ahead stands for the request it answers (see AnswersAhead).
AHEAD_FOR = 120.0
# How long a request that reads ahead may take: a slower server is not waited for longer (the
# reads then ask for themselves), so one hanging mailbox delays the others' reads by no more.
AHEAD_TIMEOUT = 20.0
# How many requests that read ahead (token grants, batches) go out at once, as many as the
# cycle serves salespeople side by side.
AHEAD_WORKERS = 8


class AnswersAhead(Generic[K, A]):
    """Answers to read requests sent ahead of time, each kept for the one call that makes the
    very same request (keyed by ``K``), which takes it as its first attempt instead of asking.

    A backend that can put many salespeople's requests into one HTTP request (Google's batch
    endpoint, Graph's ``$batch``) reads ahead what the cycle is about to read one salesperson at
    a time (:meth:`connectors.base.CalendarBackend.read_ahead`). Each answer, an error
    included, is used once, by the call whose request it answers, and only for ``ahead_for``
    seconds: an answer that old is dropped and the call asks again. The call handles it as
    it would its own first answer (state, retries, errors), so reading ahead changes how many
    requests are sent, never what a read returns or what it leaves in the state.
    """

    def __init__(
        self, ahead_for: float = AHEAD_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ahead_for = ahead_for
        self.clock = clock
        self._answers: dict[K, tuple[A, float]] = {}
        self._lock = threading.Lock()

    def keep(self, key: K, answer: A) -> None:
        """Keep ``answer`` for the next request with ``key``."""
        with self._lock:
            self._answers[key] = (answer, self.clock())

    def take(self, key: K) -> A | None:
        """The answer kept for ``key`` (then forgotten), or None when there is none as fresh
        as ``ahead_for``."""
        with self._lock:
            kept = self._answers.pop(key, None)
            now = self.clock()
            for stale in [k for k, (_, at) in self._answers.items() if now - at > self.ahead_for]:
                del self._answers[stale]
        if kept is None or now - kept[1] > self.ahead_for:
            return None
        return kept[0]

    def forget(self, matches: Callable[[K], bool] = lambda key: True) -> None:
        """Drop the answers whose key ``matches`` (all by default)."""
        with self._lock:
            for key in [k for k in self._answers if matches(k)]:
                del self._answers[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)


def side_by_side(
    work: Callable[[T], R], items: Sequence[T], workers: int = AHEAD_WORKERS
) -> list[R]:
    """``work(item)`` for every item, at most ``workers`` at once, on daemon threads (a process
    that exits meanwhile, say on SIGTERM, never waits for them); the results in order.
    ``work`` must not raise."""
    if len(items) <= 1 or workers <= 1:
        return [work(item) for item in items]
    results: dict[int, R] = {}
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for n in range(len(items)):
        todo.put(n)

    def worker() -> None:
        while True:
            try:
                n = todo.get_nowait()
            except queue.Empty:
                return
            results[n] = work(items[n])

    threads = [
        threading.Thread(target=worker, name="cadence-ahead", daemon=True)
        for _ in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[n] for n in range(len(items))]
