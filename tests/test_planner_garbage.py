"""A plan's garbage is freed by reference counting as the plan returns: the planner makes no
reference cycles. A cycle through the engine would leave everything it holds to the cyclic
collector, whose next run after a plan then traverses all of it (a tenth of the plan's CPU).
What the plan keeps goes to the collector's oldest generation as the plan returns, not through
a young collection of all of it."""

import gc
import weakref
from dataclasses import replace
from datetime import timedelta

from cadence.planner import PlanInput, plan
from tests.planning import as_bookings, generated


def _cadence_garbage(*plans: PlanInput) -> list[str]:
    """The types, defined by cadence, of the objects the plans leave in reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what is found, to name it
        for inp in plans:
            plan(inp, workers=1)
        gc.collect()
        # Other threads of the test process may leave garbage of their own: only cadence's
        # objects are the planner's.
        found = sorted(
            {type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("cadence")}
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    return found


def test_a_plan_and_a_re_plan_from_its_bookings_leave_no_reference_cycles():
    inp = generated(600, 12, seed=5)
    first = plan(inp, workers=1)  # imports and fills what a process keeps (holiday tables)
    # A week later, from the first plan's bookings: keeping, moving and settling run too.
    later = replace(inp, now=inp.now + timedelta(days=7), bookings=as_bookings(first))
    assert _cadence_garbage(inp, later) == []


def test_what_a_plan_keeps_skips_the_young_collections():
    """The collector is paused during a plan and resumed after it; everything the plan made and
    kept then counts as old: the one collection is of the young generations before the plan,
    none runs as the plan returns (there was one of every object the plan kept: 0.29 s of a
    9.6 s plan at 100,000 customers)."""
    inp = generated(300, 6, seed=3)
    plan(inp, workers=1)  # imports and fills what a process keeps (holiday tables)
    collections: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        result = plan(inp, workers=1)
    finally:
        gc.callbacks.remove(seen)
    assert collections == [1]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert len(result.contacts) > 300  # a real plan: it kept objects worth a collection


def test_garbage_made_before_a_plan_is_collected_not_kept_with_the_plan():
    """Cycles the caller left in the young generations are collected before the plan, not moved
    with what the plan keeps to the oldest generation (where they would wait for the next full
    collection: in a daemon, possibly hours)."""
    inp = generated(100, 2, seed=6)
    plan(inp, workers=1)  # imports and fills what a process keeps (holiday tables)

    class Node:
        pass

    gc.collect()
    node = Node()
    node.itself = node  # type: ignore[attr-defined]
    gone = weakref.ref(node)
    del node
    plan(inp, workers=1)
    assert gone() is None


def test_objects_frozen_before_a_plan_stay_frozen():
    """The promotion unfreezes what it froze: a plan made while someone else keeps objects
    frozen (``gc.freeze``, before forking workers) does not promote, and unfreezes nothing."""
    inp = generated(100, 2, seed=4)
    marker: list[object] = []  # a tracked object, frozen: in no generation while it is
    gc.freeze()
    try:
        plan(inp, workers=1)
        assert gc.isenabled()
        assert not any(o is marker for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
    assert any(o is marker for o in gc.get_objects(generation=2))
