"""The SQLite fast path of the bulk writes (:mod:`cadence.store.bulk`) is held to SQLAlchemy's
own output: every converter gives exactly what SQLAlchemy binds for the same value, or leaves
the value to SQLAlchemy; and bookings and plans saved either way are the same bytes in SQLite.
Likewise the read of a stored datetime (:class:`UTCDateTime`'s processor on SQLite) is held to
SQLAlchemy's own (the impl's processor, then ``process_result_value``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from cadence.store import bulk
from cadence.store.repository import Store
from cadence.store.tables import BOOKINGS, PLANNED, UTCDateTime
from cadence.values.model import BookingKind, BookingState, PlannedContact, PlanStatus
from tests.test_store import booking

DIALECT = sqlite.dialect()
ZONES = [UTC, ZoneInfo("Europe/Lisbon"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
ZONES.append(timezone(timedelta(hours=-3, minutes=-30)))

aware = st.datetimes(timezones=st.sampled_from(ZONES)).flatmap(
    lambda d: st.sampled_from([d, d.replace(fold=1)])
)
anything = st.one_of(
    st.none(),
    aware,
    st.datetimes(),  # naive
    st.dates(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.floats(allow_nan=False),
)


def library(column: sa.Column[Any]) -> Any:
    """SQLAlchemy's bind processor of ``column`` on SQLite (None: binds values as they are)."""
    return column.type.dialect_impl(DIALECT).bind_processor(DIALECT)


def outcome(convert: Any, value: Any) -> tuple[str, Any]:
    try:
        return ("value", convert(value))
    except (ValueError, TypeError, OverflowError) as exc:
        return ("error", type(exc))


COLUMNS = [*BOOKINGS.columns, *PLANNED.columns]


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: f"{c.table.name}.{c.name}")
@settings(max_examples=80, deadline=None)
@given(value=anything)
def test_each_fast_converter_binds_what_sqlalchemy_binds_or_hands_over(column, value):
    fast = bulk.converter(column, DIALECT) or (lambda v: v)
    try:
        converted = fast(value)
    except bulk.Unhandled:
        return  # SQLAlchemy's turn: whatever it does is what happens
    process = library(column)
    assert outcome(process or (lambda v: v), value) == ("value", converted)


@settings(max_examples=500, deadline=None)
@given(value=aware)
def test_every_aware_datetime_takes_the_fast_way(value):
    try:
        fast = bulk.utc_text(value)
    except bulk.Unhandled:  # only where UTC is past year 1 or 9999: SQLAlchemy refuses it
        with pytest.raises(OverflowError):
            library(BOOKINGS.c.start_at)(value)
    else:
        assert fast == library(BOOKINGS.c.start_at)(value)
        assert bulk.utc_text(value) == fast  # again: the memo of the last one


@given(value=st.dates())
def test_every_date_takes_the_fast_way(value):
    assert bulk.date_text(value) == library(BOOKINGS.c.start_day)(value)


def test_naive_datetimes_are_left_to_sqlalchemy_which_refuses_them(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    naive = booking()
    object.__setattr__(naive, "created_at", datetime(2026, 1, 1))  # past the record's check
    with pytest.raises(sa.exc.StatementError, match="must be timezone-aware"):
        store.save_bookings([naive])
    assert store.bookings() == []
    store.close()


def raw(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` as SQLite holds it (with each value's storage class)."""
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        typed = ", ".join(f"{c}, typeof({c})" for c in columns)
        return conn.execute(f"SELECT {typed} FROM {table} ORDER BY 1").fetchall()


def planned(i: int, start: datetime, all_day: bool) -> PlannedContact:
    day = start.date()
    return PlannedContact(
        key=f"C{i}:check_in:1",
        customer_id=f"C{i}",
        customer_name=f"Customer {i} “Ü”",
        owner="ana@example.com",
        kind=BookingKind.CHECK_IN,
        seq=i,
        title="Check-in",
        start=day if all_day else start,
        end=day + timedelta(days=1) if all_day else start + timedelta(minutes=30),
        all_day=all_day,
        day=day,
        ideal=day,
        window_start=day - timedelta(days=3),
        window_end=day + timedelta(days=3),
        status=PlanStatus.PLANNED,
        reasons=("due", f"reason {i} ✓") if i % 2 else (),
        forced=bool(i % 3),
        over_capacity=False,
        within_horizon=True,
    )


@settings(max_examples=20, deadline=None)
@given(starts=st.lists(aware, min_size=1, max_size=8), seen=st.booleans())
def test_bookings_and_plans_saved_either_way_are_the_same_rows(tmp_path_factory, starts, seen):
    folder = tmp_path_factory.mktemp("either")
    for way in ("fast", "library"):
        store = Store(f"sqlite:///{folder / way}.db")
        if way == "library":
            store._save_bookings.fast = store._save_plan.fast = False
        records = [
            booking(
                f"C{i}:check_in:1",
                start=s,
                end=s + timedelta(minutes=45),
                seen_at=s if seen else None,
                state=BookingState.PENDING if i % 2 else BookingState.BOOKED,
                reasons=("due",) * (i % 3),
                etag=None if i % 2 else f"etag-{i}",
            )
            for i, s in enumerate(starts)
        ]
        records.append(
            replace(
                records[0],
                key="C99:check_in:1",
                all_day=True,
                start=date(2027, 1, 4),
                end=date(2027, 1, 5),
            )
        )
        store.save_bookings(records)
        store.save_plan([planned(i, s, all_day=i == 1) for i, s in enumerate(starts)])
        store.close()
    for table in ("bookings", "planned_contacts"):
        assert raw(folder / "fast.db", table) == raw(folder / "library.db", table)


# UTCDateTime on SQLite as a statement uses it, and SQLAlchemy's own processor of it (the
# impl's, then process_result_value) that cadence's replaces there.
ADAPTED = UTCDateTime().dialect_impl(DIALECT)
library_read = TypeDecorator.result_processor(ADAPTED, DIALECT, None)


digits = st.sampled_from("0123456789")
stored_texts = st.one_of(
    # The form cadence stores, from any datetime (year 1 to 9999, any microsecond).
    st.datetimes().map(lambda d: d.isoformat(" ", "microseconds")),
    # Near misses: another separator, no fraction, a short fraction, an offset, a "Z", a day
    # or month that does not exist, a digit that is not ASCII, surrounding space.
    st.datetimes().map(lambda d: d.isoformat("T", "microseconds")),
    st.datetimes().map(lambda d: d.isoformat(" ", "seconds")),
    st.datetimes().map(lambda d: d.isoformat(" ", "milliseconds") + "+01"),
    st.datetimes().map(lambda d: d.isoformat(" ", "microseconds")[:-1] + "Z"),
    st.datetimes().map(lambda d: d.isoformat(" ", "microseconds")[:-1]),
    st.tuples(*[digits] * 20).map(
        lambda t: "{}{}{}{}-{}{}-{}{} {}{}:{}{}:{}{}.{}{}{}{}{}{}".format(*t)
    ),
    st.datetimes().map(lambda d: d.isoformat(" ", "microseconds").replace("1", "\uff11")),
    st.datetimes().map(lambda d: f" {d.isoformat(' ', 'microseconds')}"),
    st.text(max_size=30),
)


@settings(max_examples=1500, deadline=None)
@given(text=stored_texts)
def test_a_stored_datetime_reads_back_as_sqlalchemy_reads_it(text):
    fast = ADAPTED.result_processor(DIALECT, None)
    assert fast is not library_read
    assert read_outcome(fast, text) == read_outcome(library_read, text)
    assert read_outcome(fast, text) == read_outcome(library_read, text)  # again: the memo
    assert fast(None) is None


def read_outcome(read: Any, text: str) -> tuple[str, Any]:
    """The value read, or the kind of error (whatever it is: a text SQLAlchemy cannot read
    fails as it fails there)."""
    try:
        return ("value", read(text))
    except Exception as exc:
        return ("error", type(exc))


def test_saved_datetimes_read_back_aware_in_utc(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    start = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Lisbon"))
    store.save_bookings([booking("C1:check_in:1", start=start, end=start + timedelta(hours=1))])
    (read,) = store.bookings()
    assert read.start == start and read.start.tzinfo is UTC
    assert read.created_at.tzinfo is UTC
    store.close()
