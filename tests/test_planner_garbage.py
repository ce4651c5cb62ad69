"""A plan's garbage is freed by reference counting as the plan returns: the planner makes no
reference cycles. A cycle through the engine would leave everything it holds to the cyclic
collector, whose next run after a plan then traverses all of it (a tenth of the plan's CPU)."""

import gc
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
