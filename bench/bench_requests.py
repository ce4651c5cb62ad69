"""Benchmark: HTTP requests of cadence's real cycle against the Google and Graph fakes.

Not a test: it reports numbers. 500 customers across 20 salespeople (the workspace of
``tests/test_cycle_requests.py``: cadence.toml, the policies, a generated customer file, Gmail or
Graph mail as a contact source), cycled three times through :meth:`Workspace.run_cycle`: the
first cycle, an unchanged second one, and a third after a salesperson moved one booking and
deleted another in their calendar (``--later 1 2 7`` adds cycles days later, with no edits).
Run:

    .venv/bin/python bench/bench_requests.py [--backend google|outlook] [--later DAYS...] [--json]

"HTTP" counts requests on the wire (token requests included; a batch counts once); "in
batches" lists the calls carried inside batch requests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cadence.cycle import BUSY_MARGIN, Workspace
from cadence.model import BusyInterval, Salesperson
from connectors.base import BackendError
from tests.test_cycle_requests import WORLDS, three_cycles


class TeamBusyWorkspace(Workspace):
    """What-if (``--team-busy``): read busy time for all of a backend's salespeople in one
    ``busy_many`` call when the backend offers it (Outlook: ``getSchedule``, 20 mailboxes and
    62 days per request) instead of one ``busy`` call per salesperson. Not cadence's code: the
    change proposed for ``Workspace.read_busy``, measured."""

    def read_busy(
        self, now: datetime, owners: Iterable[str], failed: dict[str, str]
    ) -> dict[str, list[BusyInterval]]:
        until = now + timedelta(days=self.config.horizon_days) + BUSY_MARGIN
        people = {p.email: p for p in self.config.salespeople}
        groups: dict[str, list[str]] = {}
        for owner in owners:
            if owner not in failed:
                person = people.get(owner) or Salesperson(email=owner)
                groups.setdefault(self.backend_name(person), []).append(owner)
        busy: dict[str, list[BusyInterval]] = {}
        for name, group in groups.items():
            if len(group) > 1 and hasattr(self.backend(name), "busy_many"):
                ok, value = self._call(name, "*", now, "busy_many", group, now, until)
                if ok:
                    for owner, got in value.items():
                        if isinstance(got, BackendError):
                            failed[owner] = str(got)
                        else:
                            busy[owner] = got
                    continue
            busy.update(super().read_busy(now, group, failed))
        return busy


def _kinds(counter: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items())) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(WORLDS), action="append")
    parser.add_argument("--json", action="store_true", help="one JSON line per cycle")
    parser.add_argument(
        "--later",
        type=int,
        nargs="*",
        default=[],
        metavar="DAYS",
        help="also run a cycle this many days after the first (no edits in between)",
    )
    parser.add_argument(
        "--team-busy",
        action="store_true",
        help="what-if: read busy time with the backend's busy_many where it has one",
    )
    args = parser.parse_args()

    workspace = TeamBusyWorkspace if args.team_busy else Workspace
    rows = []
    for backend in args.backend or sorted(WORLDS):
        with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as folder:
            started = time.perf_counter()
            for cycle, result, counts, _run in three_cycles(
                Path(folder), backend, args.later, workspace
            ):
                rows.append(
                    {
                        "backend": backend,
                        "cycle": cycle,
                        "created": result.created,
                        "moved": result.moved,
                        "cancelled": result.cancelled,
                        "unchanged": result.unchanged,
                        "requests": counts.total,
                        "by_kind": dict(sorted(counts.http.items())),
                        "in_batches": dict(sorted(counts.in_batches.items())),
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                )
                started = time.perf_counter()
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    what_if = " (what-if: busy_many)" if args.team_busy else ""
    print(f"500 customers, 20 salespeople{what_if}")
    header = f"{'backend':<8} {'cycle':<27} {'c/m/x':>11} {'requests':>8}  by kind | in batches"
    print(header)
    print("-" * len(header))
    for row in rows:
        changes = f"{row['created']}/{row['moved']}/{row['cancelled']}"
        print(
            f"{row['backend']:<8} {row['cycle']:<27} {changes:>11} {row['requests']:>8}  "
            f"{_kinds(row['by_kind'])} | {_kinds(row['in_batches'])}"
        )
    print("c/m/x: events created / moved / cancelled by the cycle")
    for row in rows:
        if row["cycle"] == "first" and row["created"]:
            per = row["requests"] / row["created"]
            print(f"{row['backend']} {row['cycle']}: {per:.3f} requests per created event")


if __name__ == "__main__":
    main()
