"""A large book planned across processes gives exactly the single-process plan."""

import os
from dataclasses import replace
from datetime import timedelta

import pytest

from cadence.planner import Plan, PlanInput, groups, parallel, plan
from cadence.values.model import PlanStatus
from tests.planning import as_bookings, generated


def test_parallel_plan_is_identical_to_the_single_process_plan(monkeypatch):
    # Under pytest-xdist the worker runs helper threads; forking is still safe here because
    # the children only compute. Force the parallel path and check that it ran.
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    calls = []
    real = parallel.plan_in_parallel
    monkeypatch.setattr(parallel, "plan_in_parallel", lambda i, n: calls.append(n) or real(i, n))
    inp = generated(3000, 40, seed=7)
    single = plan(inp, workers=1)
    split = plan(inp, workers=3)
    assert split.contacts == single.contacts
    assert split.notes == single.notes
    assert len(single.contacts) > 3000
    assert calls == [3]
    # Again with the plan booked: each part gets its own salespeople's bookings.
    booked = replace(inp, bookings=as_bookings(single))
    assert plan(booked, workers=3).contacts == plan(booked, workers=1).contacts
    assert parallel._SHARED == []  # the parts were released


def test_a_single_salesperson_is_not_split(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    inp = generated(50, 1, seed=3)
    assert plan(inp, workers=2).contacts == plan(inp, workers=1).contacts


def _by_groups(inp: PlanInput, size: int, monkeypatch) -> Plan:
    monkeypatch.setattr(groups, "GROUP_SIZE", size)
    return plan(inp, workers=1)


def test_salespeople_planned_group_by_group_get_the_plan_of_all_at_once(monkeypatch):
    # The engine starts the customers of a few salespeople at a time (groups.GROUP_SIZE) and
    # plans them to the end before it starts the next: one salesperson a group changes nothing.
    inp = generated(1500, 30, seed=11)
    together = _by_groups(inp, len(inp.customers), monkeypatch)
    alone = _by_groups(inp, 1, monkeypatch)
    assert alone.contacts == together.contacts
    assert alone.notes == together.notes
    assert len(together.contacts) > 1500
    # Nine days later from those bookings: kept, moved and re-placed bookings too.
    later = replace(inp, now=inp.now + timedelta(days=9), bookings=as_bookings(together))
    together = _by_groups(later, len(inp.customers), monkeypatch)
    alone = _by_groups(later, 1, monkeypatch)
    assert alone.contacts == together.contacts
    assert alone.notes == together.notes
    assert any(c.status is PlanStatus.BOOKED for c in together.contacts)


def _forced_parallel(monkeypatch) -> PlanInput:
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    return generated(300, 6, seed=2)


def test_a_planner_process_that_fails_fails_the_plan_with_its_traceback(monkeypatch):
    inp = _forced_parallel(monkeypatch)

    def broken(c):
        raise ValueError("cannot encode this contact")

    monkeypatch.setattr(parallel, "_encode", broken)  # only the children encode
    with pytest.raises(RuntimeError, match="cannot encode this contact"):
        plan(inp, workers=2)
    assert parallel._SHARED == []


def test_a_planner_process_that_dies_fails_the_plan_instead_of_hanging(monkeypatch):
    inp = _forced_parallel(monkeypatch)
    monkeypatch.setattr(parallel, "_encode", lambda c: os._exit(9))  # killed mid-send
    with pytest.raises(RuntimeError, match="ended without sending its plan"):
        plan(inp, workers=2)


def test_a_part_larger_than_one_message_arrives_whole_and_in_order(monkeypatch):
    inp = _forced_parallel(monkeypatch)
    single = plan(inp, workers=1)
    monkeypatch.setattr(parallel, "ROWS_PER_MESSAGE", 7)
    split = plan(inp, workers=3)
    assert split.contacts == single.contacts
    assert split.notes == single.notes
