"""Work that follows the change, counted: the planning commands read the salespeople they plan.

``plan --changes`` after a policy edit plans the salespeople with customers in the edited
segment, and reads only their customers, their bookings and their busy time (read once, for
the plan and the decision alike); ``plan --customer``, ``plan --owner`` and ``explain`` read the
one salesperson's. A name that is not known still reads everyone, for the error's
did-you-mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cadence.sync.calendars
from cadence.app.cli import app
from cadence.store.repository import Store
from cadence.sync.workspace import Workspace
from tests.workspace_kit import BEN, NOW, customer_row, write_workspace

CAROL = "carol@example.com"  # owns customers, not in cadence.toml
LATER = (NOW + timedelta(hours=2)).isoformat()


def _rows() -> list[dict[str, str]]:
    rows = [customer_row(f"A{i}", last_contact=f"2026-10-{10 + i:02d}") for i in range(8)]
    rows += [
        customer_row(f"B{i}", owner=BEN, segment="default", last_contact=f"2026-09-{10 + i:02d}")
        for i in range(8)
    ]
    rows += [customer_row("C0", owner=CAROL, segment="default", last_contact="2026-08-01")]
    return rows


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Everyone booked, then a cycle that found nothing to do."""
    path = write_workspace(tmp_path, _rows(), backend="ics")
    for hours in (0, 1):
        ws = Workspace.open(path)
        ws.run_cycle(NOW + timedelta(hours=hours))
        ws.close()
    return path


class Reads:
    """What the store and the calendars were asked for."""

    def __init__(self) -> None:
        self.customers: list[str] = []  # the owners of each customer loaded
        self.customer_reads: list[Any] = []  # the ``owners`` of each Store.customers call
        self.whole_bookings = 0  # reads of every booking
        self.planned_with: list[set[str]] = []
        self.busy: list[str] = []


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    seen = Reads()
    customers, bookings, planned_with = Store.customers, Store.bookings, Store.bookings_planned_with
    read_busy = cadence.sync.calendars.read_busy

    def customers_spy(self: Store, owners: Iterable[str] | None = None) -> Any:
        owners = None if owners is None else set(owners)
        seen.customer_reads.append(owners)
        found = customers(self, owners)
        seen.customers += [c.owner for c in found]
        return found

    def bookings_spy(self: Store, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:
            seen.whole_bookings += 1
        return bookings(self, *args, **kwargs)

    def planned_with_spy(self: Store, owners: Iterable[str]) -> Any:
        seen.planned_with.append(set(owners))
        return planned_with(self, owners)

    def busy_spy(ws: Workspace, now: Any, owners: Iterable[str], *args: Any) -> Any:
        owners = list(owners)
        seen.busy += owners
        return read_busy(ws, now, owners, *args)

    monkeypatch.setattr(Store, "customers", customers_spy)
    monkeypatch.setattr(Store, "bookings", bookings_spy)
    monkeypatch.setattr(Store, "bookings_planned_with", planned_with_spy)
    monkeypatch.setattr(cadence.sync.calendars, "read_busy", busy_spy)
    yield seen


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--config", str(config), "--now", LATER])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_plan_changes_after_an_edit_reads_only_the_edited_segments_salespeople(
    config: Path, reads: Reads
) -> None:
    path = config.parent / "policies" / "segments.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('every = "quarter"', 'every = "10 weeks"'), encoding="utf-8")
    _cli(config, "plan", "--changes", "--json")
    # Ana has no customer in the default segment: nothing of hers is read.
    assert reads.customer_reads == [{BEN, CAROL}]
    assert sorted(reads.customers) == sorted([BEN] * 8 + [CAROL])
    assert reads.planned_with == [{BEN, CAROL}]  # once, for the plan and the decision
    assert reads.whole_bookings == 0
    assert sorted(reads.busy) == [BEN, CAROL]


def test_plan_changes_with_nothing_changed_reads_only_who_cannot_be_told(
    config: Path, reads: Reads
) -> None:
    out = _cli(config, "plan", "--changes")
    assert out.startswith("no changes")
    # Carol is not in cadence.toml: her calendar has no version to compare, she is planned.
    assert reads.customers == [CAROL] and reads.busy == [CAROL]
    assert reads.whole_bookings == 0


@pytest.mark.parametrize(
    "args", [["plan", "--customer", "B2"], ["plan", "--owner", BEN], ["explain", "B2"]]
)
def test_one_salespersons_commands_read_only_theirs(
    config: Path, reads: Reads, args: list[str]
) -> None:
    _cli(config, *args)
    assert set(reads.customers) == {BEN}
    assert reads.planned_with == [{BEN}]
    assert reads.whole_bookings == 0
    assert reads.busy == [BEN]


def test_a_customer_not_known_reads_everyone_for_the_closest_name(
    config: Path, reads: Reads
) -> None:
    result = CliRunner().invoke(
        app, ["plan", "--customer", "b2", "--config", str(config), "--now", LATER]
    )
    assert result.exit_code == 1
    assert "did you mean 'B2'?" in str(result.exception)
    assert reads.customer_reads == [None]


def test_plan_of_one_customer_is_that_customers_part_of_the_whole_plan(config: Path) -> None:
    whole = _cli(config, "plan", "--forecast")
    alone = _cli(config, "plan", "--forecast", "--customer", "B2")
    assert alone.strip()
    assert set(alone.splitlines()) == {line for line in whole.splitlines() if "B2" in line}
