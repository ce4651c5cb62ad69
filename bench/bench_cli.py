"""Benchmark: the real `cadence` command line on a generated installation (SQLite + .ics files).

Not a test: it reports numbers. Run it from the repository root:

    .venv/bin/python bench/bench_cli.py --customers 10000 --salespeople 500 [--json]

It writes a fresh installation with :mod:`world` into a temporary folder (or ``--folder``),
then runs, each as its own process with ``--now`` fixed, the rows below in order, and reports
for each the wall time, the CPU time (user + system, of the process and its children, from
``wait4``) and the peak resident memory (the largest of the process and its children):

- ``import-contacts`` of the generated history (imports the customer file first);
- the first ``run --once`` (books every calendar file);
- ``run --once`` again five minutes later (converged: what was just written is read back);
- ``run --once`` once more, nothing changed (what the daemon pays every ``interval``);
- ``log`` of one call, then the ``run --once`` after it;
- ``explain`` of one customer;
- ``plan --changes`` after an edit of one segment's policy (``smb``: every 2 months -> 9 weeks).

cadence's own modules are compiled to bytecode first, as an installed package's are: with
``PYTHONDONTWRITEBYTECODE`` set (as on the development machines) every row would otherwise
compile them again, about 0.15 s of each command's start.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DEFAULT_NOW, interpreter
from world import write_world

import cadence
import connectors

CADENCE = [sys.executable, "-m", "cadence.app.cli"]


def timed(args: list[str], cwd: Path) -> dict[str, object]:
    """Run ``cadence ARGS`` in ``cwd``: wall seconds, CPU seconds, peak RSS (MB), exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*CADENCE, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit": process.returncode,
        "stderr": err.decode(errors="replace")[-300:] if process.returncode not in (0,) else "",
    }


def edit_policy(folder: Path) -> None:
    """One segment's rhythm changes: smb customers every 9 weeks instead of 2 months."""
    path = folder / "policies" / "segments.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[segment.smb]")
    head, tail = text[:start], text[start:]
    line = next(x for x in tail.splitlines() if x.startswith("every"))
    path.write_text(head + tail.replace(line, 'every = "9 weeks"', 1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--salespeople", type=int, default=500)
    parser.add_argument("--folder", type=Path, help="where to build it (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="one JSON line per row")
    args = parser.parse_args()
    python = interpreter()
    if not args.json:
        print(f"python {python}", flush=True)
    for package in (cadence, connectors):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as temporary:
        folder = args.folder or Path(temporary)
        write_world(folder, args.customers, args.salespeople)
        now = DEFAULT_NOW

        def at(minutes: int) -> list[str]:
            return ["--now", (now + timedelta(minutes=minutes)).isoformat()]

        steps = [
            ("import-contacts", ["import-contacts", "contact-history.csv", *at(0)], None),
            ("first run --once", ["run", "--once", *at(0)], None),
            ("run --once, converged", ["run", "--once", *at(5)], None),
            ("unchanged run --once", ["run", "--once", *at(10)], None),
            ("log (one call)", ["log", "B000123", "--kind", "call", *at(12)], None),
            ("run --once after log", ["run", "--once", *at(15)], None),
            ("explain ID", ["explain", "B000123", *at(16)], None),
            ("plan --changes, smb edited", ["plan", "--changes", *at(17)], edit_policy),
        ]
        rows = []
        for name, cli_args, before in steps:
            if before is not None:
                before(folder)
            row = {
                "python": python,
                "customers": args.customers,
                "salespeople": args.salespeople,
                "step": name,
            }
            row.update(timed(cli_args, folder))
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"{name:<28} wall {row['wall_s']:>7.2f} s  cpu {row['cpu_s']:>7.2f} s  "
                    f"peak {row['peak_rss_mb']:>7.1f} MB  exit {row['exit']}"
                    + (f"  {row['stderr']!r}" if row["stderr"] else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
