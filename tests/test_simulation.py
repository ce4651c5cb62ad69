"""A year of the real cycle: 240 customers, 4 salespeople, busy seasons, contacts at random.

The daemon's cycle (:meth:`Workspace.run_cycle` on the memory backend) runs every other day for
a simulated year with the clock passed in. Between cycles, each customer has a small chance each
day of a contact that cadence did not book (a call, an e-mail either way, a meeting), logged
through ``store.add_contacts``; cadence's own bookings become contacts once their time passes.

At the end the store's contact history is measured:

(a) no customer is silent longer than its ``max_gap`` unless busy seasons swallowed the whole
    window (``[L + min_gap, L + max_gap]`` has no working day outside the seasons: the planner's
    forced gap), and then the silence ends within two weeks of the season's end;
(b) no cadence booking falls inside the customer's busy seasons (customer's zone);
(c) the report's feast-or-famine score (coefficient of variation of the gaps, in units of the
    customer's ``every``) is well below that of a naive fixed-interval scheduler on the same data.

The naive baseline books a meeting every ``every`` from the customer's last contact before the
year began (L0 + every, L0 + 2 every, ...), ignoring later contacts, seasons, weekends and
capacity; the same random contacts happen around it. Both histories go through the same
:func:`cadence.report.figures.build_report`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from cadence.planner.contacts import collapse, counts
from cadence.report.figures import build_report
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState, Contact, ContactKind, Customer
from cadence.values.seasons import Season
from tests.workspace_kit import customer_row, write_workspace

START = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)  # a Monday, mid-morning in Europe
DAYS = 364
STEP_DAYS = 3
CUSTOMERS_PER_PERSON = 60
CONTACT_CHANCE = 1 / 90  # per customer per day: about four outside contacts a year
SEED = 20270104
# The rhythm figures of this year before the even daily load (issue 14: main at e9114db^): the
# feast-or-famine score 0.41896 and 53 silences past max_gap. Evening the salesperson's load
# must not cost the customers' rhythm.
RHYTHM_BEFORE_EVEN_LOAD = 0.41896
SILENCES_BEFORE_EVEN_LOAD = 53

SALESPEOPLE = (
    {
        "email": "ana@example.com",
        "name": "Ana Silva",
        "timezone": "Europe/London",
        "working_hours": "09:00-17:00",
        "working_days": "mon-fri",
        "country": "GB",
    },
    {
        "email": "ben@example.com",
        "name": "Ben Carter",
        "timezone": "America/New_York",
        "working_hours": "08:30-16:30",
        "working_days": "mon-fri",
        "country": "US",
    },
    {
        "email": "chloe@example.com",
        "name": "Chloé Martin",
        "timezone": "Europe/Paris",
        "working_hours": "09:00-17:30",
        "working_days": "mon-fri",
        "country": "FR",
    },
    {
        "email": "dev@example.com",
        "name": "Dev Patel",
        "timezone": "Asia/Kolkata",
        "working_hours": "10:00-18:00",
        "working_days": "mon-fri",
        "country": "IN",
    },
)

# Where each salesperson's customers are (zone, country): hours always overlap somewhere.
CUSTOMER_PLACES = {
    "ana@example.com": [
        ("Europe/London", "GB"),
        ("Europe/London", "GB"),
        ("Europe/Lisbon", "PT"),
        ("Europe/Berlin", "DE"),
        ("America/New_York", "US"),
    ],
    "ben@example.com": [
        ("America/New_York", "US"),
        ("America/New_York", "US"),
        ("America/Chicago", "US"),
        ("America/Toronto", "CA"),
        ("Europe/London", "GB"),
    ],
    "chloe@example.com": [
        ("Europe/Paris", "FR"),
        ("Europe/Paris", "FR"),
        ("Europe/Berlin", "DE"),
        ("Europe/Madrid", "ES"),
        ("Asia/Dubai", "AE"),
    ],
    "dev@example.com": [
        ("Asia/Kolkata", "IN"),
        ("Asia/Kolkata", "IN"),
        ("Asia/Dubai", "AE"),
        ("Asia/Singapore", "SG"),
        ("Europe/London", "GB"),
    ],
}

POLICIES = {
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
[segment.strategic]
every = "4 weeks"
min_gap = "2 weeks"
max_gap = "6 weeks"

[segment.growth]
every = "6 weeks"
min_gap = "3 weeks"
max_gap = "9 weeks"

[segment.default]
every = "quarter"
min_gap = "6 weeks"
max_gap = "4 months"
""",
    "industries.toml": """
[industry.retail]
busy_seasons = ["Nov 15 - Jan 5"]

[industry.accounting]
busy_seasons = ["Jan 15 - Apr 30"]

[industry.agriculture]
busy_seasons = ["Apr 1 - May 15", "Sep 1 - Oct 31"]
""",
    "capacity.toml": """
[capacity]
per_day = 10
per_week = 40
""",
}

CUSTOMER_HOURS = "09:00-17:00"  # the policies' customer_hours
SEGMENTS = ["strategic"] * 4 + ["growth"] * 3 + ["default"] * 3
INDUSTRIES = ["retail"] * 5 + ["accounting"] * 3 + ["agriculture"] * 2 + [""] * 10
EVERY_DAYS = {"strategic": 28, "growth": 42, "default": 91}
OUTSIDE_KINDS = [ContactKind.CALL] * 6 + [ContactKind.EMAIL_OUT] * 5
OUTSIDE_KINDS += [ContactKind.MEETING] * 3 + [ContactKind.EMAIL_IN] * 6


def customer_rows(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for person in SALESPEOPLE:
        owner = person["email"]
        for n in range(CUSTOMERS_PER_PERSON):
            zone, country = rng.choice(CUSTOMER_PLACES[owner])
            segment = rng.choice(SEGMENTS)
            last = START.date() - timedelta(days=rng.randint(3, EVERY_DAYS[segment] - 3))
            rows.append(
                customer_row(
                    f"{owner[0].upper()}{n:03d}",
                    owner=owner,
                    segment=segment,
                    industry=rng.choice(INDUSTRIES),
                    timezone=zone,
                    country=country,
                    customer_since="2018-03-01",
                    last_contact=last.isoformat(),
                    busy_seasons="August" if rng.random() < 0.05 else "",
                )
            )
    return rows


Load = dict[tuple[str, date], set[tuple[datetime, datetime]]]  # (owner, day) -> meetings


@dataclass
class Year:
    """What the simulated year left behind."""

    ws: Workspace
    customers: list[Customer]
    outside: list[Contact]  # the contacts cadence did not book
    end: datetime
    cycles: int
    writes: Mapping[str, int]
    forced: Mapping[str, set[str]]  # per customer: every reason given for a forced gap
    loads: Sequence[tuple[date, Load]]  # each cycle's bookings per owner-day: (cycle day, load)


def simulate(folder: Path) -> Year:
    rng = random.Random(SEED)
    config = write_workspace(folder, customer_rows(rng), salespeople=SALESPEOPLE, policies=POLICIES)
    ws = Workspace.open(config)
    now = START
    ws.run_cycle(now)
    customers = ws.store.customers()
    assert len(customers) == len(SALESPEOPLE) * CUSTOMERS_PER_PERSON
    zones = {c.id: ZoneInfo(c.timezone) for c in customers}
    outside: list[Contact] = []
    forced: dict[str, set[str]] = {}
    owner_zone = {p["email"]: ZoneInfo(p["timezone"]) for p in SALESPEOPLE}
    loads: list[tuple[date, Load]] = []

    def live_load(at: datetime) -> Load:
        load: Load = {}
        # the live ones ahead only: a year of past bookings need not be read every cycle
        live = (BookingState.BOOKED, BookingState.MOVED_BY_OWNER)
        for r in ws.store.bookings_ending_after(at, states=live):
            # no all-day reminders here (no anniversaries), so every start is a datetime
            if r.start > at:  # type: ignore[operator]
                day = r.start.astimezone(owner_zone[r.owner]).date()  # type: ignore[union-attr]
                load.setdefault((r.owner, day), set()).add((r.start, r.end))  # type: ignore[arg-type]
        return load

    cycles = 1
    while now < START + timedelta(days=DAYS):
        later = now + timedelta(days=STEP_DAYS)
        fresh = []
        day = now.date()
        while day < later.date():
            for c in customers:
                if rng.random() < CONTACT_CHANCE:
                    local = time(rng.randint(9, 16), rng.choice((0, 30)))
                    at = datetime.combine(day, local, zones[c.id]).astimezone(UTC)
                    kind = rng.choice(OUTSIDE_KINDS)
                    fresh.append(Contact(c.id, kind, at, "sim", f"sim:{c.id}:{at.isoformat()}"))
            day += timedelta(days=1)
        now = later
        happened = [c for c in fresh if c.at <= now]
        ws.store.add_contacts(happened)
        outside.extend(happened)
        before = live_load(now)
        result = ws.run_cycle(now)
        assert result.failed_owners == {}
        # what this cycle's planner counted: the bookings it started from (some of which it may
        # drop only after placing everyone) or what it planned, whichever is more
        for a in result.actions:
            if a.planned is not None:
                span = (a.planned.start, a.planned.end)
                before.setdefault((a.planned.owner, a.planned.day), set()).add(span)  # type: ignore[arg-type]
        loads.append((now.date(), before))
        for action in result.actions:
            p = action.planned
            if p is not None and p.forced:
                forced.setdefault(p.customer_id, set()).update(
                    r for r in p.reasons if r.startswith("forced gap")
                )
        cycles += 1
    writes = dict(ws.backend("memory").ops)  # type: ignore[attr-defined]
    return Year(ws, customers, outside, now, cycles, writes, forced, loads)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterable[Year]:
    result = simulate(tmp_path_factory.mktemp("year"))
    yield result
    result.ws.close()


# ---- measuring -------------------------------------------------------------------------------


def contact_days(customer: Customer, contacts: Iterable[Contact], ws: Workspace) -> list[date]:
    """The customer-local days of counted contacts (the CSV last_contact included)."""
    policy = ws.policies.for_customer(customer)
    zone = ZoneInfo(customer.timezone)
    days = {c.at.astimezone(zone).date() for c in collapse(contacts) if counts(c, policy.counts)}
    if customer.last_contact is not None:
        days.add(customer.last_contact)
    return sorted(days)


def seasons_of(customer: Customer, ws: Workspace) -> list[Season]:
    texts = list(customer.busy_seasons)
    if customer.industry:
        texts += [str(s) for s in ws.policies.industries.get(customer.industry, ())]
    return [ws.season(t) for t in texts]


def in_season(day: date, seasons: Sequence[Season]) -> bool:
    return any(s.contains(day) for s in seasons)


@dataclass(frozen=True)
class Gap:
    customer: str
    start: date
    end: date
    max_end: date


def long_gaps(year: Year, histories: Mapping[str, Sequence[Contact]]) -> list[Gap]:
    """Silences longer than max_gap, including the one still running at the end."""
    ws = year.ws
    out = []
    for c in year.customers:
        policy = ws.policies.for_customer(c)
        days = contact_days(c, histories.get(c.id, ()), ws)
        end_day = year.end.astimezone(ZoneInfo(c.timezone)).date()
        for a, b in zip(days, [*days[1:], end_day], strict=True):
            if b > policy.max_gap.add_to(a):
                out.append(Gap(c.id, a, b, policy.max_gap.add_to(a)))
    return out


def _allowed_days(c: Customer) -> Callable[[date], bool]:
    """Weekdays that are public holidays on neither side (both countries here keep Sat-Sun)."""
    owner_country = next(p["country"] for p in SALESPEOPLE if p["email"] == c.owner)
    years = range(START.year - 1, START.year + 3)
    off = holidays.country_holidays(c.country, years=years)
    off_owner = holidays.country_holidays(owner_country, years=years)
    return lambda day: day.weekday() < 5 and day not in off and day not in off_owner


def open_days(gap: Gap, year: Year) -> list[date]:
    """The days of the window after ``gap.start`` (from the simulation's first day on) that
    were outside the customer's seasons, working days and no public holiday on either side."""
    c = next(c for c in year.customers if c.id == gap.customer)
    policy = year.ws.policies.for_customer(c)
    seasons, allowed = seasons_of(c, year.ws), _allowed_days(c)
    day = max(policy.min_gap.add_to(gap.start), START.date() + timedelta(days=1))
    out = []
    while day <= gap.max_end:
        if allowed(day) and not in_season(day, seasons):
            out.append(day)
        day += timedelta(days=1)
    return out


def season_forced(gap: Gap, year: Year) -> bool:
    """Busy seasons (with weekends and holidays) left no day in the window, and the silence
    ended within two weeks of the first allowed day after the season."""
    if open_days(gap, year):
        return False
    c = next(c for c in year.customers if c.id == gap.customer)
    seasons, allowed = seasons_of(c, year.ws), _allowed_days(c)
    day = gap.max_end
    while in_season(day, seasons) or not allowed(day):
        day += timedelta(days=1)
    return gap.end <= day + timedelta(days=14)


def capacity_forced(gap: Gap, year: Year) -> bool:
    """Every open day of the window was full when it was last planned (in the last cycle on
    or before it, counting the bookings that cycle started from and the ones it planned): the
    owner had ``per_day`` bookings that day or ``per_week`` that ISO week, or no free stretch of
    the meeting's length was left in the hours they share with the customer."""
    days = open_days(gap, year)
    if not days:
        return False
    c = next(c for c in year.customers if c.id == gap.customer)
    person = next(p for p in SALESPEOPLE if p["email"] == c.owner)
    meeting = year.ws.policies.for_customer(c).meeting
    cap = year.ws.policies.capacity
    assert cap.per_day is not None and cap.per_week is not None
    per_day, per_week = cap.per_day, cap.per_week

    def span(day: date, hours: str, zone: str) -> tuple[datetime, datetime]:
        lo, hi = (time.fromisoformat(t) for t in hours.split("-"))
        return (
            datetime.combine(day, lo, ZoneInfo(zone)).astimezone(UTC),
            datetime.combine(day, hi, ZoneInfo(zone)).astimezone(UTC),
        )

    buffer = year.ws.policies.capacity.buffer

    def no_free_slot(day: date, booked: set[tuple[datetime, datetime]]) -> bool:
        """No stretch of the meeting's length, ``buffer`` away from every booking."""
        own = span(day, person["working_hours"], person["timezone"])
        theirs = span(day, CUSTOMER_HOURS, c.timezone)
        free_from, until = max(own[0], theirs[0]), min(own[1], theirs[1])
        for start, end in sorted(booked):
            if start - buffer - free_from >= meeting:
                return False
            free_from = max(free_from, end + buffer)
        return until - free_from < meeting

    def full(day: date) -> bool:
        load = next(load for planned_on, load in reversed(year.loads) if planned_on <= day)
        booked = load.get((c.owner, day), set())
        week = sum(
            len(spans)
            for (o, d), spans in load.items()
            if o == c.owner and d.isocalendar()[:2] == day.isocalendar()[:2]
        )
        return len(booked) >= per_day or week >= per_week or no_free_slot(day, booked)

    return all(full(d) for d in days)


def planner_flagged(gap: Gap, year: Year) -> bool:
    """Did the planner mark the check-in after ``gap.start`` as a forced gap (and say why)?"""
    # e.g. "forced gap: 55 days since 2027-11-12 (max_gap 6 weeks)"
    return any(f" since {gap.start} " in r for r in year.forced.get(gap.customer, ()))


def naive_histories(year: Year, *, declined_in_season: bool) -> dict[str, list[Contact]]:
    """The outside contacts plus the naive scheduler's meetings: every ``every`` from L0 (the
    last contact before the year), moved to the next weekday, ignoring later contacts, seasons
    and capacity. With ``declined_in_season`` the customer declines those that land in their
    busy season (they asked to be left alone then), so those never happen."""
    out: dict[str, list[Contact]] = {}
    for contact in year.outside:
        out.setdefault(contact.customer_id, []).append(contact)
    for c in year.customers:
        every = year.ws.policies.for_customer(c).every
        zone = ZoneInfo(c.timezone)
        seasons = seasons_of(c, year.ws)
        assert c.last_contact is not None
        step = every.add_to(c.last_contact)
        while (at := datetime.combine(step, time(10), zone)) <= year.end:
            day = step + timedelta(days=max(0, 7 - step.weekday()) if step.weekday() >= 5 else 0)
            if not (declined_in_season and in_season(day, seasons)):
                at = datetime.combine(day, time(10), zone)
                out.setdefault(c.id, []).append(Contact(c.id, ContactKind.MEETING, at, "naive"))
            step = every.add_to(step)
    return out


def feast_or_famine(
    year: Year, histories: Mapping[str, Sequence[Contact]], customers: Sequence[Customer]
) -> float:
    """The report's feast-or-famine score (everyone) over ``customers``."""
    ws = year.ws
    report = build_report(
        customers,
        histories,
        [],
        ws.policies,
        ws.salespeople(customers),
        year.end,
        season_parser=ws.season,
    )
    score = report.overall.feast_or_famine
    assert score is not None
    return score


# ---- the year --------------------------------------------------------------------------------


def test_the_year_ran_every_cycle_and_booked_through_the_calendar(year: Year) -> None:
    assert year.cycles == -(-DAYS // STEP_DAYS) + 1
    booked = [c for cs in year.ws.store.contacts_by_customer().values() for c in cs]
    from_bookings = [c for c in booked if c.source == "booking"]
    print(
        f"\nsimulated {DAYS} days, {year.cycles} cycles, {len(year.customers)} customers: "
        f"{len(year.outside)} outside contacts, {len(from_bookings)} cadence meetings held, "
        f"calendar writes {dict(year.writes)}"
    )
    assert len(from_bookings) > len(year.customers) * 3
    # writes stay proportional to the work: not a rewrite of the calendar every cycle
    assert year.writes["create"] < 2 * len(from_bookings)


def test_nobody_is_silent_past_max_gap_unless_seasons_or_capacity_forced_it(year: Year) -> None:
    gaps = long_gaps(year, year.ws.store.contacts_by_customer())
    by_season = [g for g in gaps if season_forced(g, year)]
    by_capacity = [g for g in gaps if capacity_forced(g, year)]
    unexplained = [g for g in gaps if g not in by_season and g not in by_capacity]
    naive = long_gaps(year, naive_histories(year, declined_in_season=True))
    print(
        f"\nsilences past max_gap: cadence {len(gaps)} ({len(by_season)} forced by seasons, "
        f"{len(by_capacity)} by full capacity), naive with in-season declines {len(naive)}"
    )
    assert unexplained == []
    assert len(gaps) <= SILENCES_BEFORE_EVEN_LOAD
    # and the planner said so in advance, in the reasons of the booking after each one
    assert [g for g in gaps if not planner_flagged(g, year)] == []
    assert len(gaps) < len(naive)


def test_no_cadence_booking_lands_in_a_busy_season(year: Year) -> None:
    by_id = {c.id: c for c in year.customers}

    def local(customer_id: str, at: datetime) -> date:
        return at.astimezone(ZoneInfo(by_id[customer_id].timezone)).date()

    def seasonal(customer_id: str, at: datetime) -> bool:
        return in_season(local(customer_id, at), seasons_of(by_id[customer_id], year.ws))

    contacts = year.ws.store.contacts_by_customer()
    held = [c for cs in contacts.values() for c in cs if c.source == "booking"]
    live = [r for r in year.ws.store.bookings() if r.state.value in ("booked", "moved_by_owner")]
    inside = [(c.customer_id, c.at) for c in held if seasonal(c.customer_id, c.at)]
    for r in live:
        assert isinstance(r.start, datetime)
        if seasonal(r.customer_id, r.start):
            inside.append((r.customer_id, r.start))
    naive = naive_histories(year, declined_in_season=False)
    naive_inside = sum(
        1
        for cs in naive.values()
        for c in cs
        if c.source == "naive" and seasonal(c.customer_id, c.at)
    )
    print(f"\nbookings inside busy seasons: cadence {len(inside)}, naive {naive_inside}")
    assert inside == []
    assert len(held) > 0 and naive_inside > 0


def test_feast_or_famine_is_below_a_naive_fixed_interval_scheduler(year: Year) -> None:
    contacts = year.ws.store.contacts_by_customer()
    everyone = year.customers
    steady = [c for c in everyone if not seasons_of(c, year.ws)]
    naive = naive_histories(year, declined_in_season=False)
    naive_declined = naive_histories(year, declined_in_season=True)
    scores = {
        "cadence": feast_or_famine(year, contacts, everyone),
        "naive (meets in seasons)": feast_or_famine(year, naive, everyone),
        "naive (declined in seasons)": feast_or_famine(year, naive_declined, everyone),
        "cadence, no-season customers": feast_or_famine(year, contacts, steady),
        "naive, no-season customers": feast_or_famine(year, naive, steady),
    }
    print("\nfeast-or-famine (CV of gaps in units of every):")
    for name, score in scores.items():
        print(f"  {name:<30} {score:.3f}")
    # Against a naive scheduler whose in-season meetings are declined, as customers in their
    # busy season would: clearly lower.
    assert scores["cadence"] < 0.85 * scores["naive (declined in seasons)"]
    # Where seasons play no part, what is left is how each reacts to the outside contacts:
    # cadence re-anchors on them, the naive one keeps its grid.
    assert scores["cadence, no-season customers"] < 0.9 * scores["naive, no-season customers"]
    # Against a naive scheduler that meets customers even in their busy season, cadence (which
    # never does) is no worse overall.
    assert scores["cadence"] <= scores["naive (meets in seasons)"] + 0.02
    # And no worse than before the salesperson's load was evened.
    assert scores["cadence"] <= RHYTHM_BEFORE_EVEN_LOAD


def held_load(year: Year, first: date, days: int) -> dict[str, tuple[int, float]]:
    """Per salesperson: the most cadence meetings held on one of their local days in
    ``[first, first + days)``, and the mean per day they work (weekdays that are no public
    holiday on their side)."""
    zones = {p["email"]: ZoneInfo(p["timezone"]) for p in SALESPEOPLE}
    countries = {p["email"]: p["country"] for p in SALESPEOPLE}
    held = [
        c
        for cs in year.ws.store.contacts_by_customer().values()
        for c in cs
        if c.source == "booking"
    ]
    owner_of = {c.id: c.owner for c in year.customers}
    per_day: Counter[tuple[str, date]] = Counter()
    for c in held:
        owner = owner_of[c.customer_id]
        day = c.at.astimezone(zones[owner]).date()
        if first <= day < first + timedelta(days=days):
            per_day[(owner, day)] += 1
    out = {}
    for owner in zones:
        off = holidays.country_holidays(countries[owner], years=range(first.year, first.year + 2))
        worked = sum(
            1
            for k in range(days)
            if (d := first + timedelta(days=k)).weekday() < 5 and d not in off
        )
        loads = [n for (o, _), n in per_day.items() if o == owner]
        out[owner] = (max(loads, default=0), sum(loads) / worked)
    return out


def test_daily_load_is_even_in_the_first_weeks_and_over_the_year(year: Year) -> None:
    first = START.date() + timedelta(days=1)
    periods = {"first 8 weeks": held_load(year, first, 56), "year": held_load(year, first, DAYS)}
    print("\ndaily load held (max / mean per working day):")
    for name, figures in periods.items():
        for owner, (top, mean) in figures.items():
            print(f"  {name:<14} {owner:<20} max {top:>2}  mean {mean:.2f}")
    # Before the even load (issue 14) the busiest days held 6-9 meetings in the first eight
    # weeks and 8-10 (the whole per_day of 10) over the year against means of 1.6-1.9. What
    # still piles up is the eve and the end of a busy season: a check-in before it goes as late
    # as capacity allows, and one the season made late comes on the first day after it with
    # room, because leveling those days lengthens the silences the season forces (the rhythm
    # score went from 0.418 to 0.423 with them leveled).
    cap = year.ws.policies.capacity.per_day
    assert cap is not None
    bounds = {"first 8 weeks": 0.6 * cap, "year": 0.9 * cap}
    for name, figures in periods.items():
        for owner, (top, mean) in figures.items():
            assert top <= bounds[name], (name, owner, top, mean)
            assert mean > 1.5, (owner, mean)  # the same work is done
