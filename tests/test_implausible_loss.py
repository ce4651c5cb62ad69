"""A read that suddenly shows cadence's events gone is not believed (issue 11, point 0).

The Graph and Google wire-format fakes answer a full re-read without the properties that mark
cadence's events (``hide_ownership``), after the sync state was lost: every booking then looks
deleted by the salesperson. The cycle must hold that owner's writes (logged once), read the
calendar whole again each cycle, and write nothing: 0 duplicates, 0 deletions. When the fields
come back, everything is as before and nothing is written. A loss every re-read confirms for
a day is the salesperson's own doing after all.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from cadence.sync.reconcile import LOSS_HOLD, implausible_loss
from cadence.values.model import BookingState
from tests.request_worlds import NOW, SALESPEOPLE, WORLDS, GoogleWorld, OutlookWorld, Run
from tests.test_reconcile import NOW as UNIT_NOW
from tests.test_reconcile import at, record, remote


def test_a_few_deletions_are_believed_most_at_once_are_not() -> None:
    records = [record(f"c{i}:check_in:2026-11-02.0", at("2026-11-30", 8 + i)) for i in range(10)]
    shown = {r.uid: remote(r) for r in records}

    def without(n: int) -> dict:
        return {uid: ev for k, (uid, ev) in enumerate(shown.items()) if k >= n}

    assert implausible_loss(records, shown, UNIT_NOW) == ""
    assert implausible_loss(records, without(4), UNIT_NOW) == ""  # 4 of 10
    assert "5 of 10" in implausible_loss(records, without(5), UNIT_NOW)
    assert "shows all of" in implausible_loss(records, {}, UNIT_NOW)
    # Two bookings, both deleted: believed (a person deleting two is plausible).
    assert implausible_loss(records[:2], {}, UNIT_NOW) == ""
    assert implausible_loss(records[:3], {}, UNIT_NOW) != ""
    # Bookings already over, and creates never confirmed, do not count.
    past = [record(f"p{i}:check_in:2026-11-02.0", at("2026-11-20")) for i in range(5)]
    pending = [
        record(f"n{i}:check_in:2026-11-02.0", state=BookingState.PENDING, etag=None)
        for i in range(5)
    ]
    assert implausible_loss(past + pending + records[:2], {}, UNIT_NOW) == ""


def hide(run: Run, hidden: bool) -> None:
    """The fake answers full reads without cadence's marking properties; sync states are lost
    so that the next read is a full one."""
    world = run.world
    if isinstance(world, OutlookWorld):
        world.graph.hide_ownership = "all" if hidden else ""
        for owner in SALESPEOPLE:
            world.graph.expire_sync_state(owner)
    else:
        assert isinstance(world, GoogleWorld)
        world.fake.calendar.hide_ownership = hidden
        with world.fake.lock:
            for calendar in world.fake.calendar.calendars.values():
                calendar.oldest_valid_token = calendar.counter + 1


def server_events(run: Run) -> Counter[str]:
    """Live cadence events on the server, by uid (a duplicate counts twice)."""
    world = run.world
    if isinstance(world, OutlookWorld):
        from tests.graph_fake.server import _uid_of

        return Counter(
            uid
            for owner in SALESPEOPLE
            for event in world.graph.live_events(owner)
            if (uid := _uid_of(event))
        )
    found: Counter[str] = Counter()
    with world.fake.lock:
        for calendar in world.fake.calendar.calendars.values():
            for event in calendar.events.values():
                private = (event.get("extendedProperties") or {}).get("private") or {}
                if "cadence_uid" in private and event.get("status") != "cancelled":
                    found[private["cadence_uid"]] += 1
    return found


@pytest.fixture(params=sorted(WORLDS))
def run(request: pytest.FixtureRequest, tmp_path: Path):
    made = Run(tmp_path, request.param)
    yield made
    made.close()


def test_a_full_reread_without_ownership_is_held_not_rebooked(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = run.cycle(NOW)
    booked = {r.uid: r for r in run.ws.store.bookings() if r.state is BookingState.BOOKED}
    assert len(booked) == first.created > 0
    before = server_events(run)
    assert before == Counter(set(booked))

    hide(run, True)
    caplog.set_level(logging.INFO)
    for hours in (1, 2):
        held, counts = run.cycle(NOW + timedelta(hours=hours))
        assert run.world.writes(counts) == Counter()  # nothing created, moved or cancelled
        assert (held.created, held.moved, held.cancelled) == (0, 0, 0)
        assert set(held.failed_owners) == set(SALESPEOPLE)
        assert all("not believed" in why for why in held.failed_owners.values())
        records = {r.uid: r for r in run.ws.store.bookings()}
        assert {r.state for r in records.values()} == {BookingState.BOOKED}
        assert records.keys() == booked.keys()
        assert server_events(run) == before  # 0 duplicates, 0 deletions
    said = [r for r in caplog.records if "not believed" in r.getMessage()]
    assert sorted(r.getMessage().split(" ", 1)[0] for r in said) == sorted(SALESPEOPLE)  # once

    hide(run, False)
    back, counts = run.cycle(NOW + timedelta(hours=3))
    assert back.failed_owners == {}
    assert run.world.writes(counts) == Counter()
    assert back.unchanged == len(booked)
    assert {r.state for r in run.ws.store.bookings()} == {BookingState.BOOKED}
    assert server_events(run) == before
    again, counts = run.cycle(NOW + timedelta(hours=4))  # and the next one reads incrementally
    assert again.failed_owners == {} and run.world.writes(counts) == Counter()


def test_a_loss_every_reread_confirms_for_a_day_is_the_salespersons(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    run.cycle(NOW)
    owner = SALESPEOPLE[0]
    mine = [r for r in run.ws.store.bookings(owner=owner) if r.state is BookingState.BOOKED]
    for r in mine:  # the salesperson really deletes every booking of theirs
        run.world.person.delete(owner, r.uid)
    held, _ = run.cycle(NOW + timedelta(hours=1))
    assert set(held.failed_owners) == {owner}
    assert {r.state for r in run.ws.store.bookings(owner=owner)} == {BookingState.BOOKED}
    caplog.set_level(logging.WARNING)
    later, _ = run.cycle(NOW + timedelta(hours=1) + LOSS_HOLD)
    assert owner not in later.failed_owners
    states = {r.uid: r.state for r in run.ws.store.bookings(owner=owner)}
    assert {states[r.uid] for r in mine} == {BookingState.DELETED}
    assert any("taken for the salesperson's own doing" in r.getMessage() for r in caplog.records)
