"""Work that follows the change: one salesperson planned alone is their part of the whole plan.

``cadence explain`` and ``plan --customer`` plan the customer's salesperson alone
(:meth:`cadence.cycle.Workspace.plan` with ``owners``), reading only that salesperson's
customers, contacts and bookings: these tests hold that to the whole book's plan, customer by
customer, with bookings in calendars, a customer moved to another salesperson (their booking
left in the former owner's calendar) and one whose owner is not configured.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cadence.cycle
from cadence.cli import app
from cadence.cycle import Workspace
from cadence.planner import Plan, PlanInput
from tests.workspace_kit import ANA, BEN, NOW, customer_row, write_customers, write_workspace

CAROL = "carol@example.com"  # owns customers, not in cadence.toml


def _rows(moved: bool = False) -> list[dict[str, str]]:
    rows = [customer_row(f"A{i}", last_contact=f"2026-10-{10 + i:02d}") for i in range(12)]
    rows += [
        customer_row(f"B{i}", owner=BEN, last_contact=f"2026-09-{10 + i:02d}") for i in range(12)
    ]
    rows += [customer_row("C0", owner=CAROL, segment="default", last_contact="2026-08-01")]
    if moved:  # A3 goes to Ben: its booking stays in Ana's calendar until the diff moves it
        rows[3] = {**rows[3], "owner": BEN}
    return rows


@pytest.fixture
def booked(tmp_path: Path) -> Workspace:
    """A workspace whose first cycle booked everyone, then A3 moved from Ana to Ben."""
    config = write_workspace(tmp_path, _rows())
    ws = Workspace.open(config)
    ws.run_cycle(NOW)
    write_customers(tmp_path / "customers.csv", _rows(moved=True))
    ws.refresh_customers(NOW + timedelta(days=1))
    yield ws
    ws.close()


def _part(result: Plan, owner: str) -> list[object]:
    return [c for c in result.contacts if c.owner == owner]


def test_one_salesperson_planned_alone_is_their_part_of_the_whole_plan(booked: Workspace) -> None:
    later = NOW + timedelta(days=1, hours=2)
    whole = booked.plan(later, forecast=True)
    assert {c.owner for c in whole.contacts} == {ANA, BEN, CAROL}
    moved = [r for r in booked.store.bookings(customer_id="A3") if r.owner == ANA]
    assert moved, "the moved customer's booking is still in Ana's calendar"
    for owner in (ANA, BEN, CAROL):
        alone = booked.plan(later, forecast=True, owners={owner})
        assert alone.contacts == _part(whole, owner)
        theirs = {c.id for c in booked.store.customers() if c.owner == owner}
        assert {k: v for k, v in whole.notes.items() if k in theirs} == alone.notes


def test_explain_plans_only_the_customers_salesperson(
    booked: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[PlanInput] = []
    real = cadence.cycle.plan

    def spy(inp: PlanInput) -> Plan:
        planned.append(inp)
        return real(inp)

    monkeypatch.setattr(cadence.cycle, "plan", spy)
    config = booked.config.base_dir / "cadence.toml"
    for args in (["explain", "B2"], ["plan", "--customer", "B2"]):
        planned.clear()
        result = CliRunner().invoke(
            app, [*args, "--config", str(config), "--now", (NOW + timedelta(days=1)).isoformat()]
        )
        assert result.exit_code == 0, result.output
        [inp] = planned
        assert {c.owner for c in inp.customers} == {BEN}
        assert len(inp.customers) == 13  # Ben's twelve and A3, moved to him
        assert {b.customer_id for b in inp.bookings} <= {c.id for c in inp.customers}
        assert set(inp.contacts) <= {c.id for c in inp.customers}
