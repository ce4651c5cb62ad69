"""How the store spends transactions and statements: SQLite's durability settings, batches of
writes sharing one transaction, reads of one statement without BEGIN/COMMIT, and the bulk paths
counted in statements (never timed: a loaded machine cannot break a count).

Against SQLite (a temporary file) and PostgreSQL (when 127.0.0.1:5432 answers), like
tests/test_store.py, whose ``customer`` and ``booking`` builders these tests share.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa

from cadence.store.repository import Store
from cadence.values.model import BookingState, Contact, ContactKind
from tests.test_store import NOW, booking, customer


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements ``store`` sends to the database inside the block (COMMIT is not a
    statement here: the driver's commit() sends it), those on SQLite's own cursor
    (``Database._sqlite_value``, which SQLAlchemy's events do not see) included."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(" ".join(statement.split()))

    direct = store._sqlite_value

    def value(sql, params):
        sent.append(" ".join(sql.split()))
        return direct(sql, params)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    store._sqlite_value = value  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
        del store._sqlite_value


def pragma(store: Store, name: str) -> object:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


# ------------------------------------------------------------------------------------------------
# SQLite durability


def test_sqlite_commits_are_not_flushed_but_a_durable_write_is(sqlite_url):
    """WAL with synchronous = NORMAL: a commit is not flushed to the disk; a durable write
    (a write's intent, before the calendar changes) runs with FULL, and the next one not."""
    store = Store(sqlite_url)
    assert pragma(store, "synchronous") == 1  # NORMAL
    with statements(store) as sent:
        store.save_bookings([booking("C1:check_in:1")], durable=True)
        store.save_bookings([booking("C1:check_in:2")])
    assert sent[0] == "PRAGMA synchronous = FULL"
    assert sent.count("PRAGMA synchronous = NORMAL") == 1
    assert sent.index("PRAGMA synchronous = NORMAL") > sent.index("BEGIN IMMEDIATE")
    assert [b.key for b in store.bookings()] == ["C1:check_in:1", "C1:check_in:2"]
    store.close()


def test_a_durable_write_cannot_join_a_batch(store):
    with pytest.raises(RuntimeError, match="cannot join a batch"), store.batch():
        store.save_bookings([booking()], durable=True)
    assert store.bookings() == []


# ------------------------------------------------------------------------------------------------
# Batches


def test_writes_in_a_batch_share_one_transaction(sqlite_url):
    store = Store(sqlite_url)
    store.upsert_customers([customer("C1")])
    state = store.state("calendar.ics")
    with statements(store) as sent, store.batch():
        store.add_contacts([Contact("C1", ContactKind.MEETING, NOW, "calendar", "ics:1")])
        state.set("past:ana@example.com", "mark-1")
        state.set("seen:ana@example.com", "mark-2")
        assert state.get("past:ana@example.com") == "mark-1"  # the batch's own writes
    assert sent.count("BEGIN IMMEDIATE") == 1
    assert not [s for s in sent if s == "BEGIN"]
    assert state.get("seen:ana@example.com") == "mark-2"
    store.close()


def test_a_batch_that_raises_keeps_none_of_its_writes(store):
    store.upsert_customers([customer("C1")])
    state = store.state("mail.imap")
    with pytest.raises(KeyError), store.batch():
        store.add_contacts([Contact("C1", ContactKind.EMAIL_IN, NOW, "mail", "<m1@x>")])
        state.set("mark", "1")
        raise KeyError("the cycle failed between the two")
    assert store.contacts() == []
    assert state.get("mark") is None
    # The store is usable afterwards, and a batch inside a batch joins it.
    with store.batch():
        with store.batch():
            state.set("mark", "2")
        store.add_contacts([Contact("C1", ContactKind.EMAIL_IN, NOW, "mail", "<m1@x>")])
    assert state.get("mark") == "2"
    assert len(store.contacts()) == 1


def test_a_batch_belongs_to_its_thread(store):
    """Another thread's writes meanwhile are their own transactions (the cycle serves
    salespeople on several threads)."""
    import threading

    state = store.state("x")
    seen: list[str | None] = []
    with store.batch():
        state.set("k", "batched")
        worker = threading.Thread(target=lambda: seen.append(state.get("k")))
        worker.start()
        worker.join()
    assert seen == [None]  # not committed yet when the other thread looked
    assert state.get("k") == "batched"


# ------------------------------------------------------------------------------------------------
# Statements


def test_a_one_statement_read_sends_one_statement(sqlite_url):
    store = Store(sqlite_url)
    state = store.state("calendar.ics")
    state.set("k", "v")
    with statements(store) as sent:
        assert state.get("k") == "v"
        assert store.booking("none") is None
        store.bookings(owner="ana@example.com")
        store.customers()
    assert len(sent) == 4
    assert not [s for s in sent if s.startswith("BEGIN")]
    store.close()


def test_a_chunk_of_bookings_is_saved_in_a_constant_number_of_statements(store):
    """Intent and landing of 50 writes: the same handful of statements as of one."""
    store.upsert_customers([customer(f"C{i}") for i in range(50)])
    records = [booking(f"C{i}:check_in:1", state=BookingState.PENDING) for i in range(50)]
    with statements(store) as one:
        store.save_bookings(records[:1], durable=True)
        store.save_bookings([replace(records[0], state=BookingState.BOOKED)])
    with statements(store) as fifty:
        store.save_bookings(records, durable=True)
        store.save_bookings([replace(r, state=BookingState.BOOKED) for r in records])
    assert len(fifty) == len(one) <= 10
    assert {b.state for b in store.bookings()} == {BookingState.BOOKED}
    assert store.owner_revisions() == {"ana@example.com": 5}  # the import, then 4 saves
