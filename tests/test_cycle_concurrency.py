"""Salespeople are served side by side, and a throttled or hanging mailbox never holds up the
others, the cycle or a stop (issue 11, point 2).

The Google wire-format fake, the real client library and the real cycle (and, for SIGTERM, the
real daemon process). No test waits a fixed time: each waits for a condition, with a generous
upper bound that only a failure reaches.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cadence.sync.calls import NAP_CAP
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState
from connectors.base import TransientError
from tests.google_fake import FakeGoogle
from tests.google_fake.keys import write_service_account_key
from tests.test_daemon import TIMEOUT, DaemonProcess
from tests.workspace_kit import ANA, BEN, NOW, customer_row, write_workspace

CUSTOMERS = [customer_row(f"C{i}", owner=ANA if i % 2 else BEN) for i in range(6)]
BOUND = 60.0  # seconds: only a failing test waits this long


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    for owner in (ANA, BEN):
        server.add_user(owner, "Europe/London")
    yield server
    server.stop()


def google_site(fake: FakeGoogle, folder: Path, **workspace: str) -> Path:
    """cadence.toml on the fake (service account), the kit's policies and customers."""
    folder.mkdir(parents=True, exist_ok=True)
    key = write_service_account_key(fake, folder / "service-account.json")
    config = write_workspace(folder, CUSTOMERS, backend="google", **workspace)
    section = {"service_account_file": str(key), "api_endpoint": fake.url}
    section["token_uri"] = fake.token_uri
    lines = ["\n[calendar.google]"] + [f'{k} = "{v}"' for k, v in section.items()]
    config.write_text(config.read_text() + "\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.fixture
def ws(fake: FakeGoogle, tmp_path: Path) -> Iterator[Workspace]:
    opened = Workspace.open(google_site(fake, tmp_path / "ws"))
    yield opened
    opened.close()


def test_salespeople_are_served_at_the_same_time(fake: FakeGoogle, ws: Workspace) -> None:
    # Each salesperson's first write hangs until both are hanging: one at a time, Ana's would
    # hang alone until the bound, and Ben's would never be asked meanwhile. (Their first reads
    # are sent ahead for both in one batch request, so the writes, one batch request each,
    # are what shows it.)
    ana = fake.stall("calendar.events.insert", ANA)
    ben = fake.stall("calendar.events.insert", BEN)
    together = threading.Event()

    def release_when_both_wait() -> None:
        if ana.reached.wait(BOUND) and ben.reached.wait(BOUND):
            together.set()
        ana.release.set()
        ben.release.set()

    watcher = threading.Thread(target=release_when_both_wait, daemon=True)
    watcher.start()
    result = ws.run_cycle(NOW)
    watcher.join(BOUND)
    assert together.is_set(), "the two salespeople were not served at the same time"
    assert result.complete, result.attention()
    assert result.created > 0
    assert {r.owner for r in ws.store.bookings()} == {ANA, BEN}


def test_a_long_retry_after_defers_that_salesperson_instead_of_sleeping(
    fake: FakeGoogle, ws: Workspace
) -> None:
    # Google asks Ana to come back in an hour. The cycle must not sleep an hour (the test
    # would hang): Ana is deferred, asked once, and Ben is booked in the same cycle. (Her two
    # streams, cadence's events and past meetings, are asked once each, in the batch that
    # reads ahead for everyone.)
    fake.fail(
        "calendar.events.list", times=3, status=429, reason="rateLimitExceeded", retry_after="3600"
    )
    throttled = fake.faults[-1]
    throttled.user = ANA
    first = ws.run_cycle(NOW)
    assert set(first.failed_owners) == {ANA}
    assert "3600" in first.failed_owners[ANA]
    assert throttled.times == 1  # asked once, not again after a sleep
    assert {r.owner for r in ws.store.bookings()} == {BEN}
    assert first.created > 0

    # Within the hour nothing is asked of Ana; after it, her work is picked up.
    within = ws.run_cycle(NOW + timedelta(minutes=59))
    assert set(within.failed_owners) == {ANA}
    assert throttled.times == 1
    throttled.times = 0  # Google serves her again
    after = ws.run_cycle(NOW + timedelta(minutes=61))
    assert after.complete, after.attention()
    assert {r.owner for r in ws.store.bookings() if r.state is BookingState.BOOKED} == {ANA, BEN}


def test_a_wait_inside_a_cycle_is_capped_and_cut_short_by_a_stop(ws: Workspace) -> None:
    with pytest.raises(TransientError) as longer:
        ws.calls.nap(NAP_CAP + 1)  # what a backend's retry would have slept
    assert longer.value.retry_after == NAP_CAP + 1  # the salesperson is deferred that long
    ws.calls.halt.set()  # what run_cycle does when it is told to stop
    with pytest.raises(TransientError, match="stopping"):
        ws.calls.nap(NAP_CAP)  # returns at once instead of sleeping


def test_sigterm_is_honoured_while_a_server_hangs(fake: FakeGoogle, tmp_path: Path) -> None:
    # Every one of Ana's calls hangs, for as long as the test lasts. The daemon is told to
    # stop while her read hangs: it must exit (status 0) without waiting for the server.
    config = google_site(fake, tmp_path / "site")
    hang = fake.stall("*", ANA)
    daemon = DaemonProcess(config)
    try:
        assert hang.reached.wait(BOUND), daemon.log()
        assert daemon.proc.poll() is None, daemon.log()
        daemon.send(signal.SIGTERM)
        assert daemon.wait(TIMEOUT) == 0, daemon.log()
        assert not hang.release.is_set()  # it stopped while the server still hung
        assert "cycle interrupted" in daemon.log()
    finally:
        daemon.kill()
