"""How many HTTP requests cadence's real cycle makes against Google and Microsoft Graph.

500 customers across 20 salespeople, with Gmail / Graph mail as a contact source too, through
:meth:`Workspace.run_cycle` (import, sync, plan, reconcile) against the fake servers in
``tests/google_fake`` and ``tests/graph_fake``. The first cycle books; an unchanged second cycle
must write nothing at all; a third cycle, after a salesperson moved one booking and deleted
another in their calendar, sees exactly those two changes. Run with ``-s`` to see the counts;
``bench/bench_requests.py`` prints them as a table.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState
from tests.request_worlds import (
    FIRST_CYCLE_PER_EVENT,
    GOOGLE_UNCHANGED,
    NOW,
    SALESPEOPLE,
    WORLDS,
    Counts,
    OutlookWorld,
    Run,
    describe,
    person_edits,
)

# ---- tests ----------------------------------------------------------------------------------


@pytest.fixture(params=sorted(WORLDS))
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    made = Run(tmp_path, request.param)
    yield made
    made.close()


def test_first_cycle_books_and_an_unchanged_second_cycle_writes_nothing(run: Run) -> None:
    first, counts1 = run.cycle(NOW)
    print("\n" + describe(run.world.name, "first", counts1))
    assert first.failed_owners == {}
    assert first.created > 0
    assert (first.moved, first.cancelled, first.unchanged) == (0, 0, 0)
    uids = run.world.cadence_uids()
    assert len(uids) == first.created
    assert uids == {r.uid for r in run.ws.store.bookings() if r.state is BookingState.BOOKED}
    assert sum(run.world.writes(counts1).values()) == first.created
    assert first.contacts_added > 0  # past meetings and mail with customers were read
    per_owner = Counter(r.owner for r in run.ws.store.bookings())
    assert set(per_owner) == set(SALESPEOPLE)
    batches = run.world.write_batches(per_owner)
    assert {k: counts1.http[k] for k in batches} == batches
    assert counts1.total <= FIRST_CYCLE_PER_EVENT * first.created  # issue 11

    second, counts2 = run.cycle(NOW + timedelta(hours=1))
    print(describe(run.world.name, "second", counts2))
    assert second.failed_owners == {}
    assert (second.created, second.moved, second.cancelled) == (0, 0, 0)
    assert second.unchanged == first.created
    assert run.world.writes(counts2) == Counter()
    assert run.world.cadence_uids() == uids
    # Incremental reads only, a fixed handful per salesperson, sent ahead in batches.
    assert counts2.http == run.world.UNCHANGED
    assert counts2.in_batches == run.world.UNCHANGED_READS
    assert second.contacts_added == 0


def test_cycle_after_a_move_and_a_deletion_sees_exactly_those(run: Run) -> None:
    run.cycle(NOW)
    run.cycle(NOW + timedelta(hours=1))
    before = run.world.cadence_uids()
    (moved, new_start), deleted = person_edits(run)

    third, counts3 = run.cycle(NOW + timedelta(hours=2))
    print("\n" + describe(run.world.name, "third (1 moved, 1 deleted)", counts3))
    assert third.failed_owners == {}
    records = run.records()
    assert records[moved.uid].state is BookingState.MOVED_BY_OWNER
    assert records[moved.uid].start == new_start
    assert records[deleted.uid].state is BookingState.DELETED
    # The moved booking is kept where the person put it; the deleted one is not re-created.
    # The deleted booking's retry gets a new key (so a new uid), no sooner than retry_after
    # (1 week). Nothing is cancelled; the only other change allowed is the same customer's
    # next check-in following the retry (its rhythm counts from the retried contact).
    assert (third.created, third.cancelled) == (1, 0)
    assert third.moved <= 1
    [retry] = [r for r in records.values() if r.key == f"{deleted.key}.r1"]
    assert retry.start >= NOW + timedelta(hours=2, weeks=1)
    followers = [a for a in third.actions if a.kind.value == "move"]
    assert all(a.record and a.record.customer_id == deleted.customer_id for a in followers)
    now_uids = run.world.cadence_uids()
    assert now_uids == (before - {deleted.uid}) | {retry.uid}
    assert moved.uid in now_uids
    assert sum(run.world.writes(counts3).values()) == 1 + third.moved
    # Reads as in an unchanged cycle, plus what it takes to see the two changes and book one.
    assert counts3.total <= sum(run.world.UNCHANGED.values()) + 3


# ---- Outlook floors (issue 11) ----------------------------------------------------------------


@pytest.fixture
def outlook_run(tmp_path: Path) -> Iterator[Run]:
    made = Run(tmp_path, "outlook")
    yield made
    made.close()


def test_outlook_unchanged_cycle_is_at_the_floor(outlook_run: Run) -> None:
    """At most 3 requests per mailbox (cadence's events, past meetings, mail) and getSchedule
    at one query per 20 mailboxes per window shorter than 62 days (120 days: 2 windows)."""
    run = outlook_run
    first, counts1 = run.cycle(NOW)
    assert first.created > 0
    assert counts1.total <= FIRST_CYCLE_PER_EVENT * first.created
    _, counts2 = run.cycle(NOW + timedelta(hours=1))
    assert run.world.writes(counts2) == Counter()
    schedule = counts2.http.pop("POST getSchedule")
    assert schedule == -(-len(SALESPEOPLE) // 20) * 2
    assert counts2.total <= 3 * len(SALESPEOPLE)
    assert not any(kind.startswith("authority ") for kind in counts2.http)


def test_outlook_unchanged_cycle_writes_nothing_when_getschedule_is_refused(
    outlook_run: Run,
) -> None:
    """The calendarView fallback for busy time leaves cadence's own events out: nothing
    moves back and forth between cycles."""
    run = outlook_run
    assert isinstance(run.world, OutlookWorld)
    run.world.graph.refuse_schedule = True
    first, _ = run.cycle(NOW)
    assert first.created > 0 and first.failed_owners == {}
    for hours in (1, 2):
        again, counts = run.cycle(NOW + timedelta(hours=hours))
        assert (again.created, again.moved, again.cancelled) == (0, 0, 0)
        assert again.unchanged == first.created
        assert run.world.writes(counts) == Counter()
        assert counts.http["GET calendarView"] == len(SALESPEOPLE)  # the fallback was used


def test_outlook_tokens_outlive_a_run_once_until_they_expire(outlook_run: Run) -> None:
    """Each `run --once` is a new process: the token cached on disk (0600) is used as it is
    (no request to the authority at all) until it is within 5 minutes of expiring."""
    run = outlook_run
    assert isinstance(run.world, OutlookWorld)
    run.cycle(NOW)
    cache = run.config.parent / "outlook-tokens.json"
    assert cache.stat().st_mode & 0o777 == 0o600

    def run_once(now: datetime) -> Counts:
        run.ws.close()
        run.ws = Workspace.open(run.config)
        run.ws.env = {**run.ws.env, **run.world.env}
        return run.cycle(now)[1]

    counts = run_once(NOW + timedelta(hours=1))
    assert not any(kind.startswith("authority ") for kind in counts.http)
    with run.world.authority.lock:
        run.world.authority.issued.clear()  # the cached token is revoked
    counts = run_once(NOW + timedelta(hours=2))
    # Graph refuses it: the calendar asks for a new one once, and the mail source finds the
    # new one in the file.
    assert counts.http["authority POST token"] == 1
    counts = run_once(NOW + timedelta(hours=3))
    assert not any(kind.startswith("authority ") for kind in counts.http)
    # 56 minutes later (as msal counts time: the token's expires_on in the file), 4 minutes
    # are left, under msal's 5: it is not used.
    data = json.loads(cache.read_text())
    for entry in data["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) + 240)
    cache.write_text(json.dumps(data))
    counts = run_once(NOW + timedelta(hours=4))
    assert counts.http["authority POST token"] == 1


# ---- Google floors (issue 11) ----------------------------------------------------------------


def test_google_run_once_again_grants_no_token_and_reads_at_the_floor(tmp_path: Path) -> None:
    """`run --once` started again (a new process: a new Workspace on the same folder) reuses
    the access tokens kept on disk and makes exactly the unchanged cycle's requests: 3 per
    mailbox including mail, and free/busy at one query per 50 calendars per 90 days. Before
    issue 11: 160 requests, 2 token grants per salesperson among them."""
    run = Run(tmp_path, "google")
    try:
        first, _ = run.cycle(NOW)
        assert first.complete, first.attention()
        run.ws.close()
        run.ws = Workspace.open(run.config)
        run.ws.env = {**run.ws.env, **run.world.env}
        again, counts = run.cycle(NOW + timedelta(hours=1))
        print("\n" + describe("google", "run --once again", counts))
        assert again.complete, again.attention()
        assert writes_of(again) == 0
        assert counts.http == GOOGLE_UNCHANGED
        assert counts.total <= 3 * len(SALESPEOPLE) + 2
    finally:
        run.close()


def writes_of(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled
