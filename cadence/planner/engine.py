"""The planner: a pure function from (policies, customers, contacts, busy time, bookings, now)
to a :class:`Plan`.

How it works. Every customer has a *track* (:mod:`cadence.planner.tracks`) that proposes its next
contact as a window with an ideal day. Proposals from all customers wait in one priority queue
ordered by urgency (the earliest last allowed day first; on a tie, win-back first calls, then
the longest overdue), so that nobody passes ``max_gap`` while capacity exists. Each proposal is
placed on the allowed day nearest its ideal (earlier on a tie, lighter day first among equals)
below the salesperson's even-load level when its window allows (:meth:`_Engine.set_levels`:
the overdue backlog is spread over ``catch_up`` instead of filling capacity from tomorrow),
in a free quarter-hour slot inside the salesperson's working hours and the customer's hours,
clear of the salesperson's breaks and ``buffer`` minutes away from other meetings, as far from
them as the day allows (:func:`cadence.planner.timegrid.choose_slot`); the track then proposes
the next contact from the day chosen. Bookings that already exist are kept while their reason
holds (stability); bookings the salesperson moved keep their new time; deleted or declined ones
are not re-created at that time, and the next attempt waits ``retry_after``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cadence.inputs.policy import PolicySet, SegmentPolicy, rhythm_problem
from cadence.planner.agenda import UNKNOWN as _UNKNOWN
from cadence.planner.agenda import Agenda
from cadence.planner.contacts import collapse, counts
from cadence.planner.customer_days import CustomerDays
from cadence.planner.needs import Need, Reminder, TrackContext
from cadence.planner.timegrid import choose_slot, from_minute, local_date, to_minute
from cadence.planner.titles import title
from cadence.planner.tracks import active_track, winback_track
from cadence.values.daycal import DEFAULT_WEEKEND, weekend_of
from cadence.values.durations import Duration
from cadence.values.errors import ValueParseError, describe_error
from cadence.values.model import (
    Booking,
    BookingKind,
    BookingState,
    BusyInterval,
    Contact,
    Customer,
    CustomerStatus,
    PlannedContact,
    PlanStatus,
    Salesperson,
    Snooze,
)
from cadence.values.progress import Tick, every
from cadence.values.seasons import Season, SeasonSet, free_day_problem, parse_season
from cadence.values.text import count

LIVE_STATES = frozenset({BookingState.BOOKED, BookingState.MOVED_BY_OWNER, BookingState.PENDING})
REFUSED_STATES = frozenset({BookingState.DELETED, BookingState.DECLINED})
AFTER_WINDOW_SEARCH_DAYS = 120
AFTER_SEASON_SEARCH_DAYS = 400
MIN_NOTICE_MINUTES = 60
# The searches for a day, in turn: (even-load level plus, how far from the ideal day): near the
# ideal below the level (a contact due anyway keeps its rhythm), anywhere in the window below
# it, one above it; then capacity alone decides.
LEVEL_PASSES: tuple[tuple[int | None, int | None], ...] = (
    (0, 3),
    (0, None),
    (1, None),
    (None, None),
)
# After the catch-up period the level is this much above the steady rate of the salesperson's
# customers' rhythms: at the bare rate, every day that happens to be at the mean pushes a due
# contact days away from its ideal (measured in tests/test_simulation.py: rhythm score 0.4198
# at 1.0, 0.4182 at 1.3).
LEVEL_HEADROOM = 1.3
_FAR = 1 << 30
_RETRY_SUFFIX = re.compile(r"\.r\d+$")


@dataclass(frozen=True)
class PlanInput:
    """Everything the planner looks at. ``busy`` never contains cadence's own events."""

    policies: PolicySet
    customers: Sequence[Customer]
    salespeople: Mapping[str, Salesperson]
    now: datetime
    contacts: Mapping[str, Sequence[Contact]] = field(default_factory=dict)
    busy: Mapping[str, Sequence[BusyInterval]] = field(default_factory=dict)
    bookings: Sequence[Booking] = ()
    horizon_days: int = 90
    forecast_days: int = 0  # plan this far ahead too; contacts past the horizon are forecast
    season_parser: Callable[[str], Season] = parse_season
    # Told how far planning has got (a progress bar: values.progress); never changes the plan.
    progress: Tick | None = field(default=None, compare=False)
    snoozes: Mapping[str, Snooze] = field(default_factory=dict)  # by customer id


@dataclass
class CustomerNote:
    """Why a customer's plan looks the way it does (for ``cadence explain``)."""

    customer_id: str
    policy: str
    status: str
    last_day: date | None = None  # last counted contact day (incl. the CSV last_contact)
    messages: list[str] = field(default_factory=list)
    unbookable: str | None = None  # why nothing can ever be booked (the hours never meet)
    snoozed_until: date | None = None  # paused: nothing is booked before this day


@dataclass
class Plan:
    """The planner's answer: every planned contact, with reasons, and notes per customer.

    ``skipped`` names the customers that could not be planned (customer id -> cause): nothing
    is planned for them, and everyone else is planned exactly as if they were not there.
    """

    contacts: list[PlannedContact]
    notes: dict[str, CustomerNote]
    now: datetime
    horizon_days: int
    skipped: dict[str, str] = field(default_factory=dict)
    # The zone of each salesperson's calendar (by e-mail) as the planner used it, and the zone
    # of an owner it was not told about (the policy default).
    zones: Mapping[str, str] = field(default_factory=dict)
    default_zone: str = "UTC"

    def booked(self) -> list[PlannedContact]:
        """The contacts inside the horizon: what should be in calendars now."""
        return [c for c in self.contacts if c.within_horizon]

    @property
    def unbookable(self) -> dict[str, str]:
        """Customers nothing can ever be booked for (their hours never meet their owner's),
        with the reason: customer id -> text."""
        return {cid: n.unbookable for cid, n in self.notes.items() if n.unbookable}

    def today_of(self, owner: str) -> date:
        """Today in ``owner``'s own zone: an all-day item is over when its (exclusive) end date
        is not after this day, for the planner and the reconciler alike."""
        return self.now.astimezone(ZoneInfo(self.zones.get(owner) or self.default_zone)).date()


def owner_zones(inp: PlanInput) -> dict[str, Any]:
    """The :class:`Plan` fields ``zones`` and ``default_zone`` of ``inp``, as
    :meth:`_Engine.agenda` resolves each salesperson's zone."""
    return {
        "zones": {email: p.timezone or "UTC" for email, p in inp.salespeople.items()},
        "default_zone": inp.policies.defaults.timezone or "UTC",
    }


@dataclass(slots=True)
class _Customer:
    """The planner's working state for one customer."""

    customer: Customer
    policy: SegmentPolicy
    agenda: Agenda
    days: CustomerDays
    today: date  # salesperson-local
    first_day: date
    horizon_day: date
    note: CustomerNote
    track: Generator[Need, date | None, None] | None = None
    started: bool = False
    hours_meet: bool | None = None  # can the two sides' hours ever overlap (cached)


@dataclass(slots=True)
class _Found:
    day: date
    slot: int
    reasons: list[str]
    forced: bool = False
    over_capacity: bool = False


class _Engine:
    def __init__(self, inp: PlanInput) -> None:
        self.inp = inp
        self.now_minute = to_minute(inp.now)
        self.agendas: dict[str, Agenda] = {}
        self.shared_days: dict[tuple, CustomerDays] = {}
        self.seasons: dict[str, Season] = {}
        self.season_sets: dict[tuple[Season, ...], SeasonSet] = {}
        self.out: list[PlannedContact] = []
        self.notes: dict[str, CustomerNote] = {}
        self.live: dict[str, list[Booking]] = {}
        self.refused_keys: set[str] = set()
        self.retry: dict[tuple[str, BookingKind], tuple[date, set[date]]] = {}
        self.consumed: set[str] = set()
        self.hour_overlaps: dict[tuple, bool] = {}
        self.skipped: dict[str, str] = {}
        self.owner_of = {c.id: c.owner for c in inp.customers}
        self.taken_keys: set[str] = set()  # keys still held in a former owner's calendar
        self.horizon_span = timedelta(days=inp.horizon_days)
        self.range_span = timedelta(days=max(inp.horizon_days, inp.forecast_days))
        self.buffer = int(inp.policies.capacity.buffer.total_seconds() // 60)

    # ---- set-up ------------------------------------------------------------------------------

    def agenda(self, email: str) -> Agenda:
        agenda = self.agendas.get(email)
        if agenda is None:
            person = self.inp.salespeople.get(email) or Salesperson(
                email=email, timezone=self.inp.policies.defaults.timezone
            )
            cap = self.inp.policies.capacity
            own = tuple(self.season(text) for text in person.closures)
            agenda = Agenda(
                person,
                cap.per_day,
                cap.per_week,
                self.inp.busy.get(email, ()),
                company_closures=self.season_set(self.inp.policies.closures),
                own_closures=self.season_set(own),
            )
            self.agendas[email] = agenda
        return agenda

    def customer_days(self, customer: Customer, policy: SegmentPolicy) -> CustomerDays:
        zone_name = customer.timezone or policy.timezone or "UTC"
        country = customer.country.upper()
        weekends = self.inp.policies.weekends
        weekend = (
            weekends.get(country)
            or weekends.get(country.partition("-")[0])
            or (weekend_of(country) if country else DEFAULT_WEEKEND)
        )
        seasons = self.inp.policies.industry_seasons(customer.industry) + tuple(
            self.season(text) for text in customer.busy_seasons
        )
        key = (zone_name, country, weekend, seasons, policy.customer_hours)
        days = self.shared_days.get(key)
        if days is None:
            problem = free_day_problem(seasons)
            if problem:
                raise ValueParseError(problem)
            days = CustomerDays(
                _zone(zone_name), country, weekend, self.season_set(seasons), policy.customer_hours
            )
            self.shared_days[key] = days
        return days

    def season_set(self, seasons: tuple[Season, ...]) -> SeasonSet:
        """One shared :class:`SeasonSet` (and its day cache) per distinct tuple of seasons."""
        found = self.season_sets.get(seasons)
        if found is None:
            found = self.season_sets[seasons] = SeasonSet(seasons)
        return found

    def season(self, text: str) -> Season:
        season = self.seasons.get(text)
        if season is None:
            season = self.seasons[text] = self.inp.season_parser(text)
        return season

    def index_bookings(self) -> None:
        """Reserve time and capacity for live bookings; remember what people refused."""
        for b in sorted(self.inp.bookings, key=lambda b: (_sort_minute(b.start), b.key)):
            try:
                self.index_booking(b)
            except Exception as exc:  # a booking that cannot be read costs its customer only
                self.skip(b.customer_id, exc)

    def index_booking(self, b: Booking) -> None:
        """Reserve time and capacity for one booking, or remember that it was refused."""
        owner = self.owner_of.get(b.customer_id)
        if owner is not None and owner != b.owner:
            # The customer has another owner now (reassigned, or an owner typo corrected):
            # that booking is not theirs to keep; it is cancelled, and its key is not reused.
            self.taken_keys.add(b.key)
            return
        agenda = self.agenda(b.owner)
        if b.state in REFUSED_STATES:
            self.refused_keys.add(b.key)
            self._remember_refusal(b, agenda)
            return
        if b.state not in LIVE_STATES:
            return
        if not self._is_future(b, agenda):
            self._count_earlier_this_week(b, agenda)
            return
        self.live.setdefault(b.customer_id, []).append(b)
        if not b.all_day:
            assert isinstance(b.start, datetime) and isinstance(b.end, datetime)
            start, end = to_minute(b.start), to_minute(b.end)
            day = local_date(agenda.zone, start)
            agenda.add_interval(day, start, end)
            agenda.count(day)

    def _count_earlier_this_week(self, b: Booking, agenda: Agenda) -> None:
        """A booking that already happened this week still counts against weekly capacity."""
        if b.all_day or not isinstance(b.start, datetime):
            return
        day = local_date(agenda.zone, to_minute(b.start))
        today = self.inp.now.astimezone(agenda.zone).date()
        if day.isocalendar()[:2] == today.isocalendar()[:2]:
            agenda.count(day)

    def _is_future(self, b: Booking, agenda: Agenda) -> bool:
        """Not over yet: a meeting in progress still counts as booked (it becomes a contact
        when it ends); an all-day event lasts until its exclusive end date."""
        if isinstance(b.end, datetime):
            return to_minute(b.end) > self.now_minute
        return b.end > self.inp.now.astimezone(agenda.zone).date()

    def _remember_refusal(self, b: Booking, agenda: Agenda) -> None:
        if b.kind is BookingKind.ANNIVERSARY_REMINDER:
            return
        customer = next((c for c in self.inp.customers if c.id == b.customer_id), None)
        policy = self.inp.policies.for_customer(customer) if customer else None
        retry_after = (policy or self.inp.policies.defaults).retry_after
        seen = (b.seen_at or self.inp.now).astimezone(agenda.zone).date()
        if isinstance(b.start, datetime):
            day = local_date(agenda.zone, to_minute(b.start))
        else:
            day = b.start
        not_before, days = self.retry.get((b.customer_id, b.kind), (date.min, set()))
        days.add(day)
        self.retry[(b.customer_id, b.kind)] = (max(not_before, retry_after.add_to(seen)), days)

    # ---- the main loop ---------------------------------------------------------------------

    def run(self) -> Plan:
        self.index_bookings()
        queue: list[tuple[int, int, int, int, _Customer, Need]] = []
        order = itertools.count()
        started: list[_Customer] = []
        started_count = every(self.inp.progress, "planning customers", len(self.inp.customers), 500)
        for done, customer in enumerate(sorted(self.inp.customers, key=lambda c: c.id), 1):
            started_count(done)
            try:
                state = self.start(customer)
                if state is not None:
                    started.append(state)
                    self.advance(queue, order, state, None)
            except Exception as exc:  # one customer's bad data never stops the others
                self.skip(customer.id, exc, customer)
        self.set_levels(started, queue)
        placed_count = every(self.inp.progress, "placing contacts", None, 1000)
        placements = 0
        while queue:
            placements += 1
            placed_count(placements)
            _, _, _, _, state, need = heapq.heappop(queue)
            if state.customer.id in self.skipped:
                continue
            try:
                placed = self.place(state, need)
                self.advance(queue, order, state, placed)
            except Exception as exc:
                self.skip(state.customer.id, exc, state.customer)
        if self.skipped:
            self.out = [c for c in self.out if c.customer_id not in self.skipped]
        self.out.sort(key=lambda c: (c.owner, _sort_minute(c.start), c.key))
        return Plan(
            self.out,
            self.notes,
            self.inp.now,
            self.inp.horizon_days,
            self.skipped,
            **owner_zones(self.inp),
        )

    @staticmethod
    def spread_backlog(needs: list[tuple[int, int, Need]], days: list[date]) -> None:
        """Give the overdue backlog ideal days spread evenly over the catch-up period's working
        days, most overdue first (``needs``: (overdue ordinal, queue order, need)), so that
        every day keeps room for the customers due anyway."""
        if not needs or not days:
            return
        needs.sort(key=lambda item: (item[0], item[1]))
        for rank, (_, _, need) in enumerate(needs):
            need.ideal = days[rank * len(days) // len(needs)]

    def skip(self, customer_id: str, exc: Exception, customer: Customer | None = None) -> None:
        """Set a customer aside: nothing of theirs is planned, and the note says why."""
        cause = describe_error(exc)
        self.skipped.setdefault(customer_id, cause)
        note = self.notes.get(customer_id)
        if note is None:
            policy = customer.segment or "default" if customer else "default"
            status = customer.status.value if customer else "unknown"
            note = self.notes[customer_id] = CustomerNote(customer_id, policy, status)
        note.messages.append(
            f"could not be planned ({cause}); skipped: the other customers are planned as usual"
        )

    def advance(
        self, queue: list, order: itertools.count, state: _Customer, placed: date | None
    ) -> None:
        """Ask the customer's track for its next need (sending where the last one landed)."""
        assert state.track is not None
        try:
            need = state.track.send(placed) if state.started else next(state.track)
        except StopIteration:
            return
        state.started = True
        priority = 0 if need.outranks_capacity else 1
        # Among equally urgent needs, the most overdue first (the catch-up backlog).
        overdue = need.overdue_since.toordinal() if need.overdue_since is not None else 0
        # The last allowed day: a busy season that takes the end of the window brings it forward.
        last = need.window_end
        span = state.days.seasons.span(last)
        if span is not None and need.window_start < span[0]:
            last = span[0] - timedelta(days=1)
        heapq.heappush(queue, (last.toordinal(), priority, overdue, next(order), state, need))

    def set_levels(self, started: list[_Customer], queue: list) -> None:
        """The even-load soft cap of each salesperson (:meth:`Agenda.level`).

        Over the catch-up period (from the first plannable day), the bookings due in it (every
        customer's first need whose ideal day falls inside, the overdue backlog included) divided
        by the days the salesperson works in it, rounded up; after it, the steady rate of their
        customers' rhythms per working day, rounded up. A day at its level takes more only when
        no day in a need's window is below it (then one more, then capacity alone decides).
        """
        demand: dict[str, int] = {}
        backlog: dict[str, list[tuple[int, int, Need]]] = {}
        rate: dict[str, float] = {}
        agendas: dict[str, tuple[Agenda, date]] = {}
        for state in started:
            email = state.agenda.person.email
            agendas.setdefault(email, (state.agenda, state.today + timedelta(days=1)))
            if state.customer.status is CustomerStatus.ACTIVE:
                rate[email] = rate.get(email, 0.0) + 1 / max(1.0, state.policy.every.approx_days)
        catch_up = self.inp.policies.capacity.catch_up
        ends = {email: catch_up.add_to(first) for email, (_, first) in agendas.items()}
        for entry in queue:
            state, need = entry[4], entry[5]
            email = state.agenda.person.email
            if need.outranks_capacity or need.ideal >= ends[email]:
                continue
            # A need its busy season keeps out of the whole period lands after it: not here.
            span = state.days.seasons.span(max(need.window_start, state.first_day))
            if span is not None and span[1] >= min(need.window_end, ends[email]):
                continue
            demand[email] = demand.get(email, 0) + 1
            if need.overdue_since is not None and need.window_start == state.first_day:
                seasons = state.days.seasons
                if _held_by_season(seasons, need.overdue_since, state.first_day, catch_up):
                    need.season_held = True
                    need.reasons[:] = [r for r in need.reasons if not r.startswith("catch-up:")]
                    need.reasons.append(
                        "held by a busy season: the first day after it with room, not spread "
                        "over the catch-up period"
                    )
                else:
                    backlog.setdefault(email, []).append((entry[2], entry[3], need))
        for email, (agenda, first) in agendas.items():
            open_days = [
                day
                for k in range((ends[email] - first).days)
                if agenda.blocked(day := first + timedelta(days=k)) is None
            ]
            worked = len(open_days)
            self.spread_backlog(backlog.get(email, []), open_days)
            per_week = max(1, len(agenda.person.working_days))
            steady = LEVEL_HEADROOM * rate.get(email, 0.0) * 7 / per_week
            rest = max(1, math.ceil(steady - 1e-9))
            agenda.level_rest = rest
            agenda.level_until = ends[email].toordinal()
            agenda.level_first = (
                max(rest, math.ceil(demand.get(email, 0) / worked)) if worked else rest
            )

    def start(self, customer: Customer) -> _Customer | None:
        policy = self.inp.policies.for_customer(customer)
        note = CustomerNote(customer.id, policy.name, customer.status.value)
        self.notes[customer.id] = note
        if problem := rhythm_problem(policy):
            raise ValueParseError(f"the customer's own rhythm (every/min_gap/max_gap): {problem}")
        if customer.status is CustomerStatus.DO_NOT_CONTACT:
            note.messages.append(
                "do not contact: nothing is planned; future bookings are cancelled"
            )
            return None
        agenda = self.agenda(customer.owner)
        if customer.owner not in self.inp.salespeople:
            note.messages.append(f"owner {customer.owner} is not in cadence.toml: using defaults")
        today = self.inp.now.astimezone(agenda.zone).date()
        first_day = today + timedelta(days=1)
        state = _Customer(
            customer=customer,
            policy=policy,
            agenda=agenda,
            days=self.customer_days(customer, policy),
            today=today,
            first_day=first_day,
            horizon_day=today + self.horizon_span,
            note=note,
        )
        kinds, now = policy.counts, self.inp.now
        history = self.inp.contacts.get(customer.id)
        counted = (
            [c for c in collapse(history) if counts(c, kinds) and c.at <= now] if history else []
        )
        counted_days = [local_date(agenda.zone, to_minute(c.at)) for c in counted]
        if customer.last_contact is not None:
            counted_days.append(customer.last_contact)
            counted_days.sort()
        fixed = self.keep_imminent(state)
        if fixed:
            counted_days = sorted(counted_days + [day for day, _ in fixed])
        snooze = self.inp.snoozes.get(customer.id)
        if snooze is not None and snooze.until > first_day:
            # Paused: nothing before the day it ends (bookings in the pause are not kept);
            # the rhythm resumes from there (an overdue customer joins that day's catch-up).
            state.first_day = first_day = snooze.until
            note.snoozed_until = snooze.until
            why = f" ({snooze.note})" if snooze.note else ""
            note.messages.append(
                f"snoozed until {snooze.until}{why}: nothing is booked before it; "
                "the rhythm resumes then"
            )
        # Anniversary check-ins that already happened (as cadence bookings) are served.
        served = {_RETRY_SUFFIX.sub("", c.source_id) for c in counted if c.source == "booking"}
        last = counted_days[-1] if counted_days else None
        note.last_day = last
        # When the last contact was one of cadence's own check-ins, the chain it belonged to
        # goes on under the same keys: a planned meeting taking place is not a new contact.
        own = fixed + [
            (local_date(agenda.zone, to_minute(c.at)), c.source_id)
            for c in counted
            if c.source == "booking"
        ]
        latest = max(own, default=None)
        chain = _chain_of(latest[1]) if latest is not None and latest[0] == last else None
        ctx = TrackContext(
            customer=customer,
            policy=policy,
            first_day=first_day,
            end_day=today + self.range_span,
            last_contact=last,
            contact_days=counted_days,
            emit_reminder=lambda r: self.reminder(state, r),
            notes=note.messages,
            fixed_keys={key for _, key in fixed} | served,
            chain=chain,
            catch_up=self.inp.policies.capacity.catch_up,
            booked_keys={
                _RETRY_SUFFIX.sub("", b.key)
                for b in self.live.get(customer.id, ())
                if b.key not in self.consumed
            },
        )
        if customer.status is CustomerStatus.CANCELLED:
            if customer.cancelled_on is None:
                note.messages.append("cancelled without cancelled_on: no win-back track")
                return None
            after = [d for d in counted_days if d >= customer.cancelled_on]
            state.track = winback_track(ctx, self.inp.policies.winback, after)
        else:
            state.track = active_track(ctx)
        return state

    def keep_imminent(self, state: _Customer) -> list[tuple[date, str]]:
        """Bookings that start before the first plannable day (later today, or in progress)
        are fixed: kept as they are, and the rhythm continues from them."""
        fixed = []
        for b in self.live.get(state.customer.id, ()):
            if b.all_day or b.key in self.consumed or not isinstance(b.start, datetime):
                continue
            assert isinstance(b.end, datetime)
            day = local_date(state.agenda.zone, to_minute(b.start))
            if day >= state.first_day:
                continue
            self.consumed.add(b.key)
            moved = b.state is BookingState.MOVED_BY_OWNER
            c = state.customer
            months, step, steps = _sequence_of(b, state.policy)
            self.out.append(
                PlannedContact(
                    key=b.key,
                    customer_id=c.id,
                    customer_name=c.name,
                    owner=c.owner,
                    kind=b.kind,
                    seq=months or step,
                    title=title(b.kind, c.name, months=months, step=step, steps=steps),
                    start=b.start,
                    end=b.end,
                    all_day=False,
                    day=day,
                    ideal=day,
                    window_start=day,
                    window_end=day,
                    status=PlanStatus.MOVED_BY_OWNER if moved else PlanStatus.BOOKED,
                    reasons=(f"already booked for {day}: too close to move",),
                )
            )
            fixed.append((day, _RETRY_SUFFIX.sub("", b.key)))
        return fixed

    # ---- placing ---------------------------------------------------------------------------

    def reminder(self, state: _Customer, r: Reminder) -> None:
        """Emit the all-day anniversary reminder (no slot, no capacity)."""
        if r.key in self.refused_keys:
            state.note.messages.append(f"anniversary reminder {r.day} was removed by the owner")
            return
        key = self.fresh_key(r.key) if r.key in self.taken_keys else r.key
        existing = self._live_with_key(state.customer.id, key)
        status = PlanStatus.BOOKED if existing is not None else PlanStatus.PLANNED
        c = state.customer
        self.out.append(
            PlannedContact(
                key=key,
                customer_id=c.id,
                customer_name=c.name,
                owner=c.owner,
                kind=BookingKind.ANNIVERSARY_REMINDER,
                seq=r.months,
                title=title(BookingKind.ANNIVERSARY_REMINDER, c.name, months=r.months),
                start=r.day,
                end=r.day + timedelta(days=1),
                all_day=True,
                day=r.day,
                ideal=r.day,
                window_start=r.day,
                window_end=r.day,
                status=status,
                reasons=(f"anniversary of customer_since {c.customer_since}",),
                within_horizon=r.day <= state.horizon_day,
            )
        )

    def place(self, state: _Customer, need: Need) -> date | None:
        """Place one need; return the salesperson-local day it landed on, or None."""
        refused = self.retry.get((state.customer.id, need.kind))
        excluded: set[date] = set()
        if refused is not None:
            not_before, excluded = refused
            if not_before > need.window_start:
                need.reasons.append(
                    f"the owner declined or deleted an earlier booking: retry from {not_before}"
                )
                need.window_start = not_before
                need.ideal = max(need.ideal, not_before)
                need.window_end = max(need.window_end, not_before)
        kept, stale = self.keep_existing(state, need, excluded)
        if kept is not None:
            return kept
        if stale is not None:
            self.release(state, stale)
        if not self.hours_ever_meet(state):
            why = (
                f"{state.agenda.person.email}'s working hours never overlap the customer's "
                f"hours ({state.days.hours}, {state.days.zone.key})"
            )
            state.note.unbookable = why
            state.note.messages.append(f"cannot place {need.kind.value}: {why}")
            return None
        skipped: dict[int, str] = {}
        found = self.search(state, need, excluded, skipped)
        if found is None:
            common = "; ".join(sorted(set(skipped.values()))[:3]) or "no allowed day"
            state.note.messages.append(
                f"could not place {need.kind.value} "
                f"(window {need.window_start}..{need.window_end}): {common}"
            )
            return None
        if stale is not None and found.forced and self.forced_stays(state, need, stale, found):
            assert isinstance(stale.start, datetime)
            found.day = local_date(state.agenda.zone, to_minute(stale.start))
            found.slot = to_minute(stale.start)
        if need.merges_with_anniversary(found.day):
            need.become_anniversary(state.customer.id)
        key, status = self.fresh_key(need.key), PlanStatus.PLANNED
        start, end = found.slot, found.slot + need.minutes
        if stale is not None and self.same_day_keeps(state, stale, found, need.minutes):
            assert isinstance(stale.start, datetime)
            self.adopt_kind(state, need, stale)
            key, status = stale.key, PlanStatus.BOOKED
            start = to_minute(stale.start)
            end = start + need.minutes  # the policy's meeting length, should it have changed
        agenda = state.agenda
        agenda.add_interval(found.day, start, end)
        agenda.count(found.day)
        self.record(
            state,
            need,
            key,
            found.day,
            from_minute(start),
            from_minute(end),
            status,
            found.reasons,
            found.forced,
            found.over_capacity,
        )
        return found.day

    def forced_stays(self, state: _Customer, need: Need, b: Booking, found: _Found) -> bool:
        """Does booking ``b``, placed after its window (a forced gap), keep its time rather
        than move to ``found``? Yes while it is no later than ``found`` and still fits (its
        day allowed on both sides and not full, its time free): the even load may spread a
        fresh search over other days, and a kept booking that still fits stays."""
        if not isinstance(b.start, datetime):
            return False
        day = local_date(state.agenda.zone, to_minute(b.start))
        if not need.window_end < day <= found.day or state.agenda.unavailable(day):
            return False
        return self.slot_still_free(state, b, reserved=False, minutes=need.minutes)

    def release(self, state: _Customer, b: Booking) -> None:
        """Give back the time and capacity reserved for booking ``b``."""
        assert isinstance(b.start, datetime) and isinstance(b.end, datetime)
        start, end = to_minute(b.start), to_minute(b.end)
        day = local_date(state.agenda.zone, start)
        state.agenda.release(day, start, end)

    def same_day_keeps(self, state: _Customer, b: Booking, found: _Found, minutes: int) -> bool:
        """Did the search land on the day ``b`` is already on, with ``b``'s start still free
        for ``minutes``?"""
        assert isinstance(b.start, datetime)
        day = local_date(state.agenda.zone, to_minute(b.start))
        return day == found.day and self.slot_still_free(state, b, reserved=False, minutes=minutes)

    def hours_ever_meet(self, state: _Customer) -> bool:
        """Can this salesperson's working hours ever overlap this customer's hours? Checked on
        two weeks now and two weeks half a year on (DST can open or close an overlap)."""
        if state.hours_meet is not None:
            return state.hours_meet
        agenda, days = state.agenda, state.days
        if days.hours is None:
            state.hours_meet = True
            return True
        key = (agenda.zone.key, agenda.person.working_hours, days.zone.key, days.hours)
        known = self.hour_overlaps.get(key)
        if known is None:
            samples = [state.first_day + timedelta(days=k) for k in range(14)]
            samples += [d + timedelta(days=182) for d in samples]
            known = any(days.hours_overlap(*agenda.work_span(d)) for d in samples)
            self.hour_overlaps[key] = known
        state.hours_meet = known
        return known

    def fresh_key(self, key: str) -> str:
        """``key``, or ``key.rN`` when the owner refused a booking under ``key`` before (or a
        former owner's calendar still holds it)."""
        used = self.refused_keys
        if key not in used and key not in self.taken_keys:
            return key
        n = 1
        while f"{key}.r{n}" in used or f"{key}.r{n}" in self.taken_keys:
            n += 1
        return f"{key}.r{n}"

    def record(
        self,
        state: _Customer,
        need: Need,
        key: str,
        day: date,
        start: datetime,
        end: datetime,
        status: PlanStatus,
        reasons: list[str],
        forced: bool,
        over_capacity: bool,
    ) -> None:
        c = state.customer
        forced = forced or need.forced
        if (
            need.rhythm
            and need.anchor is not None
            and day > state.policy.max_gap.add_to(need.anchor)
        ):
            forced = True
            reasons.append(
                f"forced gap: {(day - need.anchor).days} days since {need.anchor} "
                f"(max_gap {state.policy.max_gap})"
            )
        self.out.append(
            PlannedContact(
                key=key,
                customer_id=c.id,
                customer_name=c.name,
                owner=c.owner,
                kind=need.kind,
                seq=need.months or need.step,
                title=title(
                    need.kind, c.name, months=need.months, step=need.step, steps=need.steps
                ),
                start=start,
                end=end,
                all_day=False,
                day=day,
                ideal=need.ideal,
                window_start=need.window_start,
                window_end=need.window_end,
                status=status,
                reasons=tuple(need.reasons + reasons),
                forced=forced,
                over_capacity=over_capacity,
                within_horizon=day <= state.horizon_day,
            )
        )

    # ---- existing bookings -----------------------------------------------------------------

    def _live_with_key(self, customer_id: str, key: str) -> Booking | None:
        for b in self.live.get(customer_id, ()):
            if b.key == key and b.key not in self.consumed:
                self.consumed.add(b.key)
                return b
        return None

    def keep_existing(
        self, state: _Customer, need: Need, excluded: set[date]
    ) -> tuple[date | None, Booking | None]:
        """Keep a booking that already serves this need: the exact one if it is still right,
        else one the owner moved (their time wins), else one still inside the new window.

        Returns the day kept, or None and the booking made for this very need that is no
        longer right by its window (the caller re-places it, and keeps its time if the search
        lands on the same day anyway, as after a forced gap).
        """
        if not self.live.get(state.customer.id):
            return None, None
        kinds = {need.kind}
        if need.kind is BookingKind.CHECK_IN:
            kinds.add(BookingKind.ANNIVERSARY)  # an anniversary check-in counts as one
        candidates = [
            b
            for b in self.live.get(state.customer.id, ())
            if b.kind in kinds and b.key not in self.consumed and not self.paused(state, b)
        ]
        if not candidates:
            return None, None
        # Only the need's own key is an exact match: a merged anniversary booking is found as
        # the first booking inside the window, like any booking whose key has shifted.
        exact = next((b for b in candidates if _same_key(b.key, need.key)), None)
        choice: Booking | None = None
        if exact is not None and (
            exact.state is BookingState.MOVED_BY_OWNER
            or self.still_right(state, need, exact, excluded)
        ):
            choice = exact
        if choice is None:
            choice = next((b for b in candidates if b.state is BookingState.MOVED_BY_OWNER), None)
        if choice is None:
            choice = next(
                (
                    b
                    for b in candidates
                    if b.state is not BookingState.MOVED_BY_OWNER
                    and not _superseded(b, need)
                    and self.still_right(state, need, b, excluded)
                ),
                None,
            )
        if choice is None:
            # A booking that is no longer right by its window is placed again; it keeps its
            # time when the search lands on its day anyway (a forced gap after a season).
            zone = state.agenda.zone
            later = next(
                (
                    b
                    for b in candidates
                    if b.state is not BookingState.MOVED_BY_OWNER
                    and isinstance(b.start, datetime)
                    and local_date(zone, to_minute(b.start)) > need.window_end
                ),
                None,
            )
            # A check-in planned from an older last contact: a new contact is a reason to move
            # (SPEC 5.10), so it is placed again from the new one (kept if that lands on its day).
            superseded = [
                b
                for b in candidates
                if b.state is not BookingState.MOVED_BY_OWNER and _superseded(b, need)
            ]
            in_window = next(
                (b for b in superseded if self.still_right(state, need, b, excluded)), None
            )
            stale = in_window or later or exact or next(iter(superseded), None)
            if stale is not None and stale.state is not BookingState.MOVED_BY_OWNER:
                self.consumed.add(stale.key)
                return None, stale
            return None, None
        self.consumed.add(choice.key)
        assert isinstance(choice.start, datetime) and isinstance(choice.end, datetime)
        day = local_date(state.agenda.zone, to_minute(choice.start))
        self.adopt_kind(state, need, choice)
        end = choice.end
        if choice.state is BookingState.MOVED_BY_OWNER:
            status, why = PlanStatus.MOVED_BY_OWNER, f"moved by the owner to {day}: their time wins"
        else:
            status, why = PlanStatus.BOOKED, f"already booked on {day}"
            start, booked_end = to_minute(choice.start), to_minute(choice.end)
            if booked_end - start != need.minutes:  # the policy's meeting length changed
                state.agenda.resize(day, start, booked_end, start + need.minutes)
                end = from_minute(start + need.minutes)
        self.record(
            state,
            need,
            choice.key,
            day,
            choice.start,
            end,
            status,
            [why],
            forced=False,
            over_capacity=False,
        )
        return (day, None)

    def paused(self, state: _Customer, b: Booking) -> bool:
        """Is ``b`` before the customer's first plannable day (inside a snooze)?"""
        if not isinstance(b.start, datetime):
            return False
        return local_date(state.agenda.zone, to_minute(b.start)) < state.first_day

    def adopt_kind(self, state: _Customer, need: Need, b: Booking) -> None:
        """A check-in served by an anniversary booking becomes that anniversary check-in."""
        if b.kind is BookingKind.ANNIVERSARY and need.kind is not BookingKind.ANNIVERSARY:
            months, _, _ = _sequence_of(b, state.policy)
            need.become_anniversary(state.customer.id, months)

    def still_right(self, state: _Customer, need: Need, b: Booking, excluded: set[date]) -> bool:
        """Is booking ``b`` still a valid answer to ``need``: inside the window, on an allowed
        day on both sides, inside the hours, and clear of every busy event?"""
        if not isinstance(b.start, datetime):
            return False
        day = local_date(state.agenda.zone, to_minute(b.start))
        if day in excluded or day < state.first_day:
            return False
        windows = [(need.window_start, need.window_end)]
        if need.alt_window is not None:
            windows.append(need.alt_window)
        if need.window_end <= state.first_day and _same_key(b.key, need.key):
            # Its window has passed while it waited (a forced gap): time passing is no reason
            # to move it (SPEC 5.10).
            windows.append((state.first_day, date.max))
        if not any(
            (ws if ws > state.first_day else state.today) <= day <= we for ws, we in windows
        ):
            return False
        return self.slot_still_free(state, b, reserved=True, minutes=need.minutes)

    def slot_still_free(
        self, state: _Customer, b: Booking, *, reserved: bool, minutes: int | None = None
    ) -> bool:
        """Is ``b``'s time (from its start for ``minutes`` when given: the policy's meeting
        length now) still on an allowed day on both sides, inside the hours, and clear of busy
        time (other than its own reservation when ``reserved``)?"""
        assert isinstance(b.start, datetime) and isinstance(b.end, datetime)
        agenda = state.agenda
        start, booked_end = to_minute(b.start), to_minute(b.end)
        end = booked_end if minutes is None else start + minutes
        day = local_date(agenda.zone, start)
        if agenda.blocked(day) is not None:
            return False
        spans = state.days.allowed_spans(*agenda.work_span(day))
        if not any(lo <= start and end <= hi for lo, hi in spans):
            return False
        if agenda.in_break(day, start, end):
            return False
        ignore = (start, booked_end) if reserved else None
        return not agenda.overlaps(day, start, end, ignore=ignore)

    # ---- searching for a day ---------------------------------------------------------------

    def try_day(
        self, state: _Customer, need: Need, day: date, excluded: set[date], use_capacity: bool
    ) -> tuple[int | None, str]:
        """The earliest free slot on salesperson-local ``day``, or None and the reason."""
        if day < state.first_day:
            return None, "too soon"
        why = state.agenda.unavailable(day, use_capacity)
        if why:
            return None, why
        return self.slot_on(state, need, day, excluded)

    def slot_on(
        self, state: _Customer, need: Need, day: date, excluded: set[date]
    ) -> tuple[int | None, str]:
        """The earliest free slot on a day the salesperson can work, or None and the reason."""
        if day in excluded:
            return None, "the owner declined or deleted a booking that day"
        agenda = state.agenda
        work_start, work_end = agenda.work_span(day)
        spans = state.days.allowed_spans(work_start, work_end)
        if not spans:
            return None, state.days.day_reason(work_start, work_end)
        slot = choose_slot(
            spans,
            agenda.busy_on(day),
            need.minutes,
            self.now_minute + MIN_NOTICE_MINUTES,
            buffer=self.buffer,
            breaks=agenda.breaks_on(day) if agenda.person.breaks else None,
        )
        if slot is None:
            return None, f"no free {need.minutes}-minute slot (calendar conflicts)"
        return slot, ""

    def open_days(
        self,
        state: _Customer,
        start: int,
        stop: int,
        step: int,
        use_capacity: bool,
        skipped: dict[int, str],
        relax: int | None = None,
    ) -> Generator[int, None, None]:
        """Day ordinals from ``start`` towards ``stop`` (inclusive) on which the salesperson
        can take a booking at all (and, with ``relax`` given, whose load is below the even-load
        level plus ``relax``). Full weeks are jumped over whole: on a busy book most of a
        window is full, and this loop is the planner's hottest."""
        agenda = state.agenda
        day_rules, full_days, full_weeks = agenda.day_rules, agenda.full_days, agenda.full_weeks
        leveled = use_capacity and relax is not None
        o = start
        while (o <= stop) if step > 0 else (o >= stop):
            why = day_rules.get(o, _UNKNOWN)
            if why is _UNKNOWN:
                why = agenda.blocked(date.fromordinal(o))
            if not why and use_capacity:
                week = (o - 1) // 7  # ordinal 1 is a Monday
                if week in full_weeks:
                    skipped.setdefault(o, agenda.week_full)
                    o = 7 * (week + 1) + 1 if step > 0 else 7 * week
                    continue
                if o in full_days:
                    why = agenda.day_full
                elif leveled:
                    level = agenda.level(o)
                    if level is not None and agenda.day_load(o) >= level + relax:  # type: ignore[operator]
                        bookings = count(level, "booking")
                        why = f"even daily load: {agenda.person.email} has {bookings} that day"
            if why:
                skipped.setdefault(o, why)
            else:
                yield o
            o += step

    def scan(
        self,
        state: _Customer,
        need: Need,
        lo: date,
        hi: date,
        excluded: set[date],
        use_capacity: bool,
        skipped: dict[int, str],
        relax: int | None = None,
        ideal_day: date | None = None,
        reach: int | None = None,
    ) -> tuple[date, int] | None:
        """The allowed day in ``[lo, hi]`` nearest ``ideal_day`` (default ``need.ideal``):
        earlier on a tie, and the lighter day first among equally near ones (below the
        even-load level plus ``relax`` when given)."""
        ideal = min(max(ideal_day or need.ideal, lo), hi).toordinal()
        first, last = max(lo, state.first_day).toordinal(), hi.toordinal()
        if reach is not None:
            first, last = max(first, ideal - reach), min(last, ideal + reach)
        down = self.open_days(state, min(ideal, last), first, -1, use_capacity, skipped, relax)
        up = self.open_days(state, max(ideal + 1, first), last, 1, use_capacity, skipped, relax)
        below, above = next(down, None), next(up, None)
        while below is not None or above is not None:
            gap_below = ideal - below if below is not None else _FAR
            gap_above = above - ideal if above is not None else _FAR
            nearest = min(gap_below, gap_above)
            options = []
            for o, gap in ((below, gap_below), (above, gap_above)):
                if o is None or gap != nearest:
                    continue
                day = date.fromordinal(o)
                slot, why = self.slot_on(state, need, day, excluded)
                if slot is None:
                    skipped.setdefault(o, why)
                else:
                    options.append((state.agenda.load(day), o, slot))
            if options:
                _, o, slot = min(options)
                return date.fromordinal(o), slot
            if gap_below == nearest:
                below = next(down, None)
            if gap_above == nearest:
                above = next(up, None)
        return None

    def first_after(
        self,
        state: _Customer,
        need: Need,
        start: date,
        days: int,
        excluded: set[date],
        use_capacity: bool,
    ) -> tuple[date, int] | None:
        for k in range(days):
            day = start + timedelta(days=k)
            slot, _ = self.try_day(state, need, day, excluded, use_capacity)
            if slot is not None:
                return day, slot
        return None

    def search(
        self, state: _Customer, need: Need, excluded: set[date], skipped: dict[int, str]
    ) -> _Found | None:
        """The day and slot for ``need``: in its window if possible, else a reported forced gap."""
        use_capacity = not need.outranks_capacity
        hit = None
        # The even daily load first (near the ideal day for a contact due anyway, then anywhere
        # in the window); one more booking a day where the window has no room below it; then
        # capacity alone decides (a win-back first call outranks even that).
        passes = [(True, relax, reach) for relax, reach in LEVEL_PASSES]
        if need.season_held:
            # Late already because of the season: the first day after it with room, as the
            # forced gap promised; the level would only make the silence longer.
            passes = [(True, None, None)]
        elif need.overdue_since is not None:
            passes = passes[1:]  # the backlog's ideal days are spread already
        if need.outranks_capacity:
            passes.append((False, None, None))
        for capacity, relax, reach in passes:
            hit = self.scan(
                state,
                need,
                need.window_start,
                need.window_end,
                excluded,
                capacity,
                skipped,
                relax,
                None,
                reach,
            )
            if hit is not None:
                break
        found: _Found | None
        if hit is not None:
            day, slot = hit
            reasons = []
            if day != need.ideal:
                why = _why_not_before(skipped, need.ideal, day)
                reasons.append(f"moved from {need.ideal} to {day}" + (f": {why}" if why else ""))
            found = _Found(day, slot, reasons)
            if need.next_gaps is not None:
                self.pre_season(state, need, found, excluded)
        else:
            found = self.outside_window(state, need, excluded, use_capacity, skipped)
        outranks = found is not None and need.outranks_capacity
        if outranks and found is not None and state.agenda.capacity_problem(found.day):
            found.over_capacity = True
            found.reasons.append("win-back first call outranks capacity")
        return found

    def pre_season(self, state: _Customer, need: Need, found: _Found, excluded: set[date]) -> None:
        """When a busy season will swallow the *next* window, move this check-in as late as the
        window allows before the season starts: the pre-season check-in. Capacity decides, not
        the even-load level: every day earlier lengthens the silence the season forces (the
        simulation's rhythm score was worse with the level here)."""
        assert need.next_gaps is not None
        min_gap, max_gap = need.next_gaps
        next_start, next_end = min_gap.add_to(found.day), max_gap.add_to(found.day)
        seasons = state.days.seasons
        span = seasons.span(next_start)
        if span is None or span[1] < next_end:
            return
        season_start = span[0]
        latest = min(need.window_end, season_start - timedelta(days=1))
        day = latest
        while day > found.day:
            slot, _ = self.try_day(state, need, day, excluded, True)
            if slot is not None:
                season = seasons.season_on(season_start)
                found.day, found.slot = day, slot
                found.reasons.append(
                    f"pre-season check-in: busy season {season.text if season else ''} "
                    f"({season_start}..{span[1]}) covers the whole next window"
                )
                return
            day -= timedelta(days=1)

    def outside_window(
        self,
        state: _Customer,
        need: Need,
        excluded: set[date],
        use_capacity: bool,
        skipped: dict[int, str],
    ) -> _Found | None:
        """No allowed day in the window: a forced gap, reported. Never inside a busy season."""
        seasons = state.days.seasons
        in_season = next(
            (d for d in _days(need.window_start, need.window_end) if seasons.season_on(d)), None
        )
        if in_season is not None:
            first, last = seasons.span(in_season) or (in_season, in_season)
            season = seasons.season_on(in_season)
            label = season.text if season else "busy season"
            # A pre-season check-in needs a day before the season at least min_gap after the
            # last contact, i.e. inside the window: there is none, or the scan had found it.
            hit = self.first_after(
                state,
                need,
                max(last + timedelta(days=1), need.window_start),
                AFTER_SEASON_SEARCH_DAYS,
                excluded,
                use_capacity,
            )
            lo, hi = need.window_start.toordinal(), need.window_end.toordinal()
            others = sorted(
                {
                    reason
                    for o, reason in skipped.items()
                    if lo <= o <= hi and seasons.season_on(date.fromordinal(o)) is None
                }
            )[:3]
            also = f" and {'; '.join(others)}" if others else ""
            why = f"busy season {label} ({first}..{last}){also} leave no allowed day in the window"
        else:
            hit = self.first_after(
                state,
                need,
                need.window_end + timedelta(days=1),
                AFTER_WINDOW_SEARCH_DAYS,
                excluded,
                use_capacity,
            )
            common = sorted(set(skipped.values()))[:3]
            why = "no allowed day in the window" + (f" ({'; '.join(common)})" if common else "")
        if hit is None:
            return None
        day, slot = hit
        return _Found(
            day, slot, [f"forced: {why}; first allowed day after it is {day}"], forced=True
        )


def _sequence_of(b: Booking, policy: SegmentPolicy) -> tuple[int, int, int]:
    """(anniversary months, onboarding step, steps) from a booking key ``customer:kind:seq``."""
    seq = b.key.rsplit(":", 1)[-1].split(".", 1)[0]
    number = int(seq) if seq.isdigit() else 0
    if b.kind is BookingKind.ANNIVERSARY:
        return number, 0, 0
    if b.kind is BookingKind.ONBOARDING:
        return 0, number, len(policy.onboarding)
    return 0, 0, 0


def _chain_of(key: str) -> tuple[str, int] | None:
    """(anchor, next index) of a check-in key ``customer:check_in:ANCHOR.N``."""
    parts = _RETRY_SUFFIX.sub("", key).split(":")
    if len(parts) < 3 or parts[-2] != BookingKind.CHECK_IN.value:
        return None
    anchor, _, index = parts[-1].rpartition(".")
    return (anchor, int(index) + 1) if anchor and index.isdigit() else None


def _superseded(b: Booking, need: Need) -> bool:
    """Was check-in ``b`` planned from another last contact than ``need``? Check-in keys are
    ``customer:check_in:ANCHOR.N`` where ANCHOR names the contact the chain started from."""
    if b.kind is not BookingKind.CHECK_IN or need.kind is not BookingKind.CHECK_IN:
        return False
    return _anchor(b.key) != _anchor(need.key)


def _anchor(key: str) -> str:
    return key.split(":", 2)[-1].split(".", 1)[0]


def _same_key(booking_key: str, need_key: str) -> bool:
    return booking_key == need_key or booking_key.startswith(need_key + ".r")


def _days(first: date, last: date) -> Generator[date, None, None]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _zone(name: str) -> ZoneInfo:
    """The customer's zone; a clear error for a name that is no zone (``America``, a path)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise ValueParseError(f"time zone {shown!r} is not an IANA zone name") from None


def _held_by_season(
    seasons: SeasonSet, deadline: date, first_day: date, catch_up: Duration
) -> bool:
    """Whether a busy season, not a backlog, made a customer overdue: a season holds today, or
    held the day their max_gap passed and ended within the catch-up period before today. Such a
    customer is not spread over the catch-up period: the contact comes on the first day after
    the season with room (the forced gap's promise)."""
    if deadline == date.min:  # never contacted
        return False
    if seasons.span(first_day) is not None:
        return True
    span = seasons.span(deadline)
    return span is not None and span[1] >= catch_up.subtract_from(first_day)


def _why_not_before(skipped: Mapping[int, str], ideal: date, day: date) -> str:
    """Why the days from ``ideal`` up to (not including) ``day`` were passed over, each cause
    once with its days (``Sat 5 Dec: ...; Mon 7 Dec, Tue 8 Dec: 6 bookings that day``): the
    real cause of a move, not only the ideal day's."""
    lo, hi = sorted((ideal.toordinal(), day.toordinal()))
    causes: dict[str, list[date]] = {}
    for ordinal in range(lo, hi + 1):
        why = skipped.get(ordinal)
        if why and ordinal != day.toordinal():
            causes.setdefault(why, []).append(date.fromordinal(ordinal))
    if list(causes.values()) == [[ideal]]:
        return next(iter(causes))  # the ideal day alone: "moved from <it>" names it already
    parts = []
    for why, days in list(causes.items())[:3]:
        named = ", ".join(f"{d:%a} {d.day} {d:%b}" for d in days[:3])
        more = f" and {len(days) - 3} more" if len(days) > 3 else ""
        parts.append(f"{named}{more}: {why}")
    if len(causes) > 3:
        parts.append(f"{len(causes) - 3} other causes")
    return "; ".join(parts)


def _sort_minute(value: datetime | date) -> int:
    if isinstance(value, datetime):
        return to_minute(value)
    return to_minute(datetime(value.year, value.month, value.day, tzinfo=ZoneInfo("UTC")))
