"""The schema's versions: :data:`MIGRATIONS`, applied in order on first use (see
:meth:`cadence.store.engine.Database.migrate`), each in its own transaction, with the version
kept in ``schema_version``. They create the tables as :mod:`cadence.store.models` declares
them; this module (and sqlmodel) is imported only when a database is behind
:data:`cadence.store.tables.LATEST_VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from cadence.store.models import (
    BOOKINGS,
    CONTACTS,
    CUSTOMERS,
    LEASES,
    PLANNED,
    REVISIONS,
    SALESPEOPLE,
    STATE,
)
from cadence.store.tables import LATEST_VERSION


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

if len(MIGRATIONS) != LATEST_VERSION:  # a migration added without telling the tables
    raise RuntimeError(f"{len(MIGRATIONS)} migrations, but the tables are version {LATEST_VERSION}")
