"""Waiting before trying an HTTP request again: the server's ``Retry-After`` and one capped
backoff, for every connector that talks to a server (Google, Graph, CalDAV).

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
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.values import TransientError

# The longest wait a connector sleeps through before trying again; a longer Retry-After is
# handed back to the caller (the cycle defers that salesperson).
MAX_WAIT = 120.0


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
