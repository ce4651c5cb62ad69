"""The planner's working state for one customer while their contacts are placed, and the day
and slot a search found for one of them."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import date

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.agenda import Agenda
from cadence.planner.api import CustomerNote
from cadence.planner.customer_days import CustomerDays
from cadence.planner.needs import Need
from cadence.values.model import Customer


@dataclass(slots=True)
class CustomerState:
    """The planner's working state for one customer."""

    customer: Customer
    policy: SegmentPolicy
    agenda: Agenda
    days: CustomerDays
    today: date  # salesperson-local
    first_day: date
    horizon_day: date
    note: CustomerNote
    track: Generator[Need, date | None, None] | None = None


@dataclass(slots=True)
class Found:
    """Where a search put a need: the salesperson-local day, the start (epoch minute), the
    reasons for that day, and whether it is a forced gap or over capacity."""

    day: date
    slot: int
    reasons: list[str]
    forced: bool = False
    over_capacity: bool = False
