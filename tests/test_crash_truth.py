"""Crash truth: what was written is what is recorded (issue 18, SPEC 5.11).

A cycle is killed (SIGKILL, in a forked child: no ``finally`` runs, nothing is flushed) at a
random point while it applies renames, moves after a new contact, or an invitation switch: just
before or just after a store transaction or a calendar write. Clean cycles then run. Every
intended change must be in the calendar exactly as an uninterrupted twin has it, with no
duplicate event, and the second clean cycle must write nothing. The points are drawn from a
seeded generator, so a failure names its seed and replays.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from cadence.store.repository import Store
from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import Contact, ContactKind
from connectors.base import BackendError
from connectors.ics import writing as ics_writing
from connectors.ics.backend import IcsBackend
from tests.workspace_kit import ANA, BEN, NOW, POLICIES, customer_row, write_customers

LATER = NOW + timedelta(hours=1)
CUSTOMERS = 16
CRASHES_PER_SCENARIO = 4


def rows(renamed: bool = False) -> list[dict[str, str]]:
    return [
        customer_row(
            f"C{i:02d}",
            name=f"Customer C{i:02d}" + (" Group" if renamed and i % 2 else ""),
            owner=ANA if i % 2 else BEN,
        )
        for i in range(CUSTOMERS)
    ]


def rename(folder: Path) -> None:
    write_customers(folder / "customers.csv", rows(renamed=True))


def new_contacts(folder: Path) -> None:
    ws = Workspace.open(folder / "cadence.toml")
    try:
        ws.store.add_contacts(
            Contact(f"C{i:02d}", ContactKind.MEETING, NOW - timedelta(days=1), "log", f"log:{i}")
            for i in range(0, CUSTOMERS, 3)
        )
    finally:
        ws.close()


def invite_customers(folder: Path) -> None:
    defaults = folder / "policies" / "defaults.toml"
    defaults.write_text(defaults.read_text() + "invite_customer = true\n")


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "rename": rename,
    "contact": new_contacts,
    "invite": invite_customers,
}


@pytest.fixture(scope="module")
def booked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace on the .ics backend after its first cycle: every customer booked."""
    from tests.workspace_kit import write_workspace

    folder = tmp_path_factory.mktemp("booked")
    write_workspace(folder, rows(), backend="ics", policies=POLICIES)
    result = cycle(folder, NOW)
    assert result.complete and result.created > 0
    return folder


def cycle(folder: Path, now: datetime) -> CycleResult:
    ws = Workspace.open(folder / "cadence.toml")
    try:
        return ws.run_cycle(now)
    finally:
        ws.close()


def writes(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled


@dataclass
class KillSwitch:
    """Counts store transactions and calendar writes; at call ``at`` kills the process, before
    the call runs or after it returned."""

    at: int
    after: bool
    calls: int = 0
    seen: list[str] | None = None  # names of the calls, when recording

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(args[1:]) and not any(kwargs.values()):
                return function(*args, **kwargs)  # nothing to save: not a point of interest
            self.calls += 1
            if self.seen is not None:
                self.seen.append(function.__name__)
            if self.calls == self.at and not self.after:
                os.kill(os.getpid(), signal.SIGKILL)
            value = function(*args, **kwargs)
            if self.calls == self.at and self.after:
                os.kill(os.getpid(), signal.SIGKILL)
            return value

        return wrapped


def crashed_cycle(folder: Path, switch: KillSwitch) -> bool:
    """One cycle in a forked child under ``switch``; True when it was killed."""
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            Store.save_bookings = switch.wrap(Store.save_bookings)  # type: ignore[method-assign]
            IcsBackend.write = switch.wrap(IcsBackend.write)  # type: ignore[method-assign]
            cycle(folder, LATER)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def counted_calls(folder: Path) -> list[str]:
    """The store transactions and writes an uninterrupted cycle makes here, in order."""
    switch = KillSwitch(at=-1, after=False, seen=[])
    saved = (Store.save_bookings, IcsBackend.write)
    Store.save_bookings = switch.wrap(Store.save_bookings)  # type: ignore[method-assign]
    IcsBackend.write = switch.wrap(IcsBackend.write)  # type: ignore[method-assign]
    try:
        cycle(folder, LATER)
    finally:
        Store.save_bookings, IcsBackend.write = saved  # type: ignore[method-assign]
    assert switch.seen is not None
    return switch.seen


def calendar(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every event in the .ics calendars by uid: owner, title, time, attendees, status.
    Asserts no uid appears twice."""
    events: dict[str, tuple[Any, ...]] = {}
    for path in sorted((folder / "calendars").glob("*.ics")):
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        for ev in cal.walk("VEVENT"):
            uid = str(ev["UID"])
            assert uid not in events, f"{uid} twice"
            attendees = ev.get("ATTENDEE", [])
            if not isinstance(attendees, list):
                attendees = [attendees]
            events[uid] = (
                path.name,
                str(ev["SUMMARY"]),
                ev.decoded("DTSTART"),
                ev.decoded("DTEND"),
                sorted(str(a) for a in attendees),
                str(ev.get("STATUS", "")),
            )
    return events


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_killed_cycle_is_finished_by_the_next_and_then_nothing_is_written(
    scenario: str, booked: Path, tmp_path: Path
) -> None:
    edit = SCENARIOS[scenario]
    twin = tmp_path / "twin"
    shutil.copytree(booked, twin)
    edit(twin)
    calls = counted_calls(twin)  # the uninterrupted run, which also makes the expected calendar
    assert cycle(twin, LATER).complete
    expected = calendar(twin)
    assert writes(cycle(twin, LATER)) == 0

    rng = random.Random(f"crash-truth-{scenario}")
    killed = 0
    for run in range(CRASHES_PER_SCENARIO):
        folder = tmp_path / f"run{run}"
        shutil.copytree(booked, folder)
        edit(folder)
        # One or two crashes in a row, each at its own point, before the clean cycles; the
        # first run dies where it hurts most: intents stored, the calendar write not sent.
        points = [
            KillSwitch(at=rng.randint(1, len(calls)), after=rng.random() < 0.5)
            for _ in range(rng.choice((1, 2)))
        ]
        if run == 0:
            points[0] = KillSwitch(at=calls.index("write") + 1, after=False)
        for switch in points:
            killed += crashed_cycle(folder, switch)
        first = cycle(folder, LATER)
        assert first.complete, first.attention()
        second = cycle(folder, LATER)
        where = f"seed crash-truth-{scenario}, run {run}, kill points {points}"
        assert writes(second) == 0, where
        assert calendar(folder) == expected, where
    assert killed >= CRASHES_PER_SCENARIO  # the kills did happen


def test_renames_refused_by_the_disk_are_applied_as_soon_as_it_takes_them(
    booked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    twin, folder = tmp_path / "twin", tmp_path / "full"
    for each in (twin, folder):
        shutil.copytree(booked, each)
        rename(each)
    renamed = cycle(twin, LATER).moved
    assert renamed > 0
    expected = calendar(twin)

    errors = iter(
        ["[Errno 28] No space left on device"] * 2 + ["[Errno 30] Read-only file system"] * 2
    )

    def refused(path: Path, data: bytes) -> None:
        raise BackendError(f"cannot write {path}: {next(errors)}")

    caplog.set_level(logging.INFO, logger="cadence")
    ws = Workspace.open(folder / "cadence.toml")  # one workspace, as in the daemon
    try:
        with monkeypatch.context() as patched:
            patched.setattr(ics_writing, "replace_file", refused)
            for minutes in range(4):  # a local failure is retried every cycle
                failed = ws.run_cycle(LATER + timedelta(minutes=minutes))
                assert list(failed.failed_owners) == [ANA]
        freed = ws.run_cycle(LATER + timedelta(minutes=4))  # no backoff to wait out
        assert freed.complete and freed.moved == renamed
        assert writes(ws.run_cycle(LATER + timedelta(minutes=5))) == 0
    finally:
        ws.close()

    assert calendar(folder) == expected
    messages = [r.getMessage() for r in caplog.records]
    # Each distinct failure is logged once when it starts, and once when it clears.
    assert len([m for m in messages if "No space left" in m]) == 1
    assert len([m for m in messages if "Read-only file system" in m]) == 1
    assert messages.count(f"ics: {ANA} works again") == 1
