"""Calling backends safely: one salesperson's failure is theirs alone, logged once, retried later.

Every call the cycle makes to a calendar backend or a mail source goes through :class:`Calls`:
a typed function of the backend (``lambda b: b.list_owned(owner)``) that answers its value, or
:class:`Failed` with why after the failure was logged (once per distinct cause, and "works again"
once when it clears) and its retry scheduled. A server backs off (honouring ``Retry-After``); a
local backend (files) is tried again on the next cycle, so a repaired file is picked up at once.
Authentication failures are gathered and logged by :meth:`Calls.flush`, one line per backend
and cause for all the salespeople it stopped.

Backends sleep through :meth:`Calls.nap` (at most ``NAP_CAP`` seconds, cut short by a stop) and
read the time through :meth:`Calls.now` (the moment of the cycle their call belongs to).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cadence.sync.fanout import waiting
from cadence.sync.wording import count
from cadence.values.errors import UserError, describe_error
from connectors.base import (
    SET_ASIDE_LOG,
    AuthError,
    BackendError,
    CalendarBackend,
    Connector,
    TransientError,
)

log = logging.getLogger("cadence")
# On log records of problems the CycleResult also carries: `run --once` prints the result's
# list instead, so each broken thing is reported once; the daemon's journal keeps the record.
REPORTED = SET_ASIDE_LOG

MAX_BACKOFF = 3600.0
NAP_CAP = 10.0  # the longest a backend may sleep inside a cycle; a longer wait defers the owner

T = TypeVar("T")
S = TypeVar("S", bound=Connector)  # a calendar backend or a mail source


@dataclass(frozen=True, slots=True)
class Failed:
    """A call that did not answer: why (already logged, its retry scheduled)."""

    why: str


@dataclass
class _Health:
    """Per (backend, owner, call) trouble: when to try again, and the cause last logged."""

    retry_at: datetime | None = None
    failures: int = 0
    reported: str = ""

    def waits(self, now: datetime) -> bool:
        """Is a retry still ahead at ``now`` (the call is not made until then)?"""
        return self.retry_at is not None and now < self.retry_at


class Calls:
    """The cycle's calls to backends, and what their failures left behind.

    ``backend(name)`` builds (or returns) the calendar backend of that name; building it is part
    of the call, so a backend that cannot be built fails its salespeople like any other call.
    """

    def __init__(self, backend: Callable[[str], CalendarBackend]) -> None:
        self._backend = backend
        self._health: dict[tuple[str, str, str], _Health] = {}  # (backend, owner, call)
        self._trouble: dict[str, str] = {}  # salesperson -> the unexpected error already logged
        # (backend, cause) -> salespeople whose authentication failed, until logged
        self._auth_failed: dict[tuple[str, str], list[str]] = {}
        self.halt = threading.Event()  # set when the cycle is told to stop: naps end at once
        # The moment of the cycle a backend call belongs to, per thread (see now()).
        self._clock = threading.local()

    # ---- what backends see ---------------------------------------------------------------

    def now(self) -> datetime:
        """What a backend takes for "now" (a DTSTAMP, an invitation's backoff): the moment of
        the cycle its call belongs to, so that a run with ``--now`` lives wholly in that
        moment; the real time outside any call."""
        return getattr(self._clock, "now", None) or datetime.now(UTC)

    def nap(self, seconds: float) -> None:
        """A backend's wait before trying again, inside a cycle: at most ``NAP_CAP`` seconds
        (a longer one defers that salesperson: TransientError with the wait as its
        ``retry_after``), and cut short when the cycle is told to stop."""
        if seconds > NAP_CAP:
            raise TransientError(
                f"deferred: a wait of {seconds:.0f}s is longer than a cycle waits ({NAP_CAP:.0f}s)",
                retry_after=seconds,
            )
        if self.halt.wait(max(0.0, seconds)):
            raise TransientError("stopping: the wait before trying again was cut short")

    @contextlib.contextmanager
    def at(self, now: datetime) -> Iterator[None]:
        """Calls made inside (on this thread) belong to the cycle at ``now``."""
        self._clock.now = now
        try:
            yield
        finally:
            self._clock.now = None

    def backing_off(self, name: str, owner: str, what: str, now: datetime) -> bool:
        """Whether call ``what`` of ``name`` for ``owner`` waits for a retry still ahead (it
        is then not made: see :meth:`_run`)."""
        health = self._health.get((name, owner, what))
        return health is not None and health.waits(now)

    # ---- calls -----------------------------------------------------------------------------

    def calendar(
        self, name: str, owner: str, now: datetime, what: str, fn: Callable[[CalendarBackend], T]
    ) -> T | Failed:
        """``fn`` of calendar backend ``name`` for one owner (``what`` names the call in logs
        and keys its retry schedule)."""
        return self._run(name, owner, now, what, lambda: self._backend(name), fn)

    def source(
        self, name: str, owner: str, now: datetime, what: str, source: S, fn: Callable[[S], T]
    ) -> T | Failed:
        """``fn`` of ``source`` (a mail source, or a backend already at hand) for one owner."""
        return self._run(name, owner, now, what, lambda: source, fn)

    def _run(
        self,
        name: str,
        owner: str,
        now: datetime,
        what: str,
        get: Callable[[], S],
        fn: Callable[[S], T],
    ) -> T | Failed:
        health = self._health.setdefault((name, owner, what), _Health())
        if health.waits(now):
            return Failed(f"{name} backing off until {health.retry_at:%H:%M:%S}")
        source: S | None = None
        try:
            with self.at(now):
                source = get()
                if source.concurrent:
                    with waiting():  # other salespeople's work goes on meanwhile
                        value = fn(source)
                else:
                    value = fn(source)
        except Exception as exc:
            local = source is not None and source.local
            return Failed(self._failed(name, owner, what, now, health, exc, local))
        if health.reported:
            log.info("%s: %s works again", name, owner)
        health.failures, health.retry_at, health.reported = 0, None, ""
        return value

    def _failed(
        self,
        name: str,
        owner: str,
        what: str,
        now: datetime,
        health: _Health,
        exc: Exception,
        local: bool,
    ) -> str:
        """Log a failed call (once per distinct cause), schedule its retry, say why."""
        health.failures += 1
        if isinstance(exc, AuthError):
            why = f"authentication failed: {exc}"
            # Tried again on the next cycle: access granted again is used at once, and one
            # refused token request a cycle costs nothing.
            delay = 0.0
            text = ""  # logged by flush, once for all salespeople it concerns
        elif isinstance(exc, TransientError):
            why = f"temporarily unavailable: {exc}"
            delay = exc.retry_after or min(MAX_BACKOFF, 30.0 * 2 ** (health.failures - 1))
            until = now + timedelta(seconds=delay)
            text = f"{owner} unavailable: {exc}; deferred, not tried again before "
            text += f"{until:%H:%M:%S} UTC"
        elif isinstance(exc, (BackendError, UserError, ImportError, LookupError)):
            why = str(exc)
            delay = min(MAX_BACKOFF, 60.0 * health.failures)
            text = f"{what} failed for {owner}: {exc}"
        else:  # a backend's bug on strange data: this owner only
            why = f"unexpected {describe_error(exc)}"
            delay = min(MAX_BACKOFF, 60.0 * health.failures)
            text = f"{what} failed for {owner}: {why}"
            log.debug("%s: traceback", name, exc_info=True)
        if local:
            delay = 0.0
        health.retry_at = now + timedelta(seconds=delay) if delay else None
        if why != health.reported:
            if isinstance(exc, AuthError):
                cause = (name, str(exc).replace(owner, "{owner}"))
                self._auth_failed.setdefault(cause, []).append(owner)
            else:
                level = logging.WARNING if isinstance(exc, TransientError) else logging.ERROR
                log.log(level, "%s: %s", name, text, extra=REPORTED)
            health.reported = why
        return why

    def flush(self) -> None:
        """Log the authentication failures met since the last flush: one line per backend and
        cause, naming how many salespeople it stopped (a service account's key refused is one
        line, not one per salesperson)."""
        pending, self._auth_failed = self._auth_failed, {}
        for (name, cause), found in sorted(pending.items()):
            owners = sorted(found)  # served side by side: in the order they failed
            if len(owners) == 1:
                who, text = owners[0], cause.replace("{owner}", owners[0])
            else:
                shown = ", ".join(owners[:3])
                shown += f" and {len(owners) - 3} more" if len(owners) > 3 else ""
                who = f"{count(len(owners), 'salesperson', 'salespeople')} ({shown})"
                text = cause.replace("{owner}", "each of them")
            log.error(
                "%s: authentication failed for %s: %s (fix the credentials; other salespeople "
                "continue)",
                name,
                who,
                text,
                extra=REPORTED,
            )

    # ---- one salesperson's share of the cycle ----------------------------------------------

    def guarded(self, owner: str, failed: dict[str, str], work: Callable[[], object]) -> None:
        """``work()`` for one salesperson; an unexpected error skips that salesperson's
        backend work for this cycle (logged once, with its cause), never the others'."""
        try:
            work()
        except Exception as exc:
            why = describe_error(exc)
            if self._trouble.get(owner) != why:  # once when it starts, not every cycle
                log.error(
                    "%s skipped this cycle: %s", owner, why, extra={**REPORTED, "owner": owner}
                )
                log.debug("%s: traceback", owner, exc_info=True)
            self._trouble[owner] = why
            failed[owner] = why

    def recovered(self, owners: set[str]) -> None:
        """Say once that each of ``owners`` whose work had failed unexpectedly works again."""
        for owner in sorted(set(self._trouble) & owners):
            log.info("%s works again", owner)
            del self._trouble[owner]
