"""A large book planned across processes gives exactly the single-process plan."""

import sys
from dataclasses import replace
from pathlib import Path

from cadence.planner import PlanInput, plan
from cadence.planner import split as planner_split
from tests.planning import as_bookings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from generate import DEFAULT_NOW, generate


def test_parallel_plan_is_identical_to_the_single_process_plan(monkeypatch):
    # Under pytest-xdist the worker runs helper threads; forking is still safe here because
    # the children only compute. Force the parallel path and check that it ran.
    monkeypatch.setattr(planner_split, "_can_fork", lambda: True)
    calls = []
    real = planner_split._plan_in_parallel
    monkeypatch.setattr(
        planner_split, "_plan_in_parallel", lambda i, n: calls.append(n) or real(i, n)
    )
    customers, people, contacts, policies = generate(3000, 40, seed=7)
    inp = PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in people},
        now=DEFAULT_NOW,
        contacts=contacts,
    )
    single = plan(inp, workers=1)
    split = plan(inp, workers=3)
    assert split.contacts == single.contacts
    assert split.notes == single.notes
    assert len(single.contacts) > 3000
    assert calls == [3]
    # Again with the plan booked: each part gets its own salespeople's bookings.
    booked = replace(inp, bookings=as_bookings(single))
    assert plan(booked, workers=3).contacts == plan(booked, workers=1).contacts
    assert planner_split._SHARED == []  # the parts were released


def test_a_single_salesperson_is_not_split(monkeypatch):
    monkeypatch.setattr(planner_split, "_can_fork", lambda: True)
    customers, people, contacts, policies = generate(50, 1, seed=3)
    inp = PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in people},
        now=DEFAULT_NOW,
        contacts=contacts,
    )
    assert plan(inp, workers=2).contacts == plan(inp, workers=1).contacts
