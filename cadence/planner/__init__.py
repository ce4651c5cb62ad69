"""The pure planner: ``plan(PlanInput) -> Plan``. See :mod:`cadence.planner.engine`."""

from cadence.planner.engine import CustomerNote, Plan, PlanInput, plan

__all__ = ["CustomerNote", "Plan", "PlanInput", "plan"]
