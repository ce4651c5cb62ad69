"""The schema as declared: one sqlmodel class per table, what :mod:`cadence.store.migrations`
creates and changes.

The store's statements use the same tables built with SQLAlchemy alone
(:mod:`cadence.store.tables`): importing sqlmodel (its ORM and pydantic) and building these
classes cost about 0.4 s of every command's start, while no statement needs more than the Core
tables. tests/test_store_schema.py holds the two equal, column by column and index by index, on
SQLite and PostgreSQL; this module is imported only when a database is created or migrated.
A table changed here needs a migration there, and the same change in :mod:`cadence.store.tables`.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cadence.store.tables import UTCDateTime

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
