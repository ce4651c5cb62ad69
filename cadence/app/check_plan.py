"""``cadence check``: the dry plan. The customer file is planned as ``run`` would plan it
(without calendars) and each booking's event is built: a customer ``run`` would have to skip is
an error here, named with the cause."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadence.inputs.config import Config
from cadence.inputs.policy import PolicySet
from cadence.planner import PlanInput, plan
from cadence.sync.event_text import event_spec
from cadence.values.errors import Problem, describe_error
from cadence.values.model import Customer, Salesperson
from cadence.values.progress import Tick
from cadence.values.seasons import SeasonParser


def check_plannable(
    customers: Sequence[Customer],
    policies: PolicySet,
    config: Config,
    now: datetime,
    progress: Tick | None = None,
    seasons: SeasonParser | None = None,
) -> list[Problem]:
    """Plan the customer file as ``run`` would (without calendars) and build each event: a
    customer ``run`` would have to skip is an error here, named with the cause."""
    file = str(config.customers or "")
    people = {p.email: p for p in config.salespeople}
    for c in customers:
        people.setdefault(c.owner, Salesperson(email=c.owner, timezone=policies.defaults.timezone))
    result = plan(
        PlanInput(
            policies=policies,
            customers=customers,
            salespeople=people,
            now=now,
            horizon_days=config.horizon_days,
            season_parser=seasons or SeasonParser(config.date_reader()),
            progress=progress,
        )
    )
    skipped = dict(result.skipped)
    by_id = {c.id: c for c in customers}
    for p in result.booked():
        if p.customer_id in skipped:
            continue
        customer = by_id[p.customer_id]
        try:
            event_spec(p, customer, people[p.owner], policies.for_customer(customer), None)
        except Exception as exc:
            skipped[p.customer_id] = describe_error(exc)
    return [
        Problem(
            file=file,
            key=customer_id,
            message=f"customer {by_id[customer_id].name!r} cannot be planned: {why}; "
            "run would skip this customer",
        )
        for customer_id, why in sorted(skipped.items())
    ]
