"""Synthetic inputs for the planner benchmark: many customers, salespeople and past contacts.

    customers, salespeople, contacts, policies = generate(100_000, 500, seed=1)

builds model objects directly (no CSV, no TOML, no store), so a benchmark times the planner
and nothing else. The mix follows the shipped example data: four segments plus unknown and empty
ones, industries with busy seasons, customers worldwide (Friday-Saturday weekends included),
a few percent cancelled or do-not-contact, new customers in onboarding, and 0-5 contacts each
over the last six months. Same arguments, same objects: the random source is seeded and the
clock is a parameter (:data:`DEFAULT_NOW` unless given).

Columns are drawn in bulk (``random.choices(..., k=n)``), which keeps 100,000 customers at
about a second on one core.
"""

from __future__ import annotations

import platform
import random
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from cadence.inputs.policy import Capacity, PolicySet, SegmentPolicy, WinbackPolicy
from cadence.values.dates import DateReader
from cadence.values.durations import Duration, parse_meeting_length
from cadence.values.model import Contact, ContactKind, Customer, CustomerStatus, Salesperson
from cadence.values.seasons import parse_season
from cadence.values.workweek import WorkingHours, parse_working_days

DEFAULT_NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

# (zone, country, region): where salespeople sit. Riyadh works Sunday to Thursday.
SALES_PLACES = [
    ("Europe/London", "GB", "emea"),
    ("Europe/Lisbon", "PT", "emea"),
    ("Europe/Paris", "FR", "emea"),
    ("Europe/Berlin", "DE", "emea"),
    ("Asia/Riyadh", "SA", "emea"),
    ("America/New_York", "US", "amer"),
    ("America/Chicago", "US", "amer"),
    ("America/Los_Angeles", "US", "amer"),
    ("America/Sao_Paulo", "BR", "amer"),
    ("Asia/Kolkata", "IN", "apac"),
    ("Asia/Singapore", "SG", "apac"),
    ("Australia/Sydney", "AU", "apac"),
]
SALES_WEIGHTS = [6, 2, 3, 3, 1, 6, 3, 4, 2, 4, 2, 2]
HOURS = [
    WorkingHours.parse(h) for h in ("09:00-17:00", "08:30-16:30", "08:00-16:00", "10:00-18:00")
]

# (zone, country) of customers per region, weighted by how often they occur.
CUSTOMER_PLACES = {
    "emea": [
        ("Europe/London", "GB", 8),
        ("Europe/Dublin", "IE", 1),
        ("Europe/Lisbon", "PT", 2),
        ("Europe/Madrid", "ES", 3),
        ("Europe/Paris", "FR", 4),
        ("Europe/Berlin", "DE", 5),
        ("Europe/Amsterdam", "NL", 2),
        ("Europe/Warsaw", "PL", 2),
        ("Africa/Johannesburg", "ZA", 1),
        ("Asia/Riyadh", "SA", 2),
        ("Asia/Dubai", "AE", 1),
    ],
    "amer": [
        ("America/New_York", "US", 8),
        ("America/Chicago", "US", 4),
        ("America/Denver", "US", 1),
        ("America/Phoenix", "US", 1),
        ("America/Los_Angeles", "US", 5),
        ("America/Toronto", "CA", 2),
        ("America/Mexico_City", "MX", 2),
        ("America/Sao_Paulo", "BR", 2),
        ("America/Argentina/Buenos_Aires", "AR", 1),
    ],
    "apac": [
        ("Asia/Kolkata", "IN", 6),
        ("Asia/Dhaka", "BD", 2),
        ("Asia/Kathmandu", "NP", 1),
        ("Asia/Singapore", "SG", 2),
        ("Asia/Tokyo", "JP", 3),
        ("Asia/Seoul", "KR", 1),
        ("Australia/Sydney", "AU", 3),
        ("Pacific/Auckland", "NZ", 1),
    ],
}
ALL_PLACES = [p for places in CUSTOMER_PLACES.values() for p in places]

# "" and "enterprise" fall back to the default segment, as in the example customer file.
SEGMENTS = ["strategic", "growth", "smb", "default", "enterprise", ""]
SEGMENT_WEIGHTS = [8, 22, 35, 30, 3, 2]
INDUSTRIES = [
    "retail",
    "accounting",
    "agriculture",
    "education",
    "hospitality",
    "manufacturing",
    "software",
    "logistics",
    "",
]
INDUSTRY_WEIGHTS = [15, 10, 8, 5, 5, 15, 15, 12, 15]
OWN_SEASONS = [
    ("Jul 1 - Aug 15", "Dec 20 - Jan 3"),
    ("August",),
    ("Mar 1 - Mar 31",),
    ("15 June - 31 July",),
    ("2027-01-11 - 2027-01-22",),
]
STEMS = [
    "Northwind",
    "Bluebell",
    "Kestrel",
    "Oakridge",
    "Silverline",
    "Costa Verde",
    "Lindenhof",
    "Bellevue",
    "Sakura",
    "Himalaya",
    "Al Noor",
    "Wattle",
]
WORDS = ["Outfitters", "Partners", "Farms", "Academy", "Hotels", "Systems", "Logistics", "Labs"]
CONTACT_KINDS = list(ContactKind)
CONTACT_WEIGHTS = [30, 25, 25, 15, 5]  # meeting, call, email_out, email_in, note
CONTACT_SOURCES = {
    ContactKind.MEETING: "calendar",
    ContactKind.CALL: "log",
    ContactKind.EMAIL_OUT: "mail",
    ContactKind.EMAIL_IN: "mail",
    ContactKind.NOTE: "log",
}


def interpreter() -> str:
    """Which Python the figures are of: on Debian's own python3 (what the service install's
    venv uses) the same plan takes about 0.88 of the CPU it takes on a source build without
    profile-guided optimisation such as pyenv's (docs/performance.md, round nine)."""
    return f"{platform.python_version()} ({sys.base_prefix})"


def benchmark_policies() -> PolicySet:
    """The shipped example policy set (``policies/``), built as values."""
    reader = DateReader()
    defaults = SegmentPolicy(
        timezone="Europe/London",
        customer_hours=WorkingHours.parse("09:00-17:00"),
        anniversary="yearly",
    )

    def segment(
        name: str, every: str, min_gap: str, max_gap: str, **extra: object
    ) -> SegmentPolicy:
        return replace(
            defaults,
            name=name,
            every=Duration.parse(every),
            min_gap=Duration.parse(min_gap),
            max_gap=Duration.parse(max_gap),
            **extra,  # type: ignore[arg-type]
        )

    def steps(*texts: str) -> tuple[Duration, ...]:
        return tuple(Duration.parse(t) for t in texts)

    seasons = {
        "retail": ("Nov 15 - Jan 5",),
        "accounting": ("Jan 15 - Apr 30",),
        "agriculture": ("Apr 1 - May 15", "Sep 1 - Oct 31"),
        "education": ("August", "Jun 1 - Jun 20"),
        "hospitality": ("Jul 1 - Aug 31", "Dec 20 - Jan 2"),
    }
    return PolicySet(
        defaults=defaults,
        segments={
            "strategic": segment(
                "strategic",
                "4 weeks",
                "2 weeks",
                "6 weeks",
                meeting=parse_meeting_length("45 minutes"),
                onboarding=steps("1 week", "1 month", "2 months"),
            ),
            "growth": segment(
                "growth",
                "6 weeks",
                "3 weeks",
                "9 weeks",
                anniversary="half-yearly",
                anniversary_lead=Duration.parse("2 weeks"),
                onboarding=steps("2 weeks", "2 months"),
            ),
            "smb": segment(
                "smb",
                "2 months",
                "1 month",
                "3 months",
                meeting=parse_meeting_length("20 minutes"),
                onboarding=steps("1 month"),
            ),
            "default": segment("default", "quarter", "6 weeks", "4 months"),
        },
        industries={
            name: tuple(parse_season(t, reader) for t in texts) for name, texts in seasons.items()
        },
        winback=WinbackPolicy(),
        capacity=Capacity(per_day=6, per_week=20),
    )


def generate_salespeople(n: int, rng: random.Random) -> list[Salesperson]:
    """``n`` salespeople spread over :data:`SALES_PLACES`; every tenth has a lighter day."""
    places = rng.choices(SALES_PLACES, weights=SALES_WEIGHTS, k=n)
    mon_fri, sun_thu = parse_working_days("mon-fri"), parse_working_days("sun-thu")
    people = []
    for i, (zone, country, _region) in enumerate(places):
        people.append(
            Salesperson(
                email=f"rep{i:05d}@example.com",
                name=f"Rep {i:05d}",
                timezone=zone,
                working_hours=HOURS[i % len(HOURS)],
                working_days=sun_thu if country == "SA" else mon_fri,
                country=country,
                per_day=4 if i % 10 == 9 else None,
            )
        )
    return people


def generate(
    n_customers: int,
    n_salespeople: int,
    seed: int = 1,
    now: datetime = DEFAULT_NOW,
) -> tuple[list[Customer], list[Salesperson], dict[str, list[Contact]], PolicySet]:
    """Customers, salespeople, contacts by customer id, and the policies, for one benchmark run.

    Customers who were never contacted have no entry in the contacts dict. ``now`` must be aware;
    every contact lies before it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if n_customers < 0 or n_salespeople < 1:
        raise ValueError("need n_customers >= 0 and n_salespeople >= 1")
    rng = random.Random(seed)
    salespeople = generate_salespeople(n_salespeople, rng)
    customers = _customers(n_customers, salespeople, rng, now.astimezone(UTC).date())
    contacts = _contacts(customers, rng, now)
    return customers, salespeople, contacts, benchmark_policies()


def _customers(
    n: int, salespeople: list[Salesperson], rng: random.Random, today: date
) -> list[Customer]:
    region_of = {zone: region for zone, _, region in SALES_PLACES}
    owners = rng.choices(salespeople, k=n)
    segments = rng.choices(SEGMENTS, weights=SEGMENT_WEIGHTS, k=n)
    industries = rng.choices(INDUSTRIES, weights=INDUSTRY_WEIGHTS, k=n)
    rolls = [rng.random() for _ in range(n)]
    local = {
        region: (places, [w for _, _, w in places]) for region, places in CUSTOMER_PLACES.items()
    }
    first = date(2012, 1, 1).toordinal()
    span = today.toordinal() - 60 - first
    out = []
    for i in range(n):
        owner = owners[i]
        roll = rolls[i]
        # Most customers sit in their salesperson's region; one in five anywhere in the world.
        places, weights = local[region_of[owner.timezone]]
        if roll < 0.2:
            places, weights = ALL_PLACES, [w for _, _, w in ALL_PLACES]
        zone, country, _ = rng.choices(places, weights=weights)[0]
        since = _since(rng, roll, first, span, today)
        status, cancelled_on = CustomerStatus.ACTIVE, None
        if roll > 0.97:
            status = CustomerStatus.DO_NOT_CONTACT
        elif roll > 0.92:
            status = CustomerStatus.CANCELLED
            cancelled_on = today - timedelta(days=rng.randrange(1, 450))
            since = min(since, cancelled_on - timedelta(days=90))
        cid = f"B{i:06d}"
        domain = f"{cid.lower()}.example.net"
        out.append(
            Customer(
                id=cid,
                name=f"{STEMS[i % len(STEMS)]} {WORDS[i // len(STEMS) % len(WORDS)]} {i}",
                owner=owner.email,
                segment=segments[i],
                emails=(f"office@{domain}",),
                domains=(domain,),
                industry=industries[i],
                country=country,
                timezone=zone,
                customer_since=since,
                status=status,
                cancelled_on=cancelled_on,
                busy_seasons=OWN_SEASONS[i % len(OWN_SEASONS)] if roll < 0.08 else (),
                last_contact=since + timedelta(days=7) if 0.3 < roll < 0.35 else None,
            )
        )
    return out


def _since(rng: random.Random, roll: float, first: int, span: int, today: date) -> date:
    """Mostly 2012 to two months ago (more of them recent); some onboarding, a few not started."""
    if 0.5 < roll < 0.53:  # joined in the last two months: onboarding
        return today - timedelta(days=rng.randrange(0, 60))
    if 0.53 < roll < 0.54:  # signed, starting within a month
        return today + timedelta(days=rng.randrange(1, 30))
    return date.fromordinal(first + int(rng.triangular(0, span, span * 0.8)))


def _contacts(
    customers: list[Customer], rng: random.Random, now: datetime
) -> dict[str, list[Contact]]:
    """0-5 contacts per customer over the last 180 days (none before the customer started)."""
    counts = rng.choices(range(6), weights=[20, 25, 20, 15, 12, 8], k=len(customers))
    out: dict[str, list[Contact]] = {}
    horizon_seconds = 180 * 86400
    for customer, count in zip(customers, counts, strict=True):
        if count == 0 or customer.customer_since is None:
            continue
        start = datetime.combine(customer.customer_since, datetime.min.time(), UTC)
        earliest = max(0.0, (now - start).total_seconds())
        window = min(horizon_seconds, earliest)
        if window <= 0:
            continue
        kinds = rng.choices(CONTACT_KINDS, weights=CONTACT_WEIGHTS, k=count)
        ages = sorted((rng.random() * window for _ in range(count)), reverse=True)
        out[customer.id] = [
            Contact(
                customer_id=customer.id,
                kind=kind,
                at=now - timedelta(seconds=int(age) + 60),
                source=CONTACT_SOURCES[kind],
                source_id=f"{customer.id}-{n}",
            )
            for n, (kind, age) in enumerate(zip(kinds, ages, strict=True))
        ]
    return out


if __name__ == "__main__":  # a quick look: sizes and time for 100k customers
    import time

    t0 = time.perf_counter()
    cs, sp, ct, _ = generate(100_000, 500)
    print(
        f"{len(cs)} customers, {len(sp)} salespeople, {sum(map(len, ct.values()))} contacts "
        f"in {time.perf_counter() - t0:.2f} s"
    )
