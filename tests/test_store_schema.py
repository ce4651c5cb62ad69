"""The store's Core tables (:mod:`cadence.store.tables`, what its statements use) are the tables
the sqlmodel classes declare (:mod:`cadence.store.models`, what the migrations create): column by
column, type by type, index by index, and as the DDL of both databases."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel.sql.sqltypes import AutoString

from cadence.store import models, tables
from cadence.store.migrations import MIGRATIONS
from cadence.store.repository import Store

NAMES = [
    "SCHEMA_VERSION",
    "CUSTOMERS",
    "SALESPEOPLE",
    "CONTACTS",
    "BOOKINGS",
    "PLANNED",
    "STATE",
    "REVISIONS",
    "LEASES",
]
# Declared by the models alone (no statement names them): see cadence.store.tables.
MODELS_ONLY_INDEXES = frozenset({"ux_contacts_source_id", "ux_contacts_moment"})
DIALECTS = [sqlite.dialect(), postgresql.dialect()]


def _kind(column: sa.Column[Any]) -> type:
    """The column's type class; sqlmodel's AutoString is a String with the same DDL and no
    bind or result processing on these databases."""
    kind = type(column.type)
    return sa.String if kind is AutoString else kind


def _column(column: sa.Column[Any]) -> tuple[object, ...]:
    return (
        column.name,
        _kind(column),
        getattr(column.type, "timezone", None),
        column.nullable,
        column.primary_key,
        column.autoincrement,
        bool(column.index),
        bool(column.unique),
        column.default,
        column.server_default,
    )


def _indexes(table: sa.Table, skip: frozenset[str] = frozenset()) -> list[tuple[object, ...]]:
    return sorted(
        (i.name, tuple(c.name for c in i.columns), i.unique)
        for i in table.indexes
        if i.name not in skip
    )


def test_every_table_is_in_both() -> None:
    core = {getattr(tables, name).name for name in NAMES}
    declared = {getattr(models, name).name for name in NAMES}
    assert core == declared == set(models.SQLModel.metadata.tables)


@pytest.mark.parametrize("name", NAMES)
def test_each_core_table_is_its_model_column_by_column(name: str) -> None:
    core, declared = getattr(tables, name), getattr(models, name)
    assert [_column(c) for c in core.columns] == [_column(c) for c in declared.columns]
    assert _indexes(core) == _indexes(declared, MODELS_ONLY_INDEXES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_each_core_table_creates_what_its_model_creates(name: str, dialect: sa.Dialect) -> None:
    core, declared = getattr(tables, name), getattr(models, name)
    assert str(CreateTable(core).compile(dialect=dialect)) == str(
        CreateTable(declared).compile(dialect=dialect)
    )
    kept = [i for i in declared.indexes if i.name not in MODELS_ONLY_INDEXES]
    assert sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in core.indexes) == sorted(
        str(CreateIndex(i).compile(dialect=dialect)) for i in kept
    )


def test_the_tables_know_how_many_migrations_there_are() -> None:
    assert len(MIGRATIONS) == tables.LATEST_VERSION


def test_the_models_only_indexes_are_the_partial_unique_ones() -> None:
    partial = {
        i.name for i in models.CONTACTS.indexes if i.dialect_kwargs.get("sqlite_where") is not None
    }
    assert partial == MODELS_ONLY_INDEXES


def test_opening_a_migrated_database_imports_neither_sqlmodel_nor_the_migrations(
    tmp_path: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    Store(url).close()  # created and migrated here
    probe = (
        "import sys\n"
        "from cadence.store.repository import Store\n"
        f"Store({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlmodel', 'pydantic', "
        "'cadence.store.m', 'sqlalchemy.orm', 'sqlalchemy.dialects.postgresql'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
