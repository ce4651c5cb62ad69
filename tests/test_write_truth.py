"""An unconfirmed write is settled by reading the calendar back, on every backend (issue 18).

Customers are renamed and a new contact moves a check-in; the cycle that applies this has its
calendar write fail in one of two ways: the answer is lost after the backend applied the batch
(a timeout, a dropped connection, a process killed while waiting), or the batch never reaches
the backend. The next cycle must finish the job exactly: in the first case it sees the change in
the calendar (time and spec tag) and writes nothing, never taking cadence's own move for the
salesperson's; in the second it writes the change itself. Either way the cycle after writes
nothing, and the calendar holds the new titles at the new times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState, Contact, ContactKind
from connectors.base import TransientError
from tests.test_local_dates import FIRST, LOS_ANGELES, ROWS, TOKYO, workspace  # noqa: F401
from tests.workspace_kit import write_customers

APPLIED = FIRST + timedelta(hours=1)
AFTER = FIRST + timedelta(hours=3)  # past any backoff the failure asked for


def writes(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled


def renamed_rows() -> list[dict[str, str]]:
    return [{**row, "name": row["name"] + " Holdings"} for row in ROWS]


def titles(ws: Workspace, backend: str) -> dict[str, tuple[str, Any]]:
    calendar = ws.backend(backend)
    return {
        e.uid: (e.title, e.start)
        for owner in (TOKYO, LOS_ANGELES)
        for e in calendar.list_owned(owner)
    }


@pytest.mark.parametrize("fault", ["answer lost", "never sent"])
def test_a_write_without_an_answer_is_settled_by_reading_the_calendar_back(
    workspace,  # noqa: F811
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend, ws = workspace
    assert ws.run_cycle(FIRST).complete
    write_customers(ws.config.base_dir / "customers.csv", renamed_rows())
    ws.store.add_contacts(
        [Contact("T-1", ContactKind.CALL, FIRST - timedelta(hours=1), "log", "log:t1")]
    )
    calendar = ws.backend(backend)
    real_write = calendar.write

    def failing_write(owner: str, ops: Any) -> Any:
        if fault == "answer lost":
            real_write(owner, ops)
        raise TransientError(f"{fault} (test)")

    monkeypatch.setattr(calendar, "write", failing_write)
    failed = ws.run_cycle(APPLIED)
    assert set(failed.failed_owners) == {TOKYO, LOS_ANGELES}
    monkeypatch.undo()

    settled = ws.run_cycle(AFTER)

    assert settled.complete, settled.attention()
    if fault == "answer lost":
        assert writes(settled) == 0  # the calendar showed it done
    else:
        assert writes(settled) > 0  # written now
    assert writes(ws.run_cycle(AFTER + timedelta(minutes=15))) == 0
    records = ws.store.bookings()
    assert {r.state for r in records} == {BookingState.BOOKED}  # none taken for the owner's
    assert all(r.confirmed is None for r in records)
    shown = titles(ws, backend)
    live = {r.uid: r for r in records}
    assert set(shown) == set(live)
    for uid, (title, start) in shown.items():
        assert "Holdings" in title, (uid, title)
        assert start == live[uid].start
    moved = [p for p in ws.store.plan() if p.customer_id == "T-1" and p.within_horizon]
    assert any(p.reasons and "last contact 2026-11-23" in p.reasons[0] for p in moved)
