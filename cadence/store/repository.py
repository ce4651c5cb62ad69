"""The store: sqlmodel tables and the :class:`Store` repository over SQLite or PostgreSQL.

Everything that crosses the repository's surface is a dataclass of :mod:`cadence.values.model` or
:mod:`cadence.values.bookings`; rows never leave this module. Datetimes are stored as UTC and always
come back timezone-aware in UTC (:class:`UTCDateTime`); dates stay dates.

The schema is created and changed only by :data:`MIGRATIONS`, applied in order on first use,
each in its own transaction, with the version kept in ``schema_version``. On PostgreSQL an
advisory lock keeps two daemons starting at once from migrating together; on SQLite every
writing transaction starts with ``BEGIN IMMEDIATE`` (see :meth:`Store._engine_for`).

Bulk work (importing 100k customers, adding contacts) goes through Core statements with
``executemany``, which SQLAlchemy batches into multi-row statements on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cadence.values.bookings import BookingRecord, Confirmed, check_span
from cadence.values.durations import Duration
from cadence.values.errors import UserError
from cadence.values.model import (
    BookingKind,
    BookingState,
    Contact,
    ContactKind,
    Customer,
    CustomerStatus,
    PlannedContact,
    PlanStatus,
    Salesperson,
    require_aware,
)
from cadence.values.workweek import WorkingHours

# How long a writer waits for SQLite's lock before giving up (another process is writing).
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Rows per IN (...) list: far below SQLite's limit on bound parameters.
_CHUNK = 500
# pg_advisory_xact_lock key serialising migrations between processes ("cadence" in ASCII).
_MIGRATION_LOCK = 0x63616465
# pg_advisory_xact_lock keys for the read-then-write transactions that several daemons (or a
# daemon and `cadence import`) may run at once: they take turns instead of colliding.
_PLAN_LOCK = 0x706C616E  # "plan"
_CUSTOMERS_LOCK = 0x63757374  # "cust"
_SALESPEOPLE_LOCK = 0x73616C65  # "sale"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC and always read back aware in UTC.

    PostgreSQL keeps it in ``timestamptz``; SQLite has no zones, so the UTC wall time is stored
    and the zone added back when reading. Naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        require_aware(value, "stored datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Tables (version 1)


class SchemaVersion(SQLModel, table=True):
    """One row per migration applied (created outside the migrations: it is how they run)."""

    __tablename__ = "schema_version"

    version: int = Field(primary_key=True)
    applied_at: datetime = Field(sa_type=UTCDateTime)


class CustomerRow(SQLModel, table=True):
    """A customer; the tuple fields and tags are JSON."""

    __tablename__ = "customers"

    id: str = Field(primary_key=True)
    name: str
    owner: str = Field(index=True)
    segment: str
    emails: list[str] = Field(sa_type=sa.JSON)
    domains: list[str] = Field(sa_type=sa.JSON)
    industry: str
    country: str
    timezone: str
    customer_since: date | None = None
    status: str
    cancelled_on: date | None = None
    busy_seasons: list[str] = Field(sa_type=sa.JSON)
    last_contact: date | None = None
    tags: dict[str, str] = Field(sa_type=sa.JSON)


class SalespersonRow(SQLModel, table=True):
    """A salesperson from cadence.toml; working hours in minutes after local midnight."""

    __tablename__ = "salespeople"

    email: str = Field(primary_key=True)
    name: str
    timezone: str
    work_start_minute: int
    work_end_minute: int
    working_days: list[int] = Field(sa_type=sa.JSON)
    country: str
    calendar: str
    per_day: int | None = None
    per_week: int | None = None


class ContactRow(SQLModel, table=True):
    """A contact. Two partial unique indexes make the same real-world contact collapse:
    by (customer, source, source_id) when the source gave an id, else by (customer, kind, at,
    source)."""

    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index(
            "ux_contacts_source_id",
            "customer_id",
            "source",
            "source_id",
            unique=True,
            sqlite_where=sa.text("source_id != ''"),
            postgresql_where=sa.text("source_id != ''"),
        ),
        sa.Index(
            "ux_contacts_moment",
            "customer_id",
            "kind",
            "at",
            "source",
            unique=True,
            sqlite_where=sa.text("source_id = ''"),
            postgresql_where=sa.text("source_id = ''"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(index=True)
    kind: str
    at: datetime = Field(sa_type=UTCDateTime)
    source: str
    source_id: str
    note: str


class BookingRow(SQLModel, table=True):
    """A booking cadence made; ``start_at``/``end_at`` for timed events, ``*_day`` for all-day."""

    __tablename__ = "bookings"

    key: str = Field(primary_key=True)
    uid: str = Field(index=True)
    customer_id: str = Field(index=True)
    owner: str = Field(index=True)
    kind: str
    backend: str
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_day: date | None = None
    end_day: date | None = None
    all_day: bool
    state: str
    seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remote_id: str | None = None
    etag: str | None = None
    sequence: int
    spec_hash: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # While a write is in flight: the booking as last confirmed (JSON, see Confirmed).
    confirmed: str | None = None
    # Why it is where it is: the planner's reasons when it was placed (JSON list).
    reasons: str | None = None


class PlannedContactRow(SQLModel, table=True):
    """The latest plan; ``position`` keeps the planner's order."""

    __tablename__ = "planned_contacts"

    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    key: str = Field(index=True)
    customer_id: str = Field(index=True)
    customer_name: str
    owner: str = Field(index=True)
    kind: str
    seq: int
    title: str
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_day: date | None = None
    end_day: date | None = None
    all_day: bool
    day: date
    ideal: date
    window_start: date
    window_end: date
    status: str
    reasons: list[str] = Field(sa_type=sa.JSON)
    forced: bool
    over_capacity: bool
    within_horizon: bool


class StateRow(SQLModel, table=True):
    """Backends' small persistent state (sync tokens, delta links), by namespace."""

    __tablename__ = "backend_state"

    namespace: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str


class OwnerRevisionRow(SQLModel, table=True):
    """How many times the stored inputs of one salesperson's plan changed (version 4): their
    customers (a customer moving between two counts for both), those customers' contacts, and
    the bookings planned with them. Bumped in the transaction that changes them, so a cycle
    tells an unchanged salesperson from one row (:mod:`cadence.sync.incremental`)."""

    __tablename__ = "owner_revisions"

    owner: str = Field(primary_key=True)
    revision: int


class LeaseRow(SQLModel, table=True):
    """Who holds a named lease (a share of salespeople) until when."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_type=UTCDateTime)


def _table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a sqlmodel class (bulk statements work on tables, not objects)."""
    return model.__table__  # type: ignore[attr-defined]


SCHEMA_VERSION = _table(SchemaVersion)
CUSTOMERS = _table(CustomerRow)
SALESPEOPLE = _table(SalespersonRow)
CONTACTS = _table(ContactRow)
BOOKINGS = _table(BookingRow)
PLANNED = _table(PlannedContactRow)
STATE = _table(StateRow)
LEASES = _table(LeaseRow)
REVISIONS = _table(OwnerRevisionRow)


# ---------------------------------------------------------------------------------------------
# Migrations


def _migration_1_initial_schema(conn: Connection) -> None:
    """Version 1: the tables above.

    When a table changes later, the change is a new migration (ALTER statements through
    ``conn``), and this function must keep creating exactly what version 1 had: freeze the
    changed table's version-1 definition here at that point.
    """
    tables = [CUSTOMERS, SALESPEOPLE, CONTACTS, STATE, LEASES]
    SQLModel.metadata.create_all(conn, tables=tables)
    _frozen(PLANNED, without=set(), indexes=False).create(conn)
    for index in PLANNED.indexes:
        if index.name != "ix_planned_contacts_owner":
            index.create(conn)
    _frozen(BOOKINGS, without={"confirmed", "reasons"}).create(conn)


def _migration_2_confirmed_bookings(conn: Connection) -> None:
    """Version 2: ``bookings.confirmed``, the booking as last confirmed while a write is in
    flight (an unconfirmed change is retried instead of being taken as done)."""
    _add_column(conn, BOOKINGS.c.confirmed)


def _migration_3_booking_reasons(conn: Connection) -> None:
    """Version 3: ``bookings.reasons``, why a booking was placed where it is (kept after the
    plan only says "already booked")."""
    _add_column(conn, BOOKINGS.c.reasons)


def _migration_4_owner_revisions(conn: Connection) -> None:
    """Version 4: ``owner_revisions`` (what changed, per salesperson, for the incremental
    cycle), and the plan indexed by owner (a cycle replaces the changed salespeople's part)."""
    REVISIONS.create(conn)
    next(i for i in PLANNED.indexes if i.name == "ix_planned_contacts_owner").create(conn)


def _add_column(conn: Connection, column: sa.Column[Any]) -> None:
    kind = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {column.table.name} ADD COLUMN {column.name} {kind}")


def _frozen(table: sa.Table, *, without: set[str], indexes: bool = True) -> sa.Table:
    """An earlier version of ``table``: a copy without the columns added since (their
    indexes come with the copied columns, unless ``indexes`` is false)."""
    columns = [c._copy() for c in table.columns if c.name not in without]
    if not indexes:
        for column in columns:
            column.index = None
    return sa.Table(table.name, sa.MetaData(), *columns)


#: Applied in order; entry ``i`` brings the schema from version ``i`` to ``i + 1``.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _migration_1_initial_schema,
    _migration_2_confirmed_bookings,
    _migration_3_booking_reasons,
    _migration_4_owner_revisions,
]


# ---------------------------------------------------------------------------------------------
# Values the store adds


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What an upsert did: rows inserted, changed, left alone, and deleted (prune only)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0


def _split_span(
    start: datetime | date, end: datetime | date, all_day: bool
) -> dict[str, datetime | date | None]:
    if all_day:
        return {"start_at": None, "end_at": None, "start_day": start, "end_day": end}
    return {"start_at": start, "end_at": end, "start_day": None, "end_day": None}


# ---------------------------------------------------------------------------------------------
# The repository


class StoreState:
    """A backend's persistent key/value state (implements ``connectors.base.StateStore``)."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store = store
        self.namespace = namespace

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        t = STATE
        with self._store._read() as conn:
            return conn.execute(
                sa.select(t.c.value).where(t.c.namespace == self.namespace, t.c.key == key)
            ).scalar_one_or_none()

    def set(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key``; None removes the key."""
        t = STATE
        with self._store._write() as conn:
            if value is None:
                conn.execute(t.delete().where(t.c.namespace == self.namespace, t.c.key == key))
                return
            stmt = self._store._insert(t).values(namespace=self.namespace, key=key, value=value)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["namespace", "key"], set_={"value": stmt.excluded.value}
                )
            )


class Store:
    """The repository over one database URL (``sqlite:///cadence.db``,
    ``postgresql+psycopg://user@host/db``). The schema is created or migrated on construction.

    Every method runs in its own transaction and takes and returns model dataclasses.
    Raises :class:`UserError` when the database cannot be opened or is newer than this cadence.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._upsert_bookings: Any = None
        self.engine = self._engine_for(url)
        self._dialect = self.engine.dialect.name
        try:
            self._migrate()
        except DBAPIError as exc:  # unreachable server, unknown database, no permission
            shown = self.engine.url.render_as_string(hide_password=True)
            self.engine.dispose()
            raise UserError(f"cannot open database {shown}: {exc.orig}") from None

    # -- engine and transactions ---------------------------------------------------------------

    @staticmethod
    def _engine_for(url: str) -> Engine:
        try:
            parsed = sa.make_url(url)
        except ArgumentError:
            raise UserError(
                f"database {url!r} is not a database URL (e.g. sqlite:///cadence.db)"
            ) from None
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver we ship; SQLAlchemy's default would be psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise UserError(
                f"database {parsed.render_as_string(hide_password=True)!r}: "
                "only sqlite:/// and postgresql+psycopg:// URLs are supported"
            )
        if parsed.get_backend_name() == "postgresql":
            return sa.create_engine(parsed, pool_pre_ping=True)
        in_memory = parsed.database in (None, "", ":memory:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            # One shared connection, or every connection would see its own empty database.
            options["poolclass"] = StaticPool
        engine = sa.create_engine(parsed, **options)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN itself (the sqlite3 module's own
            # implicit transactions start too late and never for DDL).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                # WAL: readers (cadence plan) never block the daemon's writes and vice versa.
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
            # when another process wrote in between (the busy timeout does not apply); taking
            # the write lock up front makes writers queue instead.
            if conn.get_execution_options().get("cadence_read_only"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(cadence_read_only=True)
            with conn.begin():
                yield conn

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_nothing``/``_do_update``."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _take_turns(self, conn: Connection, key: int) -> None:
        """Make this transaction wait for any other holding ``key`` (PostgreSQL; on SQLite
        BEGIN IMMEDIATE already serialises writers): a read-then-write run by two processes
        at once would otherwise insert the same rows twice."""
        if self._dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    def _touch(
        self, conn: Connection, owners: Iterable[str] = (), customer_ids: Iterable[str] = ()
    ) -> None:
        """Bump the revision of ``owners`` and of the owners of ``customer_ids`` (inside the
        transaction that changed their inputs)."""
        touched = set(owners)
        for chunk in _chunks(sorted(set(customer_ids))):
            c = CUSTOMERS
            query = sa.select(c.c.owner).distinct().where(c.c.id.in_(chunk))
            touched.update(conn.execute(query).scalars())
        if not touched:
            return
        t = REVISIONS
        stmt = self._insert(t)
        stmt = stmt.on_conflict_do_update(
            index_elements=["owner"], set_={"revision": t.c.revision + 1}
        )
        conn.execute(stmt, [{"owner": o, "revision": 1} for o in sorted(touched)])

    def owner_revisions(self) -> dict[str, int]:
        """Each salesperson's revision (see :class:`OwnerRevisionRow`); 0 when never touched."""
        t = REVISIONS
        with self._read() as conn:
            return {owner: rev for owner, rev in conn.execute(sa.select(t.c.owner, t.c.revision))}

    def customer_kinds(self) -> dict[str, set[tuple[str, str]]]:
        """Per owner, the (segment, industry) pairs of their customers: which policies their
        plan reads (one DISTINCT query, no customer loaded)."""
        t = CUSTOMERS
        kinds: dict[str, set[tuple[str, str]]] = {}
        with self._read() as conn:
            query = sa.select(t.c.owner, t.c.segment, t.c.industry).distinct()
            for owner, segment, industry in conn.execute(query):
                kinds.setdefault(owner, set()).add((segment, industry))
        return kinds

    def close(self) -> None:
        """Release every connection. The store must not be used afterwards."""
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The version the database's schema is at."""
        t = SCHEMA_VERSION
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.max(t.c.version))).scalar() or 0

    def _migrate(self) -> None:
        t = SCHEMA_VERSION
        for target in range(1, len(MIGRATIONS) + 1):
            with self._write() as conn:
                if self._dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                t.create(conn, checkfirst=True)
                current = conn.execute(sa.select(sa.func.max(t.c.version))).scalar() or 0
                if current > len(MIGRATIONS):
                    raise UserError(
                        f"the database schema is at version {current}, newer than this cadence "
                        f"knows ({len(MIGRATIONS)}); upgrade cadence"
                    )
                if current >= target:
                    continue
                MIGRATIONS[target - 1](conn)
                # The database's clock: the store never reads the system clock itself.
                conn.execute(
                    t.insert().values(version=target, applied_at=sa.func.current_timestamp())
                )

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
            self._take_turns(conn, _CUSTOMERS_LOCK)
            existing = {c.id: c for c in self._load_customers(conn)}
            new = [_customer_row(c) for i, c in incoming.items() if i not in existing]
            changed = [
                {**_customer_row(c), "b_id": i}
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
            for chunk in _chunks(gone):
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
        with self._read() as conn:
            if owners is None:
                return self._load_customers(conn)
            t = CUSTOMERS
            found: list[Customer] = []
            for chunk in _chunks(sorted(set(owners))):
                query = sa.select(t).where(t.c.owner.in_(chunk))
                found += [_customer(row) for row in conn.execute(query)]
            return sorted(found, key=lambda c: c.id)

    def customer(self, customer_id: str) -> Customer | None:
        """One customer, or None."""
        t = CUSTOMERS
        with self._read() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == customer_id)).one_or_none()
        return None if row is None else _customer(row)

    @staticmethod
    def _load_customers(conn: Connection) -> list[Customer]:
        t = CUSTOMERS
        return [_customer(row) for row in conn.execute(sa.select(t).order_by(t.c.id))]

    # -- salespeople -----------------------------------------------------------------------------

    def sync_salespeople(self, salespeople: Iterable[Salesperson]) -> UpsertCounts:
        """Make the stored salespeople exactly ``salespeople`` (they come from cadence.toml)."""
        incoming = {p.email: p for p in salespeople}
        t = SALESPEOPLE
        with self._write() as conn:
            self._take_turns(conn, _SALESPEOPLE_LOCK)
            existing = {p.email: p for p in self._load_salespeople(conn)}
            changed = [p for e, p in incoming.items() if e in existing and existing[e] != p]
            new = [p for e, p in incoming.items() if e not in existing]
            gone = [e for e in existing if e not in incoming]
            if gone:
                conn.execute(t.delete().where(t.c.email.in_(gone)))
            if changed:
                conn.execute(t.delete().where(t.c.email.in_([p.email for p in changed])))
            if new or changed:
                conn.execute(t.insert(), [_salesperson_row(p) for p in (*new, *changed)])
        return UpsertCounts(
            new=len(new),
            updated=len(changed),
            unchanged=len(incoming) - len(new) - len(changed),
            pruned=len(gone),
        )

    def salespeople(self) -> list[Salesperson]:
        """Every salesperson, by e-mail."""
        with self._read() as conn:
            return self._load_salespeople(conn)

    @staticmethod
    def _load_salespeople(conn: Connection) -> list[Salesperson]:
        t = SALESPEOPLE
        return [_salesperson(row) for row in conn.execute(sa.select(t).order_by(t.c.email))]

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
        with self._read() as conn:
            return [_contact(row) for row in conn.execute(query)]

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
                for chunk in _chunks(sorted(set(customer_ids))):
                    query = (
                        sa.select(t)
                        .where(t.c.customer_id.in_(chunk))
                        .order_by(t.c.customer_id, t.c.at, t.c.id)
                    )
                    contacts += [_contact(row) for row in conn.execute(query)]
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
        with self._read() as conn:
            return [_booking(row) for row in conn.execute(query)]

    def bookings_planned_with(self, owners: Iterable[str]) -> list[BookingRecord]:
        """The bookings the planner weighs when it plans ``owners`` alone, by key: those of
        their customers wherever they are (one left in a former owner's calendar too), and
        those in their calendars of customers no one owns now (the planner's split by owner,
        :mod:`cadence.planner.split`, routes them so)."""
        wanted = sorted(set(owners))
        t, c = BOOKINGS, CUSTOMERS
        found: dict[str, BookingRecord] = {}
        with self._read() as conn:
            for chunk in _chunks(wanted):
                theirs = sa.select(c.c.id).where(c.c.owner.in_(chunk))
                of_customers = sa.select(t).where(t.c.customer_id.in_(theirs))
                orphans = sa.select(t).where(
                    t.c.owner.in_(chunk), t.c.customer_id.not_in(sa.select(c.c.id))
                )
                for query in (of_customers, orphans):
                    for row in conn.execute(query):
                        found[row.key] = _booking(row)
        return [found[key] for key in sorted(found)]

    def booking_owners(self, states: Iterable[BookingState]) -> set[str]:
        """The owners holding bookings in ``states`` (one DISTINCT query, no rows loaded)."""
        t = BOOKINGS
        query = (
            sa.select(t.c.owner)
            .distinct()
            .where(t.c.state.in_([BookingState(s).value for s in states]))
        )
        with self._read() as conn:
            return {row[0] for row in conn.execute(query)}

    def booking(self, key: str) -> BookingRecord | None:
        """One booking by key, or None."""
        t = BOOKINGS
        with self._read() as conn:
            row = conn.execute(sa.select(t).where(t.c.key == key)).one_or_none()
        return None if row is None else _booking(row)

    def save_booking(self, record: BookingRecord) -> None:
        """Insert or replace the booking ``record.key``."""
        self.save_bookings([record])

    def save_bookings(self, records: Sequence[BookingRecord], delete: Iterable[str] = ()) -> None:
        """Forget the bookings ``delete``, then insert or replace ``records``: one transaction,
        so a booking whose key changes is never lost or doubled by a crash in between."""
        t = BOOKINGS
        gone = list(delete)
        if not records and not gone:
            return
        rows = [_booking_row(record) for record in records]
        with self._write() as conn:
            owners = {r.owner for r in records}
            customer_ids = {r.customer_id for r in records}
            for keys in _chunks(gone):
                query = sa.select(t.c.owner, t.c.customer_id).where(t.c.key.in_(keys))
                for owner, customer_id in conn.execute(query):
                    owners.add(owner)
                    customer_ids.add(customer_id)
                conn.execute(t.delete().where(t.c.key.in_(keys)))
            self._touch(conn, owners, customer_ids)
            if rows:
                # One statement for every row (executemany): a cycle's bookings are thousands.
                conn.execute(self._booking_upsert(), rows)

    def _booking_upsert(self) -> Any:
        """INSERT ... ON CONFLICT (key) DO UPDATE of every column, built once per store."""
        if self._upsert_bookings is None:
            t = BOOKINGS
            stmt = self._insert(t)
            self._upsert_bookings = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={c.name: stmt.excluded[c.name] for c in t.columns if c.name != "key"},
            )
        return self._upsert_bookings

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
            self._take_turns(conn, _PLAN_LOCK)
            first = 0
            if owners is None:
                conn.execute(t.delete())
            else:
                for chunk in _chunks(sorted(owners)):
                    conn.execute(t.delete().where(t.c.owner.in_(chunk)))
                first = (conn.execute(sa.select(sa.func.max(t.c.position))).scalar() or 0) + 1
            rows = [_planned_row(first + i, p) for i, p in enumerate(planned)]
            if rows:
                conn.execute(t.insert(), rows)

    def plan(self) -> list[PlannedContact]:
        """The stored plan by salesperson, each in the planner's order (the plan's order)."""
        t = PLANNED
        query = sa.select(t).order_by(t.c.owner, t.c.position)
        with self._read() as conn:
            return [_planned(row) for row in conn.execute(query)]

    # -- backend state ---------------------------------------------------------------------------

    def state(self, namespace: str) -> StoreState:
        """Persistent key/value state for one backend (``connectors.base.StateStore``)."""
        return StoreState(self, namespace)

    # -- leases ----------------------------------------------------------------------------------

    def try_lease(self, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl_seconds``.

        Succeeds when the lease is free, expired (``expires_at <= now``) or already ``holder``'s.
        One conditional upsert decides, so two daemons racing for a lease cannot both win.
        """
        require_aware(now, "try_lease now")
        t = LEASES
        expires = now + timedelta(seconds=ttl_seconds)
        stmt = self._insert(t).values(name=name, holder=holder, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=sa.or_(t.c.holder == stmt.excluded.holder, t.c.expires_at <= now),
        ).returning(t.c.holder)
        with self._write() as conn:
            return conn.execute(stmt).first() is not None

    def release_lease(self, name: str, holder: str) -> bool:
        """Give up ``holder``'s lease ``name`` (on shutdown); False when it was not theirs."""
        t = LEASES
        with self._write() as conn:
            result = conn.execute(t.delete().where(t.c.name == name, t.c.holder == holder))
            return result.rowcount > 0

    def live_leases(self, prefix: str, now: datetime) -> dict[str, str]:
        """{name: holder} of the leases named ``prefix...`` that have not expired at ``now``."""
        t = LEASES
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.c.name, t.c.holder).where(
                    t.c.name.startswith(prefix, autoescape=True), t.c.expires_at > now
                )
            ).all()
        return {name: holder for name, holder in rows}

    def release_holder(self, holder: str) -> int:
        """Give up every lease ``holder`` has (a daemon shutting down); how many there were."""
        t = LEASES
        with self._write() as conn:
            return conn.execute(t.delete().where(t.c.holder == holder)).rowcount

    def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds ``name`` at ``now``, or None when it is free or expired."""
        t = LEASES
        with self._read() as conn:
            return conn.execute(
                sa.select(t.c.holder).where(t.c.name == name, t.c.expires_at > now)
            ).scalar_one_or_none()


# ---------------------------------------------------------------------------------------------
# Rows <-> dataclasses


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _customer_row(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "owner": c.owner,
        "segment": c.segment,
        "emails": list(c.emails),
        "domains": list(c.domains),
        "industry": c.industry,
        "country": c.country,
        "timezone": c.timezone,
        "customer_since": c.customer_since,
        "status": c.status.value,
        "cancelled_on": c.cancelled_on,
        "busy_seasons": list(c.busy_seasons),
        "last_contact": c.last_contact,
        "tags": {**c.tags, **_rhythm_tags(c), **{_NAME_TAG + a: n for a, n in c.email_names}},
    }


# The customer's own rhythm (CSV every / min_gap / max_gap) travels in the tags JSON under
# these keys (no CSV header is written so), which keeps the schema as it is.
_RHYTHM_TAG = "cadence.rhythm."


def _rhythm_tags(c: Customer) -> dict[str, str]:
    own = {"every": c.every, "min_gap": c.min_gap, "max_gap": c.max_gap}
    return {_RHYTHM_TAG + k: str(v) for k, v in own.items() if v is not None}


def _take(tags: dict[str, str], prefix: str) -> dict[str, str]:
    """The tags under ``prefix`` (reserved keys), taken out of ``tags``, without the prefix."""
    return {key[len(prefix) :]: tags.pop(key) for key in [k for k in tags if k.startswith(prefix)]}


def _rhythm_of(tags: dict[str, str]) -> dict[str, Duration]:
    """The customer's own rhythm, taken out of ``tags``."""
    return {key: Duration.parse(value) for key, value in _take(tags, _RHYTHM_TAG).items()}


# The display names of a customer's addresses (CSV "Jane Doe <jane@acme.com>") likewise.
_NAME_TAG = "cadence.name."


def _names_of(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The (address, display name) pairs, taken out of ``tags``."""
    return tuple(_take(tags, _NAME_TAG).items())


def _customer(row: Any) -> Customer:
    tags = dict(row.tags)
    rhythm = _rhythm_of(tags)
    names = [pair for pair in _names_of(tags) if pair[0] in row.emails]
    return Customer(
        id=row.id,
        name=row.name,
        owner=row.owner,
        segment=row.segment,
        emails=tuple(row.emails),
        email_names=tuple(sorted(names, key=lambda pair: row.emails.index(pair[0]))),
        domains=tuple(row.domains),
        industry=row.industry,
        country=row.country,
        timezone=row.timezone,
        customer_since=row.customer_since,
        status=CustomerStatus(row.status),
        cancelled_on=row.cancelled_on,
        busy_seasons=tuple(row.busy_seasons),
        last_contact=row.last_contact,
        tags=tags,
        **rhythm,
    )


def _salesperson_row(p: Salesperson) -> dict[str, Any]:
    return {
        "email": p.email,
        "name": p.name,
        "timezone": p.timezone,
        "work_start_minute": p.working_hours.start_minute,
        "work_end_minute": p.working_hours.end_minute,
        "working_days": sorted(p.working_days),
        "country": p.country,
        "calendar": p.calendar,
        "per_day": p.per_day,
        "per_week": p.per_week,
    }


def _salesperson(row: Any) -> Salesperson:
    return Salesperson(
        email=row.email,
        name=row.name,
        timezone=row.timezone,
        working_hours=WorkingHours(row.work_start_minute, row.work_end_minute),
        working_days=frozenset(row.working_days),
        country=row.country,
        calendar=row.calendar,
        per_day=row.per_day,
        per_week=row.per_week,
    )


def _contact(row: Any) -> Contact:
    return Contact(
        customer_id=row.customer_id,
        kind=ContactKind(row.kind),
        at=row.at,
        source=row.source,
        source_id=row.source_id,
        note=row.note,
    )


def _booking_row(r: BookingRecord) -> dict[str, Any]:
    return {
        "key": r.key,
        "uid": r.uid,
        "customer_id": r.customer_id,
        "owner": r.owner,
        "kind": BookingKind(r.kind).value,
        "backend": r.backend,
        **_split_span(r.start, r.end, r.all_day),
        "all_day": r.all_day,
        "state": BookingState(r.state).value,
        "seen_at": r.seen_at,
        "remote_id": r.remote_id,
        "etag": r.etag,
        "sequence": r.sequence,
        "spec_hash": r.spec_hash,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "confirmed": r.confirmed.as_json() if r.confirmed is not None else None,
        "reasons": json.dumps(list(r.reasons)) if r.reasons else None,
    }


def _booking(row: Any) -> BookingRecord:
    return BookingRecord(
        key=row.key,
        uid=row.uid,
        customer_id=row.customer_id,
        owner=row.owner,
        kind=BookingKind(row.kind),
        backend=row.backend,
        start=row.start_day if row.all_day else row.start_at,
        end=row.end_day if row.all_day else row.end_at,
        all_day=row.all_day,
        state=BookingState(row.state),
        seen_at=row.seen_at,
        remote_id=row.remote_id,
        etag=row.etag,
        sequence=row.sequence,
        spec_hash=row.spec_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        confirmed=Confirmed.from_json(row.confirmed) if row.confirmed else None,
        reasons=tuple(json.loads(row.reasons)) if row.reasons else (),
    )


def _planned_row(position: int, p: PlannedContact) -> dict[str, Any]:
    check_span(p.start, p.end, p.all_day, f"planned contact {p.key}")
    return {
        "position": position,
        "key": p.key,
        "customer_id": p.customer_id,
        "customer_name": p.customer_name,
        "owner": p.owner,
        "kind": BookingKind(p.kind).value,
        "seq": p.seq,
        "title": p.title,
        **_split_span(p.start, p.end, p.all_day),
        "all_day": p.all_day,
        "day": p.day,
        "ideal": p.ideal,
        "window_start": p.window_start,
        "window_end": p.window_end,
        "status": PlanStatus(p.status).value,
        "reasons": list(p.reasons),
        "forced": p.forced,
        "over_capacity": p.over_capacity,
        "within_horizon": p.within_horizon,
    }


def _planned(row: Any) -> PlannedContact:
    return PlannedContact(
        key=row.key,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        owner=row.owner,
        kind=BookingKind(row.kind),
        seq=row.seq,
        title=row.title,
        start=row.start_day if row.all_day else row.start_at,
        end=row.end_day if row.all_day else row.end_at,
        all_day=row.all_day,
        day=row.day,
        ideal=row.ideal,
        window_start=row.window_start,
        window_end=row.window_end,
        status=PlanStatus(row.status),
        reasons=tuple(row.reasons),
        forced=row.forced,
        over_capacity=row.over_capacity,
        within_horizon=row.within_horizon,
    )


__all__ = [
    "MIGRATIONS",
    "BookingRecord",
    "Confirmed",
    "Store",
    "StoreState",
    "UTCDateTime",
    "UpsertCounts",
]
