"""The workspace: cadence.toml, the policies, the store and the backends, wired together.

A :class:`Workspace` is opened from cadence.toml (config and policies validated, store opened,
backends built lazily). It is what the CLI and the daemon hold: the cycle
(:func:`cadence.sync.cycle.run_cycle`), dry-run plans (``plan``, ``explain``, ``plan --changes``)
and the customer file's import all start here.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import connectors
from cadence.inputs.config import Config, load_config
from cadence.inputs.policy import PolicySet
from cadence.inputs.policy_load import load_policies
from cadence.planner import Plan, PlanInput, plan
from cadence.store.repository import Store
from cadence.store.snoozes import NAMESPACE as SNOOZE_NAMESPACE
from cadence.store.snoozes import read_snoozes
from cadence.sync import calendars, customer_file
from cadence.sync.calls import Calls
from cadence.sync.fanout import TurnState
from cadence.sync.reconcile import LIVE
from cadence.values.bookings import BookingRecord
from cadence.values.errors import Problem, UserError
from cadence.values.model import BusyInterval, Customer, Salesperson
from cadence.values.progress import Tick
from cadence.values.seasons import SeasonParser
from connectors.base import BackendContext, CalendarBackend, MailSource, StagedState

if TYPE_CHECKING:  # the cycle's and the decision's modules: imported by the methods that run them
    from cadence.sync.decide import Decision
    from cadence.sync.result import CycleResult

log = logging.getLogger("cadence")
OWNER_WORKERS = 8  # salespeople served at once when their backends allow it (``concurrent``)


class Workspace:
    """cadence.toml, the policies, the store and the backends, wired together."""

    def __init__(self, config: Config, policies: PolicySet, store: Store) -> None:
        self.config = config
        self.policies = policies
        self.store = store
        self.reader = config.date_reader()
        self._backends: dict[str, CalendarBackend] = {}
        self._mail: dict[str, MailSource] = {}
        self.season = SeasonParser(self.reader)  # season text -> Season, parsed once
        self.calls = Calls(self.backend)  # every call to a backend, and its failures
        self.progress: Tick | None = None  # told how far long work has got (the CLI's bars)
        self.env: Mapping[str, str] = os.environ
        self.workers = OWNER_WORKERS
        # Leave alone the salespeople whose inputs did not change (cadence.sync.incremental).
        self.incremental = True
        # Between cycles (cadence.sync.cycle): whether this process still writes an owner's
        # calendar (a daemon's lease), the skipped customers already logged (id -> cause), and
        # how many customers the last plan could never book (logged when it changes).
        self.keep: Callable[[str], bool] = lambda owner: True
        self.reported: dict[str, str] = {}
        self.unbookable = 0

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
            # Held back per thread (see cadence.sync.contacts); written in the pool's turn.
            state=StagedState(TurnState(self.store.state(namespace))),
            smtp=self.config.smtp,
            env=self.env,
            sleep=self.calls.nap,
            now=self.calls.now,
        )

    def batched_busy(self, name: str) -> bool:
        """Does backend ``name`` read many owners' busy time in one request?"""
        try:
            return connectors.load_backend(name).batched_busy
        except (ImportError, LookupError):
            return False

    def workers_for(self, people: Iterable[Salesperson]) -> int:
        """How many salespeople to serve at once: ``workers`` when a backend or mail source
        in use can be called for several of them at the same time, else one."""
        concurrent = False
        for name in {self.backend_name(p) for p in people}:
            try:
                concurrent = concurrent or connectors.load_backend(name).concurrent
            except (ImportError, LookupError):
                continue
        for name in self.config.mail:
            try:
                concurrent = concurrent or connectors.load_mail_source(name).concurrent
            except (ImportError, LookupError):
                continue
        return self.workers if concurrent else 1

    def may_write(self, owner: str) -> bool:
        """Is this process still the one to write ``owner``'s calendar (its lease renewed)?"""
        if self.keep(owner):
            return True
        log.info("%s is served by another daemon now: no more writes to it here", owner)
        return False

    # ---- customers (cadence.sync.customer_file) ------------------------------------------

    def import_customers(
        self,
        path: Path,
        *,
        prune: bool = False,
        today: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[Any, list[Problem]]:
        """Read ``path`` and upsert; returns (counts, rejections as problems)."""
        return customer_file.import_customers(
            self, path, prune=prune, today=today, progress=progress
        )

    def refresh_customers(self, now: datetime, problems: list[str] | None = None) -> str:
        """Re-import the configured customer file when its content changed."""
        return customer_file.refresh(self, now, problems)

    def customers_as_run_sees_them(
        self, now: datetime, owners: Collection[str] | None = None
    ) -> list[Customer]:
        """The customers the next cycle will plan (of ``owners`` when given)."""
        return customer_file.as_run_sees_them(self, now, owners)

    def customer_file_changed(self) -> bool:
        """Does the customer file hold other bytes than at its last import?"""
        return customer_file.changed(self)

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

    def plan(
        self,
        now: datetime,
        *,
        forecast: bool = False,
        read_calendars: bool = True,
        customers: Sequence[Customer] | None = None,
        owners: Collection[str] | None = None,
        records: Sequence[BookingRecord] | None = None,
    ) -> Plan:
        """A dry-run plan (no writes anywhere) of ``customers`` (default: as the next cycle
        will see them). With ``owners``, only those salespeople are planned, from their own
        customers, contacts and bookings: salespeople share neither time nor capacity, so
        their part of the whole book's plan is exactly this (``explain``, ``plan --customer``).
        ``records``: the bookings to plan with, when the caller has just read them (those of
        :meth:`Store.bookings_planned_with` ``owners``, or every booking).
        """
        if customers is None:
            customers = customer_file.as_run_sees_them(self, now, owners)
        if owners is not None:
            customers = [c for c in customers if c.owner in owners]
        if owners is not None and records is None:
            if customer_file.changed(self):  # owners as in the file: route bookings so
                of = {c.id: c.owner for c in customer_file.as_run_sees_them(self, now)}
                records = [
                    r for r in self.store.bookings() if of.get(r.customer_id, r.owner) in owners
                ]
            else:
                records = self.store.bookings_planned_with(owners)
        failed: dict[str, str] = {}
        busy_of = sorted({c.owner for c in customers})
        busy = calendars.read_busy(self, now, busy_of, failed) if read_calendars else {}
        self.calls.flush()
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
        from cadence.sync.decide import decide

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

    # ---- the cycle ---------------------------------------------------------------------------

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
        """One cycle: import, sync, plan, reconcile (:func:`cadence.sync.cycle.run_cycle`)."""
        from cadence.sync import cycle

        return cycle.run_cycle(
            self, now, stop, share=share, import_customers=import_customers, keep=keep
        )

    def attention(self) -> list[str]:
        """What the last cycle could not do, one line each (for ``cadence report``)."""
        raw = self.store.state("cycle").get("attention")
        return json.loads(raw) if raw else []

    def skipped_customers(self) -> dict[str, str]:
        """Customers the last cycle could not plan or book (customer id -> cause)."""
        raw = self.store.state("cycle").get("skipped-customers")
        return json.loads(raw) if raw else {}


def load_validated_policies(config: Config) -> PolicySet:
    """The policy set, or UserError listing every problem."""
    policies, problems = load_policies(config.policies, config.date_reader())
    errors = [p for p in problems if p.is_error]
    if policies is None or errors:
        raise UserError("policies have problems", errors or problems)
    return policies
