"""Benchmark: time a full plan of N generated customers for R salespeople.

Not a test: it reports numbers. Run `make bench`, or:

    .venv/bin/python bench/bench_plan.py --customers 100000 --salespeople 500

Wall time and CPU time (of this process) are measured without tracing; peak memory is the
maximum resident set size (ru_maxrss) of this process, which includes the interpreter and the
generated input, and separately of the largest forked planner worker (from 20,000 customers the
planner splits the salespeople across one process per core).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DEFAULT_NOW, generate

from cadence.planner import PlanInput, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--salespeople", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=90, help="days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    started = time.perf_counter()
    customers, people, contacts, policies = generate(args.customers, args.salespeople, args.seed)
    generated = time.perf_counter() - started
    inp = PlanInput(
        policies=policies,
        customers=customers,
        salespeople={p.email: p for p in people},
        now=DEFAULT_NOW,
        contacts=contacts,
        horizon_days=args.horizon,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = plan(inp)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Planner workers are forked children: their own peak is reported separately.
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    timed = [c for c in result.contacts if not c.all_day]
    figures = {
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
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_worker_mb": round(children_mb, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
