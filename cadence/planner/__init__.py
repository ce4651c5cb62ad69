"""The pure planner: ``plan(PlanInput) -> Plan``.

:mod:`cadence.planner.split` holds ``plan()`` (isolation passes, the parallel split);
:mod:`cadence.planner.engine` places every customer's contacts.
"""

from cadence.planner.engine import CustomerNote, Plan, PlanInput
from cadence.planner.split import plan

__all__ = ["CustomerNote", "Plan", "PlanInput", "plan"]
