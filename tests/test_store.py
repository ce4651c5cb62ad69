"""The store, against SQLite (a temporary file) and PostgreSQL (when 127.0.0.1:5432 answers;
the ``store`` / ``url`` fixtures live in conftest.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from cadence.store import rows, tables
from cadence.store.migrations import MIGRATIONS
from cadence.store.repository import BookingRecord, Confirmed, Store, UpsertCounts
from cadence.values.errors import UserError
from cadence.values.model import (
    Booking,
    BookingKind,
    BookingState,
    Contact,
    ContactKind,
    Customer,
    CustomerStatus,
    PlannedContact,
    PlanStatus,
    Salesperson,
)
from cadence.values.workweek import WorkingHours

LISBON = ZoneInfo("Europe/Lisbon")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def customer(customer_id: str, **changes) -> Customer:
    base = Customer(
        id=customer_id,
        name=f"Customer {customer_id}",
        owner="ana@example.com",
        segment="enterprise",
        emails=("buyer@acme.com", "ceo@acme.com"),
        domains=("acme.com",),
        industry="retail",
        country="PT",
        timezone="Europe/Lisbon",
        customer_since=date(2019, 3, 15),
        busy_seasons=("Nov 15 - Jan 5",),
        last_contact=date(2026, 10, 1),
        tags={"region": "north"},
    )
    return replace(base, **changes)


def booking(key: str = "C1:check_in:1", **changes) -> BookingRecord:
    base = BookingRecord(
        key=key,
        uid=f"cadence-{key}",
        customer_id=key.split(":")[0],
        owner="ana@example.com",
        kind=BookingKind.CHECK_IN,
        backend="ics",
        start=datetime(2027, 3, 28, 10, 0, tzinfo=LISBON),
        end=datetime(2027, 3, 28, 10, 30, tzinfo=LISBON),
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **changes)


# ------------------------------------------------------------------------------------------------
# Schema


def test_schema_is_created_on_first_use_and_not_migrated_twice(url):
    first = Store(url)
    first.close()
    second = Store(url)

    assert second.schema_version == len(MIGRATIONS) == 4
    with second.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    assert versions == [1, 2, 3, 4]
    second.close()


def test_a_version_1_database_is_migrated_and_keeps_its_bookings(url):
    # A database as cadence left it before version 2: the frozen version-1 schema, one booking.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables.SCHEMA_VERSION.create(conn)
        MIGRATIONS[0](conn)
        conn.execute(tables.SCHEMA_VERSION.insert().values(version=1, applied_at=NOW))
        row = rows.booking_row(booking("C1:check_in:0"))
        del row["confirmed"], row["reasons"]
        conn.execute(
            sa.text(
                "INSERT INTO bookings ("
                + ", ".join(row)
                + ") VALUES ("
                + ", ".join(":" + k for k in row)
                + ")"
            ),
            row,
        )
    engine.dispose()

    store = Store(url)

    assert store.schema_version == 4
    assert store.booking("C1:check_in:0") == booking("C1:check_in:0")
    pending = replace(
        booking("C1:check_in:1"),
        state=BookingState.PENDING,
        confirmed=Confirmed.of(booking("C1:check_in:0")),
        reasons=("last contact 2026-11-02; every 4 weeks -> ideal 2026-11-30",),
    )
    store.save_bookings([pending], delete=["C1:check_in:0"])
    assert [r.key for r in store.bookings()] == ["C1:check_in:1"]
    assert store.booking("C1:check_in:1") == pending  # the confirmed booking round-trips
    store.close()


def test_a_database_newer_than_this_cadence_is_refused(store, url):
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO schema_version (version, applied_at) VALUES (7, :at)"),
            {"at": NOW.replace(tzinfo=None)},
        )

    with pytest.raises(UserError, match="schema is at version 7, newer than this cadence"):
        Store(url)


def test_an_unopenable_sqlite_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot open database"):
        Store(f"sqlite:///{tmp_path / 'missing-dir' / 'cadence.db'}")


def test_a_url_that_is_not_a_database_is_a_user_error():
    with pytest.raises(UserError, match="not a database URL"):
        Store("cadence.db")


def test_an_unreachable_postgresql_is_a_user_error_without_the_password():
    with pytest.raises(UserError, match="cannot open database") as caught:
        Store("postgresql+psycopg://cadence:s3cret@127.0.0.1:1/cadence")

    assert "s3cret" not in str(caught.value)
    assert "postgresql+psycopg://cadence:***@127.0.0.1:1/cadence" in str(caught.value)


def test_other_databases_are_refused():
    with pytest.raises(UserError, match="only sqlite:/// and postgresql"):
        Store("mysql://root@localhost/cadence")


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url):
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    store.close()


def test_sqlite_readers_are_not_blocked_by_a_writer_in_progress(sqlite_url):
    store = Store(sqlite_url)
    store.upsert_customers([customer("C1")])
    with store.engine.begin() as writer:  # holds SQLite's write lock until the block ends
        writer.execute(sa.text("DELETE FROM customers"))
        started = time.perf_counter()

        seen = store.customers()

        waited = time.perf_counter() - started
    assert [c.id for c in seen] == ["C1"]  # the committed state, not the writer's
    assert waited < 5  # the busy timeout is 30 s: a reader that queued would wait for it
    store.close()


def test_in_memory_sqlite_keeps_its_data_between_calls():
    store = Store("sqlite://")
    store.upsert_customers([customer("C1")])

    assert store.customer("C1") == customer("C1")
    store.close()


# ------------------------------------------------------------------------------------------------
# Customers


def test_customers_round_trip_every_field(store):
    stored = customer(
        "C1",
        status=CustomerStatus.CANCELLED,
        cancelled_on=date(2026, 6, 30),
        tags={"region": "north", "tier": "gold"},
        emails=("jane@acme.com", "ap@acme.com", "tom@acme.com"),
        email_names=(("jane@acme.com", "Jane Doe"), ("tom@acme.com", "Tomás Ñúñez")),
    )
    store.upsert_customers([stored, customer("C2", customer_since=None, last_contact=None)])

    assert store.customers() == [stored, customer("C2", customer_since=None, last_contact=None)]
    assert store.customer("C1") == stored
    assert store.customer("nope") is None


def test_upsert_counts_new_updated_and_unchanged(store):
    first = store.upsert_customers([customer("C1"), customer("C2"), customer("C3")])
    second = store.upsert_customers(
        [
            customer("C1"),
            customer("C2", tags={"region": "south"}),
            customer("C3", emails=("buyer@acme.com",)),
            customer("C4"),
        ]
    )

    assert first == UpsertCounts(new=3, updated=0, unchanged=0, pruned=0)
    assert second == UpsertCounts(new=1, updated=2, unchanged=1, pruned=0)
    assert store.customer("C2").tags == {"region": "south"}
    assert store.customer("C3").emails == ("buyer@acme.com",)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"owner": "bo@example.com"},
        {"segment": "smb"},
        {"domains": ()},
        {"industry": "energy"},
        {"country": "ES"},
        {"timezone": "Asia/Tokyo"},
        {"customer_since": date(2019, 3, 16)},
        {"status": CustomerStatus.DO_NOT_CONTACT},
        {"cancelled_on": date(2026, 1, 1)},
        {"busy_seasons": ("December",)},
        {"last_contact": None},
        {"tags": {"region": "north", "new": "tag"}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_change_in_any_field_is_an_update(store, change):
    store.upsert_customers([customer("C1")])

    counts = store.upsert_customers([customer("C1", **change)])

    assert counts == UpsertCounts(new=0, updated=1, unchanged=0, pruned=0)
    assert store.customer("C1") == customer("C1", **change)


def test_without_prune_customers_missing_from_the_list_stay(store):
    store.upsert_customers([customer("C1"), customer("C2")])

    counts = store.upsert_customers([customer("C1")])

    assert counts == UpsertCounts(new=0, updated=0, unchanged=1, pruned=0)
    assert [c.id for c in store.customers()] == ["C1", "C2"]


def test_prune_deletes_missing_customers_and_their_contacts_only(store):
    store.upsert_customers([customer("C1"), customer("C2"), customer("C3")])
    store.add_contacts(
        [
            Contact("C1", ContactKind.CALL, NOW),
            Contact("C2", ContactKind.CALL, NOW),
            Contact("C3", ContactKind.MEETING, NOW),
        ]
    )

    counts = store.upsert_customers([customer("C2")], prune=True)

    assert counts == UpsertCounts(new=0, updated=0, unchanged=1, pruned=2)
    assert [c.id for c in store.customers()] == ["C2"]
    assert store.contacts() == [Contact("C2", ContactKind.CALL, NOW)]


def test_an_id_given_twice_to_upsert_is_refused(store):
    with pytest.raises(ValueError, match="'C1' given twice"):
        store.upsert_customers([customer("C1"), customer("C1", name="Other")])
    assert store.customers() == []


def test_upserting_20k_customers_is_bulk_work(store, url):
    """An import is a few multi-row statements, not one round trip a row: counted (the
    statements the database is sent), not timed, so a loaded machine cannot break it."""
    many = [customer(f"C{i:06d}", name=f"Customer {i}") for i in range(20_000)]
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        inserted = store.upsert_customers(many)
        first = len(sent)
        again = store.upsert_customers(
            [replace(c, segment="smb") if i % 2 else c for i, c in enumerate(many)]
        )
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    print(
        f"\n{url.split(':')[0]}: 20k customers in {first} statements, again in {len(sent) - first}"
    )
    assert inserted.new == 20_000
    assert (again.updated, again.unchanged) == (10_000, 10_000)
    assert first <= 100 and len(sent) - first <= 100  # 20,000 rows: bulk, never a row each


# ------------------------------------------------------------------------------------------------
# Salespeople


def test_salespeople_sync_mirrors_the_configuration(store):
    ana = Salesperson(
        email="ana@example.com",
        name="Ana Silva",
        timezone="Europe/Lisbon",
        working_hours=WorkingHours(8 * 60, 16 * 60 + 30),
        working_days=frozenset({6, 0, 1, 2, 3}),
        country="PT",
        calendar="google",
        per_day=4,
        per_week=None,
    )
    bo = Salesperson(email="bo@example.com")
    store.sync_salespeople([ana, bo])

    counts = store.sync_salespeople([replace(ana, per_week=12), Salesperson("cy@example.com")])

    assert counts == UpsertCounts(new=1, updated=1, unchanged=0, pruned=1)
    assert store.salespeople() == [replace(ana, per_week=12), Salesperson("cy@example.com")]


# ------------------------------------------------------------------------------------------------
# Contacts


def test_contact_times_come_back_aware_in_utc_for_the_same_instant(store):
    at = datetime(2026, 7, 1, 9, 30, tzinfo=NEW_YORK)
    store.add_contacts([Contact("C1", ContactKind.MEETING, at, source="calendar", source_id="e1")])

    [back] = store.contacts("C1")

    assert back.at.tzinfo is UTC
    assert back.at == datetime(2026, 7, 1, 13, 30, tzinfo=UTC) == at


def test_the_same_contact_is_stored_once(store):
    at = datetime(2026, 11, 20, 15, 0, tzinfo=NEW_YORK)
    first = store.add_contacts(
        [
            Contact("C1", ContactKind.CALL, at),
            Contact("C1", ContactKind.CALL, at.astimezone(LISBON)),  # same instant, same batch
            Contact("C1", ContactKind.EMAIL_OUT, at, source="mail", source_id="<m1@x>"),
        ]
    )
    second = store.add_contacts(
        [
            Contact("C1", ContactKind.CALL, at, note="again"),  # same (kind, at, source)
            # Same message id seen later with another time: still the same message.
            Contact("C1", ContactKind.EMAIL_OUT, at + timedelta(minutes=1), "mail", "<m1@x>"),
            Contact("C1", ContactKind.CALL, at, source="calendar"),  # another source
            Contact("C1", ContactKind.MEETING, at),  # another kind
            Contact("C2", ContactKind.CALL, at),  # another customer
        ]
    )

    assert (first, second) == (2, 3)
    assert len(store.contacts()) == 5
    assert store.add_contacts([]) == 0


def test_contacts_are_grouped_by_customer_oldest_first(store):
    early, late = NOW - timedelta(days=30), NOW - timedelta(days=1)
    store.add_contacts(
        [
            Contact("C2", ContactKind.CALL, late),
            Contact("C1", ContactKind.NOTE, late, note="sent the deck"),
            Contact("C1", ContactKind.MEETING, early),
        ]
    )

    assert store.contacts_by_customer() == {
        "C1": [
            Contact("C1", ContactKind.MEETING, early),
            Contact("C1", ContactKind.NOTE, late, note="sent the deck"),
        ],
        "C2": [Contact("C2", ContactKind.CALL, late)],
    }
    assert store.contacts("C2") == [Contact("C2", ContactKind.CALL, late)]


# ------------------------------------------------------------------------------------------------
# Bookings


def test_save_booking_inserts_then_replaces_by_key(store):
    first = booking()
    store.save_booking(first)
    moved = replace(
        first,
        start=datetime(2027, 3, 29, 14, 0, tzinfo=NEW_YORK),
        end=datetime(2027, 3, 29, 14, 30, tzinfo=NEW_YORK),
        state=BookingState.MOVED_BY_OWNER,
        seen_at=NOW + timedelta(hours=1),
        remote_id="evt-42",
        etag='"3"',
        sequence=2,
        spec_hash="abc123",
        updated_at=NOW + timedelta(hours=1),
    )

    store.save_booking(moved)

    assert store.bookings() == [moved]
    back = store.booking(first.key)
    assert back == moved
    assert back.start.tzinfo is UTC and back.seen_at.tzinfo is UTC
    assert store.booking("C9:check_in:1") is None


def test_a_booking_record_gives_the_planners_booking():
    record = booking(state=BookingState.DECLINED, seen_at=NOW)

    assert record.as_booking() == Booking(
        key="C1:check_in:1",
        customer_id="C1",
        owner="ana@example.com",
        kind=BookingKind.CHECK_IN,
        start=datetime(2027, 3, 28, 10, 0, tzinfo=LISBON),
        end=datetime(2027, 3, 28, 10, 30, tzinfo=LISBON),
        all_day=False,
        state=BookingState.DECLINED,
        seen_at=NOW,
    )


def test_all_day_bookings_keep_dates(store):
    reminder = booking(
        "C1:anniversary_reminder:5",
        kind=BookingKind.ANNIVERSARY_REMINDER,
        start=date(2027, 3, 15),
        end=date(2027, 3, 16),
        all_day=True,
    )
    store.save_booking(reminder)

    back = store.booking(reminder.key)

    assert back == reminder
    assert type(back.start) is date and type(back.end) is date


def test_a_booking_with_mismatched_times_is_refused():
    with pytest.raises(ValueError, match="all-day span takes dates"):
        booking(all_day=True)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        booking(start=datetime(2027, 1, 1, 9), end=datetime(2027, 1, 1, 10))


def test_bookings_filter_by_owner_customer_and_state(store):
    records = [
        booking("C1:check_in:1"),
        booking("C1:check_in:2", state=BookingState.DECLINED),
        booking("C2:check_in:1", owner="bo@example.com"),
    ]
    for record in records:
        store.save_booking(record)

    assert [b.key for b in store.bookings(owner="ana@example.com")] == [
        "C1:check_in:1",
        "C1:check_in:2",
    ]
    assert [b.key for b in store.bookings(customer_id="C2")] == ["C2:check_in:1"]
    assert [b.key for b in store.bookings(states=[BookingState.DECLINED])] == ["C1:check_in:2"]
    assert store.bookings(owner="bo@example.com", states=[BookingState.DECLINED]) == []
    assert store.booking_owners([BookingState.BOOKED]) == {"ana@example.com", "bo@example.com"}
    assert store.booking_owners([BookingState.DECLINED]) == {"ana@example.com"}
    assert store.booking_owners([BookingState.PENDING]) == set()


def test_delete_booking_forgets_it_and_tolerates_unknown_keys(store):
    store.save_booking(booking("C1:check_in:1"))
    store.save_booking(booking("C1:check_in:2"))

    store.delete_booking("C1:check_in:1")
    store.delete_booking("C1:check_in:1")

    assert [b.key for b in store.bookings()] == ["C1:check_in:2"]


# ------------------------------------------------------------------------------------------------
# The plan


def planned(key: str, **changes) -> PlannedContact:
    base = PlannedContact(
        key=key,
        customer_id=key.split(":")[0],
        customer_name="ACME Ltd",
        owner="ana@example.com",
        kind=BookingKind.CHECK_IN,
        seq=int(key.split(":")[2]),
        title="Check-in: ACME Ltd",
        start=datetime(2027, 10, 31, 9, 0, tzinfo=UTC),
        end=datetime(2027, 10, 31, 9, 30, tzinfo=UTC),
        all_day=False,
        day=date(2027, 10, 31),
        ideal=date(2027, 10, 29),
        window_start=date(2027, 10, 15),
        window_end=date(2027, 11, 12),
        status=PlanStatus.BOOKED,
        reasons=("last contact 2027-09-01", "Friday 29 Oct is a holiday in PT"),
        forced=True,
        over_capacity=True,
        within_horizon=False,
    )
    return replace(base, **changes)


def test_the_plan_round_trips_every_field_in_order(store):
    plan = [
        planned("C2:check_in:3"),
        planned(
            "C1:anniversary_reminder:5",
            kind=BookingKind.ANNIVERSARY_REMINDER,
            title="Anniversary: ACME Ltd (5 years)",
            start=date(2027, 3, 15),
            end=date(2027, 3, 16),
            all_day=True,
            status=PlanStatus.PLANNED,
            reasons=(),
            forced=False,
            over_capacity=False,
            within_horizon=True,
        ),
    ]

    store.save_plan(plan)
    back = store.plan()

    assert back == plan
    assert type(back[1].start) is date
    assert back[0].start.tzinfo is UTC


def test_saving_a_plan_replaces_the_previous_one(store):
    store.save_plan([planned("C1:check_in:1"), planned("C2:check_in:1")])

    store.save_plan([planned("C3:check_in:1")])

    assert [p.key for p in store.plan()] == ["C3:check_in:1"]
    store.save_plan([])
    assert store.plan() == []


def test_a_plan_with_a_datetime_for_an_all_day_contact_is_refused(store):
    with pytest.raises(ValueError, match="all-day span takes dates"):
        store.save_plan([planned("C1:check_in:1", all_day=True)])


# ------------------------------------------------------------------------------------------------
# Backend state


def test_backend_state_is_kept_per_namespace_and_survives_reopening(store, url):
    google, outlook = store.state("google"), store.state("outlook")
    google.set("sync:ana@example.com", "token-1")
    google.set("sync:ana@example.com", "token-2")
    outlook.set("sync:ana@example.com", "delta-1")
    outlook.set("gone", "x")
    outlook.set("gone", None)
    store.close()

    reopened = Store(url)

    assert reopened.state("google").get("sync:ana@example.com") == "token-2"
    assert reopened.state("outlook").get("sync:ana@example.com") == "delta-1"
    assert reopened.state("outlook").get("gone") is None
    assert reopened.state("caldav").get("sync:ana@example.com") is None
    reopened.close()


def test_backend_state_read_in_a_batch_sees_the_batchs_writes(store):
    state = store.state("google")
    state.set("sync:ana@example.com", "token-1")
    with pytest.raises(RuntimeError), store.batch():
        state.set("sync:ana@example.com", "token-2")
        assert state.get("sync:ana@example.com") == "token-2"  # the batch's connection
        raise RuntimeError("the batch rolls back")
    assert state.get("sync:ana@example.com") == "token-1"
    assert state.get("never") is None


def test_a_backend_state_read_that_fails_raises_as_sqlalchemy_does(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute("DROP TABLE backend_state")
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        store.state("google").get("sync:ana@example.com")
    store.close()


# ------------------------------------------------------------------------------------------------
# Leases


def test_a_lease_is_exclusive_until_it_expires(store):
    assert store.try_lease("share-1", "daemon-a", NOW, 60)
    assert not store.try_lease("share-1", "daemon-b", NOW + timedelta(seconds=59), 60)
    assert store.lease_holder("share-1", NOW + timedelta(seconds=59)) == "daemon-a"
    # At the expiry instant the lease is free: daemon-a died, daemon-b takes its share over.
    assert store.try_lease("share-1", "daemon-b", NOW + timedelta(seconds=60), 60)
    assert store.lease_holder("share-1", NOW + timedelta(seconds=61)) == "daemon-b"
    assert not store.try_lease("share-1", "daemon-a", NOW + timedelta(seconds=61), 60)


def test_the_holder_renews_its_lease(store):
    assert store.try_lease("share-1", "daemon-a", NOW, 60)
    assert store.try_lease("share-1", "daemon-a", NOW + timedelta(seconds=50), 60)

    assert not store.try_lease("share-1", "daemon-b", NOW + timedelta(seconds=100), 60)
    assert store.try_lease("share-1", "daemon-b", NOW + timedelta(seconds=110), 60)


def test_a_released_lease_is_free_at_once(store):
    store.try_lease("share-1", "daemon-a", NOW, 60)

    assert not store.release_lease("share-1", "daemon-b")
    assert store.release_lease("share-1", "daemon-a")
    assert store.lease_holder("share-1", NOW) is None
    assert store.try_lease("share-1", "daemon-b", NOW, 60)


def test_leases_refuse_naive_times(store):
    with pytest.raises(ValueError, match="timezone-aware"):
        store.try_lease("share-1", "daemon-a", datetime(2026, 1, 1), 60)


def test_only_one_of_many_racing_daemons_gets_a_lease(url):
    holders = [f"daemon-{i}" for i in range(8)]
    stores = [Store(url) for _ in holders]  # one engine each, like separate processes
    start = threading.Barrier(len(holders))
    won: list[str] = []

    def race(store: Store, holder: str) -> None:
        start.wait()
        if store.try_lease("share-1", holder, NOW, 60):
            won.append(holder)

    threads = [
        threading.Thread(target=race, args=pair) for pair in zip(stores, holders, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    assert stores[0].lease_holder("share-1", NOW) == won[0]
    for store in stores:
        store.close()


def test_processes_writing_the_same_tables_at_once_take_turns(url):
    """Several daemons (or a daemon and `cadence import`) save the plan, sync the salespeople
    and upsert customers at the same moment: none fails (on PostgreSQL the read-then-write
    transactions used to collide on primary keys)."""
    stores = [Store(url) for _ in range(4)]
    plan = [planned(f"C{i}:check_in:1") for i in range(40)]
    people = [Salesperson(email=f"rep{i}@example.com") for i in range(5)]
    customers = [customer(f"C{i}") for i in range(40)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(store: Store) -> None:
        try:
            start.wait()
            for _ in range(5):
                store.sync_salespeople(people)
                store.upsert_customers(customers)
                store.save_plan(plan)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert [p.key for p in stores[0].plan()] == [p.key for p in plan]
        assert len(stores[0].salespeople()) == 5 and len(stores[0].customers()) == 40
    finally:
        for s in stores:
            s.close()


def test_a_past_meeting_seen_again_at_another_time_takes_the_new_time(store):
    first = Contact("C1", ContactKind.MEETING, NOW - timedelta(days=3), "calendar", "ics:m1")
    assert store.add_contacts([first]) == 1
    moved = replace(first, at=NOW - timedelta(days=2))

    assert store.add_contacts([moved]) == 0  # the same meeting: not a new contact
    assert [c.at for c in store.contacts("C1")] == [NOW - timedelta(days=2)]
    # Contacts without a source id are told apart by their time: both stay.
    store.add_contacts([replace(first, source_id="", at=NOW - timedelta(days=5))])
    store.add_contacts([replace(first, source_id="", at=NOW - timedelta(days=6))])
    assert len(store.contacts("C1")) == 3
