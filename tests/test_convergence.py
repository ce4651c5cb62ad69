"""One cycle converges (issue 18): after any edit, the cycle that applies it leaves the
calendars so that the next cycle writes nothing.

A property test over random edits (policy rhythm and meeting length, capacity, new contacts,
renamed customers, invitations switched on, customers reassigned) on a small, crowded world:
capacity is tight on purpose, since a plan that frees a day after another customer was placed is
how a second cycle found more to move. Runs on the memory backend, one workspace throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace, load_validated_policies
from cadence.values.model import BookingState, Contact, ContactKind
from tests.workspace_kit import ANA, BEN, NOW, POLICIES, customer_row, write_customers
from tests.workspace_kit import write_workspace as lay_out

CUSTOMERS = 48
CROWDED = {**POLICIES, "capacity.toml": "[capacity]\nper_day = 3\nper_week = 10\n"}


def rows(**changes: dict[str, str]) -> list[dict[str, str]]:
    base = {
        f"C{i:02d}": customer_row(
            f"C{i:02d}",
            owner=ANA if i % 3 else BEN,
            segment="steady" if i % 2 else "default",
            last_contact=f"2026-{9 + i % 3:02d}-{1 + i % 20:02d}",
        )
        for i in range(CUSTOMERS)
    }
    for cid, change in changes.items():
        base[cid].update(change)
    return list(base.values())


Edit = Callable[[Path, Workspace], None]


def policy_edit(file: str, old: str, new: str) -> Edit:
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / "policies" / file
        path.write_text(path.read_text().replace(old, new))

    return edit


def customer_edit(**changes: dict[str, str]) -> Edit:
    def edit(folder: Path, ws: Workspace) -> None:
        write_customers(folder / "customers.csv", rows(**changes))

    return edit


def contacts(ids: list[int]) -> Edit:
    def edit(folder: Path, ws: Workspace) -> None:
        ws.store.add_contacts(
            Contact(f"C{i:02d}", ContactKind.CALL, NOW - timedelta(hours=2), "log", f"log:{i}")
            for i in ids
        )

    return edit


EDITS: dict[str, Edit] = {
    "every shorter": policy_edit("segments.toml", 'every = "4 weeks"', 'every = "3 weeks"'),
    "gaps tighter": policy_edit(
        "segments.toml",
        'every = "quarter"\nmin_gap = "6 weeks"\nmax_gap = "4 months"',
        'every = "5 weeks"\nmin_gap = "3 weeks"\nmax_gap = "7 weeks"',
    ),
    "longer meetings": policy_edit("defaults.toml", 'meeting = "30 minutes"', 'meeting = "1 hour"'),
    "shorter meetings": policy_edit(
        "defaults.toml", 'meeting = "30 minutes"', 'meeting = "20 minutes"'
    ),
    "more capacity": policy_edit("capacity.toml", "per_day = 3", "per_day = 5"),
    "less capacity": policy_edit("capacity.toml", "per_week = 10", "per_week = 7"),
    "invitations on": policy_edit(
        "defaults.toml", 'retry_after = "1 week"', 'retry_after = "1 week"\ninvite_customer = true'
    ),
    "renamed": customer_edit(C01={"name": "Renamed One"}, C05={"name": "Renamed Five"}),
    "reassigned": customer_edit(C03={"owner": ANA}, C04={"owner": BEN}),
    "segment changed": customer_edit(C02={"segment": "steady"}, C07={"segment": "default"}),
    "contacts": contacts([0, 4, 9, 13]),
}


CHANGED: list[int] = []


def writes(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=3, unique=True))
# Edits that took a second cycle to settle before plans were settled (found by a scan of every
# single edit on this world), kept as fixed cases beside the random ones.
@example(edits=["longer meetings"])
@example(edits=["segment changed"])
def test_the_cycle_after_the_one_that_applied_an_edit_writes_nothing(
    edits: list[str], tmp_path_factory
) -> None:
    folder = tmp_path_factory.mktemp("world")
    lay_out(folder, rows(), backend="memory", policies=CROWDED)
    ws = Workspace.open(folder / "cadence.toml")
    try:
        first = ws.run_cycle(NOW)
        assert first.complete and first.created > 0
        assert writes(ws.run_cycle(NOW)) == 0
        for name in edits:
            EDITS[name](folder, ws)
        ws.policies = load_validated_policies(ws.config)  # as the daemon reloads them
        later = NOW + timedelta(hours=1)
        applied = ws.run_cycle(later)
        assert applied.complete, applied.attention()
        CHANGED.append(writes(applied))  # an edit may fit the bookings as they are
        again = ws.run_cycle(later + timedelta(minutes=15))
        assert writes(again) == 0, (edits, [(a.kind, a.owner, a.reason) for a in again.applied])
    finally:
        ws.close()


def test_the_random_edits_did_change_the_calendars() -> None:
    # Runs after the property test in this module (pytest keeps file order within a worker
    # only without xdist's load balancing, so the property test is called here when needed).
    if not CHANGED:
        test_the_cycle_after_the_one_that_applied_an_edit_writes_nothing()
    assert sum(1 for n in CHANGED if n > 0) >= len(CHANGED) // 2


def test_a_new_meeting_length_is_applied_to_future_bookings(tmp_path: Path) -> None:
    lay_out(tmp_path, rows(), backend="memory", policies=CROWDED)
    ws = Workspace.open(tmp_path / "cadence.toml")
    try:
        ws.run_cycle(NOW)
        EDITS["longer meetings"](tmp_path, ws)
        ws.policies = load_validated_policies(ws.config)
        ws.run_cycle(NOW + timedelta(hours=1))
        lengths = {
            r.end - r.start  # type: ignore[operator]
            for r in ws.store.bookings(states=[BookingState.BOOKED])
            if r.start > NOW + timedelta(hours=1)  # type: ignore[operator]
        }
    finally:
        ws.close()
    assert lengths == {timedelta(hours=1)}
