"""Several daemons sharing one database divide the salespeople (SPEC 10), on SQLite and
PostgreSQL: disjoint shares, a newcomer gets its half, a dead daemon's share is taken over."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cadence.store.leases import claim_share, release
from cadence.store.repository import Store

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
TTL = 60.0
OWNERS = [f"rep{i:02d}@example.com" for i in range(10)]


def test_a_lone_daemon_serves_everyone(store):
    assert claim_share(store, "a", OWNERS, T0, TTL) == set(OWNERS)


def test_a_second_daemon_gets_half_and_the_shares_never_overlap(store):
    a = claim_share(store, "a", OWNERS, T0, TTL)
    b = claim_share(store, "b", OWNERS, T0 + timedelta(seconds=1), TTL)
    assert (len(a), b) == (10, set())  # everyone is still a's until a gives some back
    a = claim_share(store, "a", OWNERS, T0 + timedelta(seconds=2), TTL)
    b = claim_share(store, "b", OWNERS, T0 + timedelta(seconds=3), TTL)
    assert (len(a), len(b)) == (5, 5)
    assert a.isdisjoint(b) and a | b == set(OWNERS)
    # Steady state: the next rounds change nothing.
    assert claim_share(store, "a", OWNERS, T0 + timedelta(seconds=4), TTL) == a
    assert claim_share(store, "b", OWNERS, T0 + timedelta(seconds=5), TTL) == b


def test_a_dead_daemons_share_is_taken_over_after_the_lease_time(store):
    claim_share(store, "a", OWNERS, T0, TTL)
    claim_share(store, "b", OWNERS, T0 + timedelta(seconds=1), TTL)
    a = claim_share(store, "a", OWNERS, T0 + timedelta(seconds=2), TTL)
    b = claim_share(store, "b", OWNERS, T0 + timedelta(seconds=3), TTL)
    assert len(a) == len(b) == 5
    # a dies (stops renewing). Before its leases expire, b may not take a's salespeople.
    assert claim_share(store, "b", OWNERS, T0 + timedelta(seconds=30), TTL) == b
    # After the lease time a's heartbeat and leases are gone: b serves everyone.
    later = T0 + timedelta(seconds=2 + TTL + 1)
    assert claim_share(store, "b", OWNERS, later, TTL) == set(OWNERS)


def test_a_clean_shutdown_hands_over_at_once(store):
    claim_share(store, "a", OWNERS, T0, TTL)
    claim_share(store, "b", OWNERS, T0 + timedelta(seconds=1), TTL)
    claim_share(store, "a", OWNERS, T0 + timedelta(seconds=2), TTL)
    claim_share(store, "b", OWNERS, T0 + timedelta(seconds=3), TTL)
    release(store, "a")
    assert claim_share(store, "b", OWNERS, T0 + timedelta(seconds=4), TTL) == set(OWNERS)
    assert store.live_leases("owner:", T0 + timedelta(seconds=4)) == {
        f"owner:{o}": "b" for o in OWNERS
    }


def test_two_workspaces_on_one_database_each_write_only_their_share(tmp_path):
    from cadence.sync.workspace import Workspace
    from tests.workspace_kit import ANA, BEN, customer_row, write_workspace

    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    rows = [customer_row(f"A{i}") for i in range(3)] + [
        customer_row(f"B{i}", owner=BEN) for i in range(3)
    ]
    config = write_workspace(tmp_path, rows, backend="ics")
    first, second = Workspace.open(config), Workspace.open(config)
    try:
        ran_a = first.run_cycle(now, share={ANA})
        ran_b = second.run_cycle(now, share={BEN}, import_customers=False)
        assert ran_a.created > 0 and ran_b.created > 0
        records = first.store.bookings()
        assert {r.owner for r in records if r.key.startswith("A")} == {ANA}
        assert {r.owner for r in records if r.key.startswith("B")} == {BEN}
        # Together they did what one daemon does: a full cycle now changes nothing.
        full = first.run_cycle(now + timedelta(minutes=1))
        assert (full.created, full.moved, full.cancelled) == (0, 0, 0)
        # And each calendar holds every booking once.
        for owner in (ANA, BEN):
            text = (tmp_path / "calendars" / f"{owner}.ics").read_text()
            uids = [line for line in text.splitlines() if line.startswith("UID:")]
            assert len(uids) == len(set(uids)) == len(first.store.bookings(owner=owner))
    finally:
        first.close()
        second.close()


SALES_TEAM = [
    {"email": f"rep{i}@example.com", "timezone": "Europe/London", "country": "GB-ENG"}
    for i in range(6)
]


def team_rows(round_: int) -> list[dict[str, str]]:
    from tests.workspace_kit import customer_row

    return [
        customer_row(f"C{i:02d}", owner=f"rep{i % 6}@example.com", name=f"Customer {i} v{round_}")
        for i in range(12)
    ]


@pytest.mark.postgres
def test_daemons_with_short_leases_and_long_cycles_never_write_where_they_do_not_hold(
    tmp_path, postgresql_url
):
    """Three real daemons on one PostgreSQL, a 2 s lease, cycles of 2.4 s and more (slow reads),
    customers renamed every few seconds so every cycle writes. Every write is logged with who
    held the salesperson's lease just before and just after it: always the writer. No cycle
    fails (plans are saved by all three at once)."""
    from tests.workspace_kit import write_customers, write_workspace

    config = write_workspace(tmp_path, team_rows(0), backend="ics", salespeople=SALES_TEAM)
    text = config.read_text().replace('database = "sqlite:///cadence.db"', "")
    text = text.replace('interval = "15 minutes"', 'interval = "2 seconds"')
    config.write_text(f'database = "{postgresql_url}"\n' + text + "\n[daemon]\nlease_seconds = 2\n")
    writes = tmp_path / "writes.jsonl"
    root = Path(__file__).resolve().parent.parent
    daemons = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.daemons.slow_daemon", str(config), str(writes)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        store = Store(postgresql_url)
        # All three have their share: the renames below are written by all three.
        wait_for(lambda: len(set(store.live_leases("owner:", datetime.now(UTC)).values())) == 3)
        store.close()
        # Rename everyone: one write to each of the 6 calendars a round. Two rounds at least;
        # more (up to 8) while not all three daemons have written: under load a 2 s lease can
        # pass from one daemon to another between the wait above and the renames, so which
        # daemon writes a round depends on timing, not on the code under test.
        for round_ in range(1, 9):
            target = len(lines(writes)) + 6
            write_customers(tmp_path / "customers.csv", team_rows(round_))
            wait_for(lambda target=target: len(lines(writes)) >= target)
            if round_ >= 2 and writers(writes) == 3:
                break
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        outputs = [d.communicate(timeout=120) for d in daemons]
    for d, (_, err) in zip(daemons, outputs, strict=True):
        assert d.returncode == 0, err[-3000:]
        assert "cycle failed" not in err and "Traceback" not in err, err[-3000:]
    entries = lines(writes)
    assert writers(writes) == 3  # the work was shared
    assert [e for e in entries if not e["holder_before"] == e["holder_after"] == e["writer"]] == []
    took = [float(m) for _, err in outputs for m in re.findall(r"cycle done in ([\d.]+)s", err)]
    assert max(took) > 2  # cycles did outlast the lease


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def writers(path: Path) -> int:
    return len({e["writer"] for e in lines(path)})


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
