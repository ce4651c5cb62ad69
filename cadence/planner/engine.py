"""The planner: a pure function from (policies, customers, contacts, busy time, bookings, now)
to a :class:`Plan`.

How it works. Every customer has a *track* (:mod:`cadence.planner.tracks`) that proposes its next
contact as a window with an ideal day. Proposals from all customers wait in one priority queue
ordered by urgency (the earliest last allowed day first; on a tie, win-back first calls, then
the longest overdue), so that nobody passes ``max_gap`` while capacity exists. Each proposal is
placed on the allowed day nearest its ideal (earlier on a tie, lighter day first among equals)
below the salesperson's even-load level when its window allows
(:func:`cadence.planner.levels.set_levels`: the overdue backlog is spread over ``catch_up``
instead of filling capacity from tomorrow),
in a free quarter-hour slot inside the salesperson's working hours and the customer's hours,
clear of the salesperson's breaks and ``buffer`` minutes away from other meetings, as far from
them as the day allows (:func:`cadence.planner.timegrid.choose_slot`); the track then proposes
the next contact from the day chosen. Bookings that already exist are kept while their reason
holds (stability); bookings the salesperson moved keep their new time; deleted or declined ones
are not re-created at that time, and the next attempt waits ``retry_after``.

The engine holds the plan being built and the queue; its collaborators each hold one concern:
:class:`~cadence.planner.calendars.Calendars` (the agendas and customer-side days),
:class:`~cadence.planner.existing.ExistingBookings` (what the calendars hold already) with
:mod:`cadence.planner.keeping` (which of it stays), :class:`~cadence.planner.placement.Placer`
(the search for a day and slot), :mod:`cadence.planner.levels` (the even daily load) and the
tracks (:mod:`cadence.planner.tracks`). :func:`cadence.planner.plan` (in
:mod:`cadence.planner.split`) runs it, isolating failures and splitting large books.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import date, datetime, timedelta

from cadence.planner import groups, keeping
from cadence.planner.api import CustomerNote, Plan, PlanInput, owner_zones
from cadence.planner.calendars import Calendars
from cadence.planner.contacts import collapse, counts
from cadence.planner.existing import ExistingBookings, base_key, chain_of
from cadence.planner.levels import set_levels
from cadence.planner.needs import NO_KEYS, Need, TrackContext
from cadence.planner.placement import MIN_NOTICE_MINUTES as MIN_NOTICE_MINUTES
from cadence.planner.placement import Placer
from cadence.planner.queue import NeedQueue
from cadence.planner.reminders import Reminders
from cadence.planner.rhythm import Rhythms
from cadence.planner.sharing import SharedValues
from cadence.planner.state import CustomerState
from cadence.planner.timegrid import iso, local_date, to_minute
from cadence.planner.titles import title
from cadence.planner.tracks import active_track, winback_track
from cadence.values.errors import ValueParseError, describe_error
from cadence.values.model import (
    Customer,
    CustomerStatus,
    PlannedContact,
    PlanStatus,
)
from cadence.values.progress import every

__all__ = ["MIN_NOTICE_MINUTES", "CustomerNote", "Plan", "PlanInput"]


_STATUS_TEXT = {status: status.value for status in CustomerStatus}  # enum .value is slow


class _Engine:
    """One plan: every customer's track, placed need by need from one queue."""

    def __init__(self, inp: PlanInput) -> None:
        self.inp = inp
        now_minute = to_minute(inp.now)
        self.calendars = Calendars(inp)
        self.existing = ExistingBookings(inp, self.calendars, now_minute)
        self.placer = Placer(now_minute, int(inp.policies.capacity.buffer.total_seconds() // 60))
        self.out: list[PlannedContact] = []
        self.notes: dict[str, CustomerNote] = {}
        self.skipped: dict[str, str] = {}
        self.rhythms = Rhythms(inp.policies)
        self.shared = SharedValues()  # one object per day, instant and reasons of contacts
        self.emit_reminder = Reminders(self.existing, self.out, self.shared)

    # ---- the main loop ---------------------------------------------------------------------

    def run(self) -> Plan:
        self.existing.index(self.skip)
        started_count = every(self.inp.progress, "planning customers", len(self.inp.customers), 500)
        placed_count = every(self.inp.progress, "placing contacts", None, 1000)
        started_total = placements = 0
        counting = self.inp.progress is not None  # no call per customer and placement if not
        skipped = self.skipped
        out = self.out
        for group in groups.owner_groups(self.inp.customers, groups.GROUP_SIZE):
            mark = len(out)
            queue: NeedQueue[tuple[CustomerState, Need]] = NeedQueue()
            started: list[CustomerState] = []
            for customer in group:
                if counting:
                    started_total += 1
                    started_count(started_total)
                try:
                    state = self.start(customer)
                    if state is not None:
                        started.append(state)
                        self.advance(queue, state, None)
                except Exception as exc:  # one customer's bad data never stops the others
                    self.skip(customer.id, exc, customer)
            set_levels(started, queue.entries(), self.inp.policies.capacity.catch_up)
            # From here a customer's state lives while their track has needs in the queue.
            del started
            pop = queue.pop
            while queue:
                if counting:
                    placements += 1
                    placed_count(placements)
                state, need = pop()
                if skipped and state.customer.id in skipped:
                    continue
                try:
                    placed = self.place(state, need)
                    self.advance(queue, state, placed)
                except Exception as exc:
                    self.skip(state.customer.id, exc, state.customer)
            # The groups come by owner, so the plan's order (owner, start, key) is each
            # group's contacts in order, one group after another (no sort of the whole plan:
            # at a million customers, a key of each of 1.6 million contacts at once).
            out[mark:] = sorted(out[mark:], key=groups.plan_order)
            self.calendars.let_go({c.owner for c in group})
        if self.skipped:
            self.out = [c for c in self.out if c.customer_id not in self.skipped]
        return Plan(
            self.out,
            self.notes,
            self.inp.now,
            self.inp.horizon_days,
            self.skipped,
            **owner_zones(self.inp),
        )

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
        self,
        queue: NeedQueue[tuple[CustomerState, Need]],
        state: CustomerState,
        placed: date | None,
    ) -> None:
        """Ask the customer's track for its next need (sending where the last one landed)."""
        assert state.track is not None
        try:
            # A fresh generator takes send(None) as next(): the first call sends None.
            need = state.track.send(placed)
        except StopIteration:
            return
        priority = 0 if need.outranks_capacity else 1
        # Among equally urgent needs, the most overdue first (the catch-up backlog).
        overdue = need.overdue_since.toordinal() if need.overdue_since is not None else 0
        # The last allowed day: a busy season that takes the end of the window brings it forward.
        last = need.window_end
        seasons = state.days.seasons
        if seasons.seasons:  # most customers have none
            span = seasons.span(last)
            if span is not None and need.window_start < span[0]:
                last = span[0] - timedelta(days=1)
        queue.push(last.toordinal(), priority, overdue, (state, need))

    def start(self, customer: Customer) -> CustomerState | None:
        rhythm = self.rhythms.of(customer)
        policy = rhythm.policy
        note = CustomerNote(customer.id, policy.name, _STATUS_TEXT[customer.status])
        self.notes[customer.id] = note
        if problem := rhythm.problem:
            raise ValueParseError(f"the customer's own rhythm (every/min_gap/max_gap): {problem}")
        if customer.status is CustomerStatus.DO_NOT_CONTACT:
            note.messages.append(
                "do not contact: nothing is planned; future bookings are cancelled"
            )
            return None
        owner = self.calendars.owner_days(customer.owner)
        agenda, named, today, first_day, horizon_day, end_day = owner
        if not named:
            note.messages.append(f"owner {customer.owner} is not in cadence.toml: using defaults")
        days = self.calendars.customer_days(customer, policy)
        # Positional, in field order (here and below): keywords to a class cost a dict of them
        # made and taken apart again on every call (a dataclass's __init__ is reached through
        # type.__call__), a tenth of starting a customer.
        state = CustomerState(customer, policy, agenda, days, today, first_day, horizon_day, note)
        kinds, now, zone = policy.counts, self.inp.now, agenda.zone
        counted_days: list[date] = []  # the local days of the contacts that count, ascending
        own: list[tuple[date, str]] = []  # cadence's own meetings that took place: (day, key)
        history = self.inp.contacts.get(customer.id)
        if history:
            # One pass, the local date made inline (date_of): a list of the counted contacts
            # and a call per contact cost a fifth of the history.
            for c in collapse(history):
                if counts(c, kinds) and c.at <= now:
                    day = c.at.astimezone(zone).date()
                    counted_days.append(day)
                    if c.source == "booking":  # a contact from one of cadence's bookings
                        own.append((day, c.source_id))
        if customer.last_contact is not None:
            counted_days.append(customer.last_contact)
            counted_days.sort()
        fixed: list[tuple[date, str]] = []  # bookings kept as they are: (day, key)
        booked_keys: AbstractSet[str] = NO_KEYS
        if self.existing.live.get(customer.id):  # most customers have no bookings ahead
            imminent = keeping.keep_imminent(self.existing, state)
            self.out.extend(imminent)
            fixed = [(c.day, base_key(c.key)) for c in imminent]
            booked_keys = {base_key(b.key) for b in self.existing.open_of(customer.id)} or NO_KEYS
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
        last = counted_days[-1] if counted_days else None
        note.last_day = last
        # Most customers have neither: one shared empty set then, not one of their own.
        fixed_keys: AbstractSet[str] = NO_KEYS
        chain = None
        if own or fixed:
            # Anniversary check-ins that already happened (as cadence bookings) are served.
            fixed_keys = {key for _, key in fixed} | {base_key(key) for _, key in own}
            # When the last contact was one of cadence's own check-ins, the chain it belonged
            # to goes on under the same keys: a planned meeting taking place is not a new
            # contact.
            latest = max(fixed + own)
            if latest[0] == last:
                chain = chain_of(latest[1])
        ctx = TrackContext(
            customer,
            policy,
            first_day,
            end_day,
            horizon_day,
            last,  # last_contact
            counted_days,  # contact_days
            # One object for every customer (a closure or partial each: 200-250 bytes).
            self.emit_reminder,
            note.messages,  # notes
            rhythm,
            fixed_keys,
            booked_keys,
            chain,
            self.inp.policies.capacity.catch_up,
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

    # ---- placing -------------------------------------------------------------------------------

    def place(self, state: CustomerState, need: Need) -> date | None:
        """Place one need; return the salesperson-local day it landed on, or None."""
        refused = self.existing.retry.get((state.customer.id, need.kind))
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
        kept, stale = keeping.keep_existing(self.existing, state, need, excluded)
        if kept is not None:
            self.record(
                state,
                need,
                kept.booking.key,
                kept.day,
                self.shared.same(kept.start, kept.minutes[0]),
                self.shared.same(kept.end, kept.minutes[1]),
                kept.status,
                [kept.why],
                forced=False,
                over_capacity=False,
            )
            return kept.day
        if stale is not None:
            keeping.release(state, stale)
        if not self.placer.hours_ever_meet(state):
            why = (
                f"{state.agenda.person.email}'s working hours never overlap the customer's "
                f"hours ({state.days.hours}, {state.days.zone.key})"
            )
            state.note.unbookable = why
            state.note.messages.append(f"cannot place {need.kind.value}: {why}")
            return None
        skipped: dict[int, str] = {}
        found = self.placer.search(state, need, excluded, skipped)
        if found is None:
            common = "; ".join(sorted(set(skipped.values()))[:3]) or "no allowed day"
            state.note.messages.append(
                f"could not place {need.kind.value} "
                f"(window {need.window_start}..{need.window_end}): {common}"
            )
            return None
        if stale is not None and found.forced and keeping.forced_stays(state, need, stale, found):
            assert isinstance(stale.start, datetime)
            found.day = local_date(state.agenda.zone, to_minute(stale.start))
            found.slot = to_minute(stale.start)
        if need.merges_with_anniversary(found.day):
            need.become_anniversary(state.customer.id)
        key, status = self.existing.fresh_key(need.key), PlanStatus.PLANNED
        start, end = found.slot, found.slot + need.minutes
        if stale is not None and keeping.same_day_keeps(state, stale, found, need.minutes):
            assert isinstance(stale.start, datetime)
            keeping.adopt_kind(state, need, stale)
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
            self.shared.instant(start),
            self.shared.instant(end),
            status,
            found.reasons,
            found.forced,
            found.over_capacity,
        )
        return found.day

    def record(
        self,
        state: CustomerState,
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
            and day > (need.max_day or state.policy.max_gap.add_to(need.anchor))
        ):
            forced = True
            reasons.append(
                # iso: the plan's one text of the day (a date in an f-string is ten times that)
                f"forced gap: {(day - need.anchor).days} days since {iso(need.anchor)} "
                f"(max_gap {state.policy.max_gap})"
            )
        same_day = self.shared.days.setdefault  # used as same_day(d, d)
        # Positional, in field order: see start.
        self.out.append(
            PlannedContact(
                key,
                c.id,  # customer_id
                c.name,  # customer_name
                c.owner,
                need.kind,
                need.months or need.step,  # seq
                title(need.kind, c.name, need.months, need.step, need.steps),  # positional: no dict
                start,
                end,
                False,  # all_day
                same_day(day, day),
                same_day(need.ideal, need.ideal),
                same_day(need.window_start, need.window_start),
                same_day(need.window_end, need.window_end),
                status,
                self.shared.reasons((*need.reasons, *reasons)),
                forced,
                over_capacity,
                day <= state.horizon_day,  # within_horizon
            )
        )
