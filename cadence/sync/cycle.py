"""One full cycle: import, sync contacts, plan, reconcile calendars.

This is where configuration, store and connectors meet (with the CLI and the daemon above it).
A :class:`Workspace` is opened from cadence.toml (config + policies validated, store opened,
backends built lazily); :meth:`Workspace.run_cycle` does one cycle:

1. re-read the customer file when it changed (upsert, never delete);
2. per salesperson: read cadence's own events and fold them into the bookings (people's moves,
   deletions, declines; writes whose outcome was unknown), and recognise contacts from past
   calendar events and mail; then read busy time (many salespeople a request where the backend
   can);
3. plan (pure) and diff against the bookings;
4. per salesperson: write the actions, recording intent in the store *before* each write.

Steps 2 and 4 serve several salespeople at once when their backends allow it
(:func:`cadence.sync.fanout.fan_out`: a bounded pool; the store and this module's own code take
turns, only the waits on servers overlap). One salesperson's failing backend never stops the
others: an authentication failure is reported once per cause (one line for all the salespeople
it concerns) and tried again on the next cycle; a transient failure defers that salesperson
(not asked again before the server's ``Retry-After``, or a growing backoff). No backend sleeps
longer than ``NAP_CAP`` inside a cycle, and a stop ends every wait at once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.config import Config, load_config
from cadence.inputs.customers import read_customers
from cadence.inputs.policy import PolicySet
from cadence.inputs.policy_load import load_policies
from cadence.planner import Plan, PlanInput, plan
from cadence.store.repository import Store
from cadence.store.snoozes import NAMESPACE as SNOOZE_NAMESPACE
from cadence.store.snoozes import read_snoozes
from cadence.sync.decide import Decision, decide
from cadence.sync.event_text import event_spec
from cadence.sync.fanout import TurnState, fan_out, waiting
from cadence.sync.incremental import OwnerFacts, Quiet, Tracker, did_nothing
from cadence.sync.reconcile import (
    LIVE,
    LOSS_HOLD,
    SPEC_TAG,
    Action,
    ActionKind,
    implausible_loss,
    landed,
    observe,
)
from cadence.sync.wording import action_line, count, when
from cadence.values.bookings import BookingRecord, Confirmed
from cadence.values.errors import CadenceError, Problem, UserError, describe_error
from cadence.values.matching import CustomerMatcher
from cadence.values.model import (
    BookingState,
    BusyInterval,
    Contact,
    ContactKind,
    Customer,
    Salesperson,
)
from cadence.values.progress import Tick, every
from cadence.values.seasons import parse_season
from connectors.base import (
    SET_ASIDE_LOG,
    UNREADABLE,
    AuthError,
    BackendContext,
    BackendError,
    CalendarBackend,
    Cancel,
    Create,
    MailSource,
    StagedState,
    TransientError,
    Update,
    WriteOp,
)

log = logging.getLogger("cadence")
# What a salesperson does to a booking that its attendees must hear of.
OWNER_CHANGES = frozenset(
    {BookingState.MOVED_BY_OWNER, BookingState.DELETED, BookingState.DECLINED}
)
# On log records of problems the CycleResult also carries: `run --once` prints the result's
# list instead, so each broken thing is reported once; the daemon's journal keeps the record.
REPORTED = SET_ASIDE_LOG

WRITE_CHUNK = 50  # writes per backend call; SIGTERM is honoured between chunks
BUSY_MARGIN = timedelta(days=30)  # busy time read beyond the horizon (forced gaps land there)
FIRST_LOOKBACK = timedelta(days=365)  # how far back the first contact sync reads
MAX_BACKOFF = 3600.0
OWNER_WORKERS = 8  # salespeople served at once when their backends allow it (``concurrent``)
NAP_CAP = 10.0  # the longest a backend may sleep inside a cycle; a longer wait defers the owner


@dataclass
class CycleResult:
    """What one cycle did, for the CLI, the logs and the daemon's STATUS line."""

    created: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    contacts_added: int = 0
    imported: str = ""
    failed_owners: dict[str, str] = field(default_factory=dict)
    skipped_customers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # inputs that could not be used at all
    held: list[str] = field(default_factory=list)  # set aside by a backend, retried later
    # cadence events a calendar holds but cannot read ("owner: uid"), left exactly as they are
    unreadable: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)  # what the plan asked for
    applied: list[Action] = field(default_factory=list)  # what the calendars confirmed
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        """Everything was done: no salesperson, customer or input was skipped."""
        return not (
            self.failed_owners
            or self.skipped_customers
            or self.problems
            or self.held
            or self.unreadable
        )

    def attention(self, customers: Mapping[str, Customer] | None = None) -> list[str]:
        """Everything this cycle skipped, one line each: inputs, salespeople, customers."""
        lines = list(self.problems) + list(self.held)
        lines += [
            f"event {item.partition(': ')[2]} in {item.partition(': ')[0]}'s calendar cannot be "
            "read; left as it is until fixed"
            for item in self.unreadable
        ]
        lines += [f"{who} skipped: {why}" for who, why in owner_failures(self.failed_owners)]
        for customer_id, why in sorted(self.skipped_customers.items()):
            c = (customers or {}).get(customer_id)
            name = f"{c.name} ({customer_id})" if c else customer_id
            lines.append(f"customer {name} skipped: {why}")
        return lines

    def summary(self) -> str:
        text = (
            f"created {self.created}, moved {self.moved}, cancelled {self.cancelled}, "
            f"unchanged {self.unchanged}"
        )
        if self.contacts_added:
            text += f"; {self.contacts_added} new contacts"
        if self.failed_owners:
            text += f"; {count(len(self.failed_owners), 'salesperson', 'salespeople')} skipped"
        if self.skipped_customers:
            text += f"; {count(len(self.skipped_customers), 'customer')} skipped"
        if self.problems:
            text += f"; {count(len(self.problems), 'input problem')}"
        if self.held:
            text += f"; {count(len(self.held), 'message')} held"
        if self.unreadable:
            text += f"; {count(len(self.unreadable), 'unreadable event')} left as they are"
        return text


def owner_failures(failed: Mapping[str, str]) -> list[tuple[str, str]]:
    """Salespeople skipped for the same cause, one entry per cause: ``("salesperson X", why)``,
    or ``("3 salespeople (X, Y, Z)", why)`` when a cause shared by the backend (a service
    account's key refused, a server down) failed several of them; a cause naming the
    salesperson names them as "each of them"."""
    groups: dict[str, list[str]] = {}
    for owner, why in sorted(failed.items()):
        groups.setdefault(why.replace(owner, "{owner}"), []).append(owner)
    found = []
    for cause, owners in groups.items():
        if len(owners) == 1:
            found.append((f"salesperson {owners[0]}", cause.replace("{owner}", owners[0])))
            continue
        shown = ", ".join(owners[:3]) + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")
        who = f"{count(len(owners), 'salesperson', 'salespeople')} ({shown})"
        found.append((who, cause.replace("{owner}", "each of them")))
    return sorted(found, key=lambda item: item[0])


@dataclass
class _Health:
    """Per (backend, owner, method) trouble: when to try again, and the cause last logged."""

    retry_at: datetime | None = None
    failures: int = 0
    reported: str = ""


class Workspace:
    """cadence.toml, the policies, the store and the backends, wired together."""

    def __init__(self, config: Config, policies: PolicySet, store: Store) -> None:
        self.config = config
        self.policies = policies
        self.store = store
        self.reader = config.date_reader()
        self._backends: dict[str, CalendarBackend] = {}
        self._mail: dict[str, MailSource] = {}
        self._health: dict[tuple[str, str, str], _Health] = {}  # (backend, owner, method)
        self._seasons: dict[str, Any] = {}
        self._reported: dict[str, str] = {}  # customer id -> the cause already logged
        self._trouble: dict[str, str] = {}  # salesperson -> the unexpected error already logged
        self._keep: Callable[[str], bool] = lambda owner: True  # see run_cycle
        self.progress: Tick | None = None  # told how far long work has got (the CLI's bars)
        self.env: Mapping[str, str] = os.environ
        self._unbookable = 0  # customers the last plan could never book (logged on change)
        self.workers = OWNER_WORKERS
        self._halt = threading.Event()  # set when the cycle is told to stop: naps end at once
        # The moment of the cycle a backend call belongs to, per thread (see _backend_now).
        self._clock = threading.local()
        # (backend, cause) -> salespeople whose authentication failed, until logged
        self._auth_failed: dict[tuple[str, str], list[str]] = {}
        # Leave alone the salespeople whose inputs did not change (cadence.sync.incremental).
        self.incremental = True

    # ---- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, config_path: Path | str) -> Workspace:
        """Load and validate cadence.toml and the policies; open the store. UserError on any
        problem (every problem listed)."""
        config = load_config(config_path)
        policies = load_validated_policies(config)
        store = Store(config.database)
        store.sync_salespeople(config.salespeople)
        return cls(config, policies, store)

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        for source in self._mail.values():
            source.close()
        self.store.close()

    # ---- people and backends --------------------------------------------------------------

    def salespeople(
        self, customers: Iterable[Customer], extra_owners: Iterable[str] = ()
    ) -> dict[str, Salesperson]:
        """Everyone in cadence.toml, plus a default entry for owners that are not listed
        (customers' owners, and ``extra_owners``: say, the owner of bookings left behind by a
        corrected typo, whose calendar still has to be cleaned up)."""
        people = {p.email: p for p in self.config.salespeople}
        for owner in itertools.chain((c.owner for c in customers), extra_owners):
            if owner not in people:
                people[owner] = Salesperson(email=owner, timezone=self.policies.defaults.timezone)
        return people

    def backend_name(self, person: Salesperson) -> str:
        return self.config.backend_of(person)

    def backend(self, name: str) -> CalendarBackend:
        backend = self._backends.get(name)
        if backend is None:
            cls = connectors.load_backend(name)
            backend = cls(self.config.calendars.get(name, {}), self._context(f"calendar.{name}"))
            self._backends[name] = backend
        return backend

    def mail_sources(self) -> dict[str, MailSource]:
        for name, section in self.config.mail.items():
            if name not in self._mail:
                cls = connectors.load_mail_source(name)
                self._mail[name] = cls(section, self._context(f"mail.{name}"))
        return self._mail

    def _context(self, namespace: str) -> BackendContext:
        return BackendContext(
            base_dir=self.config.base_dir,
            salespeople=self.config.salespeople,
            # Held back per thread (see _sync_owner_contacts); written in the pool's turn.
            state=StagedState(TurnState(self.store.state(namespace))),
            smtp=self.config.smtp,
            env=self.env,
            sleep=self._nap,
            now=self._backend_now,
        )

    def _backend_now(self) -> datetime:
        """What a backend takes for "now" (a DTSTAMP, an invitation's backoff): the moment of
        the cycle its call belongs to, so that a run with ``--now`` lives wholly in that
        moment; the real time outside any call."""
        return getattr(self._clock, "now", None) or datetime.now(UTC)

    def _nap(self, seconds: float) -> None:
        """A backend's wait before trying again, inside a cycle: at most ``NAP_CAP`` seconds
        (a longer one defers that salesperson: TransientError with the wait as its
        ``retry_after``), and cut short when the cycle is told to stop."""
        if seconds > NAP_CAP:
            raise TransientError(
                f"deferred: a wait of {seconds:.0f}s is longer than a cycle waits ({NAP_CAP:.0f}s)",
                retry_after=seconds,
            )
        if self._halt.wait(max(0.0, seconds)):
            raise TransientError("stopping: the wait before trying again was cut short")

    def _workers(self, people: Iterable[Salesperson]) -> int:
        """How many salespeople to serve at once: ``workers`` when a backend or mail source
        in use can be called for several of them at the same time, else one."""
        classes: list[Any] = []
        for name in {self.backend_name(p) for p in people}:
            try:
                classes.append(connectors.load_backend(name))
            except (ImportError, LookupError):
                continue
        for name in self.config.mail:
            try:
                classes.append(connectors.load_mail_source(name))
            except (ImportError, LookupError):
                continue
        return self.workers if any(getattr(c, "concurrent", False) for c in classes) else 1

    # ---- customers -------------------------------------------------------------------------

    def import_customers(
        self,
        path: Path,
        *,
        prune: bool = False,
        today: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[Any, list[Problem]]:
        """Read ``path`` and upsert; returns (counts, rejections as problems)."""
        result = read_customers(
            path,
            self.reader,
            default_timezone=self.policies.defaults.timezone,
            progress=progress,
            today=(today or datetime.now(UTC)).date(),
        )
        counts = self.store.upsert_customers(result.customers, prune=prune)
        return counts, [r.as_problem(str(path)) for r in result.rejected]

    def refresh_customers(self, now: datetime, problems: list[str] | None = None) -> str:
        """Re-import the configured customer file when its content changed.

        A file that cannot be read as a whole (gone, not UTF-8, a required column missing)
        keeps the last good customers in force; the problem is logged once per file version
        and added to ``problems`` on every cycle until the file is fixed.
        """
        path = self.config.customers
        if path is None:
            return ""
        state = self.store.state("customers")
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            digest = f"unreadable:{exc.strerror or exc}"
        if state.get(str(path)) == digest:
            if problems is not None:
                problems.extend(json.loads(state.get(f"{path}:problems") or "[]"))
            return ""
        try:
            if digest.startswith("unreadable:"):
                raise UserError(f"cannot read customer file {path}: {digest[11:]}")
            counts, rejected = self.import_customers(path, today=now)
        except Exception as exc:  # UserError, or a bug a strange file reaches: keep the last good
            text = str(exc) if isinstance(exc, UserError) else f"cannot import {path}: {exc!r}"
            text = text.replace("\n", "; ")
            text = f"{text} (the last good customer list stays in force)"
            log.error("%s", text, extra=REPORTED)
            state.set(str(path), digest)
            state.set(f"{path}:problems", json.dumps([text]))
            if problems is not None:
                problems.append(text)
            return ""
        for problem in rejected:
            log.warning("%s", problem, extra=REPORTED)
        # Rejected rows are logged once per version of the file, and reported every cycle.
        texts = [f"{problem} (row not imported)" for problem in rejected]
        state.set(str(path), digest)
        state.set(f"{path}:problems", json.dumps(texts) if texts else None)
        if problems is not None:
            problems.extend(texts)
        text = (
            f"imported {path.name}: {counts.new} new, {counts.updated} updated, "
            f"{counts.unchanged} unchanged, {len(rejected)} rejected"
        )
        log.info("%s", text)
        return text

    # ---- planning --------------------------------------------------------------------------

    def planning_input(
        self,
        now: datetime,
        busy: Mapping[str, Sequence[BusyInterval]] | None = None,
        *,
        forecast: bool = False,
        customers: Sequence[Customer] | None = None,
        records: Sequence[BookingRecord] | None = None,
        only_their_contacts: bool = False,
    ) -> PlanInput:
        """The planner's input at ``now``; ``only_their_contacts`` reads the contacts of
        ``customers`` only (a plan of some salespeople), not every contact."""
        customers = list(customers if customers is not None else self.store.customers())
        return PlanInput(
            policies=self.policies,
            customers=customers,
            salespeople=self.salespeople(customers),
            now=now,
            contacts=self.store.contacts_by_customer(
                [c.id for c in customers] if only_their_contacts else None
            ),
            busy=busy or {},
            bookings=[
                r.as_booking() for r in (self.store.bookings() if records is None else records)
            ],
            horizon_days=self.config.horizon_days,
            forecast_days=self.config.forecast_days if forecast else 0,
            season_parser=self.season,
            snoozes=read_snoozes(self.store.state(SNOOZE_NAMESPACE)),
            progress=self.progress,
        )

    def season(self, text: str) -> Any:
        found = self._seasons.get(text)
        if found is None:
            found = self._seasons[text] = parse_season(text, self.reader)
        return found

    def read_busy(
        self,
        now: datetime,
        owners: Iterable[str],
        failed: dict[str, str],
        stop: Callable[[], bool] = lambda: False,
    ) -> dict[str, list[BusyInterval]]:
        """Busy time of each owner from their calendar (never cadence's own events).

        A backend that can answer for many owners at once (``busy_many``: Graph's getSchedule
        takes 20 mailboxes a request, Google's free/busy 50 calendars) is asked once per
        backend; the others per owner, several at once (:func:`cadence.sync.fanout.fan_out`).
        """
        until = now + timedelta(days=self.config.horizon_days) + BUSY_MARGIN
        people = {p.email: p for p in self.config.salespeople}
        groups: dict[str, list[str]] = {}
        for owner in owners:
            if owner not in failed:
                person = people.get(owner) or Salesperson(email=owner)
                groups.setdefault(self.backend_name(person), []).append(owner)
        busy: dict[str, list[BusyInterval]] = {}
        answers: dict[str, Any] = {}
        for name, group in groups.items():
            if len(group) > 1 and _has_method(name, "busy_many"):
                ok, value = self._call(name, "*", now, "busy_many", group, now, until)
                if ok:
                    answers.update(value)
        backend_of = {owner: name for name, group in groups.items() for owner in group}

        def read_one(owner: str) -> None:
            answer = answers.get(owner)
            if answer is None:
                ok, answer = self._call(backend_of[owner], owner, now, "busy", owner, now, until)
                if not ok:
                    failed[owner] = answer
                    return
            elif isinstance(answer, BackendError):
                failed[owner] = str(answer)
                return
            busy[owner] = answer

        todo = list(backend_of)
        fan_out(
            todo,
            read_one,
            workers=self._workers(people.get(o) or Salesperson(email=o) for o in todo),
            stop=stop,
            done=every(self.progress, "reading busy time", len(todo), 1),
        )
        return busy

    def customers_as_run_sees_them(
        self, now: datetime, owners: Collection[str] | None = None
    ) -> list[Customer]:
        """The customers the next cycle will plan (of ``owners`` when given), without importing
        anything: the stored ones, updated and added to from the customer file when it changed
        since the last import (a file that cannot be read leaves the stored list, as the cycle
        does)."""
        if self.customer_file_changed():
            everyone = self._customers_from_file(now)
            return [c for c in everyone if owners is None or c.owner in owners]
        return self.store.customers(owners)

    def customer_file_changed(self) -> bool:
        """Does the customer file hold other bytes than at its last import?"""
        path = self.config.customers
        if path is None:
            return False
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return False  # the cycle keeps the last good list
        return self.store.state("customers").get(str(path)) != digest

    def _customers_from_file(self, now: datetime) -> list[Customer]:
        stored = self.store.customers()
        path = self.config.customers
        assert path is not None
        try:
            fresh = read_customers(
                path,
                self.reader,
                default_timezone=self.policies.defaults.timezone,
                today=now.date(),
            ).customers
        except Exception:  # the cycle keeps the last good list too
            return stored
        merged = {c.id: c for c in stored}
        merged.update((c.id, c) for c in fresh)
        return [merged[cid] for cid in sorted(merged)]

    def plan(
        self,
        now: datetime,
        *,
        forecast: bool = False,
        read_calendars: bool = True,
        customers: Sequence[Customer] | None = None,
        owners: Collection[str] | None = None,
    ) -> Plan:
        """A dry-run plan (no writes anywhere) of ``customers`` (default: as the next cycle
        will see them). With ``owners``, only those salespeople are planned, from their own
        customers, contacts and bookings: salespeople share neither time nor capacity, so
        their part of the whole book's plan is exactly this (``explain``, ``plan --customer``).
        """
        if customers is None:
            customers = self.customers_as_run_sees_them(now, owners)
        records: list[BookingRecord] | None = None
        if owners is not None:
            customers = [c for c in customers if c.owner in owners]
            if self.customer_file_changed():  # owners as in the file: route bookings so
                of = {c.id: c.owner for c in self.customers_as_run_sees_them(now)}
                records = [
                    r for r in self.store.bookings() if of.get(r.customer_id, r.owner) in owners
                ]
            else:
                records = self.store.bookings_planned_with(owners)
        failed: dict[str, str] = {}
        busy_of = sorted({c.owner for c in customers})
        busy = self.read_busy(now, busy_of, failed) if read_calendars else {}
        self._flush_failures()
        for owner, why in failed.items():
            log.warning("planning %s without their calendar: %s", owner, why)
        return plan(
            self.planning_input(
                now,
                busy,
                forecast=forecast,
                customers=customers,
                records=records,
                only_their_contacts=owners is not None,
            )
        )

    def decide(
        self,
        result: Plan,
        customers: Sequence[Customer] | None = None,
        unreadable: Collection[str] = (),
        records: Sequence[BookingRecord] | None = None,
    ) -> Decision:
        """What ``result`` needs written against the bookings now (``records``, when the caller
        has just read them): the decision the run acts on and ``plan --changes`` previews
        (:func:`cadence.sync.decide.decide`)."""
        customers = self.store.customers() if customers is None else customers
        records = self.store.bookings() if records is None else records
        owners = {r.owner for r in records if r.state in LIVE}
        people = self.salespeople(customers, owners)
        return decide(
            result,
            records,
            {c.id: c for c in customers},
            people,
            {c.id: self.policies.for_customer(c) for c in customers},
            unreadable=unreadable,
        )

    # ---- the cycle -------------------------------------------------------------------------

    def owners_known(self) -> list[str]:
        """:meth:`owners`, from the store's indexes alone (no customer loaded)."""
        return sorted(
            set(self.store.customer_kinds())
            | {p.email for p in self.config.salespeople}
            | self.store.booking_owners(LIVE)
        )

    def owners(self, customers: Iterable[Customer] | None = None) -> list[str]:
        """Every salesperson with a calendar to look after: configured, owning customers, or
        holding live bookings (an owner that was a typo, corrected since: its bookings are
        cancelled from that calendar)."""
        customers = self.store.customers() if customers is None else customers
        return sorted(
            {c.owner for c in customers}
            | {p.email for p in self.config.salespeople}
            | self.store.booking_owners(LIVE)
        )

    def run_cycle(
        self,
        now: datetime,
        stop: Callable[[], bool] = lambda: False,
        *,
        share: Collection[str] | None = None,
        import_customers: bool = True,
        keep: Callable[[str], bool] | None = None,
    ) -> CycleResult:
        """Import, sync, plan, reconcile. ``stop`` is polled between writes (SIGTERM).

        ``share`` limits the calendars read and written to those salespeople (several daemons
        on one database divide them, see :mod:`cadence.store.leases`); the plan still covers all.
        ``keep(owner)`` is asked before each write to a calendar (the daemon renews its lease
        there): when it says no, another daemon serves that salesperson now, and this cycle
        writes nothing more to their calendar.
        """
        self._keep = keep or (lambda owner: True)
        self._halt.clear()

        def stopping() -> bool:
            if stop():
                self._halt.set()  # a backend waiting to try again gives up at once
                return True
            return False

        result = CycleResult()
        if import_customers:
            result.imported = self.refresh_customers(now, result.problems)
        elif self.config.customers is not None:  # another daemon imports; still report
            self.refresh_customers_problems(result.problems)
        # Salespeople whose inputs are as when their last cycle did nothing are left alone
        # (cadence.sync.incremental); several daemons sharing the salespeople run whole cycles.
        tracker = Tracker(self, now) if share is None and self.incremental else None
        quiet: dict[str, Quiet] = {}
        if tracker is not None:
            owners, quiet = tracker.split(self.owners_known())
            if not quiet:  # everyone's inputs changed (or cannot be told): the whole cycle
                tracker.whole = True
            customers = self.store.customers(None if tracker.whole else owners)
        else:
            customers = self.store.customers()
            owners = [o for o in self.owners(customers) if share is None or o in share]
        people = self.salespeople(customers, owners)
        failed = result.failed_owners
        unreadable: set[str] = set()  # "owner: uid" of cadence events a calendar cannot read
        mine: dict[str, list[Customer]] = {}
        for c in customers:
            mine.setdefault(c.owner, []).append(c)
        added: list[int] = []

        def read_owner(owner: str) -> None:
            """One salesperson's calendar folded into the bookings, then their contacts."""
            self._guarded(owner, failed, self._sync_owner, people[owner], now, failed, unreadable)
            if owner in failed or owner not in mine:
                return
            matcher = CustomerMatcher({c.id: (c.emails, c.domains) for c in mine[owner]})
            self._guarded(
                owner,
                failed,
                self._sync_owner_contacts,
                owner,
                people,
                matcher,
                now,
                added,
                failed,
            )

        synced = every(self.progress, "reading calendars", len(owners), 1)
        todo = list(owners)
        while todo:
            workers = self._workers(people[o] for o in todo)
            # Nothing written yet but what the calendars showed: stopping here is safe.
            if not fan_out(todo, read_owner, workers=workers, stop=stopping, done=synced):
                result.interrupted = True
                return result
            # What was read there can change a salesperson left alone (their customer's
            # booking in another calendar): they are worked on too, as a whole cycle would.
            todo = tracker.changed_since_start(quiet) if tracker is not None else []
            for owner in todo:
                del quiet[owner]
            if todo:
                owners = sorted([*owners, *todo])
                customers = self.store.customers(owners)  # someone was left alone: a part
                people = self.salespeople(customers, owners)
                mine = {}
                for c in customers:
                    if c.owner in todo:
                        mine.setdefault(c.owner, []).append(c)
        workers = self._workers(people[o] for o in owners)
        self._flush_failures()
        result.unreadable = sorted(unreadable)
        result.contacts_added = sum(added)
        if stopping():
            result.interrupted = True
            return result
        busy = self.read_busy(now, owners, failed, stopping)
        if stopping():
            result.interrupted = True
            return result
        # as observed above: read once for plan and decision
        part = tracker is not None and not tracker.whole
        records = self.store.bookings_planned_with(owners) if part else self.store.bookings()
        inp = self.planning_input(
            now, busy, customers=customers, records=records, only_their_contacts=part
        )
        planned = plan(inp)
        self._log_unbookable(planned, sum(q.unbookable for q in quiet.values()))
        self.store.save_plan(planned.contacts, owners if part else None)
        decision = self.decide(planned, customers, unreadable, records)
        result.unchanged += sum(q.kept for q in quiet.values())
        skipped = result.skipped_customers
        skipped.update(decision.skipped)
        policies = {c.id: self.policies.for_customer(c) for c in customers}
        by_id = {c.id: c for c in customers}
        actions = result.actions = decision.actions
        by_owner: dict[str, list[Action]] = {}
        for action in actions:
            if share is not None and action.owner not in share:
                continue
            if action.kind is ActionKind.KEEP:
                result.unchanged += 1
            elif action.owner not in failed:
                by_owner.setdefault(action.owner, []).append(action)

        def write_owner(item: tuple[str, list[Action]]) -> None:
            owner, owner_actions = item
            self._guarded(
                owner,
                failed,
                self._apply,
                people[owner],
                owner_actions,
                by_id,
                policies,
                planned,
                now,
                result,
                stopping,
            )

        written = every(self.progress, "writing to calendars", len(by_owner), 1)
        if not fan_out(
            sorted(by_owner.items()), write_owner, workers=workers, stop=stopping, done=written
        ):
            result.interrupted = True
        held_by: dict[str, int] = {}
        for owner in owners:
            if owner not in failed:
                before = len(result.held)
                self._guarded(owner, failed, self._collect_held, people[owner], result.held)
                held_by[owner] = len(result.held) - before
        self._flush_failures()
        if tracker is not None:

            def facts() -> OwnerFacts:
                return OwnerFacts.gather(
                    self, customers, records, inp.contacts, busy, planned.contacts, owners, now
                )

            nothing = did_nothing(owners, result, planned, customers, held_by)
            tracker.finish(owners, quiet, nothing, facts)
        for owner in sorted(set(self._trouble) & set(owners) - set(failed)):
            log.info("%s works again", owner)
            del self._trouble[owner]
        self._report_skipped(skipped, by_id)
        attention = result.attention(by_id)
        self.store.state("cycle").set("attention", json.dumps(attention) if attention else None)
        return result

    def _log_unbookable(self, planned: Plan, others: int = 0) -> None:
        """How many customers can never be booked (their hours never meet their owner's), when
        that number changes: once for ``run --once``, not every cycle of the daemon.
        ``others``: those of the salespeople left alone this cycle."""
        n = len(planned.unbookable) + others
        if n != self._unbookable and n:
            log.warning(
                "%s can never be booked: their hours never meet their owner's "
                "working hours (`cadence check` names them and the fix)",
                count(n, "customer"),
            )
        self._unbookable = n

    def attention(self) -> list[str]:
        """What the last cycle could not do, one line each (for ``cadence report``)."""
        raw = self.store.state("cycle").get("attention")
        return json.loads(raw) if raw else []

    def _collect_held(self, person: Salesperson, held: list[str]) -> None:
        held.extend(self.backend(self.backend_name(person)).set_aside(person.email))

    def refresh_customers_problems(self, problems: list[str]) -> None:
        """Add what is wrong with the customer file as last imported (by another daemon)."""
        assert self.config.customers is not None
        state = self.store.state("customers")
        problems.extend(json.loads(state.get(f"{self.config.customers}:problems") or "[]"))

    def _guarded(
        self, owner: str, failed: dict[str, str], work: Callable[..., Any], *args: Any
    ) -> None:
        """``work(*args)`` for one salesperson; an unexpected error skips that salesperson's
        backend work for this cycle (logged once, with its cause), never the others'."""
        try:
            work(*args)
        except Exception as exc:
            why = describe_error(exc)
            if self._trouble.get(owner) != why:  # once when it starts, not every cycle
                log.error(
                    "%s skipped this cycle: %s", owner, why, extra={**REPORTED, "owner": owner}
                )
                log.debug("%s: traceback", owner, exc_info=True)
            self._trouble[owner] = why
            failed[owner] = why

    def _report_skipped(
        self, skipped: Mapping[str, str], customers: Mapping[str, Customer]
    ) -> None:
        """Log each customer that could not be planned or booked once (and once when it works
        again); keep the list for ``cadence report`` and ``cadence explain``."""
        for customer_id, why in sorted(skipped.items()):
            if self._reported.get(customer_id) != why:
                customer = customers.get(customer_id)
                name = f"{customer.name} ({customer_id})" if customer else customer_id
                log.error("customer %s skipped: %s; the others go on", name, why, extra=REPORTED)
        for customer_id in sorted(set(self._reported) - set(skipped)):
            log.info("customer %s is planned again", customer_id)
        self._reported = dict(skipped)
        self.store.state("cycle").set(
            "skipped-customers", json.dumps(dict(sorted(skipped.items()))) if skipped else None
        )

    def skipped_customers(self) -> dict[str, str]:
        """Customers the last cycle could not plan or book (customer id -> cause)."""
        raw = self.store.state("cycle").get("skipped-customers")
        return json.loads(raw) if raw else {}

    def _sync_owner(
        self, person: Salesperson, now: datetime, failed: dict[str, str], unreadable: set[str]
    ) -> None:
        name = self.backend_name(person)
        owner = person.email
        records = [r for r in self.store.bookings(owner=owner) if r.backend == name]
        ok, remote = self._call(name, owner, now, "list_owned", owner)
        if not ok:
            failed[owner] = remote
            return
        shown = {ev.uid: ev for ev in remote}
        if implausible_loss(records, shown, now):  # not believed: read it whole again at once
            self._call(name, owner, now, "forget_sync", owner)
            ok, remote = self._call(name, owner, now, "list_owned", owner)
            if not ok:
                failed[owner] = remote
                return
            shown = {ev.uid: ev for ev in remote}
        self._doubt(owner, implausible_loss(records, shown, now), now)
        # The backend logged each (with why); they are left alone and counted as not done.
        unreadable.update(f"{owner}: {ev.uid}" for ev in remote if ev.status == UNREADABLE)
        seen = observe(records, shown, now, name)
        for record in seen.save:
            at = when(record.start, person.timezone)
            if record.state in (BookingState.DELETED, BookingState.DECLINED):
                log.info("%s %s %s at %s", owner, record.state.value, record.key, at)
            elif record.state is BookingState.MOVED_BY_OWNER:
                log.info("%s moved %s to %s", owner, record.key, at)
        # Before saving: a crash in between sees the change again, and the backend tells the
        # attendees of each change once (it remembers what they were sent).
        changed = [r.uid for r in seen.save if r.state in OWNER_CHANGES]
        if changed and self._may_write(owner):  # mail to customers: the lease holder's to send
            self._call(name, owner, now, "notify_attendees", owner, changed)
        self.store.save_bookings(seen.save, delete=seen.drop)
        if seen.contacts:
            self.store.add_contacts(seen.contacts)
        if seen.recancel and self._may_write(owner):
            ops: list[WriteOp] = [Cancel(owner, r.uid, r.etag, r.remote_id) for r in seen.recancel]
            self._call(name, owner, now, "write", owner, ops)

    def _doubt(self, owner: str, why: str, now: datetime) -> None:
        """Hold ``owner``'s calendar work while its reads show an implausible loss (``why``,
        see :func:`cadence.sync.reconcile.implausible_loss`): raises, so the cycle skips their
        writes and logs it once. A loss every whole re-read confirms for :data:`LOSS_HOLD` is
        taken for the salesperson's own doing at last (logged)."""
        state = self.store.state("cycle")
        key = f"implausible-loss:{owner}"
        since = state.get(key)
        if not why:
            if since is not None:
                state.set(key, None)
            return
        if since is None:
            since = now.isoformat()
            state.set(key, since)
        if now - datetime.fromisoformat(since) < LOSS_HOLD:
            raise ImplausibleRead(why)
        log.warning(
            "%s: every read since %s confirms it: %s; taken for the salesperson's own doing",
            owner,
            since,
            why.split(":", 1)[0],
            extra={**REPORTED, "owner": owner},
        )
        state.set(key, None)

    def _sync_owner_contacts(
        self,
        owner: str,
        people: Mapping[str, Salesperson],
        matcher: CustomerMatcher,
        now: datetime,
        added: list[int],
        failed: dict[str, str],
    ) -> None:
        """Contacts of ``owner``'s customers in their past calendar events and their mail that
        the sources have not reported before, whatever their date (a meeting entered late, a
        message delivered late), each with its own date. ``FIRST_LOOKBACK`` bounds how far
        back a source looks when it reads in full.

        The sources' read marks are held back while they read (:class:`StagedState`) and
        committed only once the contacts they returned are stored: a crash in between makes
        the next cycle read them again (the store keeps each once), never loses them.
        """
        floor = now - FIRST_LOOKBACK
        name = self.backend_name(people[owner])
        found: list[Contact] = []
        marks: list[tuple[StagedState, dict[str, str | None]]] = []
        calendar = self.backend(name)
        ok, events = self._read_new(
            calendar, marks, name, owner, now, "new_past_events", owner, floor, now
        )
        if not ok:
            failed[owner] = events
            return
        for ev in events:
            if ev.declined:
                continue
            for who in matcher.customers_of(ev.attendees, besides=owner):
                source_id = f"{name}:{ev.remote_id}"
                found.append(Contact(who, ContactKind.MEETING, ev.start, "calendar", source_id))
        addresses, domains = matcher.addresses, matcher.domains
        for source_name, source in self.mail_sources().items():
            ok, messages = self._read_new(
                source,
                marks,
                f"mail.{source_name}",
                owner,
                now,
                "messages",
                owner,
                addresses,
                domains,
                floor,
            )
            if not ok:
                # Booking without knowing the latest mail could land a check-in the day after a
                # contact: this salesperson's calendar work waits until the mailbox answers.
                failed[owner] = f"mail.{source_name}: {messages}"
                continue
            for m in messages:
                kind = ContactKind.EMAIL_OUT if m.outgoing else ContactKind.EMAIL_IN
                for who in matcher.customers_of(m.addresses, besides=owner):
                    found.append(Contact(who, kind, m.at, "mail", m.message_id))
        added.append(self.store.add_contacts(found) if found else 0)
        for state, held in marks:  # only now: the contacts they stand for are stored
            state.commit(held)

    def _read_new(
        self,
        source: CalendarBackend | MailSource,
        marks: list[tuple[StagedState, dict[str, str | None]]],
        name: str,
        owner: str,
        now: datetime,
        method: str,
        *args: Any,
    ) -> tuple[bool, Any]:
        """:meth:`_call` of a contact read with the source's state writes held back; what a
        successful call wrote joins ``marks`` (a failed call's writes are dropped)."""
        state = source.context.state
        if not isinstance(state, StagedState):  # a source made outside this workspace
            return self._call(name, owner, now, method, *args, target=source)
        state.hold()
        try:
            ok, value = self._call(name, owner, now, method, *args, target=source)
        finally:
            held = state.release()
        if ok:
            marks.append((state, held))
        return ok, value

    # ---- applying actions ----------------------------------------------------------------

    def _apply(
        self,
        person: Salesperson,
        actions: Sequence[Action],
        customers: Mapping[str, Customer],
        policies: Mapping[str, Any],
        planned: Plan,
        now: datetime,
        result: CycleResult,
        stop: Callable[[], bool],
    ) -> None:
        owner = person.email
        name = self.backend_name(person)
        notes = planned.notes
        batch = max(1, self.backend(name).write_batch)
        size = batch * max(1, WRITE_CHUNK // batch)  # whole provider batches per call
        for start in range(0, len(actions), size):
            if stop():
                result.interrupted = True
                return
            if not self._may_write(owner):
                return
            chunk = actions[start : start + size]
            ops: list[WriteOp] = []
            intents: list[tuple[Action, BookingRecord]] = []
            for action in chunk:
                try:
                    record, op = self._intent(action, name, person, customers, policies, notes, now)
                except Exception as exc:  # this customer's event cannot be built: skip it
                    result.skipped_customers[action.customer_id] = describe_error(exc)
                    continue
                ops.append(op)
                intents.append((action, record))
            if not ops:
                continue
            # The intents are stored before the write, in one transaction; a booking whose key
            # changes is replaced in the same one.
            self.store.save_bookings(
                [record for _, record in intents],
                delete=[a.record.key for a, r in intents if a.record and a.record.key != r.key],
            )
            ok, results = self._call(name, owner, now, "write", owner, ops)
            if not ok:
                result.failed_owners[owner] = results
                return  # unconfirmed: the next cycle's observe() reads the calendar back
            # The names this chunk's log lines need (never the whole book: a chunk is small).
            names = {
                a.customer_id: customers[a.customer_id].name
                for a, _ in intents
                if a.customer_id in customers
            }
            settled = [
                self._settle_write(action, record, outcome, now, result, person.timezone, names)
                for (action, record), outcome in zip(intents, results, strict=True)
            ]
            self.store.save_bookings([r for r in settled if r is not None])

    def _may_write(self, owner: str) -> bool:
        """Is this process still the one to write ``owner``'s calendar (its lease renewed)?"""
        if self._keep(owner):
            return True
        log.info("%s is served by another daemon now: no more writes to it here", owner)
        return False

    def _intent(
        self,
        action: Action,
        backend: str,
        person: Salesperson,
        customers: Mapping[str, Customer],
        policies: Mapping[str, Any],
        notes: Mapping[str, Any],
        now: datetime,
    ) -> tuple[BookingRecord, WriteOp]:
        """The record to store before the write, and the write itself."""
        if action.kind is ActionKind.CANCEL:
            assert action.record is not None
            r = action.record
            record = replace(
                r,
                state=BookingState.CANCELLED,
                seen_at=now,
                updated_at=now,
                confirmed=r.confirmed or Confirmed.of(r),
            )
            return record, Cancel(r.owner, r.uid, r.etag, r.remote_id)
        p = action.planned
        assert p is not None
        customer = customers[p.customer_id]
        spec = event_spec(p, customer, person, policies[p.customer_id], notes.get(p.customer_id))
        if action.kind is ActionKind.CREATE:
            record = BookingRecord(
                key=p.key,
                uid=spec.uid,
                customer_id=p.customer_id,
                owner=p.owner,
                kind=p.kind,
                backend=backend,
                start=p.start,
                end=p.end,
                all_day=p.all_day,
                state=BookingState.PENDING,
                spec_hash=spec.tags[SPEC_TAG],
                created_at=now,
                updated_at=now,
                reasons=tuple(p.reasons),
            )
            return record, Create(spec)
        assert action.record is not None
        old = action.record
        spec = replace(spec, uid=old.uid)
        record = replace(
            old,
            key=p.key,
            kind=p.kind,
            start=p.start,
            end=p.end,
            all_day=p.all_day,
            state=BookingState.PENDING,
            spec_hash=spec.tags[SPEC_TAG],
            updated_at=now,
            confirmed=old.confirmed or Confirmed.of(old),
            # A details rewrite keeps the reasons the booking was placed for.
            reasons=old.reasons if (p.start, p.end) == (old.start, old.end) else tuple(p.reasons),
        )
        return record, Update(spec, old.etag, old.remote_id)

    def _settle_write(
        self,
        action: Action,
        record: BookingRecord,
        outcome: Any,
        now: datetime,
        result: CycleResult,
        zone: str,
        names: Mapping[str, str],
    ) -> BookingRecord | None:
        """The record to store after the backend answered for one write (None: unchanged).

        A failed write stays recorded as intended and unconfirmed: the next cycle reads the
        calendar back (the write may have applied after all, its answer lost) and decides."""
        fields = {"owner": action.owner, "customer_id": action.customer_id}
        if not outcome.ok:
            line = action_line(action, zone, names)
            log.warning("failed: %s: %s", line, outcome.error, extra=fields)
            return None
        result.applied.append(action)
        log.info("%s", action_line(action, zone, names), extra=fields)
        if action.kind is ActionKind.CANCEL:
            result.cancelled += 1
            return replace(record, confirmed=None)
        if action.kind is ActionKind.CREATE:
            result.created += 1
        else:
            result.moved += 1
        ev = outcome.event
        return replace(
            landed(record),
            etag=ev.etag if ev else None,
            remote_id=(ev.remote_id if ev else None) or record.remote_id,
            sequence=ev.sequence if ev else record.sequence,
            updated_at=now,
        )

    # ---- calling backends safely -----------------------------------------------------------

    def _call(
        self, name: str, owner: str, now: datetime, method: str, *args: Any, target: Any = None
    ) -> tuple[bool, Any]:
        """Call ``method(*args)`` on backend ``name`` (or on ``target``) for one owner;
        (True, value), or (False, why) after logging it and scheduling a retry.

        Each distinct failure is logged once when it starts, and "works again" once when it
        clears. A server backs off (honouring ``Retry-After``); a local backend (files) is
        tried again on the next cycle, so a repaired file is picked up at once.
        """
        health = self._health.setdefault((name, owner, method), _Health())
        if health.retry_at is not None and now < health.retry_at:
            return False, f"{name} backing off until {health.retry_at:%H:%M:%S}"
        self._clock.now = now
        try:
            source = target or self.backend(name)
            if getattr(source, "concurrent", False):
                with waiting():  # other salespeople's work goes on meanwhile
                    value = getattr(source, method)(*args)
            else:
                value = getattr(source, method)(*args)
        except Exception as exc:
            return False, self._failed(name, owner, method, now, health, exc, target)
        finally:
            self._clock.now = None
        if health.reported:
            log.info("%s: %s works again", name, owner)
        health.failures, health.retry_at, health.reported = 0, None, ""
        return True, value

    def _failed(
        self,
        name: str,
        owner: str,
        method: str,
        now: datetime,
        health: _Health,
        exc: Exception,
        target: Any,
    ) -> str:
        """Log a failed call (once per distinct cause), schedule its retry, say why."""
        health.failures += 1
        if isinstance(exc, AuthError):
            why = f"authentication failed: {exc}"
            # Tried again on the next cycle: access granted again is used at once, and one
            # refused token request a cycle costs nothing.
            delay = 0.0
            text = ""  # logged by _flush_failures, once for all salespeople it concerns
        elif isinstance(exc, TransientError):
            why = f"temporarily unavailable: {exc}"
            delay = exc.retry_after or min(MAX_BACKOFF, 30.0 * 2 ** (health.failures - 1))
            until = now + timedelta(seconds=delay)
            text = f"{owner} unavailable: {exc}; deferred, not tried again before "
            text += f"{until:%H:%M:%S} UTC"
        elif isinstance(exc, (BackendError, UserError, ImportError, LookupError)):
            why = str(exc)
            delay = min(MAX_BACKOFF, 60.0 * health.failures)
            text = f"{method} failed for {owner}: {exc}"
        else:  # a backend's bug on strange data: this owner only
            why = f"unexpected {describe_error(exc)}"
            delay = min(MAX_BACKOFF, 60.0 * health.failures)
            text = f"{method} failed for {owner}: {why}"
            log.debug("%s: traceback", name, exc_info=True)
        if getattr(target or self._backends.get(name), "local", False):
            delay = 0.0
        health.retry_at = now + timedelta(seconds=delay) if delay else None
        if why != health.reported:
            if isinstance(exc, AuthError):
                self._auth_failed.setdefault((name, str(exc).replace(owner, "{owner}")), [])
                self._auth_failed[(name, str(exc).replace(owner, "{owner}"))].append(owner)
            else:
                level = logging.WARNING if isinstance(exc, TransientError) else logging.ERROR
                log.log(level, "%s: %s", name, text, extra=REPORTED)
            health.reported = why
        return why

    def _flush_failures(self) -> None:
        """Log the authentication failures met since the last flush: one line per backend and
        cause, naming how many salespeople it stopped (a service account's key refused is one
        line, not one per salesperson)."""
        pending, self._auth_failed = self._auth_failed, {}
        for (name, cause), found in sorted(pending.items()):
            owners = sorted(found)  # served side by side: in the order they failed
            if len(owners) == 1:
                who, text = owners[0], cause.replace("{owner}", owners[0])
            else:
                shown = ", ".join(owners[:3])
                shown += f" and {len(owners) - 3} more" if len(owners) > 3 else ""
                who = f"{count(len(owners), 'salesperson', 'salespeople')} ({shown})"
                text = cause.replace("{owner}", "each of them")
            log.error(
                "%s: authentication failed for %s: %s (fix the credentials; other salespeople "
                "continue)",
                name,
                who,
                text,
                extra=REPORTED,
            )


class ImplausibleRead(CadenceError):
    """A calendar read not believed (see :func:`cadence.sync.reconcile.implausible_loss`)."""


def _has_method(backend: str, method: str) -> bool:
    try:
        return hasattr(connectors.load_backend(backend), method)
    except (ImportError, LookupError):
        return False


def load_validated_policies(config: Config) -> PolicySet:
    """The policy set, or UserError listing every problem."""
    policies, problems = load_policies(config.policies, config.date_reader())
    errors = [p for p in problems if p.is_error]
    if policies is None or errors:
        raise UserError("policies have problems", errors or problems)
    return policies
