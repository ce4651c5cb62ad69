"""The workspace of the request worlds (:mod:`tests.request_worlds`): 500 customers across 20
salespeople in five territories, cadence.toml naming a cloud backend as calendar and mail source,
a copy of the policies.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cadence.inputs.customer_row import KNOWN_COLUMNS

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
SEED = 20261123
CUSTOMERS_EACH = 25  # 20 x 25 = 500 customers

# (time zone, country) of the salespeople, in turn.
TERRITORIES = (
    ("Europe/London", "GB"),
    ("America/New_York", "US"),
    ("Europe/Berlin", "DE"),
    ("Europe/Lisbon", "PT"),
    ("America/Chicago", "US"),
)
SALESPEOPLE = tuple(f"rep{n:02d}@example.com" for n in range(20))
ZONES = {email: TERRITORIES[n % len(TERRITORIES)] for n, email in enumerate(SALESPEOPLE)}

SEGMENTS = (("strategic", 2), ("growth", 4), ("smb", 6), ("default", 4), ("", 1), ("legacy", 1))
INDUSTRIES = ("retail", "accounting", "software", "hospitality", "education", "agriculture", "")
CUSTOMER_COLUMNS = KNOWN_COLUMNS  # the columns the customer file reader knows


# ---- the workspace --------------------------------------------------------------------------


def customer_rows(seed: int = SEED) -> list[dict[str, str]]:
    """500 customers, 25 per salesperson: every segment (and an empty and an unknown one),
    1-2 addresses each (some with a domain), a few cancelled or do-not-contact, some new
    (onboarding), some with anniversaries in the horizon, some never contacted."""
    rng = random.Random(seed)
    today = NOW.date()
    names, weights = zip(*SEGMENTS, strict=True)
    rows = []
    for n, owner in enumerate(SALESPEOPLE):
        zone, country = ZONES[owner]
        for k in range(CUSTOMERS_EACH):
            cid = f"C-{n:02d}{k:02d}"
            domain = f"{cid.lower()}.example"
            emails = [f"buyer@{domain}"]
            if rng.random() < 0.4:
                emails.append(f"ops@{domain}")
            roll = rng.random()
            if roll < 0.1:  # joined lately: onboarding check-ins
                since = today - timedelta(days=rng.randint(3, 60))
            elif roll < 0.25:  # an anniversary inside the 90-day horizon
                since = date(rng.randint(2012, 2024), *_month_day(today, rng.randint(5, 85)))
            else:
                since = today - timedelta(days=rng.randint(400, 5000))
            status, cancelled_on = "active", ""
            if rng.random() < 0.04 and since < today - timedelta(days=250):
                status = "cancelled"
                cancelled_on = (today - timedelta(days=rng.randint(2, 200))).isoformat()
            elif rng.random() < 0.02:
                status = "do_not_contact"
            never = rng.random() < 0.1  # never contacted
            last = "" if never else (today - timedelta(days=rng.randint(1, 200))).isoformat()
            rows.append(
                {
                    "id": cid,
                    "name": f"Customer {cid}",
                    "owner": owner,
                    "segment": rng.choices(names, weights)[0],
                    "emails": ";".join(emails),
                    "domains": domain if rng.random() < 0.3 else "",
                    "industry": rng.choice(INDUSTRIES),
                    "country": country,
                    "timezone": zone,
                    "customer_since": since.isoformat(),
                    "status": status,
                    "cancelled_on": cancelled_on,
                    "busy_seasons": "",
                    "last_contact": last,
                }
            )
    return rows


def _month_day(today: date, days_ahead: int) -> tuple[int, int]:
    day = today + timedelta(days=days_ahead)
    return (day.month, min(day.day, 28))  # never 29 February in a past year


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_workspace(folder: Path, backend: str, section: Mapping[str, Any]) -> Path:
    """cadence.toml (``backend`` as calendar and mail source, ``section`` for both),
    a copy of the policies and the customer file under ``folder``; cadence.toml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(POLICIES, folder / "policies", dirs_exist_ok=True)
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CUSTOMER_COLUMNS)
        writer.writeheader()
        writer.writerows(customer_rows())
    body = "\n".join(f"{key} = {_toml(value)}" for key, value in section.items())
    lines = [
        'database = "sqlite:///cadence.db"',
        'policies = "policies"',
        'customers = "customers.csv"',
        'horizon = "90 days"',
        'languages = ["en"]',
        'date_order = "DMY"',
        "",
        "[calendar]",
        f'backend = "{backend}"',
        "",
        f"[calendar.{backend}]",
        body,
        "",
        # The mail section is validated on its own (cadence/inputs/config.py), so it repeats the
        # connection keys rather than relying on the cycle's merge with [calendar.NAME].
        f"[mail.{backend}]",
        body,
    ]
    for email in SALESPEOPLE:
        zone, country = ZONES[email]
        lines += [
            "",
            "[[salesperson]]",
            f'email = "{email}"',
            f'timezone = "{zone}"',
            'working_hours = "09:00-17:00"',
            'working_days = "mon-fri"',
            f'country = "{country}"',
        ]
    config = folder / "cadence.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config
