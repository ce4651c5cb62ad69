"""Small builders for planner tests: a policy, people and customers with sensible defaults."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cadence.inputs.policy import Capacity, PolicySet, SegmentPolicy, WinbackPolicy
from cadence.planner import Plan, PlanInput, plan
from cadence.planner.split import as_booking
from cadence.values.durations import Duration
from cadence.values.model import Booking, BookingState, Contact, ContactKind, Customer, Salesperson
from cadence.values.seasons import parse_season
from cadence.values.workweek import WorkingHours

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday

ANA = Salesperson(email="ana@example.com", name="Ana", timezone="Europe/London", country="GB")


def d(text: str) -> date:
    return date.fromisoformat(text)


def segment(**overrides) -> SegmentPolicy:
    base = SegmentPolicy(
        name="strategic",
        every=Duration.parse("4 weeks"),
        min_gap=Duration.parse("2 weeks"),
        max_gap=Duration.parse("6 weeks"),
        timezone="Europe/London",
    )
    values = {
        k: Duration.parse(v)
        if k in {"every", "min_gap", "max_gap", "anniversary_lead", "retry_after"}
        and isinstance(v, str)
        else v
        for k, v in overrides.items()
    }
    if isinstance(values.get("customer_hours"), str):
        values["customer_hours"] = WorkingHours.parse(values["customer_hours"])
    return replace(base, **values)


def policies(
    seg: SegmentPolicy | None = None, *, per_day=6, per_week=20, buffer=15, **extra
) -> PolicySet:
    """A policy set around ``seg``; ``buffer`` in minutes (the [capacity] key)."""
    seg = seg or segment()
    return PolicySet(
        defaults=seg,
        segments={"strategic": seg},
        industries={
            "retail": (parse_season("Nov 15 - Jan 5"),),
            "accounting": (parse_season("Jan 15 - Apr 30"),),
        },
        winback=extra.pop("winback", WinbackPolicy()),
        capacity=Capacity(per_day=per_day, per_week=per_week, buffer=timedelta(minutes=buffer)),
        **extra,
    )


def customer(id: str = "c1", **kw) -> Customer:
    base = dict(
        id=id,
        name="ACME Ltd",
        owner=ANA.email,
        segment="strategic",
        country="GB",
        timezone="Europe/London",
    )
    base.update(kw)
    return Customer(**base)


def contact(customer_id: str, at: str, kind: ContactKind = ContactKind.MEETING) -> Contact:
    return Contact(customer_id, kind, datetime.fromisoformat(at).replace(tzinfo=UTC), "log", at)


def run(
    customers,
    *,
    people=(ANA,),
    pol: PolicySet | None = None,
    now: datetime = NOW,
    contacts=(),
    busy=None,
    bookings=(),
    horizon_days=90,
    forecast_days=0,
) -> Plan:
    by_customer: dict[str, list[Contact]] = {}
    for c in contacts:
        by_customer.setdefault(c.customer_id, []).append(c)
    return plan(
        PlanInput(
            policies=pol or policies(),
            customers=list(customers),
            salespeople={p.email: p for p in people},
            now=now,
            contacts=by_customer,
            busy=busy or {},
            bookings=list(bookings),
            horizon_days=horizon_days,
            forecast_days=forecast_days,
        )
    )


def of(result: Plan, customer_id: str = "c1", kind: str | None = None):
    return [
        c
        for c in result.contacts
        if c.customer_id == customer_id and (kind is None or c.kind.value == kind)
    ]


def as_bookings(result: Plan, state: BookingState = BookingState.BOOKED) -> list[Booking]:
    """The plan as if it had been written to calendars."""
    return [replace(as_booking(c), state=state) for c in result.contacts if c.within_horizon]


def generated(customers: int, salespeople: int, seed: int) -> PlanInput:
    """The book ``bench/generate.py`` makes (customers, salespeople, contacts, policies) as a
    planner input at its ``DEFAULT_NOW``."""
    bench = str(Path(__file__).resolve().parents[1] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from generate import DEFAULT_NOW, generate

    book, people, contacts, policies = generate(customers, salespeople, seed)
    return PlanInput(
        policies=policies,
        customers=book,
        salespeople={p.email: p for p in people},
        now=DEFAULT_NOW,
        contacts=contacts,
    )
