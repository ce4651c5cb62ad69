"""Work that follows the change: a cycle leaves alone the salespeople whose inputs did not change.

Salespeople share neither time nor capacity, so a salesperson is the unit of work: their
customers, those customers' contacts, the bookings planned with them, their calendar (cadence's
events in it and their busy time), their entry in cadence.toml, the policies their customers'
segments and industries use, the snoozes, and the clock. A cycle that finds all of these as
they were when this salesperson's last cycle did nothing at all (read nothing new, saved
nothing, wrote nothing, kept every booking) does nothing for them again: the same inputs plan
the same, and the decision keeps every booking once more. ``tests/test_incremental.py``
holds this to the full cycle, step by step, over random edits and times.

What is compared, per salesperson, is one digest (:func:`Tracker.digest`):

- the store's revision of the salesperson (:meth:`cadence.store.repository.Store.owner_revisions`,
  bumped in the transaction that changes their customers, contacts or bookings);
- their calendar's version from the backend (``version(owner, last)``: the .ics backend's is
  the hash of the file's bytes, read again only when its inode, size or mtime changed). A
  backend without one (servers: Google, Graph, CalDAV) is read every cycle, and so is a
  salesperson whose mail is read (``[mail]``): their salespeople are never skipped;
- their ``[[salesperson]]`` entry, the policies of their customers' segments and industries
  and every policy that is not per segment (capacity, closures, weekends, win-back);
- the snoozes, the horizon and cadence's version.

The clock is an input too. A salesperson left alone is left alone only until the first moment
at which something of theirs depends on the time (:func:`Tracker.valid_until`): the next
midnight in their zone, any of their customers' zones or UTC (a new day: the horizon moves,
"today" changes, weeks turn), the start or end of any booking, contact or calendar event of
theirs still ahead, and an hour (the planner's notice) before the start of anything planned.

Several daemons sharing salespeople (``share``) always run whole cycles.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import cadence
from cadence.planner.engine import MIN_NOTICE_MINUTES
from cadence.store.snoozes import NAMESPACE as SNOOZE_NAMESPACE
from cadence.store.snoozes import read_snoozes
from cadence.values.bookings import BookingRecord
from cadence.values.model import BusyInterval, Contact, Customer, PlannedContact

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

NAMESPACE = "incremental"
KEY = "owners"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Quiet:
    """A salesperson whose last cycle did nothing: left alone while their digest holds and
    until ``valid_until``; ``kept`` bookings count as unchanged, ``unbookable`` customers."""

    digest: str
    valid_until: datetime
    kept: int
    unbookable: int

    def as_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "valid_until": self.valid_until.isoformat(),
            "kept": self.kept,
            "unbookable": self.unbookable,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Quiet:
        return cls(
            str(raw["digest"]),
            datetime.fromisoformat(str(raw["valid_until"])),
            int(raw["kept"]),
            int(raw["unbookable"]),
        )


class Tracker:
    """One cycle's view of which salespeople can be left alone (see the module docstring)."""

    def __init__(self, ws: Workspace, now: datetime) -> None:
        self.ws = ws
        self.now = now
        self.state = ws.store.state(NAMESPACE)
        raw = self.state.get(KEY)
        try:
            saved = json.loads(raw) if raw else {}
            if saved.get("format") != FORMAT:
                saved = {}
            self.quiet = {o: Quiet.from_json(q) for o, q in saved.get("owners", {}).items()}
        except (ValueError, KeyError, TypeError):
            self.quiet = {}
        self.versions: dict[str, str] = dict(saved.get("versions", {})) if saved else {}
        self.revisions = ws.store.owner_revisions()
        self.kinds = ws.store.customer_kinds()
        self.people = {p.email: p for p in ws.config.salespeople}
        snoozes = read_snoozes(ws.store.state(SNOOZE_NAMESPACE))
        policies = ws.policies
        self._common = stable(
            (
                cadence.__version__,
                replace(policies, segments={}, industries={}),
                sorted((s.customer_id, str(s.until), s.note) for s in snoozes.values()),
                ws.config.horizon_days,
                ws.config.forecast_days,
            )
        )
        self._started: dict[str, str | None] = {}  # owner -> digest at the start of the cycle
        self._texts: dict[tuple[str, str], str] = {}  # the policies' texts, by segment/industry
        # No one is left alone this cycle: it plans the whole book, as without this module.
        self.whole = False

    # ---- which salespeople are left alone ------------------------------------------------

    def version(self, owner: str) -> str | None:
        """The version of ``owner``'s calendar, or None when it cannot be told without reading
        it (the backend has none, or mail is read for them)."""
        if self.ws.config.mail:
            return None
        person = self.people.get(owner)
        if person is None:
            return None
        backend = self.ws.backend(self.ws.backend_name(person))
        found = backend.version(owner, self.versions.get(owner))
        if found is None:
            return None
        self.versions[owner] = found
        return str(found).rpartition("|")[2]  # the content; what precedes it is a shortcut

    def digest(self, owner: str) -> str | None:
        """Everything ``owner``'s cycle reads, as one hash; None when it cannot be told."""
        calendar = self.version(owner)
        if calendar is None:
            return None
        policies = self.ws.policies
        kinds = sorted(self.kinds.get(owner, ()))
        texts = self._texts
        for segment, industry in kinds:  # spelled once per cycle, not once per salesperson
            if ("s", segment) not in texts:
                texts[("s", segment)] = stable(policies.for_segment(segment))
            if ("i", industry) not in texts:
                texts[("i", industry)] = stable(policies.industry_seasons(industry))
        used = sorted({texts[("s", segment)] for segment, _ in kinds})
        seasons = sorted({(i, texts[("i", i)]) for _, i in kinds})
        text = repr(
            (
                self._common,
                owner,
                self.revisions.get(owner, 0),
                calendar,
                stable(self.people.get(owner)),
                used,
                seasons,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def split(self, owners: Sequence[str]) -> tuple[list[str], dict[str, Quiet]]:
        """(the salespeople to work on, those left alone with what their last cycle kept)."""
        busy: list[str] = []
        quiet: dict[str, Quiet] = {}
        for owner in owners:
            digest = self.digest(owner)
            self._started[owner] = digest
            last = self.quiet.get(owner)
            fresh = last is not None and digest is not None and last.digest == digest
            if fresh and last is not None and self.now < last.valid_until:
                quiet[owner] = last
                continue
            busy.append(owner)
        return busy, quiet

    def changed_since_start(self, owners: Iterable[str]) -> list[str]:
        """Of ``owners`` (left alone), those whose stored inputs another salesperson's work in
        this cycle changed (a booking of their customer in another calendar was observed)."""
        revisions = self.ws.store.owner_revisions()
        return [o for o in owners if revisions.get(o, 0) != self.revisions.get(o, 0)]

    # ---- what a cycle that did nothing leaves behind ---------------------------------------

    def finish(
        self,
        worked: Sequence[str],
        quiet_now: Mapping[str, Quiet],
        did_nothing: Mapping[str, tuple[int, int]],
        facts: Callable[[], OwnerFacts],
    ) -> None:
        """Store who can be left alone next time: ``quiet_now`` (left alone this cycle, their
        time not up) and the ``did_nothing`` salespeople of ``worked`` ((kept, unbookable) of
        each) whose inputs are as at the start of the cycle."""
        revisions = self.ws.store.owner_revisions()
        start_revisions = self.revisions
        self.revisions = revisions
        kept: dict[str, Quiet] = dict(quiet_now)
        known: OwnerFacts | None = None
        for owner in worked:
            if owner not in did_nothing:
                continue
            started = self._started.get(owner)
            if started is None or revisions.get(owner, 0) != start_revisions.get(owner, 0):
                continue
            if self.digest(owner) != started:  # the calendar changed meanwhile
                continue
            n_kept, unbookable = did_nothing[owner]
            known = known or facts()  # gathered only when someone can be left alone
            kept[owner] = Quiet(started, known.valid_until(owner, self.now), n_kept, unbookable)
        self.state.set(
            KEY,
            json.dumps(
                {
                    "format": FORMAT,
                    "owners": {o: q.as_json() for o, q in sorted(kept.items())},
                    "versions": self.versions,
                },
                sort_keys=True,
            ),
        )


@dataclass
class OwnerFacts:
    """What bounds, in time, how long a salesperson left alone stays right (see
    :meth:`valid_until`): what their cycle read and planned."""

    zones: dict[str, set[str]]  # owner -> zones of theirs and their customers'
    moments: dict[str, list[datetime]]  # owner -> times of theirs where something happens

    @classmethod
    def gather(
        cls,
        ws: Workspace,
        customers: Sequence[Customer],
        records: Sequence[BookingRecord],
        contacts: Mapping[str, Sequence[Contact]],
        busy: Mapping[str, Sequence[BusyInterval]],
        planned: Sequence[PlannedContact],
        owners: Iterable[str],
        now: datetime,
    ) -> OwnerFacts:
        people = ws.salespeople(customers, owners)
        zones: dict[str, set[str]] = {o: {"UTC", people[o].timezone} for o in owners}
        moments: dict[str, list[datetime]] = {o: [] for o in owners}
        owner_of: dict[str, str] = {}
        for c in customers:
            owner_of[c.id] = c.owner
            if c.owner in zones:
                zones[c.owner].add(c.timezone or ws.policies.for_customer(c).timezone)
        notice = timedelta(minutes=MIN_NOTICE_MINUTES)

        def add(owner: str | None, *times: object) -> None:
            if owner in moments:
                moments[owner].extend(t for t in times if isinstance(t, datetime) and t > now)

        for r in records:
            add(owner_of.get(r.customer_id, r.owner), r.start, r.end)
            add(r.owner, r.start, r.end)
        for customer_id, theirs in contacts.items():
            add(owner_of.get(customer_id), *(c.at for c in theirs))
        for owner, intervals in busy.items():
            add(owner, *(t for b in intervals for t in (b.start, b.end)))
        for p in planned:
            if isinstance(p.start, datetime):
                add(p.owner, p.start - notice, p.start, p.end)
        for owner in moments:  # the foreign events the calendar shows in the next day
            person = people[owner]
            backend = ws.backend(ws.backend_name(person))
            try:
                events = backend.past_events(owner, now, now + timedelta(days=1))
            except Exception:  # read just before; with no bound known, none is left alone
                moments[owner].append(now)
                continue
            add(owner, *(t for e in events for t in (e.start, e.end)))
        return cls(zones, moments)

    def valid_until(self, owner: str, now: datetime) -> datetime:
        """The first moment after ``now`` at which ``owner``'s cycle could come out otherwise
        with the same inputs: the next midnight in one of their zones, or a time of theirs."""
        ends = [_next_midnight(now, zone) for zone in self.zones.get(owner, {"UTC"})]
        ends += self.moments.get(owner, [])
        return min(ends)


@functools.lru_cache(maxsize=4096)
def _next_midnight(now: datetime, zone: str) -> datetime:
    """The next local midnight after ``now`` in ``zone``, in UTC: asked for each zone of each
    salesperson's customers at the same ``now`` (kept: zoneinfo keeps only a few zones loaded,
    and loaded the others from disk again, 6% of a cycle at 10k customers)."""
    tz = ZoneInfo(zone)
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tz).astimezone(UTC)


def did_nothing(
    owners: Sequence[str],
    result: Any,
    planned: Any,
    customers: Sequence[Customer],
    held: Mapping[str, int],
) -> dict[str, tuple[int, int]]:
    """Of ``owners``, those for whom this cycle (``result``, the plan ``planned``) did
    nothing: no failure, no unreadable event, no customer skipped, nothing held, and every
    booking kept; with (bookings kept, customers unbookable) of each. Whether it also saved
    nothing and wrote nothing, :meth:`Tracker.finish` tells from the revisions and versions."""
    if result.interrupted:
        return {}
    owner_of = {c.id: c.owner for c in customers}
    spoiled = set(result.failed_owners)
    spoiled |= {item.partition(": ")[0] for item in result.unreadable}
    spoiled |= {owner_of.get(cid, "") for cid in result.skipped_customers}
    spoiled |= {o for o, n in held.items() if n}
    kept: dict[str, int] = {}
    for action in result.actions:
        touched = {action.owner, owner_of.get(action.customer_id, action.owner)}
        if action.kind.value != "keep":
            spoiled |= touched
        else:
            kept[action.owner] = kept.get(action.owner, 0) + 1
    unbookable: dict[str, int] = {}
    for cid in planned.unbookable:
        owner = owner_of.get(cid, "")
        unbookable[owner] = unbookable.get(owner, 0) + 1
    return {o: (kept.get(o, 0), unbookable.get(o, 0)) for o in owners if o not in spoiled}


def stable(value: object) -> str:
    """``value`` as text that is the same in every process: sets are sorted (their order
    follows string hashing, which differs from one process to the next), dataclasses are
    spelled field by field."""
    return repr(_stable(value))


def _stable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (
            type(value).__name__,
            tuple((f.name, _stable(getattr(value, f.name))) for f in fields),
        )
    if isinstance(value, Mapping):
        return ("{}", tuple(sorted((repr(_stable(k)), _stable(v)) for k, v in value.items())))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(_stable(v)) for v in value)))
    if isinstance(value, (list, tuple)):
        return tuple(_stable(v) for v in value)
    return repr(value)
