"""The store's scoped reads, and a cycle that does not store again what it stored before."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cadence.store.repository import Store
from cadence.sync.workspace import Workspace
from cadence.values.bookings import BookingRecord
from cadence.values.model import BookingKind, BookingState, Contact, ContactKind, Customer
from tests.workspace_kit import NOW, customer_row, write_workspace

AT = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def _store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'cadence.db'}")


def _record(key: str, start: datetime | date, end: datetime | date, **kw: object) -> BookingRecord:
    fields: dict[str, object] = {
        "key": key,
        "uid": f"uid-{key}",
        "customer_id": key.split(":")[0],
        "owner": "ana@example.com",
        "kind": BookingKind.CHECK_IN,
        "backend": "memory",
        "start": start,
        "end": end,
        "all_day": isinstance(start, date) and not isinstance(start, datetime),
        "state": BookingState.BOOKED,
        "created_at": AT,
        "updated_at": AT,
    }
    fields.update(kw)
    return BookingRecord(**fields)  # type: ignore[arg-type]


def test_bookings_ending_after_leave_out_the_past_and_keep_every_one_not_over(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    hour = timedelta(hours=1)
    records = [
        _record("c1:check_in:1", AT - 2 * hour, AT - hour),  # over
        _record("c1:check_in:2", AT - hour, AT),  # ends at `at`: over
        _record("c1:check_in:3", AT - hour, AT + hour),  # in progress
        _record("c1:check_in:4", AT + hour, AT + 2 * hour),
        _record("c1:check_in:5", AT + hour, AT + 2 * hour, state=BookingState.DELETED),
        _record("c2:anniversary_reminder:1", date(2027, 3, 8), date(2027, 3, 9)),  # over
        # ends on the UTC day of `at`: over there, not yet in a zone behind UTC
        _record("c2:anniversary_reminder:2", date(2027, 3, 9), date(2027, 3, 10)),
        _record("c2:anniversary_reminder:3", date(2027, 3, 12), date(2027, 3, 13)),
    ]
    store.save_bookings(records)
    ahead = store.bookings_ending_after(AT)
    assert [r.key for r in ahead] == [
        "c1:check_in:3",
        "c1:check_in:4",
        "c1:check_in:5",
        "c2:anniversary_reminder:2",
        "c2:anniversary_reminder:3",
    ]
    assert ahead == [r for r in store.bookings() if r.key in {a.key for a in ahead}]
    live = store.bookings_ending_after(AT, states=(BookingState.BOOKED,))
    assert [r.key for r in live] == [
        "c1:check_in:3",
        "c1:check_in:4",
        "c2:anniversary_reminder:2",
        "c2:anniversary_reminder:3",
    ]


def test_contact_times_are_those_of_one_source_and_the_customers_asked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert_customers(
        [Customer(id=i, name=i, owner="ana@example.com") for i in ("c1", "c2", "c3")]
    )
    store.add_contacts(
        [
            Contact("c1", ContactKind.MEETING, AT, "booking", "c1:check_in:1"),
            Contact("c1", ContactKind.CALL, AT + timedelta(days=1), "booking", "c1:winback:1"),
            Contact("c2", ContactKind.MEETING, AT, "booking", "c2:check_in:1"),
            Contact("c1", ContactKind.MEETING, AT, "sim", "x"),
            Contact("c1", ContactKind.CALL, AT, "cli"),  # no source id
        ]
    )
    assert store.contact_times("booking", ["c1", "c3"]) == {
        ("c1", "c1:check_in:1"): AT,
        ("c1", "c1:winback:1"): AT + timedelta(days=1),
    }
    assert store.contact_times("sim", ["c1", "c2"]) == {("c1", "x"): AT}
    assert store.has_customers() and store.has_customers("ana@example.com")
    assert not store.has_customers("ben@example.com")


def test_a_past_booking_becomes_a_contact_once_not_every_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [customer_row(f"A{i}", last_contact="2026-10-01") for i in range(6)]
    ws = Workspace.open(write_workspace(tmp_path, rows))
    added: list[list[Contact]] = []
    real = Store.add_contacts

    def spy(self: Store, contacts: Iterable[Contact]) -> int:
        contacts = list(contacts)
        added.append([c for c in contacts if c.source == "booking"])
        return real(self, contacts)

    monkeypatch.setattr(Store, "add_contacts", spy)
    try:
        ws.run_cycle(NOW)
        later = NOW + timedelta(days=100)  # every booking of the first cycle is over
        ws.run_cycle(later)
        held = [c for batch in added for c in batch]
        assert held and {c.customer_id for c in held} == {f"A{i}" for i in range(6)}
        added.clear()
        ws.run_cycle(later + timedelta(hours=1))
        assert [c for batch in added for c in batch] == []
        assert len(ws.store.contacts()) == len(held)
    finally:
        ws.close()
