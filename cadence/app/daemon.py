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
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from cadence.app.systemd import Heartbeat, SystemdNotifier, monotonic_usec
from cadence.inputs.config import Config
from cadence.store.leases import claim_share, release, renew
from cadence.sync.result import CycleResult
from cadence.sync.wording import count
from cadence.sync.workspace import Workspace
from cadence.values.errors import UserError
from cadence.values.model import require_aware

log = logging.getLogger("cadence.daemon")

POLL_SECONDS = 1.0  # how often watched files are checked while sleeping
SETTLE_SECONDS = 0.3  # a changed file must hold still this long (editors write in steps)
MAX_BACKOFF_FACTOR = 10  # consecutive failures wait at most this many intervals
STALL_LIMIT = timedelta(minutes=30)  # no progress for this long: stop the watchdog pings


# ---- watched files ----------------------------------------------------------------------------

FileStamp = tuple[int, int] | None  # (mtime_ns, size), None when the file is missing


def watched_files(config: Config) -> tuple[set[Path], Path | None]:
    """The files whose change means a reload (cadence.toml, policies), and the customer file."""
    reload = {config.path, *config.policies.glob("*.toml")}
    return reload, config.customers


def snapshot(paths: Iterable[Path]) -> dict[Path, FileStamp]:
    """Modification time and size of each path."""
    stamps: dict[Path, FileStamp] = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            stamps[path] = None
        else:
            stamps[path] = (st.st_mtime_ns, st.st_size)
    return stamps


@dataclass
class _Watch:
    """What the files looked like when the configuration in force was read."""

    reload_paths: set[Path]
    policy_folder: Path
    customers: Path | None
    stamps: dict[Path, FileStamp] = field(default_factory=dict)

    @classmethod
    def of(cls, config: Config) -> _Watch:
        reload_paths, customers = watched_files(config)
        return cls(reload_paths, config.policies, customers)

    def current(self) -> dict[Path, FileStamp]:
        # New policy files count too: glob the folder again rather than trusting the old list.
        paths = set(self.reload_paths) | set(self.policy_folder.glob("*.toml"))
        if self.customers is not None:
            paths.add(self.customers)
        return snapshot(paths)

    def changed(self, now: dict[Path, FileStamp]) -> set[Path]:
        keys = set(self.stamps) | set(now)
        return {p for p in keys if self.stamps.get(p) != now.get(p)}


# ---- the loop ---------------------------------------------------------------------------------


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
        self.watch: _Watch | None = None
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
        self.watch = _Watch.of(workspace.config)
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
        now = self._settled(now)
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

    def _settled(self, stamps: dict[Path, FileStamp]) -> dict[Path, FileStamp]:
        """Wait until the watched files hold still (an editor may write in several steps)."""
        assert self.watch is not None
        for _ in range(10):
            if self._wake.wait(SETTLE_SECONDS):  # a signal: stop waiting for the editor
                break
            again = self.watch.current()
            if again == stamps:
                break
            stamps = again
        return stamps

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
            self.watch = _Watch.of(workspace.config)
            self.watch.stamps = {**self.watch.current(), **before}
            old.close()
            self.rejected = None
            log.info("reloaded %s", workspace.config.path)
            return True
        finally:
            if self.ready.is_set():
                self.notifier.send("READY=1")

    def lease_seconds(self) -> float | None:
        """How long a lease taken now lasts: ``[daemon] lease_seconds``, or twice the last
        cycle's duration when cycles take longer, so that a slow cycle's leases do not lapse
        between renewals. None: this daemon is alone on its database."""
        configured = self.workspace.config.daemon.lease_seconds if self.workspace else None
        if not configured:
            return None
        return max(configured, 2 * self.last_cycle_seconds)

    def _run_cycle(self, now: datetime) -> CycleResult:
        """The cycle, limited to this daemon's share of salespeople when daemons share one
        database (``[daemon] lease_seconds``; see :mod:`cadence.store.leases`). Before each write
        to a calendar the salesperson's lease is renewed; a lease another daemon took since
        stops this daemon's writes to that calendar."""
        assert self.workspace is not None
        ttl = self.lease_seconds()
        if not ttl:
            return self.workspace.run_cycle(now, stop=self.stop_requested)
        store = self.workspace.store
        share = claim_share(store, self.holder, self.workspace.owners(), now, ttl)
        importer = store.try_lease("task:import", self.holder, now, ttl)
        log.info("serving %d salespeople as %s", len(share), self.holder)

        def keep(owner: str) -> bool:
            moment = require_aware(self.clock(), "daemon clock")
            return renew(store, self.holder, owner, moment, ttl)

        return self.workspace.run_cycle(
            now, stop=self.stop_requested, share=share, import_customers=importer, keep=keep
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
        stamp = f"{now.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
        if result is not None:
            summary = result.summary()
            if result.interrupted:
                log.info("cycle interrupted after %.1fs: %s", took, summary)
            else:
                log.info("cycle done in %.1fs: %s; next in %s", took, summary, _short(wait))
            status = f"last cycle {stamp}: {summary}"
        else:
            failed = count(self.failures, "failed cycle")
            log.warning("%s in a row; next try in %s", failed, _short(wait))
            status = f"last cycle {stamp} failed: {_clip(error)}"
        if self.rejected:
            status += f"; reload rejected: {_clip(self.rejected)}"
        self.notifier.send(f"STATUS={status}")
        if config.daemon.health_file is not None:
            write_health(config.daemon.health_file, now, result, error, now + wait, self.rejected)
        return wait


def write_health(
    path: Path,
    now: datetime,
    result: CycleResult | None,
    error: str,
    next_cycle: datetime,
    rejected: str | None = None,
) -> None:
    """Replace ``path`` atomically with the JSON state of the last cycle (and the problem of a
    rejected reload, while the previous configuration is in force)."""
    data = {
        "time": now.astimezone(UTC).isoformat(),
        "ok": result is not None,
        "summary": result.summary() if result is not None else error,
        "interrupted": bool(result and result.interrupted),
        "skipped_salespeople": sorted(result.failed_owners) if result else [],
        "skipped_customers": sorted(result.skipped_customers) if result else [],
        "attention": result.attention() if result else [],
        "next_cycle": next_cycle.astimezone(UTC).isoformat(),
        "reload_rejected": rejected,
        "pid": os.getpid(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
        ) as tmp:
            json.dump(data, tmp, indent=2)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("cannot write health file %s: %s", path, exc)


def _clip(text: str, limit: int = 300) -> str:
    """A status line stays one readable line (a database error can quote a whole query)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
