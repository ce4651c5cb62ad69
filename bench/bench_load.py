"""Benchmark: how even is each salesperson's day on the demo data (`make demo`'s files)?

Not a test: it reports numbers. Run it from the repository root:

    .venv/bin/python bench/bench_load.py [--json]

It reads cadence.toml, policies/, examples/customers.csv and examples/contact-history.csv, then
(1) plans once at the day the example data is anchored to (what the calendars hold after
`make demo`), and (2) lives a year with the pure planner: every ``--step`` days it plans again
from the bookings as applied, and the bookings whose time has passed become contacts (as the
cycle does; no outside contacts). Per salesperson it reports the daily load, bookings per
salesperson-local day: the busiest day (max) against the mean over the days they work (their
working days that are no public holiday and no closure), over the first four and eight weeks of
the first plan, and over the eight weeks and the year actually held. Also wall time, CPU time
and peak memory (ru_maxrss) of the whole run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cadence.inputs.config import load_config
from cadence.inputs.contact_history import read_history
from cadence.inputs.customers import read_customers
from cadence.inputs.policy_load import load_policies
from cadence.planner import PlanInput, plan
from cadence.planner.agenda import Agenda
from cadence.values.model import Booking, BookingState, Contact, ContactKind, Customer
from cadence.values.seasons import SeasonSet, parse_season

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the day the example data is anchored to


def demo_input(root: Path = ROOT, now: datetime = ANCHOR) -> PlanInput:
    """The planner's input for the demo files at ``now``, with no bookings yet."""
    config = load_config(root / "cadence.toml")
    reader = config.date_reader()
    policies, problems = load_policies(config.policies, reader)
    assert policies is not None, problems
    assert config.customers is not None
    customers = read_customers(
        config.customers, reader, today=now.date(), default_timezone=policies.defaults.timezone
    ).customers
    by_id = {c.id: c for c in customers}

    def zone_of(c: Customer) -> ZoneInfo:
        return ZoneInfo(c.timezone or policies.for_customer(c).timezone)

    history = read_history(root / "examples" / "contact-history.csv", by_id, zone_of, reader, now)
    contacts: dict[str, list[Contact]] = {}
    for contact in history.contacts:
        contacts.setdefault(contact.customer_id, []).append(contact)
    return PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in config.salespeople},
        now=now,
        contacts=contacts,
        horizon_days=config.horizon_days,
        season_parser=lambda text: parse_season(text, reader),
    )


def working_days(inp: PlanInput, owner: str, first: date, days: int) -> int:
    """The days in ``[first, first + days)`` on which ``owner`` works at all (their working
    days, no public holiday on their side, no closure of theirs or the company's)."""
    person = inp.salespeople[owner]
    agenda = Agenda(
        person,
        None,
        None,
        (),
        company_closures=SeasonSet(inp.policies.closures),
        own_closures=SeasonSet(tuple(inp.season_parser(t) for t in person.closures)),
    )
    return sum(agenda.blocked(first + timedelta(days=k)) is None for k in range(days))


def load_figures(
    inp: PlanInput, per_day: Counter, first: date, days: int
) -> dict[str, dict[str, float]]:
    """Per owner: max bookings on one day and the mean per working day in the period."""
    out = {}
    for owner in sorted(inp.salespeople):
        loads = [
            n
            for (o, day), n in per_day.items()
            if o == owner and first <= day < first + timedelta(days=days)
        ]
        worked = working_days(inp, owner, first, days)
        mean = sum(loads) / worked if worked else 0.0
        out[owner] = {
            "max": max(loads, default=0),
            "mean": round(mean, 2),
            "bound": math.ceil(1.3 * mean),
        }
    return out


def as_applied(result, bookings: list[Booking], now: datetime) -> list[Booking]:
    """The bookings once ``result`` is applied: past ones stay, live ones ahead are replaced."""
    past = [b for b in bookings if isinstance(b.end, datetime) and b.end <= now]
    planned = [
        Booking(c.key, c.customer_id, c.owner, c.kind, c.start, c.end, c.all_day)
        for c in result.booked()
    ]
    return past + planned


def live_a_year(inp: PlanInput, step_days: int, days: int) -> Counter:
    """Plan every ``step_days`` for ``days``; count the bookings held per (owner, local day)."""
    zones = {o: ZoneInfo(p.timezone) for o, p in inp.salespeople.items()}
    contacts = {k: list(v) for k, v in inp.contacts.items()}
    bookings: list[Booking] = []
    held: dict[str, Booking] = {}
    now = inp.now
    end = inp.now + timedelta(days=days)
    while now < end:
        result = plan(replace(inp, now=now, contacts=contacts, bookings=bookings))
        bookings = as_applied(result, bookings, now)
        now += timedelta(days=step_days)
        for b in bookings:
            if b.all_day or b.key in held or not isinstance(b.end, datetime) or b.end > now:
                continue
            if b.state is not BookingState.BOOKED:
                continue
            held[b.key] = b
            contacts.setdefault(b.customer_id, []).append(
                Contact(b.customer_id, ContactKind.MEETING, b.start, "booking", b.key)
            )
        bookings = [b for b in bookings if b.key not in held or b.end > now]  # type: ignore[operator]
    per_day: Counter = Counter()
    for b in held.values():
        assert isinstance(b.start, datetime)
        per_day[(b.owner, b.start.astimezone(zones[b.owner]).date())] += 1
    return per_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=3, help="days between plans")
    parser.add_argument("--days", type=int, default=364, help="days simulated")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    wall, cpu = time.perf_counter(), time.process_time()
    inp = demo_input()
    first = plan(inp)
    planned: Counter = Counter(
        (c.owner, c.day) for c in first.contacts if not c.all_day and c.within_horizon
    )
    start = inp.now.date() + timedelta(days=1)
    held = live_a_year(inp, args.step, args.days)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures = {
        "first_plan_4_weeks": load_figures(inp, planned, start, 28),
        "first_plan_8_weeks": load_figures(inp, planned, start, 56),
        "held_8_weeks": load_figures(inp, held, start, 56),
        "held_year": load_figures(inp, held, start, args.days),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        if not isinstance(value, dict):
            print(f"{name:>20}: {value}")
            continue
        print(f"{name}:")
        for owner, f in value.items():
            print(f"  {owner:<22} max {f['max']:>2}  mean {f['mean']:>5}  (1.3 bound {f['bound']})")


if __name__ == "__main__":
    main()
