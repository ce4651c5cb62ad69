"""The store's tables as its statements use them (SQLAlchemy Core), and the aware-datetime
column type.

Datetimes are stored as UTC and always come back timezone-aware in UTC (:class:`UTCDateTime`);
dates stay dates. The schema is declared by the sqlmodel classes of :mod:`cadence.store.models`
and created and changed only by :mod:`cadence.store.migrations`; these are the same tables
built without sqlmodel, whose import (its ORM and pydantic) and class building cost about
0.4 s of every command's start (tests/test_store_schema.py holds them equal to the models on
SQLite and PostgreSQL). The two partial unique indexes of ``contacts`` are the models' alone:
no statement names them, and declaring them here would load the PostgreSQL dialect on SQLite.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from cadence.values.model import require_aware

#: The version of the schema these tables are (the number of migrations; a test holds them).
LATEST_VERSION = 4


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

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        """SQLAlchemy's processor (the impl's, then :meth:`process_result_value`); on SQLite,
        the stored text straight to the aware datetime (see :func:`_sqlite_reader`)."""
        library = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or library is None:
            return library
        return _sqlite_reader(library)


# The form cadence stores (store.bulk.utc_text, and SQLAlchemy alike).
_UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", re.ASCII).fullmatch


@functools.lru_cache(maxsize=1 << 14)
def _stored_utc(text: str) -> datetime | None:
    """``text`` in the form cadence stores as the aware datetime, or None for any other text.
    One cache for every statement (SQLAlchemy keeps a processor per statement and column):
    a long-running daemon holds at most this many texts, whatever it reads."""
    if _UTC_TEXT(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:  # no such day or time: as SQLAlchemy says
            pass
    return None


def _sqlite_reader(library: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A stored UTC text as what ``library`` (SQLAlchemy's processor) gives for it: the form
    cadence stores read by ``fromisoformat`` (the same digits SQLAlchemy's expression reads),
    each distinct text once (a cycle stamps its rows with one ``now``, and a plan's times are
    quarter hours); anything else by ``library``. Reading the bookings back went through two
    Python steps per value (tests/test_store_bulk.py holds the two to each other)."""

    def process(value: Any) -> Any:
        if value.__class__ is str:
            found = _stored_utc(value)
            if found is not None:
                return found
        return library(value)

    return process


_METADATA = sa.MetaData()


def _table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(name, _METADATA, *columns)


def _key(name: str, kind: Any = sa.String, **options: Any) -> sa.Column[Any]:
    """A primary key column."""
    return sa.Column(name, kind, primary_key=True, nullable=False, **options)


def _required(name: str, kind: Any = sa.String, *, index: bool = False) -> sa.Column[Any]:
    """A NOT NULL column (``index``: with its own ``ix_<table>_<column>`` index)."""
    return sa.Column(name, kind, nullable=False, index=index or None)


def _optional(name: str, kind: Any = sa.String) -> sa.Column[Any]:
    """A column that may hold NULL."""
    return sa.Column(name, kind, nullable=True)


# One row per migration applied (created outside the migrations: it is how they run).
SCHEMA_VERSION = _table(
    "schema_version",
    _key("version", sa.Integer),
    _required("applied_at", UTCDateTime),
)

# A customer; the tuple fields and tags are JSON.
CUSTOMERS = _table(
    "customers",
    _key("id"),
    _required("name"),
    _required("owner", index=True),
    _required("segment"),
    _required("emails", sa.JSON),
    _required("domains", sa.JSON),
    _required("industry"),
    _required("country"),
    _required("timezone"),
    _optional("customer_since", sa.Date),
    _required("status"),
    _optional("cancelled_on", sa.Date),
    _required("busy_seasons", sa.JSON),
    _optional("last_contact", sa.Date),
    _required("tags", sa.JSON),
)

# A salesperson from cadence.toml; working hours in minutes after local midnight.
SALESPEOPLE = _table(
    "salespeople",
    _key("email"),
    _required("name"),
    _required("timezone"),
    _required("work_start_minute", sa.Integer),
    _required("work_end_minute", sa.Integer),
    _required("working_days", sa.JSON),
    _required("country"),
    _required("calendar"),
    _optional("per_day", sa.Integer),
    _optional("per_week", sa.Integer),
)

# A contact (the same real-world contact collapses by the models' partial unique indexes).
CONTACTS = _table(
    "contacts",
    _key("id", sa.Integer),
    _required("customer_id", index=True),
    _required("kind"),
    _required("at", UTCDateTime),
    _required("source"),
    _required("source_id"),
    _required("note"),
)

# A booking cadence made; ``start_at``/``end_at`` for timed events, ``*_day`` for all-day.
BOOKINGS = _table(
    "bookings",
    _key("key"),
    _required("uid", index=True),
    _required("customer_id", index=True),
    _required("owner", index=True),
    _required("kind"),
    _required("backend"),
    _optional("start_at", UTCDateTime),
    _optional("end_at", UTCDateTime),
    _optional("start_day", sa.Date),
    _optional("end_day", sa.Date),
    _required("all_day", sa.Boolean),
    _required("state"),
    _optional("seen_at", UTCDateTime),
    _optional("remote_id"),
    _optional("etag"),
    _required("sequence", sa.Integer),
    _required("spec_hash"),
    _required("created_at", UTCDateTime),
    _required("updated_at", UTCDateTime),
    # While a write is in flight: the booking as last confirmed (JSON, see Confirmed).
    _optional("confirmed"),
    # Why it is where it is: the planner's reasons when it was placed (JSON list).
    _optional("reasons"),
)

# The latest plan; ``position`` keeps the planner's order.
PLANNED = _table(
    "planned_contacts",
    _key("position", sa.Integer, autoincrement=False),
    _required("key", index=True),
    _required("customer_id", index=True),
    _required("customer_name"),
    _required("owner", index=True),
    _required("kind"),
    _required("seq", sa.Integer),
    _required("title"),
    _optional("start_at", UTCDateTime),
    _optional("end_at", UTCDateTime),
    _optional("start_day", sa.Date),
    _optional("end_day", sa.Date),
    _required("all_day", sa.Boolean),
    _required("day", sa.Date),
    _required("ideal", sa.Date),
    _required("window_start", sa.Date),
    _required("window_end", sa.Date),
    _required("status"),
    _required("reasons", sa.JSON),
    _required("forced", sa.Boolean),
    _required("over_capacity", sa.Boolean),
    _required("within_horizon", sa.Boolean),
)

# Backends' small persistent state (sync tokens, delta links), by namespace.
STATE = _table(
    "backend_state",
    _key("namespace"),
    _key("key"),
    _required("value"),
)

# How many times the stored inputs of one salesperson's plan changed (see the model).
REVISIONS = _table(
    "owner_revisions",
    _key("owner"),
    _required("revision", sa.Integer),
)

# Who holds a named lease (a share of salespeople) until when.
LEASES = _table(
    "leases",
    _key("name"),
    _required("holder"),
    _required("expires_at", UTCDateTime),
)
