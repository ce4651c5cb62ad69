"""Work that follows the change: one salesperson planned alone is their part of the whole plan.

``cadence explain`` and ``plan --customer`` plan the customer's salesperson alone
(:meth:`cadence.sync.workspace.Workspace.plan` with ``owners``), reading only that salesperson's
customers, contacts and bookings: these tests hold that to the whole book's plan, customer by
customer, with bookings in calendars, a customer moved to another salesperson (their booking
left in the former owner's calendar) and one whose owner is not configured.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from typer.testing import CliRunner

import cadence.sync.calendars
import cadence.sync.incremental
import cadence.sync.workspace
from cadence.app.cli import app
from cadence.planner import Plan, PlanInput
from cadence.sync.workspace import Workspace
from cadence.values.model import Contact, ContactKind
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
    real = cadence.sync.workspace.plan

    def spy(inp: PlanInput) -> Plan:
        planned.append(inp)
        return real(inp)

    monkeypatch.setattr(cadence.sync.workspace, "plan", spy)
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


# ---- the incremental cycle against the whole cycle ------------------------------------------

STEPS = [timedelta(minutes=5), timedelta(hours=1), timedelta(hours=7), timedelta(days=1)]


def _world(folder: Path) -> Path:
    rows = _rows()
    rows[5] = {**rows[5], "timezone": "Asia/Tokyo", "country": "JP"}
    rows[14] = {**rows[14], "timezone": "America/New_York", "country": "US"}
    return write_workspace(folder, rows, backend="ics")


def _edit(rng: random.Random, folders: list[Path], now: datetime) -> str:
    """One random edit, made alike in every folder (or in both stores: see the callers)."""
    kind = rng.choice(["none", "none", "log", "customers", "policy", "calendar", "busy"])
    if kind == "customers":
        rows = _rows(moved=rng.random() < 0.5)
        i = rng.randrange(len(rows))
        rows[i] = {**rows[i], "segment": rng.choice(["steady", "default"])}
        for folder in folders:
            write_customers(folder / "customers.csv", rows)
    elif kind == "policy":
        every = rng.choice(["4 weeks", "5 weeks", "3 weeks"])
        for folder in folders:
            path = folder / "policies" / "segments.toml"
            text = path.read_text(encoding="utf-8")
            head, _, tail = text.partition('every = "')
            path.write_text(head + f'every = "{every}' + tail[tail.index('"') :], "utf-8")
    elif kind in ("calendar", "busy"):
        owner = rng.choice([ANA, BEN])
        files = [folder / "calendars" / f"{owner}.ics" for folder in folders]
        if not files[0].exists():
            return "none"
        cal = icalendar.Calendar.from_ical(files[0].read_bytes())
        events = [c for c in cal.subcomponents if c.name == "VEVENT"]
        if kind == "calendar" and events:  # the salesperson deletes one of cadence's events
            cal.subcomponents.remove(rng.choice(events))
        else:  # ... or adds a meeting of their own, soon
            ev = icalendar.Event()
            ev.add("UID", f"own-{rng.randrange(10**9)}@example.com")
            start = now + timedelta(hours=rng.randrange(1, 72))
            ev.add("DTSTART", start.replace(second=0, microsecond=0))
            ev.add("DTEND", start.replace(second=0, microsecond=0) + timedelta(hours=1))
            ev.add("SUMMARY", "own meeting")
            cal.add_component(ev)
        data = cal.to_ical()
        for path in files:
            path.write_bytes(data)
    return kind


def _bookings(ws: Workspace) -> list[object]:
    # the etag hashes the event, whose DTSTAMP is the wall clock: the rest must be equal
    return [dataclasses.replace(r, etag=None) for r in ws.store.bookings()]


def _calendar(folder: Path, owner: str) -> list[str]:
    path = folder / "calendars" / f"{owner}.ics"
    if not path.exists():
        return []
    stamps = ("DTSTAMP", "CREATED", "LAST-MODIFIED")
    return [x for x in path.read_text().splitlines() if not x.startswith(stamps)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_cycle_ends_exactly_as_the_whole_cycle(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random edits (contacts logged, customers reassigned or re-segmented, a policy edited,
    cadence's events deleted, the salesperson's own meetings added) and random steps of time
    (minutes to days, across midnights): after every cycle the incremental workspace's bookings,
    plan, calendar files and counts are those of a workspace that re-plans everyone."""
    rng = random.Random(seed)
    folders = [tmp_path / "whole", tmp_path / "incremental"]
    configs = [_world(folder) for folder in folders]
    now = NOW
    synced = [0, 0]
    quiet_cycles = 0
    real = cadence.sync.calendars.read_owned
    counting: list[int] = [0]  # which workspace's calendars are being read

    def counted(*args: Any, **kwargs: Any) -> None:
        synced[counting[0]] += 1
        real(*args, **kwargs)

    monkeypatch.setattr(cadence.sync.calendars, "read_owned", counted)
    for step in range(14):
        edit = _edit(rng, folders, now) if step else "none"
        results = []
        for i, config in enumerate(configs):
            ws = Workspace.open(config)  # each cycle in a fresh process, as run --once
            try:
                ws.incremental = i == 1
                if edit == "log":
                    rng_copy = random.Random(seed * 1000 + step)
                    who = rng_copy.choice(["A1", "A7", "B2", "C0"])
                    ws.store.add_contacts(
                        [Contact(who, ContactKind.CALL, now - timedelta(hours=1), "log", "")]
                    )
                counting[0] = i
                result = ws.run_cycle(now)
                results.append(
                    (
                        result.created,
                        result.moved,
                        result.cancelled,
                        result.unchanged,
                        sorted(result.failed_owners),
                        sorted(result.skipped_customers),
                        _bookings(ws),
                        ws.store.plan(),
                        [_calendar(config.parent, o) for o in (ANA, BEN, CAROL)],
                    )
                )
            finally:
                ws.close()
        whole, incremental = results
        assert incremental == whole, f"seed {seed}, step {step} ({edit}) at {now}"
        if synced[1] - synced[0] < 0:
            quiet_cycles += 1
        synced[:] = [0, 0]
        now += rng.choice(STEPS)
    assert quiet_cycles, "the incremental workspace never left anyone alone: nothing was tested"


def test_the_digest_is_the_same_in_every_process(tmp_path: Path) -> None:
    """``run --once`` is a new process each time, with its own string hashing: a set's order
    (the policy's ``counts``) must not change what the inputs hash to."""
    config = _world(tmp_path)
    script = (
        "import sys; from cadence.sync.workspace import Workspace;"
        "from cadence.sync.incremental import stable;"
        "ws = Workspace.open(sys.argv[1]); print(stable((ws.policies, ws.config.salespeople)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(config)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1
    assert "email_out" in outputs.pop()


def test_plan_changes_after_a_policy_edit_plans_only_that_segments_salespeople(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows()
    rows = [{**r, "segment": "default"} if r["owner"] == BEN else r for r in rows]
    config = write_workspace(tmp_path, rows, backend="ics")
    for hours in (0, 1):  # the first cycle books; the second finds nothing to do
        ws = Workspace.open(config)
        ws.run_cycle(NOW + timedelta(hours=hours))
        ws.close()
    path = tmp_path / "policies" / "segments.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('every = "quarter"', 'every = "10 weeks"'), encoding="utf-8")

    planned: list[PlanInput] = []
    real = cadence.sync.workspace.plan

    def spy(inp: PlanInput) -> Plan:
        planned.append(inp)
        return real(inp)

    monkeypatch.setattr(cadence.sync.workspace, "plan", spy)
    args = ["plan", "--changes", "--json", "--config", str(config), "--now"]
    args.append((NOW + timedelta(hours=2)).isoformat())
    incremental = CliRunner().invoke(app, args)
    assert incremental.exit_code == 0, incremental.output
    [inp] = planned
    assert {c.owner for c in inp.customers} == {BEN, CAROL}  # Ana has no customer in default
    # The same changes as planning everyone.
    monkeypatch.setattr(
        cadence.sync.incremental.Tracker, "split", lambda self, owners: (owners, {})
    )
    whole = CliRunner().invoke(app, args)
    assert whole.exit_code == 0, whole.output
    assert {c.owner for c in planned[1].customers} == {ANA, BEN, CAROL}
    assert incremental.stdout == whole.stdout
    assert '"owner": "ben@example.com"' in whole.stdout  # the edit changes Ben's bookings
