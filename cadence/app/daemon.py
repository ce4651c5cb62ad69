"""The service loop: a cycle every ``interval``, reloads, signals and systemd notifications.

:func:`run_daemon` runs in the foreground (systemd ``Type=notify``, see ``deploy/``):

- It opens the :class:`~cadence.sync.workspace.Workspace` (an invalid configuration at start: every
  problem is logged and the exit status is 1), runs a cycle at once and then one every
  ``interval``. ``READY=1`` is sent after the *first cycle* (so ``systemctl start`` returns once
  the calendars are in step); while that first cycle runs, ``EXTEND_TIMEOUT_USEC`` keeps
  systemd's start timeout from expiring on a big first sync.
- It reloads when cadence.toml or a ``*.toml`` in the policy folder changes (size and mtime
  polled every second while it sleeps, and before every cycle, so an edit made during a long
  cycle counts for the next one), and on SIGHUP. The new configuration is validated by opening
  a new workspace *before* the old one is closed: an invalid edit is logged ("reload rejected",
  one ``FILE:LINE: ...`` line per problem) and the last good configuration stays in force. A
  change of the customer file alone just starts a cycle (the cycle re-imports it).
- SIGTERM / SIGINT: the cycle in flight finishes the write chunk it is in, then the daemon exits
  0 with ``STOPPING=1``. The first signal restores the default handler, so a second one ends the
  process at once (safe: every write's intent is in the store before the write, and the next
  cycle settles it without duplicates).
- A cycle that raises is logged (a :class:`~cadence.values.errors.UserError` without traceback) and
  retried; each consecutive failure doubles the wait, up to ten intervals.
- With ``WATCHDOG_USEC`` set, a small thread sends ``WATCHDOG=1`` every third of that period
  (at least every 10 s) for as long as the main loop shows progress (a sleep tick, a write
  chunk). A loop with no progress for :data:`STALL_LIMIT` (or two intervals, if longer) stops
  the pings, and systemd restarts the hung service.
- After each cycle: ``STATUS=`` with the summary or the error, one INFO log line, and the JSON
  health file when ``[daemon] health_file`` is set.

The loop is here; the files it watches are :mod:`.watch`, what it says after each cycle
:mod:`.health`, the sharing of one database between daemons :mod:`.sharing`, and the systemd
notifications :mod:`.systemd`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from cadence.app.health import status_line, write_health
from cadence.app.sharing import lease_seconds, run_shared_cycle
from cadence.app.systemd import Heartbeat, SystemdNotifier, monotonic_usec
from cadence.app.watch import Watch
from cadence.store.leases import release
from cadence.sync.result import CycleResult
from cadence.sync.wording import count
from cadence.sync.workspace import Workspace
from cadence.values.errors import UserError
from cadence.values.model import require_aware

log = logging.getLogger("cadence.daemon")

POLL_SECONDS = 1.0  # how often watched files are checked while sleeping
MAX_BACKOFF_FACTOR = 10  # consecutive failures wait at most this many intervals
STALL_LIMIT = timedelta(minutes=30)  # no progress for this long: stop the watchdog pings


def backoff_wait(interval: timedelta, failures: int) -> timedelta:
    """The wait before the next cycle after ``failures`` consecutive failed cycles."""
    if failures <= 0:
        return interval
    return min(interval * 2**failures, interval * MAX_BACKOFF_FACTOR)


class Daemon:
    """The long-running loop around one :class:`Workspace` (see the module docs)."""

    def __init__(
        self,
        config_path: Path,
        *,
        clock: Callable[[], datetime],
        notifier: SystemdNotifier | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.clock = clock
        self.notifier = notifier or SystemdNotifier()
        self.workspace: Workspace | None = None
        self.watch: Watch | None = None
        self._wake = threading.Event()
        self._stop = False
        self._reload_reason: str | None = None
        self._signals: list[str] = []  # noted by handlers, logged by the loop
        self._progress = time.monotonic()
        self.ready = threading.Event()  # READY=1 sent (after the first cycle)
        self.rejected: str | None = None  # the last rejected reload's first problem
        self.failures = 0
        self.last_cycle_seconds = 0.0  # how long the last cycle took (lease length)
        # Who this daemon is when several share one database ([daemon] lease_seconds).
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    # -- signals -------------------------------------------------------------------------------

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stop = True
        self._signals.append(signal.Signals(signum).name)
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
        self._wake.set()

    def _on_hup(self, _signum: int, _frame: FrameType | None) -> None:
        self._reload_reason = "SIGHUP"
        self._wake.set()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}  # signal handlers can only be set from the main thread
        handlers = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self._on_hup,
        }
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    def _log_signals(self) -> None:
        while self._signals:
            log.info("%s received: stopping after the write in flight", self._signals.pop(0))

    def stop_requested(self) -> bool:
        """Polled by the cycle between write chunks; also counts as progress."""
        self._progress = time.monotonic()
        self._log_signals()
        return self._stop

    def _alive(self) -> bool:
        """Whether the main loop made progress recently (the watchdog pings only then)."""
        interval = self.workspace.config.interval if self.workspace else timedelta(0)
        limit = max(STALL_LIMIT, 2 * interval).total_seconds()
        return time.monotonic() - self._progress < limit

    # -- running -------------------------------------------------------------------------------

    def run(self, max_cycles: int | None = None) -> int:
        """Run until a stop signal (or ``max_cycles`` cycles); the exit status."""
        previous = self._install_signals()
        heartbeat: Heartbeat | None = None
        try:
            if not self._open_first():
                return 1
            if self.notifier.enabled:
                heartbeat = Heartbeat(self.notifier, self._alive, self.ready)
                heartbeat.start()
            self._loop(max_cycles)
            return 0
        finally:
            self._log_signals()
            if self.workspace is not None:
                self.notifier.send("STOPPING=1", "STATUS=stopping")
                log.info("stopped")
            if heartbeat is not None:
                heartbeat.finish()
            if self.workspace is not None:
                if self.workspace.config.daemon.lease_seconds:
                    release(self.workspace.store, self.holder)  # the others take over now
                self.workspace.close()
                self.workspace = None
            self.notifier.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _open_first(self) -> bool:
        try:
            workspace = Workspace.open(self.config_path)
        except UserError as exc:
            log.error("cannot start: %s", exc.message)
            for problem in exc.problems:
                log.error("%s", problem)
            self.notifier.send(f"STATUS=cannot start: {exc.message}")
            return False
        self.workspace = workspace
        self.watch = Watch.of(workspace.config)
        self.watch.stamps = self.watch.current()
        log.info(
            "started: %s, a cycle every %s",
            workspace.config.path,
            _short(workspace.config.interval),
        )
        return True

    def _loop(self, max_cycles: int | None) -> None:
        cycles = 0
        due = time.monotonic()  # the first cycle runs at once
        cycle_now = False
        while not self._stop:
            # Cleared before the flags are read: a signal after this line still ends the wait.
            self._wake.clear()
            self._progress = time.monotonic()
            self._log_signals()
            if cycle_now or time.monotonic() >= due:
                # Edits made while the last cycle ran count before the next one starts, however
                # long cycles take (the sleep below is not the only place files are looked at).
                cycle_now = self._check_files() or cycle_now
            if self._reload_reason is not None and self._reload(self._reload_reason):
                cycle_now = True  # a new policy: plan again now, not at the next tick
            if cycle_now or time.monotonic() >= due:
                started = time.monotonic()
                wait = self._cycle()
                cycles += 1
                cycle_now = False
                due = started + wait.total_seconds()
                if not self.ready.is_set():
                    self.notifier.send("READY=1")
                    self.ready.set()
                if max_cycles is not None and cycles >= max_cycles:
                    return
                continue
            self._wake.wait(min(POLL_SECONDS, max(0.0, due - time.monotonic())))
            cycle_now = self._check_files() or cycle_now

    def _check_files(self) -> bool:
        """Notice edits: a config or policy change asks for a reload; True when the customer
        file changed (the next cycle re-imports it, so run one now)."""
        assert self.watch is not None
        now = self.watch.current()
        changed = self.watch.changed(now)
        if not changed:
            return False
        now = self.watch.settled(now, self._wake)
        changed = self.watch.changed(now)
        if not changed:
            return False
        self.watch.stamps = now
        config_changed = sorted(p for p in changed if p != self.watch.customers)
        if config_changed:
            assert self.workspace is not None
            base = self.workspace.config.base_dir
            names = ", ".join(_relative(p, base) for p in config_changed)
            self._reload_reason = f"{names} changed"
        if self.watch.customers in changed:
            log.info("customer file %s changed", self.watch.customers)
            return True
        return False

    def _reload(self, reason: str) -> bool:
        """Open a new workspace; swap it in only when valid. True when swapped."""
        self._reload_reason = None
        assert self.workspace is not None and self.watch is not None
        log.info("reloading (%s)", reason)
        if self.ready.is_set():  # before the first READY=1, systemd still thinks we start
            self.notifier.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}")
        try:
            before = self.watch.current()
            try:
                workspace = Workspace.open(self.config_path)
            except UserError as exc:
                problems = [str(p) for p in exc.problems] or [exc.message]
                log.error(
                    "reload rejected: %s; the previous configuration stays in force",
                    count(len(problems), "problem"),
                )
                for problem in problems:
                    log.error("reload rejected: %s", problem)
                self.watch.stamps = before  # retry when the files change again (or SIGHUP)
                self.rejected = problems[0]
                self.notifier.send(f"STATUS=reload rejected: {problems[0]}")
                return False
            except Exception as exc:
                log.exception("reload rejected: the previous configuration stays in force")
                self.watch.stamps = before
                self.rejected = f"{type(exc).__name__}: {exc}"
                return False
            old, self.workspace = self.workspace, workspace
            self.watch = Watch.of(workspace.config)
            self.watch.stamps = {**self.watch.current(), **before}
            old.close()
            self.rejected = None
            log.info("reloaded %s", workspace.config.path)
            return True
        finally:
            if self.ready.is_set():
                self.notifier.send("READY=1")

    def lease_seconds(self) -> float | None:
        """How long a lease taken now lasts (:func:`.sharing.lease_seconds`); None: this daemon
        is alone on its database."""
        configured = self.workspace.config.daemon.lease_seconds if self.workspace else None
        return lease_seconds(configured, self.last_cycle_seconds)

    def _run_cycle(self, now: datetime) -> CycleResult:
        """The cycle, limited to this daemon's share of salespeople when daemons share one
        database (:mod:`.sharing`)."""
        assert self.workspace is not None
        ttl = self.lease_seconds()
        if not ttl:
            return self.workspace.run_cycle(now, stop=self.stop_requested)
        return run_shared_cycle(
            self.workspace, self.holder, now, ttl, self.stop_requested, self.clock
        )

    def _cycle(self) -> timedelta:
        """One cycle with logging, STATUS and health file; the wait before the next one."""
        assert self.workspace is not None
        config = self.workspace.config
        now = require_aware(self.clock(), "daemon clock")
        started = time.monotonic()
        result: CycleResult | None = None
        error = ""
        try:
            result = self._run_cycle(now)
        except UserError as exc:
            error = str(exc).replace("\n", "; ")
            log.error("cycle failed: %s", exc.message)
            for problem in exc.problems:
                log.error("%s", problem)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("cycle failed")
        self.failures = 0 if result is not None else self.failures + 1
        wait = backoff_wait(config.interval, self.failures)
        took = time.monotonic() - started
        self.last_cycle_seconds = took
        if result is not None:
            summary = result.summary()
            if result.interrupted:
                log.info("cycle interrupted after %.1fs: %s", took, summary)
            else:
                log.info("cycle done in %.1fs: %s; next in %s", took, summary, _short(wait))
        else:
            failed = count(self.failures, "failed cycle")
            log.warning("%s in a row; next try in %s", failed, _short(wait))
        status = status_line(now, result, error, self.rejected)
        self.notifier.send(f"STATUS={status}")
        if config.daemon.health_file is not None:
            write_health(config.daemon.health_file, now, result, error, now + wait, self.rejected)
        return wait


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _short(wait: timedelta) -> str:
    seconds = round(wait.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def run_daemon(
    config_path: Path,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    max_cycles: int | None = None,
) -> int:
    """Run the cadence service in the foreground until SIGTERM/SIGINT (or ``max_cycles``
    cycles); returns the exit status: 0 after a clean stop, 1 when the configuration is invalid
    at start."""
    return Daemon(Path(config_path), clock=clock).run(max_cycles)
