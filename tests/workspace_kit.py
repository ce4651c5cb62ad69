"""A throwaway cadence workspace for cycle, CLI and simulation tests.

:func:`write_workspace` lays out cadence.toml, a compact policy folder and a customer CSV in a
temporary folder; :func:`customer_row` fills in a customer file row with sensible defaults.
The policies are small and predictable on purpose (no anniversaries, no onboarding unless a
test asks) so that a test can say exactly which bookings a cycle makes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cadence.inputs.customer_row import KNOWN_COLUMNS

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday; 08:00 in London, 09:00 in Lisbon

ANA = "ana@example.com"
BEN = "ben@example.com"

COLUMNS = KNOWN_COLUMNS  # the columns the customer file reader knows

SALESPEOPLE: tuple[Mapping[str, str], ...] = (
    {
        "email": ANA,
        "name": "Ana Silva",
        "timezone": "Europe/London",
        "working_hours": "09:00-17:00",
        "working_days": "mon-fri",
        "country": "GB-ENG",
    },
    {
        "email": BEN,
        "name": "Ben Carter",
        "timezone": "Europe/London",
        "working_hours": "09:00-17:00",
        "working_days": "mon-fri",
        "country": "GB-ENG",
    },
)

POLICIES: Mapping[str, str] = {
    "defaults.toml": """
[defaults]
timezone = "Europe/London"
meeting = "30 minutes"
counts = ["meeting", "call", "email_out"]
customer_hours = "09:00-17:00"
anniversary = false
retry_after = "1 week"
""",
    "segments.toml": """
[segment.steady]
every = "4 weeks"
min_gap = "2 weeks"
max_gap = "6 weeks"

[segment.default]
every = "quarter"
min_gap = "6 weeks"
max_gap = "4 months"
""",
    "industries.toml": """
[industry.retail]
busy_seasons = ["Nov 15 - Jan 5"]
""",
    "capacity.toml": """
[capacity]
per_day = 6
per_week = 20
""",
}


def customer_row(id: str, **columns: str) -> dict[str, str]:
    """One customer file row: an active 'steady' customer of Ana's in London."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        id=id,
        name=f"Customer {id}",
        owner=ANA,
        segment="steady",
        emails=f"buyer@{id.lower()}.example",
        domains=f"{id.lower()}.example",
        country="GB-ENG",
        timezone="Europe/London",
        customer_since="2015-01-10",
        status="active",
        last_contact="2026-11-02",
    )
    row.update(columns)
    return row


def write_customers(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    """Write ``rows`` as a customer CSV (the columns of SPEC 3)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_workspace(
    folder: Path,
    rows: Iterable[Mapping[str, str]],
    *,
    backend: str = "memory",
    salespeople: Sequence[Mapping[str, object]] = SALESPEOPLE,
    policies: Mapping[str, str] = POLICIES,
    horizon: str = "90 days",
) -> Path:
    """cadence.toml + policies/ + customers.csv under ``folder``; returns cadence.toml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    policy_dir = folder / "policies"
    policy_dir.mkdir(exist_ok=True)
    for name, text in policies.items():
        (policy_dir / name).write_text(text.lstrip(), encoding="utf-8")
    write_customers(folder / "customers.csv", rows)
    lines = [
        'database = "sqlite:///cadence.db"',
        'policies = "policies"',
        'customers = "customers.csv"',
        f'horizon = "{horizon}"',
        'interval = "15 minutes"',
        'languages = ["en"]',
        'date_order = "DMY"',
        "",
        "[calendar]",
        f'backend = "{backend}"',
    ]
    if backend == "ics":
        lines += ["", "[calendar.ics]", 'folder = "calendars"', "invites = false"]
    for person in salespeople:
        lines += ["", "[[salesperson]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in person.items()]
    config = folder / "cadence.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config
