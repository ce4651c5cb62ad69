"""Write examples/contact-history.csv: a few years of contacts with the demo customers.

The history a team brings along when it starts with cadence (``cadence import-contacts``), so
that the report's gap statistics and feast-or-famine scores mean something on day one. It is
made up, deterministically (a fixed seed), in the shapes the domain articles describe: a burst
of contact after a customer starts, then either a steady rhythm, a drift into long silences, or
feast and famine (bursts of contact with long gaps between them).

    python examples/make_contact_history.py     # rewrites examples/contact-history.csv
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from cadence.inputs.config import load_config
from cadence.values.dates import DateReader
from cadence.values.errors import ValueParseError

HERE = Path(__file__).parent
CUSTOMERS = HERE / "customers.csv"
OUT = HERE / "contact-history.csv"
SEED = 20261120
START = date(2023, 12, 1)  # the history goes back about three years
END = date(2026, 11, 20)  # and ends the Friday before the demo's first run
KINDS = ("meeting", "call", "email_out", "email_in")
SHAPES = ("steady", "steady", "drifting", "feast_or_famine")


def _gaps(shape: str, rng: random.Random) -> list[int]:
    """Days between contacts after the first weeks, for a customer of ``shape``."""
    if shape == "steady":
        return [max(7, int(rng.gauss(35, 7))) for _ in range(60)]
    if shape == "drifting":
        return [max(7, int(20 * 1.35**n + rng.gauss(0, 5))) for n in range(60)]
    gaps = []
    for _ in range(20):
        gaps += [rng.randint(2, 9) for _ in range(rng.randint(2, 4))]  # the feast
        gaps.append(rng.randint(90, 200))  # the famine
    return gaps


def _day(reader: DateReader, text: str) -> date | None:
    """A date of the customer file (written in several languages), None when absent."""
    try:
        return reader.calendar_date(text) if text.strip() else None
    except ValueParseError:
        return None


def history_of(
    row: dict[str, str], rng: random.Random, reader: DateReader
) -> list[tuple[date, str]]:
    """``(day, kind)`` contacts of one customer between its start (or START) and its end."""
    since = _day(reader, row["customer_since"]) or START
    end = END
    cancelled = _day(reader, row["cancelled_on"])
    if row["status"] == "cancelled" and cancelled:
        end = min(END, cancelled - timedelta(days=30))
    if row["status"] == "do_not_contact":
        end = min(END, START + timedelta(days=400))
    day = max(since, START)
    found = []
    if since >= START:  # onboarding: a burst of contact in the first weeks
        for offset in (2, 9, 16, 30):
            found.append((since + timedelta(days=offset), rng.choice(KINDS)))
        day = since + timedelta(days=30)
    for gap in _gaps(rng.choice(SHAPES), rng):
        day += timedelta(days=gap)
        if day > end:
            break
        found.append((day, rng.choice(KINDS)))
    return [(d, k) for d, k in found if d <= end]


def main() -> None:
    rng = random.Random(SEED)
    reader = load_config(HERE.parent / "cadence.toml").date_reader()
    with CUSTOMERS.open(newline="", encoding="utf-8") as f:
        customers = list(csv.DictReader(f))
    rows = []
    for customer in customers:
        for n, (day, kind) in enumerate(history_of(customer, rng, reader)):
            hour = rng.choice((9, 10, 11, 14, 15, 16))
            at = datetime(day.year, day.month, day.day, hour, rng.choice((0, 15, 30)))
            since = _day(reader, customer["customer_since"])
            note = "onboarding" if n < 4 and since and since >= START else ""
            rows.append(
                {
                    "customer_id": customer["id"],
                    "kind": kind,
                    "at": at.strftime("%Y-%m-%d %H:%M"),
                    "note": note,
                    "source_id": f"crm-{customer['id']}-{n + 1}",
                }
            )
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["customer_id", "kind", "at", "note", "source_id"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{OUT}: {len(rows)} contacts with {len(customers)} customers")


if __name__ == "__main__":
    main()
