"""Request worlds: 500 customers across 20 salespeople on the Google or Graph fake, cycled by
cadence's real :meth:`Workspace.run_cycle`, with the HTTP requests of each cycle counted by kind.

Used by ``tests/test_cycle_requests.py`` (the floors), ``tests/test_implausible_loss.py`` and
``bench/bench_requests.py`` (the table). The workspace: cadence.toml, the policies, a generated
customer file, Gmail or Graph mail as a contact source too, and each salesperson's own meetings,
past meetings and mail with customers in the fake.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
from tests.request_workspace import (
    CUSTOMERS_EACH,
    NOW,
    SALESPEOPLE,
    SEED,
    ZONES,
    write_workspace,
)

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
# same number of requests, an empty answer when nothing changed), and one messages page
# (changed since the last read), all sent ahead for the whole team in $batch calls of 20 parts
# (the calendar's 40 in 2, the mail source's 20 in 1); busy time for all 20 mailboxes comes
# from getSchedule (20 mailboxes and 62 days per request: 120 days = 2). Before reading ahead:
# 62 requests.
OUTLOOK_UNCHANGED = Counter({"POST $batch": 3, "POST getSchedule": 2})
OUTLOOK_UNCHANGED_READS = Counter({"GET delta": 2 * 20, "GET messages": 20})
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
        round, and the first page of its meetings stream: 3 parts, 20 a ``$batch``; then the
        mail source's first page of each mailbox's messages, 20 a ``$batch``), then the
        creates: one Graph ``$batch`` holds at most 20 requests, and the cycle hands the backend
        whole batches (40 writes a call)."""
        mailboxes = len(creates_per_owner)
        total = -(-3 * mailboxes // 20) + -(-mailboxes // 20)
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
