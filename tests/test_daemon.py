"""The daemon: the real process (signals, reloads, sd_notify, a SIGKILL mid-cycle) and its parts.

The process tests start ``python -m cadence.app.cli daemon`` in a temporary site (the example
cadence.toml with ``interval = "1 second"``, the example policies, and generated customers whose
last contacts are relative to today, because the daemon plans with the real clock) and talk to
it only as systemd and an operator would: signals, file edits, a NOTIFY_SOCKET, the log on
stderr, the .ics files and the database.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, ClassVar

import icalendar
import pytest

from cadence.app.daemon import SystemdNotifier, backoff_wait, run_daemon
from cadence.store.repository import BookingRecord, Store
from cadence.values.model import BookingKind, BookingState

REPO = Path(__file__).resolve().parents[1]
# Every wait here is for a condition (a message, a log line, an exit) and returns as soon as it
# holds; this bound is only reached by a daemon that hangs, so it is generous: a machine under
# load (a first cycle, the interpreter's imports) once took a daemon past 20 s to READY.
TIMEOUT = 180.0

pytestmark = pytest.mark.slow


# ---- a site on disk -------------------------------------------------------------------------


# The salespeople of the example cadence.toml, with customers in their own country and zone
# (so every customer's office hours overlap their salesperson's).
OWNERS = (
    ("ana@example.com", "PT", "Europe/Lisbon"),
    ("ben@example.com", "US", "America/New_York"),
    ("chloe@example.com", "FR", "Europe/Paris"),
    ("dev@example.com", "IN", "Asia/Kolkata"),
    ("emily@example.com", "US", "America/Los_Angeles"),
)
SEGMENTS = ("smb", "strategic", "growth", "default")
HEADER = (
    "id,name,owner,segment,emails,domains,industry,country,timezone,customer_since,last_contact\n"
)


def customer_row(i: int, today: date) -> str:
    """Customer ``i``: contacted in the last few weeks, so its next check-in falls inside the
    horizon whatever day the tests run (the daemon plans with the real clock)."""
    owner, country, zone = OWNERS[i % len(OWNERS)]
    segment = SEGMENTS[(i // len(OWNERS)) % len(SEGMENTS)]
    since = today - timedelta(days=800 + 7 * i)
    last = today - timedelta(days=5 + i % 20)
    return (
        f"T-{i:04},Customer {i} Ltd,{owner},{segment},contact@c{i}.example,c{i}.example,"
        f"software,{country},{zone},{since.isoformat()},{last.isoformat()}\n"
    )


def make_site(
    root: Path,
    rows: int,
    *,
    interval: str = "1 second",
    extra_config: str = "",
    today: date | None = None,
) -> Path:
    """cadence.toml (the example, with ``interval``) + the policies + ``rows`` customers whose
    dates are relative to ``today`` (default: the real date)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "policies", root / "policies")
    text = (REPO / "cadence.toml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^interval = .*$", f'interval = "{interval}"', text)
    assert n == 1
    text = text.replace("[calendar]\n", extra_config + "\n[calendar]\n", 1)
    (root / "cadence.toml").write_text(text, encoding="utf-8")
    (root / "examples").mkdir()
    today = today or datetime.now(UTC).date()
    customers = HEADER + "".join(customer_row(i, today) for i in range(rows))
    (root / "examples" / "customers.csv").write_text(customers, encoding="utf-8")
    return root / "cadence.toml"


def store_bookings(site: Path) -> list[BookingRecord]:
    store = Store(f"sqlite:///{site / 'cadence.db'}")
    try:
        return store.bookings()
    finally:
        store.close()


def booking_times(site: Path) -> dict[str, tuple[object, object, str]]:
    return {r.key: (r.start, r.end, r.state.value) for r in store_bookings(site)}


def ics_events(site: Path) -> list[tuple[str, icalendar.Event]]:
    """(owner, VEVENT) for every event in the site's calendar files."""
    found = []
    for path in sorted((site / "calendars").glob("*.ics")):
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        found.extend((path.stem, ev) for ev in cal.walk("VEVENT"))
    return found


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in ``path`` with a visibly newer mtime."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    stat = path.stat()
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    # Coarse file-system clocks: make sure the watcher cannot miss the change.
    os.utime(path, ns=(stat.st_atime_ns, max(stat.st_mtime_ns + 10**9, time.time_ns())))


# ---- the process and its notifications --------------------------------------------------------


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    open_sockets: ClassVar[list[NotifySocket]] = []

    def __init__(self) -> None:
        # AF_UNIX paths are limited to ~108 bytes: keep it short rather than under tmp_path.
        self.folder = tempfile.mkdtemp(prefix="cn-")
        self.path = os.path.join(self.folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self.sender: DaemonProcess | None = None  # the daemon told to use this socket
        NotifySocket.open_sockets.append(self)

    def drain(self) -> None:
        """Take in what has arrived: until the socket is quiet for its timeout, or for at most
        a second (a daemon pinging every few milliseconds never leaves it quiet)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            self.messages.extend(data.decode().split("\n"))

    def wait_for(self, wanted: Callable[[str], bool] | str, timeout: float = TIMEOUT) -> str:
        """The first message (ever received) matching ``wanted``."""
        test = wanted if callable(wanted) else (lambda m: m == wanted)
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if test(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no {wanted!r} in {self.messages}")
            gone = self.sender is not None and self.sender.proc.poll() is not None
            self.drain()
            if gone and not any(test(m) for m in self.messages):  # it will never come
                assert self.sender is not None
                raise AssertionError(
                    f"no {wanted!r} in {self.messages}: the daemon exited "
                    f"{self.sender.proc.returncode}:\n{self.sender.log()}"
                )

    def close(self) -> None:
        NotifySocket.open_sockets.remove(self)
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class DaemonProcess:
    """``cadence daemon`` as a child process with its log in a file."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))
        }
        environ["PYTHONPATH"] = str(REPO)
        environ.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cadence.app.cli", "daemon", "--config", str(config)],
            cwd=config.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environ,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, *, after: int = 0, timeout: float = TIMEOUT) -> int:
        """Wait until ``pattern`` (a regex) appears in the log after offset ``after``; the
        offset just past the match."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            match = re.compile(pattern, re.M).search(text, after)
            if match:
                return match.end()
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no /{pattern}/ in the log:\n{text[after:]}")
            time.sleep(0.05)

    def cycles_done(self) -> int:
        return len(re.findall(r"cycle done in", self.log()))

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        self._log.close()


@pytest.fixture
def start() -> Iterator[Callable[..., DaemonProcess]]:
    """Start daemons; every one still running at the end of the test is killed. A daemon
    given a NOTIFY_SOCKET is known to that socket (a wait on it ends when the daemon dies)."""
    started: list[DaemonProcess] = []

    def _start(config: Path, env: dict[str, str] | None = None) -> DaemonProcess:
        process = DaemonProcess(config, env)
        started.append(process)
        for sock in NotifySocket.open_sockets:
            if (env or {}).get("NOTIFY_SOCKET") == sock.path:
                sock.sender = process
        return process

    yield _start
    for process in started:
        process.kill()


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


# ---- systemd notifications and signals ------------------------------------------------------


def test_notify_socket_receives_ready_status_and_watchdog(tmp_path, start, notify):
    config = make_site(tmp_path / "site", 20)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"})

    status = notify.wait_for(lambda m: m.startswith("STATUS=last cycle "))
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1")

    assert re.fullmatch(
        r"STATUS=last cycle \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: created \d+, moved 0, "
        r"cancelled 0, unchanged 0",
        status,
    ), status
    # READY comes after the first cycle, so the first STATUS precedes it.
    assert notify.messages.index(status) < notify.messages.index("READY=1")
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_watchdog_pings_at_least_every_half_timeout(tmp_path, start, notify):
    config = make_site(tmp_path / "site", 5)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"})
    notify.wait_for("READY=1")
    notify.messages.clear()
    stamps = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            data = notify.sock.recv(4096)
        except TimeoutError:
            continue
        if b"WATCHDOG=1" in data.split(b"\n"):
            stamps.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) >= 4, stamps
    assert max(gaps) < 1.0, gaps  # half of WATCHDOG_USEC
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_start_timeout_is_extended_while_the_first_cycle_runs(tmp_path, start, notify):
    # A heartbeat every 10 ms (a third of WATCHDOG_USEC): many of them fall inside the first
    # cycle of 150 customers however fast the machine (with 600 ms, a 0.2 s period, a fast
    # machine finished the cycle before the first one).
    config = make_site(tmp_path / "site", 150)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "30000"})

    notify.wait_for("READY=1")

    before_ready = notify.messages[: notify.messages.index("READY=1")]
    assert "EXTEND_TIMEOUT_USEC=30000000" in before_ready
    assert "WATCHDOG=1" not in before_ready  # the watchdog starts with READY
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_sigterm_exits_zero_and_notifies_stopping(tmp_path, start, notify):
    config = make_site(tmp_path / "site", 20)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path})
    notify.wait_for("READY=1")

    daemon.send(signal.SIGTERM)

    assert daemon.wait() == 0
    notify.wait_for("STOPPING=1")
    log = daemon.log()
    assert "SIGTERM received: stopping after the write in flight" in log
    assert "Traceback" not in log


def test_sighup_reloads_the_configuration(tmp_path, start, notify):
    config = make_site(tmp_path / "site", 20)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path})
    notify.wait_for("READY=1")
    notify.messages.clear()

    daemon.send(signal.SIGHUP)

    offset = daemon.wait_for_log(r"INFO cadence\.daemon: reloading \(SIGHUP\)$")
    daemon.wait_for_log(rf"reloaded {re.escape(str(config))}$", after=offset)
    notify.wait_for("RELOADING=1")
    notify.wait_for("READY=1")
    assert notify.messages.index("RELOADING=1") < notify.messages.index("READY=1")
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


# ---- reloading on policy edits ----------------------------------------------------------------

SMB_RHYTHM = 'every = "2 months"\nmin_gap = "1 month"'
SMB_SLOWER = 'every = "11 weeks"\nmin_gap = "11 weeks"'


def smb_checkin_gaps(site: Path) -> dict[str, timedelta]:
    """From each smb customer's last contact (as imported) to its live check-in booking."""
    store = Store(f"sqlite:///{site / 'cadence.db'}")
    try:
        last = {
            c.id: c.last_contact
            for c in store.customers()
            if c.segment == "smb" and c.last_contact is not None
        }
        records = store.bookings(states=(BookingState.BOOKED, BookingState.PENDING))
    finally:
        store.close()
    gaps = {}
    for r in records:
        if r.customer_id in last and r.kind is BookingKind.CHECK_IN:
            assert isinstance(r.start, datetime)
            gaps[r.key] = r.start.date() - last[r.customer_id]
    return gaps


def test_policy_edit_reloads_and_moves_bookings_at_once(tmp_path, start):
    site = tmp_path / "site"
    config = make_site(site, 20, interval="1 hour")  # so only the reload can start a cycle
    daemon = start(config)
    daemon.wait_for_log(r"cycle done in .*: created [1-9]")
    before = smb_checkin_gaps(site)
    assert before and min(before.values()) < timedelta(weeks=11)  # the edit must matter

    edit(site / "policies" / "segments.toml", SMB_RHYTHM, SMB_SLOWER)

    offset = daemon.wait_for_log(r"reloading \(policies/segments\.toml changed\)$")
    offset = daemon.wait_for_log(r"reloaded ", after=offset)
    daemon.wait_for_log(r"cycle done in .*: created \d+, moved [1-9]", after=offset)
    after = smb_checkin_gaps(site)
    assert after
    # Customers' dates are in their own zone, bookings in UTC: allow the day either side.
    assert min(after.values()) >= timedelta(weeks=11, days=-1), after
    # The calendar files hold what the store holds.
    files = {str(ev["UID"]): ev.decoded("DTSTART") for _, ev in ics_events(site)}
    for r in store_bookings(site):
        if r.key in after:
            assert files[r.uid] == r.start
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_invalid_policy_is_rejected_and_the_old_one_stays_in_force(tmp_path, start, notify):
    site = tmp_path / "site"
    config = make_site(site, 20)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path})
    daemon.wait_for_log(r"cycle done in .*: created [1-9]")
    booked = booking_times(site)
    segments = site / "policies" / "segments.toml"
    # A change that would move bookings, plus a typo that makes the file invalid.
    edit(segments, SMB_RHYTHM, SMB_SLOWER + '\ncolour = "blue"')
    typo_line = segments.read_text(encoding="utf-8").splitlines().index('colour = "blue"') + 1

    offset = daemon.wait_for_log(r"reloading \(policies/segments\.toml changed\)$")
    offset = daemon.wait_for_log(
        rf"ERROR cadence\.daemon: reload rejected: {re.escape(str(segments))}:{typo_line}: "
        r"\[segment\.smb\] colour: unknown key",
        after=offset,
    )
    # The daemon keeps cycling with the last good policies: nothing moves. (Cycles counted up
    # to the rejection, not when the test gets here: a quick cycle may have run meanwhile.)
    seen = len(re.findall(r"cycle done in", daemon.log()[:offset]))
    daemon.wait_for_log(r"cycle done in .*: created 0, moved 0, cancelled 0", after=offset)
    assert daemon.cycles_done() > seen
    assert booking_times(site) == booked
    assert "reloaded" not in daemon.log()[offset:]
    # systemctl status keeps showing why the edit was not taken.
    problem = f"{segments}:{typo_line}: [segment.smb] colour: unknown key"
    notify.wait_for(lambda m: m.startswith("STATUS=last cycle") and problem in m)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_customer_file_change_runs_a_cycle_without_reloading(tmp_path, start):
    site = tmp_path / "site"
    config = make_site(site, 5, interval="1 hour")
    daemon = start(config)
    offset = daemon.wait_for_log(r"cycle done in .*: created [1-9]")
    with (site / "examples" / "customers.csv").open("a", encoding="utf-8") as f:
        f.write(customer_row(5, datetime.now(UTC).date()))

    offset = daemon.wait_for_log(r"customer file .*customers\.csv changed$", after=offset)
    daemon.wait_for_log(r"imported customers\.csv: 1 new, 0 updated, 5 unchanged", after=offset)
    daemon.wait_for_log(r"cycle done in .*: created [1-9]", after=offset)
    assert "reloading" not in daemon.log()
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


# ---- a crash in the middle of a cycle ---------------------------------------------------------


def _count_bookings(db: Path) -> Counter:
    """Bookings by state, read without taking any lock the daemon needs."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return Counter()
    try:
        return Counter(dict(conn.execute("SELECT state, count(*) FROM bookings GROUP BY state")))
    except sqlite3.Error:
        return Counter()  # not created yet
    finally:
        conn.close()


def test_sigkill_mid_cycle_then_restart_books_everything_exactly_once(tmp_path, start, notify):
    site = tmp_path / "site"
    config = make_site(site, 150)
    db = site / "cadence.db"
    daemon = start(config)
    deadline = time.monotonic() + TIMEOUT
    # The .ics backend replaces a salesperson's file once per cycle: kill once the first
    # salesperson's calendar is written, well before the last one's is.
    at_kill = Counter()
    while not at_kill[BookingState.BOOKED.value]:
        assert time.monotonic() < deadline, daemon.log()
        assert daemon.proc.poll() is None, daemon.log()
        time.sleep(0.01)
        at_kill = _count_bookings(db)
    daemon.proc.kill()
    daemon.wait()
    assert "cycle done" not in daemon.log()  # killed inside the first cycle
    in_files_at_kill = len(ics_events(site))  # every file whole: written by atomic rename

    again = start(config, {"NOTIFY_SOCKET": notify.path})
    notify.wait_for("READY=1")  # sent after the first cycle
    again.send(signal.SIGTERM)
    assert again.wait() == 0

    booked = assert_each_booking_exactly_once(site)
    # Some but not all bookings were made before the kill; the restart made the rest.
    assert 0 < in_files_at_kill < len(booked)
    assert 0 < at_kill[BookingState.BOOKED.value] < len(booked)


def test_sigterm_mid_cycle_finishes_the_write_in_flight(tmp_path, start, notify):
    site = tmp_path / "site"
    config = make_site(site, 150)
    daemon = start(config, {"NOTIFY_SOCKET": notify.path})
    deadline = time.monotonic() + TIMEOUT
    while sum(_count_bookings(site / "cadence.db").values()) < 30:
        assert time.monotonic() < deadline, daemon.log()
        assert daemon.proc.poll() is None, daemon.log()
        time.sleep(0.01)

    daemon.send(signal.SIGTERM)

    assert daemon.wait() == 0
    notify.wait_for("STOPPING=1")
    interrupted = re.search(r"cycle interrupted after .*: created (\d+), ", daemon.log())
    assert interrupted, daemon.log()
    booked = assert_each_booking_exactly_once(site)
    assert len(booked) == int(interrupted[1]) >= 30


def assert_each_booking_exactly_once(site: Path) -> list[BookingRecord]:
    """No write left in doubt, no duplicate event, and the calendar files hold exactly the
    bookings the store holds; the booked records."""
    records = store_bookings(site)
    booked = [r for r in records if r.state is BookingState.BOOKED]
    assert [r.key for r in records if r.state is BookingState.PENDING] == []
    events = ics_events(site)
    uids = Counter(str(ev["UID"]) for _, ev in events)
    assert [uid for uid, n in uids.items() if n > 1] == []
    per_contact = Counter(
        (str(ev["X-CADENCE-CUSTOMER"]), str(ev["X-CADENCE-KIND"]), str(ev["X-CADENCE-KEY"]))
        for _, ev in events
    )
    assert set(per_contact.values()) == {1}
    live_in_files = {
        (owner, str(ev["UID"]))
        for owner, ev in events
        if str(ev.get("STATUS", "CONFIRMED")).upper() != "CANCELLED"
    }
    assert live_in_files == {(r.owner, r.uid) for r in booked}
    assert {(r.customer_id, r.kind.value, r.key) for r in booked} <= set(per_contact)
    return booked


# ---- the parts, in-process --------------------------------------------------------------------


def test_notifier_speaks_to_abstract_namespace_socket():
    name = f"cadence-test-{os.getpid()}-{time.monotonic_ns()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    server.settimeout(TIMEOUT)
    try:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.send("READY=1", "STATUS=two\nlines")
        assert server.recv(4096) == b"READY=1\nSTATUS=two / lines"
        notifier.close()
    finally:
        server.close()


def test_notifier_without_socket_sends_nothing():
    notifier = SystemdNotifier({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.send("READY=1") is False


def test_watchdog_belongs_to_the_pid_systemd_names():
    mine = SystemdNotifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())})
    other = SystemdNotifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"})
    assert mine.watchdog_seconds == 4.0
    assert other.watchdog_seconds is None


def test_backoff_doubles_per_failure_up_to_ten_intervals():
    interval = timedelta(minutes=15)
    waits = [backoff_wait(interval, n) for n in range(6)]
    assert waits == [
        interval,
        2 * interval,
        4 * interval,
        8 * interval,
        10 * interval,
        10 * interval,
    ]


def test_invalid_config_at_start_logs_every_problem_and_exits_1(tmp_path, caplog):
    config = make_site(tmp_path, 5)
    edit(config, 'horizon = "90 days"', 'horizon = "90 days"\nhorizont = "1 day"')
    edit(config, 'interval = "1 second"', 'interval = "soon"')
    caplog.set_level(logging.INFO, logger="cadence")

    assert run_daemon(config, max_cycles=1) == 1

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].startswith("cannot start")
    assert any(f"{config}:" in e and "horizont: unknown key" in e for e in errors), errors
    assert any(f"{config}:" in e and "interval: cannot read interval 'soon'" in e for e in errors)
    assert all(r.exc_info is None for r in caplog.records)


def test_health_file_after_a_good_cycle(tmp_path):
    moment = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    config = make_site(
        tmp_path,
        5,
        extra_config='[daemon]\nhealth_file = "state/health.json"\n',
        today=moment.date(),
    )

    assert run_daemon(config, clock=lambda: moment, max_cycles=1) == 0

    health = json.loads((tmp_path / "state" / "health.json").read_text())
    assert health["ok"] is True
    assert health["time"] == "2026-11-23T08:00:00+00:00"
    assert health["next_cycle"] == "2026-11-23T08:00:01+00:00"
    assert re.fullmatch(r"created [1-9]\d*, moved 0, cancelled 0, unchanged 0", health["summary"])
    assert health["interrupted"] is False
    assert health["reload_rejected"] is None
    assert (health["skipped_customers"], health["attention"]) == ([], [])
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["health.json"]  # no temp left


def test_failing_cycle_is_logged_with_traceback_and_backs_off(tmp_path, caplog):
    config = make_site(tmp_path, 5, extra_config='[daemon]\nhealth_file = "health.json"\n')
    moment = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def clock() -> datetime:
        # The store loses a table between opening and the cycle: an unexpected failure.
        with sqlite3.connect(tmp_path / "cadence.db") as conn:
            conn.execute("DROP TABLE IF EXISTS bookings")
        return moment

    caplog.set_level(logging.INFO, logger="cadence")
    assert run_daemon(config, clock=clock, max_cycles=1) == 0

    failed = [r for r in caplog.records if r.getMessage() == "cycle failed"]
    assert len(failed) == 1 and failed[0].exc_info is not None
    health = json.loads((tmp_path / "health.json").read_text())
    assert health["ok"] is False
    assert "bookings" in health["summary"]
    assert health["next_cycle"] == "2026-11-23T08:00:02+00:00"  # twice the 1 s interval


def test_a_broken_customer_file_keeps_the_last_good_list_and_is_logged_once(tmp_path, caplog):
    config = make_site(tmp_path, 5)
    caplog.set_level(logging.INFO, logger="cadence")
    assert run_daemon(config, max_cycles=1) == 0
    booked = booking_times(tmp_path)
    assert booked
    (tmp_path / "examples" / "customers.csv").write_text("name,foo\nx,y\n", encoding="utf-8")
    caplog.clear()

    assert run_daemon(config, max_cycles=3) == 0

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # once, not once per cycle
    assert errors[0].startswith(f"cannot read customer file {tmp_path}/examples/customers.csv; ")
    assert "id: required column missing" in errors[0]
    assert errors[0].endswith("(the last good customer list stays in force)")
    assert all(r.exc_info is None for r in caplog.records)
    assert booking_times(tmp_path) == booked  # the calendars keep going on the last good list
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cycle done")]
    assert len(done) == 3 and all("1 input problem" in m for m in done)


def test_an_edit_during_a_cycle_longer_than_the_interval_counts_for_the_next(
    tmp_path, caplog, monkeypatch
):
    """Cycles back to back (each longer than the 1 s interval) leave no sleep to look at files
    in: an invalid policy written during the first cycle is still rejected before the second."""
    from cadence.sync.workspace import Workspace

    config = make_site(tmp_path, 5)
    run_cycle = Workspace.run_cycle
    cycles = itertools.count(1)

    def slow_cycle(self, *args, **kwargs):
        result = run_cycle(self, *args, **kwargs)
        if next(cycles) == 1:
            defaults = tmp_path / "policies" / "defaults.toml"
            defaults.write_text(defaults.read_text() + "\nevery = 'whenever'\n")
        time.sleep(1.2)  # the cycle outlasts the interval: the next one is due at once
        return result

    monkeypatch.setattr(Workspace, "run_cycle", slow_cycle)
    caplog.set_level(logging.INFO, logger="cadence")
    assert run_daemon(config, max_cycles=2) == 0

    messages = [r.getMessage() for r in caplog.records]
    done = [i for i, m in enumerate(messages) if m.startswith("cycle done")]
    rejected = [i for i, m in enumerate(messages) if m.startswith("reload rejected")]
    assert len(done) == 2 and rejected
    assert done[0] < rejected[0] < done[1]
