"""What the operator is told when Google refuses or throttles (issue 11, point 5).

One message per cause per cycle (a service account key Google no longer accepts is one line
naming the backend and how many salespeople it stops, not one per salesperson), no promise of a
retry the process will not make, and access granted again used on the very next cycle.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cadence.sync.workspace import Workspace
from tests.google_fake import FakeGoogle
from tests.test_cycle_concurrency import google_site
from tests.workspace_kit import ANA, BEN, NOW

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    for owner in (ANA, BEN):
        server.add_user(owner, "Europe/London")
    yield server
    server.stop()


def auth_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "authentication failed" in r.getMessage()
    ]


def test_a_refused_service_account_is_one_line_and_is_used_again_at_once(
    fake: FakeGoogle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ws = Workspace.open(google_site(fake, tmp_path / "ws"))
    trusted = dict(fake.service_accounts)
    fake.service_accounts.clear()  # Google no longer accepts the key: every salesperson fails
    try:
        with caplog.at_level(logging.INFO, logger="cadence"):
            first = ws.run_cycle(NOW)
            assert set(first.failed_owners) == {ANA, BEN}
            [line] = auth_errors(caplog)
            assert line.startswith("google: authentication failed for 2 salespeople")
            assert f"({ANA}, {BEN})" in line
            caplog.clear()
            again = ws.run_cycle(NOW + timedelta(minutes=15))
            assert set(again.failed_owners) == {ANA, BEN}
            assert auth_errors(caplog) == []  # the same cause is not told again
            fake.service_accounts.update(trusted)  # the key is accepted again
            fixed = ws.run_cycle(NOW + timedelta(minutes=16))  # no 15-minute backoff
        assert fixed.complete, fixed.attention()
        assert {r.owner for r in ws.store.bookings()} == {ANA, BEN}
        assert [f"{owner} works again" in caplog.text for owner in (ANA, BEN)] == [True, True]
        # What `cadence report` and the health file say: one line for the cause.
        [shared] = [line for line in first.attention() if "authentication" in line]
        assert shared.startswith(f"2 salespeople ({ANA}, {BEN}) skipped: authentication failed")
    finally:
        ws.close()


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "cadence.app.cli", "run", "--once", "--config", str(config)]
    return subprocess.run(
        [*command, "--now", NOW.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        cwd=config.parent,
        timeout=120,
    )


@pytest.mark.parametrize("trouble", ["key refused", "one revoked", "throttled"])
def test_run_once_says_each_cause_once_and_promises_no_retry(
    fake: FakeGoogle, tmp_path: Path, trouble: str
) -> None:
    config = google_site(fake, tmp_path / "ws")
    if trouble == "key refused":
        fake.service_accounts.clear()
    elif trouble == "one revoked":
        fake.revoke(ANA)
    else:
        fake.fail("calendar.events.list", times=9, status=429, retry_after="30", user=ANA)
    done = run_once(config)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    if trouble == "key refused":
        [line] = lines
        assert line.startswith(f"skipped 2 salespeople ({ANA}, {BEN}): authentication failed")
    else:
        [line] = [text for text in lines if ANA in text]
        assert line.startswith(f"skipped salesperson {ANA}: ")
    output = (done.stdout + done.stderr).lower()
    assert "retry" not in output and "retrying" not in output
