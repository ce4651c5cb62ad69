"""Speaking to systemd: sd_notify(3) datagrams (READY, STATUS, RELOADING, STOPPING, WATCHDOG)
and the heartbeat thread that keeps the start timeout extended and the watchdog fed while the
daemon's main loop makes progress. Nothing here knows what a cycle is."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("cadence.daemon")

START_PING_SECONDS = 10.0  # longest gap between pings (EXTEND_TIMEOUT_USEC, WATCHDOG)


class SystemdNotifier:
    """sd_notify(3) without libsystemd: datagrams to the socket named in ``NOTIFY_SOCKET``.

    Does nothing when ``NOTIFY_SOCKET`` is unset. An address starting with ``@`` is in the
    abstract namespace. Send failures are logged once at DEBUG and otherwise ignored: a lost
    notification must never stop the scheduler.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if address.startswith("@"):
            self.address = "\0" + address[1:]
        elif address.startswith("/"):
            self.address = address
        self.watchdog_seconds = _watchdog_seconds(env)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when systemd (or a test) listens."""
        return self.address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; False when not sent."""
        if self.address is None:
            return False
        text = "\n".join(_one_line(a) for a in assignments)
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._socket.setblocking(False)
                self._socket.sendto(text.encode(), self.address)
            except OSError as exc:
                log.debug("sd_notify to %r failed: %s", self.address, exc)
                return False
        return True

    def close(self) -> None:
        """Close the socket (a later :meth:`send` opens it again)."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog timeout, as sd_watchdog_enabled(3) reads it; None when off or not ours."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000


def _one_line(assignment: str) -> str:
    """sd_notify separates assignments by newlines: a value must not contain one."""
    return " / ".join(part.strip() for part in assignment.splitlines() if part.strip())


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class Heartbeat(threading.Thread):
    """Keeps systemd informed while the main loop works: EXTEND_TIMEOUT_USEC until READY,
    then WATCHDOG=1 (when the watchdog is on), but only while ``alive()`` says the main loop
    is making progress."""

    def __init__(
        self, notifier: SystemdNotifier, alive: Callable[[], bool], ready: threading.Event
    ) -> None:
        super().__init__(name="cadence-heartbeat", daemon=True)
        self.notifier = notifier
        self.alive = alive
        self.ready = ready
        watchdog = notifier.watchdog_seconds
        # A third of the timeout: comfortably inside the half that sd_watchdog_enabled(3) asks.
        self.period = min(watchdog / 3, START_PING_SECONDS) if watchdog else START_PING_SECONDS
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.period):
            if not self.alive():
                continue
            if not self.ready.is_set():
                extend = int(max(3 * self.period, 30.0) * 1_000_000)
                self.notifier.send(f"EXTEND_TIMEOUT_USEC={extend}")
            elif self.notifier.watchdog_seconds:
                self.notifier.send("WATCHDOG=1")
            else:
                return  # started, and no watchdog: nothing left to say

    def finish(self) -> None:
        self._done.set()
