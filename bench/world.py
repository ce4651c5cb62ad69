"""A whole cadence installation of generated data, as files: what the CLI benchmark runs on.

    .venv/bin/python bench/world.py FOLDER --customers 10000 --salespeople 500

writes into FOLDER (made if missing): ``cadence.toml`` (SQLite database ``cadence.db``, the
.ics backend writing ``calendars/``, one ``[[salesperson]]`` entry each), ``policies/`` (a copy
of the repository's example policies), ``customers.csv`` and ``contact-history.csv`` (the
customers and past contacts of :func:`generate.generate`, same seed same bytes). Nothing is
imported: the first ``cadence import-contacts`` / ``run --once`` does that, as for a user.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DEFAULT_NOW, generate

from cadence.inputs.customer_row import KNOWN_COLUMNS, RHYTHM_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
# The customer file's columns, without the per-customer rhythm (the generated book has none).
COLUMNS = tuple(c for c in KNOWN_COLUMNS if c not in RHYTHM_COLUMNS)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_world(folder: Path, n_customers: int, n_salespeople: int, seed: int = 1) -> None:
    """Write the files of one installation into ``folder`` (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    customers, people, contacts, _ = generate(n_customers, n_salespeople, seed, DEFAULT_NOW)
    lines = [
        'database = "sqlite:///cadence.db"',
        'policies = "policies"',
        'customers = "customers.csv"',
        'horizon = "90 days"',
        'interval = "15 minutes"',
        "",
        "[calendar]",
        'backend = "ics"',
        "",
        "[calendar.ics]",
        'folder = "calendars"',
        "invites = false",
    ]
    for p in people:
        lines += [
            "",
            "[[salesperson]]",
            f"email = {_toml_string(p.email)}",
            f"name = {_toml_string(p.name)}",
            f"timezone = {_toml_string(p.timezone)}",
            f"working_hours = {_toml_string(str(p.working_hours))}",
            f"working_days = {_toml_string(_days(p.working_days))}",
            f"country = {_toml_string(p.country or '')}",
        ]
        if p.per_day is not None:
            lines.append(f"per_day = {p.per_day}")
    (folder / "cadence.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.rmtree(folder / "policies", ignore_errors=True)
    shutil.copytree(ROOT / "policies", folder / "policies")
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for c in customers:
            writer.writerow(
                [
                    c.id,
                    c.name,
                    c.owner,
                    c.segment,
                    ";".join(c.emails),
                    ";".join(c.domains),
                    c.industry,
                    c.country,
                    c.timezone,
                    c.customer_since.isoformat() if c.customer_since else "",
                    c.status.value,
                    c.cancelled_on.isoformat() if c.cancelled_on else "",
                    ";".join(c.busy_seasons),
                    c.last_contact.isoformat() if c.last_contact else "",
                ]
            )
    with (folder / "contact-history.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("customer_id", "kind", "at", "note", "source_id"))
        for customer_id in sorted(contacts):
            for contact in contacts[customer_id]:
                writer.writerow(
                    [
                        customer_id,
                        contact.kind.value,
                        contact.at.isoformat(),
                        "",
                        contact.source_id,
                    ]
                )


def _days(days: frozenset[int] | tuple[int, ...]) -> str:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return " ".join(names[d] for d in sorted(days))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--salespeople", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_world(args.folder, args.customers, args.salespeople, args.seed)


if __name__ == "__main__":
    main()
