"""The pure planner: ``plan(PlanInput) -> Plan``.

:mod:`cadence.planner.api` holds what goes in and comes out (``PlanInput``, ``Plan``);
:mod:`cadence.planner.split` holds ``plan()`` (isolation passes, the parallel split);
:mod:`cadence.planner.engine` places every customer's contacts, with the calendars, the
existing bookings, placement, the even load and the tracks in a module each.
"""

from cadence.planner.api import CustomerNote, Plan, PlanInput
from cadence.planner.split import plan

__all__ = ["CustomerNote", "Plan", "PlanInput", "plan"]
