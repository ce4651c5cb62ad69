"""Benchmark: time a full plan of N generated customers for R salespeople.

Not a test: it reports numbers. Run `make bench`, or:

    .venv/bin/python bench/bench_plan.py --customers 100000 --salespeople 500

Wall time and CPU time (of this process, and separately of its forked planner workers) are
measured without tracing; peak memory is the maximum resident set size (ru_maxrss) of this
process, which includes the interpreter and the generated input, and separately of the largest
forked planner worker (from 20,000 customers the planner splits the salespeople across one
process per core). ``--fingerprint`` prints a hash of the plan (and of a re-plan from its
bookings): it must stay the same through a change that only makes the planner faster.
``--workers 1`` plans in this process alone. Before the clock starts, the first 200 customers
are planned once (see below).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DEFAULT_NOW, generate, interpreter

from cadence.planner import Plan, PlanInput, plan
from cadence.planner.split import as_booking
from cadence.values.model import Booking


def fingerprint(result: Plan) -> str:
    """A hash of everything the plan says (contacts, notes, skips): equal plans, equal hashes.
    Compare it before and after a change that must not change the plan."""
    digest = hashlib.sha256()
    for c in result.contacts:
        digest.update(repr(c).encode())
    for cid in sorted(result.notes):
        digest.update(repr(result.notes[cid]).encode())
    digest.update(repr(sorted(result.skipped.items())).encode())
    return digest.hexdigest()[:16]


def as_bookings(result: Plan) -> list[Booking]:
    """The plan's contacts inside the horizon as the calendars would hold them once applied."""
    return [as_booking(c) for c in result.booked()]


def _children_cpu() -> float:
    """CPU seconds of the forked planner workers that have ended (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--salespeople", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=90, help="days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="planner processes (default: one per core from 20,000 customers on, as "
        "cadence plans); 1 plans in this process alone",
    )
    parser.add_argument(
        "--fingerprint",
        action="store_true",
        help="also print a hash of the plan, and of a second plan made a week later from the "
        "first plan's bookings (kept, moved and re-placed bookings): it must not change when "
        "the planner is made faster",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    customers, people, contacts, policies = generate(args.customers, args.salespeople, args.seed)
    generated = time.perf_counter() - started
    # The input alone (and the interpreter): what the planner's own memory comes on top of.
    input_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    inp = PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in people},
        now=DEFAULT_NOW,
        contacts=contacts,
        horizon_days=args.horizon,
    )
    # The first plan in a process imports the holidays package and builds its countries'
    # calendars (about 0.1 s), which a cadence command finds in its state directory's
    # holidays.json instead: a few customers are planned first, untimed.
    plan(replace(inp, customers=customers[:200]), workers=1)
    wall, cpu = time.perf_counter(), time.process_time()
    children_before = _children_cpu()
    result = plan(inp, workers=args.workers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children_cpu = _children_cpu() - children_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Planner workers are forked children: their own peak is reported separately.
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    timed = [c for c in result.contacts if not c.all_day]
    figures = {
        "python": interpreter(),
        "customers": args.customers,
        "salespeople": args.salespeople,
        "horizon_days": args.horizon,
        "planned_contacts": len(result.contacts),
        "forced": sum(c.forced for c in timed),
        "unplaced_customers": sum(
            1 for n in result.notes.values() if any("place" in m for m in n.messages)
        ),
        "generate_seconds": round(generated, 2),
        "plan_wall_seconds": round(wall, 2),
        "plan_cpu_seconds": round(cpu, 2),
        "plan_cpu_workers_seconds": round(children_cpu, 2),
        "input_rss_mb": round(input_mb, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_worker_mb": round(children_mb, 1),
    }
    if args.fingerprint:
        figures["fingerprint"] = fingerprint(result)
        later = replace(inp, now=inp.now + timedelta(days=7), bookings=as_bookings(result))
        figures["fingerprint_replan"] = fingerprint(plan(later, workers=args.workers))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
