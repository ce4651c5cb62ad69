"""One full cycle against real backends (memory and ics), with salespeople acting in between.

Each test lays out a workspace in a temporary folder (tests/workspace_kit.py), runs
:meth:`Workspace.run_cycle` at fixed moments, and looks at what the calendar holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cadence.app.cli import app
from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState, Contact, ContactKind
from connectors.base import AuthError, RemoteEvent, TransientError
from connectors.memory import MemoryBackend, MemoryPerson
from tests.test_backend_ics import IcsPerson
from tests.workspace_kit import (
    ANA,
    BEN,
    NOW,
    POLICIES,
    customer_row,
    write_customers,
    write_workspace,
)

BACKENDS = ["memory", "ics"]


class World:
    """A workspace, its backend and the salesperson acting in the calendar."""

    def __init__(
        self, folder: Path, rows: list[dict[str, str]], backend: str, horizon: str = "90 days"
    ) -> None:
        self.folder = folder
        self.config = write_workspace(folder, rows, backend=backend, horizon=horizon)
        self.ws = Workspace.open(self.config)
        self.backend = self.ws.backend(backend)
        if backend == "memory":
            assert isinstance(self.backend, MemoryBackend)
            self.person: Any = MemoryPerson(self.backend)
        else:
            self.person = IcsPerson(folder / "calendars")

    def cycle(self, now: datetime = NOW) -> CycleResult:
        return self.ws.run_cycle(now)

    def events(self, owner: str = ANA) -> list[RemoteEvent]:
        return self.backend.list_owned(owner)

    def event_of(self, customer: str, owner: str = ANA) -> list[RemoteEvent]:
        return sorted(
            (e for e in self.events(owner) if e.tags.get("customer") == customer),
            key=lambda e: e.start,
        )

    def calendar_bytes(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((self.folder / "calendars").glob("*.ics"))}

    def writes(self) -> Any:
        """Something that changes whenever the calendar is written."""
        if isinstance(self.backend, MemoryBackend):
            return dict(self.backend.ops)
        return self.calendar_bytes()


@pytest.fixture
def worlds(tmp_path: Path) -> Iterator[Any]:
    opened: list[World] = []

    def make(
        rows: list[dict[str, str]], backend: str = "memory", horizon: str = "90 days"
    ) -> World:
        world = World(tmp_path / f"w{len(opened)}", rows, backend, horizon)
        opened.append(world)
        return world

    yield make
    for world in opened:
        world.ws.close()


def three_customers() -> list[dict[str, str]]:
    return [
        customer_row("C1"),
        customer_row("C2", last_contact="2026-11-09"),
        customer_row("C3"),
    ]


def local_day(ev: RemoteEvent) -> date:
    assert isinstance(ev.start, datetime)
    return ev.start.date()  # London is UTC in winter


# ---- stability ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_cycle_books_and_second_cycle_writes_nothing(worlds: Any, backend: str) -> None:
    w = worlds(three_customers(), backend)
    first = w.cycle()
    # every 4 weeks over a 90-day horizon: three check-ins per customer
    assert (first.created, first.moved, first.cancelled, first.unchanged) == (9, 0, 0, 0)
    assert len(w.events()) == 9
    before = w.writes()
    second = w.cycle(NOW + timedelta(hours=1))
    assert (second.created, second.moved, second.cancelled, second.unchanged) == (0, 0, 0, 9)
    assert w.writes() == before


def test_backends_live_in_the_cycles_moment_and_in_real_time_outside_it(worlds: Any) -> None:
    # A run with --now (demos, simulations, tests) must be wholly in that moment: an
    # invitation's backoff or a DTSTAMP taken from the real clock made runs depend on load.
    w = worlds(three_customers())
    seen: list[datetime] = []
    listed = w.backend.list_owned

    def list_owned(owner: str) -> Any:
        seen.append(w.backend.context.now())
        return listed(owner)

    w.backend.list_owned = list_owned  # type: ignore[method-assign]
    w.cycle(NOW + timedelta(days=400))
    assert seen and set(seen) == {NOW + timedelta(days=400)}
    assert abs(w.backend.context.now() - datetime.now(UTC)) < timedelta(minutes=5)


def test_unchanged_world_makes_no_write_calls_at_all(worlds: Any) -> None:
    w = worlds(three_customers())
    w.cycle()
    writes = w.backend.calls["write"]
    w.cycle(NOW + timedelta(hours=1))
    w.cycle(NOW + timedelta(days=1))
    assert w.backend.calls["write"] == writes
    assert w.backend.ops == {"create": 9}


# ---- people win -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_booking_moved_by_the_salesperson_keeps_its_new_time(worlds: Any, backend: str) -> None:
    w = worlds(three_customers(), backend)
    w.cycle()
    first = w.event_of("C1")[0]
    new_start = datetime(2026, 12, 2, 15, 0, tzinfo=first.start.tzinfo)
    w.person.move(ANA, first.uid, new_start, new_start + timedelta(minutes=30))
    before = w.writes()
    result = w.cycle(NOW + timedelta(hours=1))
    assert (result.created, result.moved, result.cancelled) == (0, 0, 0)
    assert w.writes() == before
    [moved] = [e for e in w.events() if e.uid == first.uid]
    assert moved.start == new_start
    [record] = [r for r in w.ws.store.bookings(customer_id="C1") if r.uid == first.uid]
    assert record.state is BookingState.MOVED_BY_OWNER
    assert record.start == new_start


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("refusal", ["delete", "decline"])
def test_refused_booking_is_retried_no_sooner_than_retry_after_with_a_new_uid(
    worlds: Any, backend: str, refusal: str
) -> None:
    w = worlds(three_customers(), backend)
    w.cycle()
    first = w.event_of("C1")[0]
    refused_day = local_day(first)
    getattr(w.person, refusal)(ANA, first.uid)
    seen_at = NOW + timedelta(hours=1)
    w.cycle(seen_at)
    [record] = [r for r in w.ws.store.bookings(customer_id="C1") if r.uid == first.uid]
    assert record.state is (BookingState.DELETED if refusal == "delete" else BookingState.DECLINED)
    assert record.seen_at == seen_at
    # The next attempt is dated no sooner than retry_after (1 week after the refusal was seen),
    # never on the refused day, and is a new event (a new key, so a new uid).
    retry_from = seen_at.date() + timedelta(weeks=1)
    [replacement] = [e for e in w.event_of("C1") if e.tags["key"] == f"{record.key}.r1"]
    assert replacement.uid != first.uid
    assert local_day(replacement) >= retry_from
    assert local_day(replacement) != refused_day
    # Later cycles keep the replacement and never bring the refused event back.
    for later in (NOW + timedelta(days=3), NOW + timedelta(days=8)):
        w.cycle(later)
        uids = {e.uid for e in w.event_of("C1") if e.status == "confirmed"}
        assert replacement.uid in uids
        assert first.uid not in uids


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_cadence_did_not_create_is_never_touched(worlds: Any, backend: str) -> None:
    w = worlds(three_customers(), backend)
    start = datetime(2026, 11, 30, 9, 0, tzinfo=NOW.tzinfo)
    own = w.person.add_event(ANA, start, start + timedelta(hours=8), title="Offsite")
    w.cycle()
    w.cycle(NOW + timedelta(days=1))
    # not listed as cadence's, not moved, not deleted; and nothing booked on top of it
    assert own not in {e.uid for e in w.events()}
    busy = w.backend.busy(ANA, start - timedelta(days=1), start + timedelta(days=1))
    assert [(b.start, b.end) for b in busy] == [(start, start + timedelta(hours=8))]
    for e in w.events():
        assert not (e.start < start + timedelta(hours=8) and e.end > start)


def test_meeting_in_progress_is_left_alone_and_counts_as_a_contact(worlds: Any) -> None:
    w = worlds(three_customers())
    w.cycle()
    first = w.event_of("C1")[0]
    w.cycle(first.start - timedelta(hours=1))  # catch up with the horizon first
    ops = dict(w.backend.ops)
    # the daemon runs every 15 minutes: one of its cycles falls inside every meeting
    during = w.cycle(first.start + timedelta(minutes=10))
    assert (during.moved, during.cancelled) == (0, 0)
    assert (w.backend.ops["update"], w.backend.ops["cancel"]) == (
        ops.get("update", 0),
        ops.get("cancel", 0),
    )
    [still] = [e for e in w.events() if e.uid == first.uid]
    assert (still.start, still.etag) == (first.start, first.etag)
    w.cycle(first.end + timedelta(minutes=5))
    held = [c for c in w.ws.store.contacts("C1") if c.source == "booking"]
    assert [(c.at, c.source_id) for c in held] == [(first.start, first.tags["key"])]


# ---- failures -------------------------------------------------------------------------------


def test_lost_response_after_create_ends_with_exactly_one_event_per_key(worlds: Any) -> None:
    w = worlds(three_customers())
    w.backend.drop_response_after_write()
    first = w.cycle()
    assert ANA in first.failed_owners
    assert w.backend.ops == {"create": 9}  # the writes happened; the answer was lost
    assert {r.state for r in w.ws.store.bookings()} == {BookingState.PENDING}
    second = w.cycle(NOW + timedelta(minutes=5))  # past the backoff
    assert second.failed_owners == {}
    assert (second.created, second.moved, second.cancelled) == (0, 0, 0)
    assert w.backend.ops == {"create": 9}
    records = w.ws.store.bookings()
    assert {r.state for r in records} == {BookingState.BOOKED}
    assert sorted(e.uid for e in w.events()) == sorted(r.uid for r in records)
    assert len(w.events()) == 9


def test_lost_response_in_mid_batch_is_completed_without_duplicates(worlds: Any) -> None:
    w = worlds(three_customers())
    w.backend.drop_response_after_write(after_ops=4)
    w.cycle()
    assert w.backend.ops == {"create": 4}
    second = w.cycle(NOW + timedelta(minutes=5))
    assert second.created == 5
    assert w.backend.ops == {"create": 9}
    assert len({e.tags["key"] for e in w.events()}) == len(w.events()) == 9


@pytest.mark.parametrize(
    "error", [TransientError("503 from the calendar"), AuthError("token expired")]
)
def test_one_failing_salesperson_does_not_stop_the_others(worlds: Any, error: Exception) -> None:
    rows = [*three_customers(), customer_row("B1", owner=BEN), customer_row("B2", owner=BEN)]
    w = worlds(rows)
    w.backend.fail_next(BEN, error)
    first = w.cycle()
    assert list(first.failed_owners) == [BEN]
    assert len(w.events(ANA)) == 9
    assert w.events(BEN) == []
    assert first.created == 9
    soon = w.cycle(NOW + timedelta(seconds=10))
    if isinstance(error, AuthError):
        # Tried again on the very next cycle: access granted again is used at once (issue 11;
        # it used to wait 15 minutes).
        assert soon.failed_owners == {}
        assert soon.created == 6
        assert len(w.events(BEN)) == 6
        return
    # still backing off (30 s after a transient failure)
    assert list(soon.failed_owners) == [BEN]
    assert w.events(BEN) == []
    later = w.cycle(NOW + timedelta(hours=2))
    assert later.failed_owners == {}
    assert later.created == 6
    assert len(w.events(BEN)) == 6


# ---- reasons to move ------------------------------------------------------------------------


def log_call(w: World, customer: str, when: str) -> None:
    options = ["--config", str(w.config), "--now", NOW.isoformat()]
    out = CliRunner().invoke(app, ["log", customer, "--kind", "call", "--at", when, *options])
    assert out.exit_code == 0, out.output


def test_logged_contact_moves_the_next_check_in_to_the_new_rhythm(worlds: Any) -> None:
    # A 30-day horizon: one check-in per customer. A new contact is a reason to move (SPEC
    # 5.10): the next check-in follows the new last contact, the same calendar event updated.
    w = worlds(three_customers(), horizon="30 days")
    w.cycle()
    [c1_first] = w.event_of("C1")
    [c2_first] = w.event_of("C2")
    assert local_day(c1_first) == date(2026, 11, 30)  # 4 weeks after 2026-11-02
    assert local_day(c2_first) == date(2026, 12, 7)  # 4 weeks after 2026-11-09
    log_call(w, "C1", "yesterday 3pm")
    log_call(w, "C2", "21 November 2026 11:00")
    result = w.cycle(NOW + timedelta(hours=1))
    assert (result.created, result.moved, result.cancelled) == (0, 2, 0)
    assert w.backend.ops == {"create": 3, "update": 2}
    [c1_now] = w.event_of("C1")
    [c2_now] = w.event_of("C2")
    assert (c1_now.uid, c2_now.uid) == (c1_first.uid, c2_first.uid)
    # C1: 4 weeks after the call on 22 Nov is Sun 20 Dec; the nearest working day is Mon 21.
    assert local_day(c1_now) == date(2026, 12, 21), c1_now.start
    # C2: 4 weeks after 21 Nov is Sat 19 Dec; Fri 18 is nearer than Mon 21.
    assert local_day(c2_now) == date(2026, 12, 18), c2_now.start
    # Nothing changed since: the next cycle writes nothing.
    again = w.cycle(NOW + timedelta(hours=2))
    assert (again.created, again.moved, again.cancelled) == (0, 0, 0)


def test_logged_contact_shifts_the_whole_chain_of_check_ins(worlds: Any) -> None:
    w = worlds(three_customers())
    w.cycle()
    assert [local_day(e) for e in w.event_of("C1")] == [
        date(2026, 11, 30),
        date(2026, 12, 29),
        date(2027, 1, 26),
    ]
    log_call(w, "C1", "yesterday 3pm")
    result = w.cycle(NOW + timedelta(hours=1))
    # Every 4 weeks from the call on 22 Nov: Mon 21 Dec, Mon 18 Jan, Mon 15 Feb.
    assert [local_day(e) for e in w.event_of("C1")] == [
        date(2026, 12, 21),
        date(2027, 1, 18),
        date(2027, 2, 15),
    ]
    assert result.cancelled == 0 and result.moved + result.created == 3


def test_do_not_contact_cancels_future_bookings(worlds: Any) -> None:
    rows = three_customers()
    w = worlds(rows)
    w.cycle()
    assert len(w.event_of("C3")) == 3
    rows[2]["status"] = "do_not_contact"
    write_customers(w.folder / "customers.csv", rows)
    result = w.cycle(NOW + timedelta(hours=1))
    assert (result.created, result.moved, result.cancelled) == (0, 0, 3)
    assert w.event_of("C3") == []
    assert len(w.event_of("C1")) == len(w.event_of("C2")) == 3
    assert {r.state for r in w.ws.store.bookings(customer_id="C3")} == {BookingState.CANCELLED}


def test_a_renamed_customer_gets_its_titles_rewritten_at_the_same_times(worlds: Any) -> None:
    rows = three_customers()
    w = worlds(rows)
    w.cycle()
    before = {e.uid: e for e in w.event_of("C1")}
    rows[0]["name"] = "Acme Renamed plc"
    write_customers(w.folder / "customers.csv", rows)
    result = w.cycle(NOW + timedelta(hours=1))
    assert (result.created, result.moved, result.cancelled) == (0, 3, 0)
    after = {e.uid: e for e in w.event_of("C1")}
    assert after.keys() == before.keys()
    assert {uid: (e.start, e.end) for uid, e in after.items()} == {
        uid: (e.start, e.end) for uid, e in before.items()
    }
    assert {e.title for e in after.values()} == {"Check-in: Acme Renamed plc"}
    again = w.cycle(NOW + timedelta(hours=2))
    assert (again.created, again.moved, again.cancelled) == (0, 0, 0)


def test_policy_edit_is_previewed_by_plan_changes_then_applied_by_run(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, three_customers(), backend="ics")
    runner = CliRunner()
    now = ["--config", str(config), "--now", NOW.isoformat()]
    first = runner.invoke(app, ["run", "--once", *now])
    assert first.exit_code == 0, first.output
    assert "created 9, moved 0, cancelled 0, unchanged 0" in first.output
    segments = tmp_path / "policies" / "segments.toml"
    # A slower rhythm with a narrow window: every 5 weeks, between 5 and 6 weeks of silence.
    # (Editing `every` alone moves nothing: bookings still inside [min_gap, max_gap] stay put.)
    segments.write_text(
        segments.read_text()
        .replace('every = "4 weeks"', 'every = "5 weeks"')
        .replace('min_gap = "2 weeks"', 'min_gap = "5 weeks"')
    )
    preview = runner.invoke(app, ["plan", "--changes", "--json", *now])
    assert preview.exit_code == 0, preview.output
    changes = json.loads(preview.output)
    kinds = sorted(c["action"] for c in changes)
    assert "move" in kinds
    assert set(kinds) <= {"move", "cancel", "create"}
    applied = runner.invoke(app, ["run", "--once", *now])
    assert applied.exit_code == 0, applied.output
    expected = (
        f"created {kinds.count('create')}, moved {kinds.count('move')}, "
        f"cancelled {kinds.count('cancel')}"
    )
    assert expected in applied.output
    after = runner.invoke(app, ["plan", "--changes", *now])
    assert "no changes" in after.output


def test_past_booking_becomes_a_contact_that_resets_the_rhythm(worlds: Any) -> None:
    w = worlds([customer_row("C1")])
    w.cycle()
    first = w.event_of("C1")[0]
    w.cycle(first.end + timedelta(hours=1))
    [contact] = [c for c in w.ws.store.contacts("C1") if c.source == "booking"]
    assert contact == Contact("C1", ContactKind.MEETING, first.start, "booking", first.tags["key"])


def test_gap_forced_by_full_capacity_before_a_season_says_capacity(tmp_path: Path) -> None:
    # Three retail customers (season Nov 15 - Jan 5) all last seen on 28 Oct: their windows
    # [11 Nov, 9 Dec] leave 11 and 12 Nov before the season, and Ana takes one booking a day.
    policies = {**POLICIES, "capacity.toml": "[capacity]\nper_day = 1\nper_week = 20\n"}
    rows = [customer_row(f"R{i}", industry="retail", last_contact="2027-10-28") for i in (1, 2, 3)]
    ws = Workspace.open(write_workspace(tmp_path, rows, policies=policies))
    try:
        now = datetime.fromisoformat("2027-10-29T08:00:00+00:00")
        ws.refresh_customers(now)
        first = {c.customer_id: c for c in ws.plan(now).contacts if c.key.endswith(".0")}
    finally:
        ws.close()
    assert sorted(c.day for c in first.values())[:2] == [date(2027, 11, 11), date(2027, 11, 12)]
    [forced] = [c for c in first.values() if c.forced]
    assert forced.day == date(2028, 1, 6)
    assert any("cadence bookings that day" in r for r in forced.reasons), forced.reasons
