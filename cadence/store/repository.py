"""The :class:`Store` repository over SQLite or PostgreSQL: customers, salespeople, contacts,
bookings, the plan, backends' state and leases.

Everything that crosses the repository's surface is a dataclass of :mod:`cadence.values.model` or
:mod:`cadence.values.bookings`; rows never leave the store package (:mod:`cadence.store.rows`).
The tables are in :mod:`cadence.store.tables`, their versions in :mod:`cadence.store.migrations`,
the engine and its transactions in :mod:`cadence.store.engine`.

Bulk work (importing 100k customers, adding contacts, a cycle's bookings) goes through Core
statements with ``executemany``, which SQLAlchemy batches into multi-row statements on both
databases; each method is one transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cadence.store import rows as convert
from cadence.store.bulk import BulkStatement
from cadence.store.engine import CUSTOMERS_LOCK, PLAN_LOCK, SALESPEOPLE_LOCK
from cadence.store.keyed import KeyedTables, StoreState
from cadence.store.scoped import ScopedReads
from cadence.store.tables import (
    BOOKINGS,
    CONTACTS,
    CUSTOMERS,
    PLANNED,
    SALESPEOPLE,
    UTCDateTime,
)
from cadence.values.bookings import BookingRecord, Confirmed
from cadence.values.model import (
    BookingState,
    Contact,
    Customer,
    PlannedContact,
    Salesperson,
)


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What an upsert did: rows inserted, changed, left alone, and deleted (prune only)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0


class Store(ScopedReads, KeyedTables):
    """The repository over one database URL (``sqlite:///cadence.db``,
    ``postgresql+psycopg://user@host/db``). The schema is created or migrated on construction.

    Every method runs in its own transaction and takes and returns model dataclasses.
    Raises :class:`UserError` when the database cannot be opened or is newer than this cadence.
    """

    @functools.cached_property
    def _save_bookings(self) -> BulkStatement:
        """INSERT ... ON CONFLICT (key) DO UPDATE of every column, compiled on first use (a
        command that writes no booking does not compile it)."""
        upsert = self._insert(BOOKINGS)
        upsert = upsert.on_conflict_do_update(
            index_elements=["key"],
            set_={c.name: upsert.excluded[c.name] for c in BOOKINGS.columns if c.name != "key"},
        )
        return BulkStatement(upsert, BOOKINGS, self.engine.dialect)

    @functools.cached_property
    def _save_plan(self) -> BulkStatement:
        """The plan's INSERT, compiled on first use."""
        return BulkStatement(PLANNED.insert(), PLANNED, self.engine.dialect)

    def customer_kinds(self) -> dict[str, set[tuple[str, str]]]:
        """Per owner, the (segment, industry) pairs of their customers: which policies their
        plan reads (one DISTINCT query, no customer loaded)."""
        t = CUSTOMERS
        kinds: dict[str, set[tuple[str, str]]] = {}
        with self._read(single=True) as conn:
            query = sa.select(t.c.owner, t.c.segment, t.c.industry).distinct()
            for owner, segment, industry in conn.execute(query):
                kinds.setdefault(owner, set()).add((segment, industry))
        return kinds

    # -- customers -------------------------------------------------------------------------------

    def upsert_customers(
        self, customers: Iterable[Customer], *, prune: bool = False
    ) -> UpsertCounts:
        """Insert new customers and update changed ones (every field, tags too), in one
        transaction. With ``prune``, customers not in ``customers`` are deleted with their
        contacts; without it nothing is ever deleted.

        Raises ValueError when an id appears twice in ``customers``.
        """
        incoming: dict[str, Customer] = {}
        for customer in customers:
            if customer.id in incoming:
                raise ValueError(f"customer id {customer.id!r} given twice")
            incoming[customer.id] = customer
        t = CUSTOMERS
        with self._write() as conn:
            self._take_turns(conn, CUSTOMERS_LOCK)
            existing = {c.id: c for c in self._load_customers(conn)}
            new = [convert.customer_row(c) for i, c in incoming.items() if i not in existing]
            changed = [
                {**convert.customer_row(c), "b_id": i}
                for i, c in incoming.items()
                if i in existing and existing[i] != c
            ]
            if new:
                conn.execute(t.insert(), new)
            if changed:
                columns: dict[str, Any] = {
                    c.name: sa.bindparam(c.name) for c in t.columns if c.name != "id"
                }
                conn.execute(
                    t.update().where(t.c.id == sa.bindparam("b_id")).values(columns), changed
                )
            gone = sorted(set(existing) - set(incoming)) if prune else []
            for chunk in convert.chunks(gone):
                conn.execute(t.delete().where(t.c.id.in_(chunk)))
                conn.execute(CONTACTS.delete().where(CONTACTS.c.customer_id.in_(chunk)))
            touched = {row["owner"] for row in new + changed}
            touched |= {existing[row["b_id"]].owner for row in changed}
            touched |= {existing[i].owner for i in gone}
            self._touch(conn, touched)
        return UpsertCounts(
            new=len(new),
            updated=len(changed),
            unchanged=len(incoming) - len(new) - len(changed),
            pruned=len(gone),
        )

    def customers(self, owners: Iterable[str] | None = None) -> list[Customer]:
        """Every customer (of ``owners`` when given), by id."""
        if owners is None:
            with self._read(single=True) as conn:
                return self._load_customers(conn)
        with self._read() as conn:
            t = CUSTOMERS
            found: list[Customer] = []
            for chunk in convert.chunks(sorted(set(owners))):
                query = sa.select(t).where(t.c.owner.in_(chunk))
                found += [convert.customer_of(row) for row in conn.execute(query)]
            return sorted(found, key=lambda c: c.id)

    def customer(self, customer_id: str) -> Customer | None:
        """One customer, or None."""
        t = CUSTOMERS
        with self._read(single=True) as conn:
            row = conn.execute(sa.select(t).where(t.c.id == customer_id)).one_or_none()
        return None if row is None else convert.customer_of(row)

    @staticmethod
    def _load_customers(conn: Connection) -> list[Customer]:
        t = CUSTOMERS
        return [convert.customer_of(row) for row in conn.execute(sa.select(t).order_by(t.c.id))]

    # -- salespeople -----------------------------------------------------------------------------

    def sync_salespeople(self, salespeople: Iterable[Salesperson]) -> UpsertCounts:
        """Make the stored salespeople exactly ``salespeople`` (they come from cadence.toml)."""
        incoming = {p.email: p for p in salespeople}
        t = SALESPEOPLE
        with self._write() as conn:
            self._take_turns(conn, SALESPEOPLE_LOCK)
            existing = {p.email: p for p in self._load_salespeople(conn)}
            changed = [p for e, p in incoming.items() if e in existing and existing[e] != p]
            new = [p for e, p in incoming.items() if e not in existing]
            gone = [e for e in existing if e not in incoming]
            if gone:
                conn.execute(t.delete().where(t.c.email.in_(gone)))
            if changed:
                conn.execute(t.delete().where(t.c.email.in_([p.email for p in changed])))
            if new or changed:
                conn.execute(t.insert(), [convert.salesperson_row(p) for p in (*new, *changed)])
        return UpsertCounts(
            new=len(new),
            updated=len(changed),
            unchanged=len(incoming) - len(new) - len(changed),
            pruned=len(gone),
        )

    def salespeople(self) -> list[Salesperson]:
        """Every salesperson, by e-mail."""
        with self._read(single=True) as conn:
            return self._load_salespeople(conn)

    @staticmethod
    def _load_salespeople(conn: Connection) -> list[Salesperson]:
        t = SALESPEOPLE
        return [
            convert.salesperson_of(row) for row in conn.execute(sa.select(t).order_by(t.c.email))
        ]

    # -- contacts --------------------------------------------------------------------------------

    def add_contacts(self, contacts: Iterable[Contact]) -> int:
        """Store the contacts not stored yet; returns how many were new.

        The same contact is recognised by (customer, source, source_id) when ``source_id`` is
        set, else by (customer, kind, at, source); duplicates inside ``contacts`` count once.
        A known contact whose source reports it at another time (a past meeting moved after it
        was first seen) takes the new time: the rhythm counts from when it really happened.
        """
        rows = [
            {
                "customer_id": c.customer_id,
                "kind": c.kind.value,
                "at": c.at,
                "source": c.source,
                "source_id": c.source_id,
                "note": c.note,
            }
            for c in contacts
        ]
        if not rows:
            return 0
        t = CONTACTS
        stmt = self._insert(t).on_conflict_do_nothing().returning(t.c.customer_id)
        identified = [{"b_" + k: v for k, v in r.items()} for r in rows if r["source_id"]]
        moved = (
            t.update()
            .where(
                t.c.customer_id == sa.bindparam("b_customer_id"),
                t.c.source == sa.bindparam("b_source"),
                t.c.source_id == sa.bindparam("b_source_id"),
                t.c.at != sa.bindparam("b_at"),
            )
            .values(at=sa.bindparam("b_at"))
        )
        with self._write() as conn:
            # RETURNING gives a row only for contacts actually inserted.
            inserted = [row[0] for row in conn.execute(stmt, rows)]
            changed = set(inserted)
            if identified and conn.execute(moved, identified).rowcount:
                changed |= {r["b_customer_id"] for r in identified}  # which moved: not told
            self._touch(conn, customer_ids=changed)
            return len(inserted)

    def contacts(self, customer_id: str | None = None) -> list[Contact]:
        """Contacts (of one customer when given), by customer, time and insertion."""
        t = CONTACTS
        query = sa.select(t).order_by(t.c.customer_id, t.c.at, t.c.id)
        if customer_id is not None:
            query = query.where(t.c.customer_id == customer_id)
        with self._read(single=True) as conn:
            return [convert.contact_of(row) for row in conn.execute(query)]

    def contacts_by_customer(
        self, customer_ids: Iterable[str] | None = None
    ) -> dict[str, list[Contact]]:
        """Every contact (of ``customer_ids`` when given) grouped by customer id, each list
        oldest first."""
        grouped: dict[str, list[Contact]] = {}
        if customer_ids is None:
            contacts = self.contacts()
        else:
            t = CONTACTS
            contacts = []
            with self._read() as conn:
                for chunk in convert.chunks(sorted(set(customer_ids))):
                    query = (
                        sa.select(t)
                        .where(t.c.customer_id.in_(chunk))
                        .order_by(t.c.customer_id, t.c.at, t.c.id)
                    )
                    contacts += [convert.contact_of(row) for row in conn.execute(query)]
        for contact in contacts:
            grouped.setdefault(contact.customer_id, []).append(contact)
        return grouped

    # -- bookings --------------------------------------------------------------------------------

    def bookings(
        self,
        owner: str | None = None,
        customer_id: str | None = None,
        states: Iterable[BookingState] | None = None,
    ) -> list[BookingRecord]:
        """Stored bookings, filtered by owner, customer and states when given; by key."""
        t = BOOKINGS
        query = sa.select(t).order_by(t.c.key)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        if customer_id is not None:
            query = query.where(t.c.customer_id == customer_id)
        if states is not None:
            query = query.where(t.c.state.in_([BookingState(s).value for s in states]))
        with self._read(single=True) as conn:
            return [convert.booking_of(row) for row in conn.execute(query)]

    def bookings_planned_with(self, owners: Iterable[str]) -> list[BookingRecord]:
        """The bookings the planner weighs when it plans ``owners`` alone, by key: those of
        their customers wherever they are (one left in a former owner's calendar too), and
        those in their calendars of customers no one owns now (the planner's split by owner,
        :mod:`cadence.planner.split`, routes them so)."""
        wanted = sorted(set(owners))
        t, c = BOOKINGS, CUSTOMERS
        found: dict[str, BookingRecord] = {}
        with self._read() as conn:
            for chunk in convert.chunks(wanted):
                theirs = sa.select(c.c.id).where(c.c.owner.in_(chunk))
                of_customers = sa.select(t).where(t.c.customer_id.in_(theirs))
                orphans = sa.select(t).where(
                    t.c.owner.in_(chunk), t.c.customer_id.not_in(sa.select(c.c.id))
                )
                for query in (of_customers, orphans):
                    for row in conn.execute(query):
                        found[row.key] = convert.booking_of(row)
        return [found[key] for key in sorted(found)]

    def booking_owners(self, states: Iterable[BookingState]) -> set[str]:
        """The owners holding bookings in ``states`` (one DISTINCT query, no rows loaded)."""
        t = BOOKINGS
        query = (
            sa.select(t.c.owner)
            .distinct()
            .where(t.c.state.in_([BookingState(s).value for s in states]))
        )
        with self._read(single=True) as conn:
            return {row[0] for row in conn.execute(query)}

    def booking(self, key: str) -> BookingRecord | None:
        """One booking by key, or None."""
        t = BOOKINGS
        with self._read(single=True) as conn:
            row = conn.execute(sa.select(t).where(t.c.key == key)).one_or_none()
        return None if row is None else convert.booking_of(row)

    def save_booking(self, record: BookingRecord) -> None:
        """Insert or replace the booking ``record.key``."""
        self.save_bookings([record])

    def save_bookings(
        self,
        records: Sequence[BookingRecord],
        delete: Iterable[str] = (),
        *,
        durable: bool = False,
    ) -> None:
        """Forget the bookings ``delete``, then insert or replace ``records``: one transaction,
        so a booking whose key changes is never lost or doubled by a crash in between.
        ``durable``: on the disk when this returns, even against a power cut (a write's
        intent, stored before the calendar is written; see :mod:`cadence.store.engine`)."""
        t = BOOKINGS
        gone = list(delete)
        if not records and not gone:
            return
        rows = [convert.booking_row(record) for record in records]
        with self._write(durable=durable) as conn:
            owners = {r.owner for r in records}
            customer_ids = {r.customer_id for r in records}
            for keys in convert.chunks(gone):
                query = sa.select(t.c.owner, t.c.customer_id).where(t.c.key.in_(keys))
                for owner, customer_id in conn.execute(query):
                    owners.add(owner)
                    customer_ids.add(customer_id)
                conn.execute(t.delete().where(t.c.key.in_(keys)))
            self._touch(conn, owners, customer_ids)
            # One statement for every row (executemany): a cycle's bookings are thousands.
            self._save_bookings.run(conn, rows)

    def delete_booking(self, key: str) -> None:
        """Forget the booking ``key`` (no error when it is not stored)."""
        self.save_bookings([], delete=[key])

    # -- the plan --------------------------------------------------------------------------------

    def save_plan(
        self, planned: Sequence[PlannedContact], owners: Collection[str] | None = None
    ) -> None:
        """Replace the stored plan with ``planned`` (order kept); with ``owners``, only those
        salespeople's part of it (``planned`` holds theirs)."""
        t = PLANNED
        with self._write() as conn:
            self._take_turns(conn, PLAN_LOCK)
            first = 0
            if owners is None:
                conn.execute(t.delete())
            else:
                for chunk in convert.chunks(sorted(owners)):
                    conn.execute(t.delete().where(t.c.owner.in_(chunk)))
                first = (conn.execute(sa.select(sa.func.max(t.c.position))).scalar() or 0) + 1
            rows = [convert.planned_row(first + i, p) for i, p in enumerate(planned)]
            self._save_plan.run(conn, rows)

    def plan(self) -> list[PlannedContact]:
        """The stored plan by salesperson, each in the planner's order (the plan's order)."""
        t = PLANNED
        query = sa.select(t).order_by(t.c.owner, t.c.position)
        with self._read(single=True) as conn:
            return [convert.planned_of(row) for row in conn.execute(query)]


__all__ = [
    "BookingRecord",
    "Confirmed",
    "Store",
    "StoreState",
    "UTCDateTime",
    "UpsertCounts",
]
