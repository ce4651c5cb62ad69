"""The bulk writes of a cycle on SQLite, with their rows made ready for the driver here.

A cycle at 10k customers binds a few hundred thousand values (every booking twice, the whole
plan once). SQLAlchemy turns each through the column's type (a dict per datetime formatted on
SQLite, the aware check, JSON), which costs more than SQLite's own work. :class:`BulkStatement`
compiles the statement once and converts each value itself, exactly as SQLAlchemy would for the
values a cycle writes (aware datetimes, dates, booleans, text, numbers, JSON lists): the
property tests in tests/test_store_bulk.py hold every converter to SQLAlchemy's own output.
Any value it does not handle (a naive datetime, another type) makes it hand the whole statement
to SQLAlchemy, which converts, or refuses, as it always does. PostgreSQL always takes
SQLAlchemy's way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cadence.store.tables import UTCDateTime


class Unhandled(Exception):
    """A value the fast converters leave to SQLAlchemy."""


# The last datetime converted and its text: a cycle stamps every row with the same ``now``.
_last_utc: tuple[object, str] = (object(), "")


def utc_text(value: Any) -> str | None:
    """:class:`UTCDateTime` on SQLite: an aware datetime as its UTC wall time
    ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    global _last_utc
    last = _last_utc
    if value is last[0]:  # the very same object (kept alive by the memo), so the same text
        return last[1]
    if value is None:
        return None
    if value.__class__ is datetime and value.utcoffset() is not None:
        try:
            u = value.astimezone(UTC)
        except OverflowError:  # the first or last day of year 1 or 9999
            raise Unhandled from None
        text = (
            f"{u.year:04d}-{u.month:02d}-{u.day:02d} "
            f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}"
        )
        _last_utc = (value, text)
        return text
    raise Unhandled


def date_text(value: Any) -> str | None:
    """``Date`` on SQLite: ``YYYY-MM-DD``."""
    if value is None:
        return None
    if value.__class__ is date:
        return value.isoformat()  # YYYY-MM-DD, the year always in four digits
    raise Unhandled


def boolean(value: Any) -> int | None:
    """``Boolean`` on SQLite: 1 or 0."""
    if value is None:
        return None
    if value is True:
        return 1
    if value is False:
        return 0
    raise Unhandled


def json_list(value: Any) -> str:
    """``JSON`` on SQLite, for a list of strings (None is left to SQLAlchemy's JSON null)."""
    if value.__class__ is list and all(item.__class__ is str for item in value):
        return json.dumps(value)
    raise Unhandled


def converter(column: sa.Column[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """The fast converter of ``column``'s values on SQLite (see the module's text); None for
    a column whose values SQLAlchemy binds as they are (text, numbers): so do we."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return utc_text
    if kind.dialect_impl(dialect).bind_processor(dialect) is None:
        return None
    if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
        return date_text
    if isinstance(kind, sa.Boolean):
        return boolean
    if isinstance(kind, sa.JSON):
        return json_list
    raise TypeError(f"{column}: no fast converter for {kind!r}")


class BulkStatement:
    """One INSERT (or upsert) of every column of ``table``, run with many rows at once."""

    def __init__(self, statement: Any, table: sa.Table, dialect: sa.Dialect) -> None:
        self.statement = statement
        self.fast = dialect.name == "sqlite"
        if not self.fast:
            return
        keys = [c.name for c in table.columns]
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        self.sql = str(compiled)
        self.names: Sequence[str] = compiled.positiontup or []
        if sorted(self.names) != sorted(keys):  # every column bound once, by name
            raise TypeError(f"{table.name}: the statement does not bind each column once")
        self.converters = [converter(table.c[name], dialect) for name in self.names]

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement for ``rows`` (each a value per column), one executemany."""
        if not rows:
            return
        if self.fast:
            pairs = list(zip(self.names, self.converters, strict=True))
            try:
                params = [
                    tuple([row[n] if convert is None else convert(row[n]) for n, convert in pairs])
                    for row in rows
                ]
            except Unhandled:
                pass
            else:
                conn.exec_driver_sql(self.sql, params)
                return
        conn.execute(self.statement, list(rows))
