"""Serving salespeople side by side: a bounded pool, and one turn for the cycle's own code.

A cycle spends most of its time waiting on calendar and mail servers, one salesperson at a time.
:func:`fan_out` runs a piece of per-salesperson work for many of them at once on at most
``workers`` threads, while keeping the rest of the cycle as simple as a serial one:

* **One turn.** A worker holds the :class:`Turns` lock while it runs the cycle's own code (store
  reads and writes, the result, the log) and lets go of it only while it waits on a backend
  (:meth:`Turns.outside`, which the cycle wraps around each backend call). So the store has one
  writer at a time, in the order the work reaches it, exactly as in a serial cycle; only the
  waits on the network overlap. A backend's own state writes (sync tokens, caches) go through
  :class:`TurnState`, which takes the turn for the one write.
* **Stopping.** The calling thread polls ``stop`` while it waits. When it says stop, the pool is
  *abandoned*: the caller takes the turn once (so no store step is left half done), marks the
  turns abandoned and returns at once, whatever the backends do. A worker still waiting on a
  server is a daemon thread: it never holds the process up, and when its answer comes, the
  moment it asks for the turn again it raises :class:`Abandoned` (a ``BaseException``, so no
  ``except Exception`` swallows it) and does nothing more. What it was writing was recorded
  as an intent before it was sent, so the next cycle reads it back.
* **One at a time when nothing overlaps.** With ``workers == 1`` the work runs inline on the
  calling thread, in order, with no threads at all (local backends gain nothing from a pool).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from connectors.base import StateStore

T = TypeVar("T")

POLL_SECONDS = 0.1  # how often the waiting caller looks at ``stop``
SETTLE_SECONDS = 2.0  # how long a stop waits for a worker to finish its store step


class Abandoned(BaseException):
    """Raised in a worker whose cycle stopped waiting for it: it must touch nothing more."""


class Turns:
    """The one lock the cycle's own code runs under while workers serve salespeople."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.abandoned = False

    def held(self) -> bool:
        """Does the calling thread hold the turn?"""
        return bool(getattr(self._local, "held", False))

    def _take(self) -> None:
        self._lock.acquire()
        if self.abandoned:
            self._lock.release()
            raise Abandoned
        self._local.held = True

    def _give(self) -> None:
        self._local.held = False
        self._lock.release()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn (for a worker's whole piece of work)."""
        self._take()
        try:
            yield
        finally:
            if self.held():
                self._give()

    @contextlib.contextmanager
    def outside(self) -> Iterator[None]:
        """Let go of the turn while waiting on a backend (a no-op when not holding it)."""
        if not self.held():
            yield
            return
        self._give()
        try:
            yield
        finally:
            self._take()

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """Hold the turn for one step if the calling thread does not already."""
        if self.held():
            yield
            return
        with self.turn():
            yield

    def abandon(self) -> None:
        """Stop every worker at its next step; waits (briefly) for a store step in progress."""
        got = self._lock.acquire(timeout=SETTLE_SECONDS)
        self.abandoned = True
        if got:
            self._lock.release()


_current = threading.local()


def current_turns() -> Turns | None:
    """The turns of the pool the calling thread works in (None outside any pool)."""
    return getattr(_current, "turns", None)


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Around a backend call: let go of the turn when running in a pool."""
    turns = current_turns()
    if turns is None:
        yield
    else:
        with turns.outside():
            yield


class TurnState:
    """A :class:`~connectors.base.StateStore` whose reads and writes take the turn of the pool
    the calling thread works in (backends write sync tokens while they wait on servers)."""

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner

    def get(self, key: str) -> str | None:
        turns = current_turns()
        if turns is None:
            return self.inner.get(key)
        with turns.inside():
            return self.inner.get(key)

    def set(self, key: str, value: str | None) -> None:
        turns = current_turns()
        if turns is None:
            self.inner.set(key, value)
            return
        with turns.inside():
            self.inner.set(key, value)


def fan_out(
    items: Sequence[T],
    work: Callable[[T], None],
    *,
    workers: int,
    stop: Callable[[], bool],
    done: Callable[[int], None] | None = None,
) -> bool:
    """``work(item)`` for every item, at most ``workers`` at once; True when all were done,
    False when ``stop()`` said stop first (the rest are abandoned, see the module docs).

    ``work`` must handle its own errors (the cycle's ``_guarded`` does); an exception that gets
    through anyway is raised here once every worker has finished. ``done(n)`` is called on the
    calling thread as items complete (progress bars).
    """
    if workers <= 1 or len(items) <= 1:
        for n, item in enumerate(items, 1):
            if stop():
                return False
            work(item)
            if done:
                done(n)
        return True
    turns = Turns()
    todo: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    finished: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def worker() -> None:
        _current.turns = turns
        while not turns.abandoned:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                with turns.turn():
                    work(item)
            except Abandoned:
                return
            except BaseException as exc:  # handed to the caller
                finished.put(exc)
            else:
                finished.put(None)

    for n in range(min(workers, len(items))):
        threading.Thread(target=worker, name=f"cadence-owner-{n}", daemon=True).start()
    errors: list[BaseException] = []
    for n in range(1, len(items) + 1):
        while True:
            if stop():
                turns.abandon()
                return False
            try:
                error = finished.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            break
        if error is not None:
            errors.append(error)
        if done:
            done(n)
    if errors:
        raise errors[0]
    return True


def in_background(work: Callable[[], None], *, stop: Callable[[], bool]) -> bool:
    """``work()`` on a daemon thread, the calling thread polling ``stop`` meanwhile: True when
    it finished, False when ``stop()`` said stop first (the thread is abandoned: it never holds
    the process up). ``work`` must handle its own errors; one that gets through is raised."""
    finished: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller
            finished.put(exc)
        else:
            finished.put(None)

    threading.Thread(target=run, name="cadence-background", daemon=True).start()
    while True:
        if stop():
            return False
        try:
            error = finished.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        if error is not None:
            raise error
        return True
