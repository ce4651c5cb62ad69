"""Benchmark: HTTP requests of cadence's real cycle against the Google and Graph fakes.

Not a test: it reports numbers. 500 customers across 20 salespeople (the workspace of
``tests/request_worlds.py``: cadence.toml, the policies, a generated customer file, Gmail or
Graph mail as a contact source), cycled three times through :meth:`Workspace.run_cycle`: the
first cycle, an unchanged second one, and a third after a salesperson moved one booking and
deleted another in their calendar (``--later 1 2 7`` adds cycles days later, with no edits).
Run:

    .venv/bin/python bench/bench_requests.py [--backend google|outlook] [--later DAYS...]
        [--throttled] [--json]

"HTTP" counts requests on the wire (token requests included; a batch counts once); "in
batches" lists the calls carried inside batch requests.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cadence.sync.workspace import Workspace
from tests.request_worlds import WORLDS, three_cycles


def video_workspace(video: str) -> type[Workspace]:
    """A workspace opened with ``video = VIDEO`` in ``[defaults]`` of its policies
    (``--video``): every booking but the all-day reminders asks for a Meet or Teams meeting."""

    class VideoWorkspace(Workspace):
        @classmethod
        def open(cls, config_path: Path | str) -> Workspace:
            defaults = Path(config_path).parent / "policies" / "defaults.toml"
            text = defaults.read_text(encoding="utf-8")
            defaults.write_text(text.replace("[defaults]\n", f'[defaults]\nvideo = "{video}"\n', 1))
            return super().open(config_path)

    return VideoWorkspace


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
        "--throttled",
        action="store_true",
        help="Google: the second cycle meets 429 with Retry-After 20 s five times for one "
        "salesperson (rep00), who is deferred while the others are served",
    )
    parser.add_argument(
        "--video",
        choices=["meet", "teams"],
        help="every policy asks for video (the link is then shown by one more write per event)",
    )
    args = parser.parse_args()

    workspace = video_workspace(args.video) if args.video else Workspace
    rows = []
    for backend in args.backend or sorted(WORLDS):
        with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as folder:
            started, cpu = time.perf_counter(), time.process_time()
            for cycle, result, counts, run in three_cycles(
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
                        "cpu_seconds": round(time.process_time() - cpu, 2),
                        "peak_rss_mb": round(_peak_rss_mb(), 1),
                        "skipped": sorted(result.failed_owners),
                    }
                )
                if args.throttled and backend == "google" and cycle == "first":
                    throttle(run)
                started, cpu = time.perf_counter(), time.process_time()
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    throttled = " (rep00 throttled in the second cycle)" if args.throttled else ""
    print(f"500 customers, 20 salespeople{throttled}")
    header = (
        f"{'backend':<8} {'cycle':<27} {'c/m/x':>11} {'requests':>8} {'wall s':>7} {'cpu s':>6} "
        f"{'rss MB':>7}  by kind | in batches"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        changes = f"{row['created']}/{row['moved']}/{row['cancelled']}"
        print(
            f"{row['backend']:<8} {row['cycle']:<27} {changes:>11} {row['requests']:>8} "
            f"{row['seconds']:>7.2f} {row['cpu_seconds']:>6.2f} {row['peak_rss_mb']:>7.1f}  "
            f"{_kinds(row['by_kind'])} | {_kinds(row['in_batches'])}"
        )
        if row["skipped"]:
            print(f"{'':<8} deferred: {', '.join(row['skipped'])}")
    print(
        "c/m/x: events created / moved / cancelled by the cycle; wall and CPU seconds of the "
        "cycle (the fake servers run in this process too); rss: the process's peak so far"
    )
    for row in rows:
        if row["cycle"] == "first" and row["created"]:
            per = row["requests"] / row["created"]
            print(f"{row['backend']} {row['cycle']}: {per:.3f} requests per created event")


def throttle(run: Any) -> None:
    """rep00's calendar reads answer 429 with Retry-After 20 s, five times in a row."""
    fake = run.world.fake
    fake.fail(
        "calendar.events.list", times=5, status=429, reason="rateLimitExceeded", retry_after="20"
    )
    fake.faults[-1].user = "rep00@example.com"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
