"""How many HTTP requests cadence's real cycle makes against Google and Microsoft Graph.

500 customers across 20 salespeople, with Gmail / Graph mail as a contact source too, through
:meth:`Workspace.run_cycle` (import, sync, plan, reconcile) against the fake servers in
``tests/google_fake`` and ``tests/graph_fake``. The first cycle books; an unchanged second cycle
must write nothing at all; a third cycle, after a salesperson moved one booking and deleted
another in their calendar, sees exactly those two changes. Run with ``-s`` to see the counts;
``bench/bench_requests.py`` prints them as a table.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cadence.inputs.customer_row import KNOWN_COLUMNS
from cadence.store.repository import BookingRecord
from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState
from tests.google_fake import FakeGoogle
from tests.google_fake import Person as GooglePerson
from tests.google_fake.keys import write_service_account_key
from tests.graph_fake import (
    CLIENT_ID,
    SECRET,
    SECRET_ENV,
    TENANT,
    FakeAuthority,
    FakeGraph,
)
from tests.graph_fake import Person as GraphPerson
from tests.graph_fake.server import _uid_of

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


# ---- request counts -------------------------------------------------------------------------


@dataclass
class Counts:
    """HTTP requests of one cycle by kind (token requests included), and the calls made
    inside batch requests by kind (not HTTP requests of their own)."""

    http: Counter[str] = field(default_factory=Counter)
    in_batches: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0  # response bodies cadence received

    @property
    def total(self) -> int:
        """HTTP requests on the wire."""
        return sum(self.http.values())


def _world_history(owner: str, n: int, rng: random.Random) -> tuple[list[Any], list[Any]]:
    """The salesperson's own meetings ahead, and past meetings and mail with customers:
    (busy blocks, past contacts) as ((start, end), (start, customer address))."""
    busy = []
    for day in range(0, 120, 3):
        start = NOW + timedelta(days=day, hours=rng.choice((1, 3, 5)))
        busy.append((start, start + timedelta(hours=1)))
    past = []
    for k in rng.sample(range(CUSTOMERS_EACH), 4):
        at = NOW - timedelta(days=rng.randint(2, 60), hours=rng.randint(0, 6))
        past.append((at, f"buyer@c-{n:02d}{k:02d}.example"))
    return busy, past


# An unchanged cycle, per salesperson: an incremental events.list (sync token) for cadence's
# events, another (a sync token of its own) for past meetings and the salesperson's own busy
# events, and one Gmail history.list: 3 reads per mailbox, all sent ahead for the whole team
# (read_ahead): the 40 events.list in one calendar batch request (50 calls a batch, each with
# its salesperson's token), the 20 history.list in one Gmail batch. Free/busy for all 20
# salespeople takes two queries (50 calendars a query; 90 days of horizon plus BUSY_MARGIN is
# 120 days, and one query spans at most 90). Busy blocks that touch cadence's own events are
# told apart with the busy events the meetings stream keeps, not read again. Before issue 11:
# 6 requests per salesperson (120); before reading ahead: 3 (62).
GOOGLE_UNCHANGED = Counter(
    {"batch/calendar/v3": 1, "batch/gmail/v1": 1, "calendar.freebusy.query": 2}
)
GOOGLE_UNCHANGED_READS = Counter({"calendar.events.list": 2 * 20, "gmail.users.history.list": 20})
# Per mailbox: one calendarView/delta page for cadence's events and one of a second delta
# stream for past meetings (it replaced a calendarView of the whole past year each cycle: the
# same number of requests, an empty answer when nothing changed), sent ahead for the whole team
# in $batch calls of 20 parts; and one messages page (changed since the last read: its query
# names the customers' addresses, so it is not sent ahead); busy time for all 20 mailboxes
# comes from getSchedule (20 mailboxes and 62 days per request: 120 days = 2). Before reading
# ahead: 62 requests.
OUTLOOK_UNCHANGED = Counter({"POST $batch": 2, "GET messages": 1 * 20, "POST getSchedule": 2})
OUTLOOK_UNCHANGED_READS = Counter({"GET delta": 2 * 20})
# Issue 11: a first cycle costs at most this many requests per event it books.
FIRST_CYCLE_PER_EVENT = 0.1


class GoogleWorld:
    """A FakeGoogle with the 20 salespeople, their own meetings, past meetings and mail."""

    name = "google"
    UNCHANGED = GOOGLE_UNCHANGED
    UNCHANGED_READS = GOOGLE_UNCHANGED_READS
    WRITES = frozenset(
        {
            "calendar.events.insert",
            "calendar.events.update",
            "calendar.events.patch",
            "calendar.events.delete",
        }
    )

    def __init__(self, folder: Path) -> None:
        self.fake = FakeGoogle().start()
        self.person = GooglePerson(self.fake)
        rng = random.Random(SEED)
        for n, owner in enumerate(SALESPEOPLE):
            self.fake.add_user(owner, ZONES[owner][0])
            busy, past = _world_history(owner, n, rng)
            for start, end in busy:
                self.person.add_event(owner, start, end, title="Own meeting")
            for at, address in past:
                self.person.add_event(owner, at, at + timedelta(minutes=30), attendees=[address])
                self.fake.gmail.add_message(owner, sender=address, to=(owner,), at=at)
        folder.mkdir(parents=True, exist_ok=True)
        key = write_service_account_key(self.fake, folder / "service-account.json")
        self.section = {
            "service_account_file": str(key),
            "api_endpoint": self.fake.url,
            "token_uri": self.fake.token_uri,
        }
        self.env: dict[str, str] = {}

    def take_counts(self) -> Counts:
        """The counts since the last call (and start counting afresh)."""
        with self.fake.lock:
            http = Counter(self.fake.requests)
            parts = Counter(self.fake.calls)
            for kind, n in http.items():
                parts[kind] -= n  # calls made directly, not inside a batch
            received = self.fake.bytes_sent
            self.fake.reset_counts()
        return Counts(http, +parts, received)

    def writes(self, counts: Counts) -> Counter[str]:
        """The write calls among ``counts`` (direct or inside batches)."""
        both = counts.http + counts.in_batches
        return +Counter({kind: n for kind, n in both.items() if kind in self.WRITES})

    @staticmethod
    def write_batches(creates_per_owner: Mapping[str, int]) -> Counter[str]:
        """The batch requests of a first cycle with ``creates_per_owner``: the reads sent ahead
        (two events.list a salesperson, 50 calls a batch), then the creates: the cycle hands
        the backend 50 writes at a time and one Google batch holds 50 calls."""
        reads = -(-2 * len(creates_per_owner) // 50)
        writes = sum(-(-n // 50) for n in creates_per_owner.values())
        return Counter({"batch/calendar/v3": reads + writes})

    def cadence_uids(self) -> set[str]:
        """uids of the live cadence events in every calendar."""
        uids = set()
        with self.fake.lock:
            for calendar in self.fake.calendar.calendars.values():
                for event in calendar.events.values():
                    private = (event.get("extendedProperties") or {}).get("private") or {}
                    if "cadence_uid" in private and event.get("status") != "cancelled":
                        uids.add(private["cadence_uid"])
        return uids

    def close(self) -> None:
        """Stop the server."""
        self.fake.stop()


class OutlookWorld:
    """A fake Entra ID authority and FakeGraph with the 20 mailboxes and their history."""

    name = "outlook"
    UNCHANGED = OUTLOOK_UNCHANGED
    UNCHANGED_READS = OUTLOOK_UNCHANGED_READS
    READS_BY_POST = frozenset({"$batch", "getSchedule"})

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.authority = FakeAuthority(folder, tenant=TENANT, client_id=CLIENT_ID, secret=SECRET)
        self.graph = FakeGraph(self.authority.issued)
        self.person = GraphPerson(self.graph)
        rng = random.Random(SEED)
        for n, owner in enumerate(SALESPEOPLE):
            self.graph.add_mailbox(owner)
            busy, past = _world_history(owner, n, rng)
            for start, end in busy:
                self.person.add_event(owner, start, end, title="Own meeting")
            for at, address in past:
                self.person.add_event(owner, at, at + timedelta(minutes=30), attendees=(address,))
                self.graph.add_message(owner, sender=address, to=(owner,), received=at)
        self.section = {
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret_env": SECRET_ENV,
            "authority": self.authority.authority,
            "graph_endpoint": self.graph.endpoint,
            "token_cache_file": "outlook-tokens.json",
            "ca_bundle": str(self.authority.ca_file),
        }
        self.env = {SECRET_ENV: SECRET}

    def take_counts(self) -> Counts:
        """The counts since the last call (and start counting afresh)."""
        with self.graph.lock:
            http = Counter(self.graph.requests)
            parts = Counter(self.graph.batch_parts)
            self.graph.requests.clear()
            self.graph.batch_parts.clear()
            received, self.graph.bytes_sent = self.graph.bytes_sent, 0
        with self.authority.lock:
            for kind, n in self.authority.requests.items():
                http[f"authority {kind}"] += n
            self.authority.requests.clear()
        return Counts(http, parts, received)

    def writes(self, counts: Counts) -> Counter[str]:
        """The write requests among ``counts`` (direct or inside ``$batch``)."""
        return +Counter(
            {
                kind: n
                for kind, n in (counts.http + counts.in_batches).items()
                if kind.split(" ", 1)[0] in ("POST", "PATCH", "PUT", "DELETE")
                and kind.split(" ", 1)[1] not in self.READS_BY_POST
                and not kind.startswith("authority ")
            }
        )

    @staticmethod
    def write_batches(creates_per_owner: Mapping[str, int]) -> Counter[str]:
        """The ``$batch`` requests of a first cycle with ``creates_per_owner``: the reads sent
        ahead (the full read of each mailbox, its first page of cadence's events and of a delta
        round, and the first page of its meetings stream: 3 parts, 20 a ``$batch``), then the
        creates: one Graph ``$batch`` holds at most 20 requests, and the cycle hands the backend
        whole batches (40 writes a call)."""
        total = -(-3 * len(creates_per_owner) // 20)
        for n in creates_per_owner.values():
            chunks = [min(40, n - start) for start in range(0, n, 40)]
            total += sum(-(-chunk // 20) for chunk in chunks)
        return Counter({"POST $batch": total})

    def cadence_uids(self) -> set[str]:
        """uids of the live cadence events in every mailbox."""
        uids = set()
        for owner in SALESPEOPLE:
            for event in self.graph.live_events(owner):
                uid = _uid_of(event)
                if uid:
                    uids.add(uid)
        return uids

    def close(self) -> None:
        """Stop both servers."""
        self.graph.close()
        self.authority.close()


World = GoogleWorld | OutlookWorld
WORLDS: dict[str, type[GoogleWorld] | type[OutlookWorld]] = {
    "google": GoogleWorld,
    "outlook": OutlookWorld,
}


class Run:
    """A workspace on one fake, cycled at fixed moments; the counts of each cycle."""

    def __init__(self, folder: Path, backend: str, workspace: type[Workspace] = Workspace) -> None:
        self.world: World = WORLDS[backend](folder / "fake")
        self.config = write_workspace(folder, backend, self.world.section)
        self.ws = workspace.open(self.config)
        self.ws.env = {**self.ws.env, **self.world.env}
        self.world.take_counts()  # setting up the fake is not the cycle's doing

    def cycle(self, now: datetime) -> tuple[CycleResult, Counts]:
        """One real cycle at ``now``: what it did and the requests it made."""
        result = self.ws.run_cycle(now)
        return result, self.world.take_counts()

    def records(self) -> dict[str, BookingRecord]:
        """The store's booking records by uid."""
        return {r.uid: r for r in self.ws.store.bookings()}

    def close(self) -> None:
        """Close the workspace and stop the fake servers."""
        self.ws.close()
        self.world.close()


def describe(backend: str, cycle: str, counts: Counts) -> str:
    """One line per cycle for ``-s`` output."""
    kinds = ", ".join(f"{k}={n}" for k, n in sorted(counts.http.items()))
    parts = ", ".join(f"{k}={n}" for k, n in sorted(counts.in_batches.items()))
    return (
        f"{backend} {cycle}: {counts.total} HTTP requests ({kinds}); in batches: {parts}; "
        f"{counts.bytes_in} bytes received"
    )


def three_cycles(
    folder: Path,
    backend: str,
    later_days: Sequence[int] = (),
    workspace: type[Workspace] = Workspace,
) -> Iterator[tuple[str, CycleResult, Counts, Run]]:
    """The first, unchanged second, and after-the-person's-edits third cycle (for the bench);
    then one cycle ``d`` days after the first for each ``d`` in ``later_days``."""
    run = Run(folder, backend, workspace)
    try:
        result, counts = run.cycle(NOW)
        yield "first", result, counts, run
        result, counts = run.cycle(NOW + timedelta(hours=1))
        yield "second (unchanged)", result, counts, run
        person_edits(run)
        result, counts = run.cycle(NOW + timedelta(hours=2))
        yield "third (1 moved, 1 deleted)", result, counts, run
        for days in later_days:
            result, counts = run.cycle(NOW + timedelta(days=days))
            yield f"+{days} day(s), no edits", result, counts, run
    finally:
        run.close()


def person_edits(run: Run) -> tuple[tuple[BookingRecord, datetime], BookingRecord]:
    """The salesperson moves one timed booking a day later and deletes another (of a
    different customer) in their own calendar; (the moved record and its new start,
    the deleted record)."""
    owner = SALESPEOPLE[0]
    timed = sorted(
        (
            r
            for r in run.ws.store.bookings(owner=owner)
            if r.state is BookingState.BOOKED
            and not r.all_day
            and isinstance(r.start, datetime)
            and r.start > NOW + timedelta(days=30)
        ),
        key=lambda r: (r.start, r.key),
    )
    to_move = timed[0]
    to_delete = next(r for r in timed if r.customer_id != to_move.customer_id)
    assert isinstance(to_move.start, datetime) and isinstance(to_move.end, datetime)
    new_start = to_move.start + timedelta(days=1)
    run.world.person.move(owner, to_move.uid, new_start, to_move.end + timedelta(days=1))
    run.world.person.delete(owner, to_delete.uid)
    return (to_move, new_start), to_delete


# ---- tests ----------------------------------------------------------------------------------


@pytest.fixture(params=sorted(WORLDS))
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    made = Run(tmp_path, request.param)
    yield made
    made.close()


def test_first_cycle_books_and_an_unchanged_second_cycle_writes_nothing(run: Run) -> None:
    first, counts1 = run.cycle(NOW)
    print("\n" + describe(run.world.name, "first", counts1))
    assert first.failed_owners == {}
    assert first.created > 0
    assert (first.moved, first.cancelled, first.unchanged) == (0, 0, 0)
    uids = run.world.cadence_uids()
    assert len(uids) == first.created
    assert uids == {r.uid for r in run.ws.store.bookings() if r.state is BookingState.BOOKED}
    assert sum(run.world.writes(counts1).values()) == first.created
    assert first.contacts_added > 0  # past meetings and mail with customers were read
    per_owner = Counter(r.owner for r in run.ws.store.bookings())
    assert set(per_owner) == set(SALESPEOPLE)
    batches = run.world.write_batches(per_owner)
    assert {k: counts1.http[k] for k in batches} == batches
    assert counts1.total <= FIRST_CYCLE_PER_EVENT * first.created  # issue 11

    second, counts2 = run.cycle(NOW + timedelta(hours=1))
    print(describe(run.world.name, "second", counts2))
    assert second.failed_owners == {}
    assert (second.created, second.moved, second.cancelled) == (0, 0, 0)
    assert second.unchanged == first.created
    assert run.world.writes(counts2) == Counter()
    assert run.world.cadence_uids() == uids
    # Incremental reads only, a fixed handful per salesperson, sent ahead in batches.
    assert counts2.http == run.world.UNCHANGED
    assert counts2.in_batches == run.world.UNCHANGED_READS
    assert second.contacts_added == 0


def test_cycle_after_a_move_and_a_deletion_sees_exactly_those(run: Run) -> None:
    run.cycle(NOW)
    run.cycle(NOW + timedelta(hours=1))
    before = run.world.cadence_uids()
    (moved, new_start), deleted = person_edits(run)

    third, counts3 = run.cycle(NOW + timedelta(hours=2))
    print("\n" + describe(run.world.name, "third (1 moved, 1 deleted)", counts3))
    assert third.failed_owners == {}
    records = run.records()
    assert records[moved.uid].state is BookingState.MOVED_BY_OWNER
    assert records[moved.uid].start == new_start
    assert records[deleted.uid].state is BookingState.DELETED
    # The moved booking is kept where the person put it; the deleted one is not re-created.
    # The deleted booking's retry gets a new key (so a new uid), no sooner than retry_after
    # (1 week). Nothing is cancelled; the only other change allowed is the same customer's
    # next check-in following the retry (its rhythm counts from the retried contact).
    assert (third.created, third.cancelled) == (1, 0)
    assert third.moved <= 1
    [retry] = [r for r in records.values() if r.key == f"{deleted.key}.r1"]
    assert retry.start >= NOW + timedelta(hours=2, weeks=1)
    followers = [a for a in third.actions if a.kind.value == "move"]
    assert all(a.record and a.record.customer_id == deleted.customer_id for a in followers)
    now_uids = run.world.cadence_uids()
    assert now_uids == (before - {deleted.uid}) | {retry.uid}
    assert moved.uid in now_uids
    assert sum(run.world.writes(counts3).values()) == 1 + third.moved
    # Reads as in an unchanged cycle, plus what it takes to see the two changes and book one.
    assert counts3.total <= sum(run.world.UNCHANGED.values()) + 3


# ---- Outlook floors (issue 11) ----------------------------------------------------------------


@pytest.fixture
def outlook_run(tmp_path: Path) -> Iterator[Run]:
    made = Run(tmp_path, "outlook")
    yield made
    made.close()


def test_outlook_unchanged_cycle_is_at_the_floor(outlook_run: Run) -> None:
    """At most 3 requests per mailbox (cadence's events, past meetings, mail) and getSchedule
    at one query per 20 mailboxes per window shorter than 62 days (120 days: 2 windows)."""
    run = outlook_run
    first, counts1 = run.cycle(NOW)
    assert first.created > 0
    assert counts1.total <= FIRST_CYCLE_PER_EVENT * first.created
    _, counts2 = run.cycle(NOW + timedelta(hours=1))
    assert run.world.writes(counts2) == Counter()
    schedule = counts2.http.pop("POST getSchedule")
    assert schedule == -(-len(SALESPEOPLE) // 20) * 2
    assert counts2.total <= 3 * len(SALESPEOPLE)
    assert not any(kind.startswith("authority ") for kind in counts2.http)


def test_outlook_unchanged_cycle_writes_nothing_when_getschedule_is_refused(
    outlook_run: Run,
) -> None:
    """The calendarView fallback for busy time leaves cadence's own events out: nothing
    moves back and forth between cycles."""
    run = outlook_run
    assert isinstance(run.world, OutlookWorld)
    run.world.graph.refuse_schedule = True
    first, _ = run.cycle(NOW)
    assert first.created > 0 and first.failed_owners == {}
    for hours in (1, 2):
        again, counts = run.cycle(NOW + timedelta(hours=hours))
        assert (again.created, again.moved, again.cancelled) == (0, 0, 0)
        assert again.unchanged == first.created
        assert run.world.writes(counts) == Counter()
        assert counts.http["GET calendarView"] == len(SALESPEOPLE)  # the fallback was used


def test_outlook_tokens_outlive_a_run_once_until_they_expire(outlook_run: Run) -> None:
    """Each `run --once` is a new process: the token cached on disk (0600) is used as it is
    (no request to the authority at all) until it is within 5 minutes of expiring."""
    run = outlook_run
    assert isinstance(run.world, OutlookWorld)
    run.cycle(NOW)
    cache = run.config.parent / "outlook-tokens.json"
    assert cache.stat().st_mode & 0o777 == 0o600

    def run_once(now: datetime) -> Counts:
        run.ws.close()
        run.ws = Workspace.open(run.config)
        run.ws.env = {**run.ws.env, **run.world.env}
        return run.cycle(now)[1]

    counts = run_once(NOW + timedelta(hours=1))
    assert not any(kind.startswith("authority ") for kind in counts.http)
    with run.world.authority.lock:
        run.world.authority.issued.clear()  # the cached token is revoked
    counts = run_once(NOW + timedelta(hours=2))
    # Graph refuses it: the calendar asks for a new one once, and the mail source finds the
    # new one in the file.
    assert counts.http["authority POST token"] == 1
    counts = run_once(NOW + timedelta(hours=3))
    assert not any(kind.startswith("authority ") for kind in counts.http)
    # 56 minutes later (as msal counts time: the token's expires_on in the file), 4 minutes
    # are left, under msal's 5: it is not used.
    data = json.loads(cache.read_text())
    for entry in data["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) + 240)
    cache.write_text(json.dumps(data))
    counts = run_once(NOW + timedelta(hours=4))
    assert counts.http["authority POST token"] == 1


# ---- Google floors (issue 11) ----------------------------------------------------------------


def test_google_run_once_again_grants_no_token_and_reads_at_the_floor(tmp_path: Path) -> None:
    """`run --once` started again (a new process: a new Workspace on the same folder) reuses
    the access tokens kept on disk and makes exactly the unchanged cycle's requests: 3 per
    mailbox including mail, and free/busy at one query per 50 calendars per 90 days. Before
    issue 11: 160 requests, 2 token grants per salesperson among them."""
    run = Run(tmp_path, "google")
    try:
        first, _ = run.cycle(NOW)
        assert first.complete, first.attention()
        run.ws.close()
        run.ws = Workspace.open(run.config)
        run.ws.env = {**run.ws.env, **run.world.env}
        again, counts = run.cycle(NOW + timedelta(hours=1))
        print("\n" + describe("google", "run --once again", counts))
        assert again.complete, again.attention()
        assert writes_of(again) == 0
        assert counts.http == GOOGLE_UNCHANGED
        assert counts.total <= 3 * len(SALESPEOPLE) + 2
    finally:
        run.close()


def writes_of(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled
