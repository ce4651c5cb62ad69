"""Several daemons sharing one database divide the salespeople (SPEC 10), on SQLite and
PostgreSQL: disjoint shares, a newcomer gets its half, a dead daemon's share is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cadence.leases import claim_share, release

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
    from cadence.cycle import Workspace
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
