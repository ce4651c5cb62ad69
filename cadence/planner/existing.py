"""What the calendars already hold: the bookings cadence made before, read once per plan.

Live bookings ahead reserve their time and capacity in their salesperson's agenda and wait to
be kept (:mod:`cadence.planner.keeping`); bookings the owner deleted or declined are never
re-created under the same key at the same time, and the next attempt of that kind waits the
policy's ``retry_after``; a booking left in a former owner's calendar gives up its key. The
key helpers read what a booking key says (``customer:kind:seq``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.agenda import Agenda
from cadence.planner.api import PlanInput
from cadence.planner.calendars import Calendars
from cadence.planner.needs import Need
from cadence.planner.timegrid import date_of, local_date, sort_minute, to_minute
from cadence.values.model import Booking, BookingKind, BookingState, Customer

LIVE_STATES = frozenset({BookingState.BOOKED, BookingState.MOVED_BY_OWNER, BookingState.PENDING})
REFUSED_STATES = frozenset({BookingState.DELETED, BookingState.DECLINED})
_RETRY_SUFFIX = re.compile(r"\.r\d+$")


class ExistingBookings:
    """The bookings of one plan's input, by customer, and what the owners refused."""

    def __init__(self, inp: PlanInput, calendars: Calendars, now_minute: int) -> None:
        self.inp = inp
        self.calendars = calendars
        self.now_minute = now_minute
        self.live: dict[str, list[Booking]] = {}
        self.refused_keys: set[str] = set()
        self.retry: dict[tuple[str, BookingKind], tuple[date, set[date]]] = {}
        self.consumed: set[str] = set()  # keys already kept (or given up) in this plan
        # id(live booking) -> (start, end, the start's date in ``zone``, ``zone``), worked out
        # once (when indexed, or when keeping first asks: it asks again and again) and let go
        # once it is kept or given up (cadence.planner.keeping).
        self.times: dict[int, tuple[int, int | None, date, ZoneInfo]] = {}
        self.owner_of = {c.id: c.owner for c in inp.customers}
        self.taken_keys: set[str] = set()  # keys still held in a former owner's calendar
        self._customers: dict[str, Customer] = {}
        for c in inp.customers:
            self._customers.setdefault(c.id, c)

    def index(self, skip: Callable[[str, Exception], None]) -> None:
        """Reserve time and capacity for live bookings; remember what people refused. A
        booking that cannot be read costs its customer only (``skip``)."""
        for b in sorted(self.inp.bookings, key=lambda b: (sort_minute(b.start), b.key)):
            try:
                self._index(b)
            except Exception as exc:
                skip(b.customer_id, exc)

    def _index(self, b: Booking) -> None:
        """Reserve time and capacity for one booking, or remember that it was refused."""
        owner = self.owner_of.get(b.customer_id)
        if owner is not None and owner != b.owner:
            # The customer has another owner now (reassigned, or an owner typo corrected):
            # that booking is not theirs to keep; it is cancelled, and its key is not reused.
            self.taken_keys.add(b.key)
            return
        agenda = self.calendars.agenda(b.owner)
        if b.state in REFUSED_STATES:
            self.refused_keys.add(b.key)
            self._remember_refusal(b, agenda)
            return
        if b.state not in LIVE_STATES:
            return
        end = to_minute(b.end) if isinstance(b.end, datetime) else None
        if not self._is_future(b, agenda, end):
            self._count_earlier_this_week(b, agenda)
            return
        self.live.setdefault(b.customer_id, []).append(b)
        if not b.all_day:
            assert isinstance(b.start, datetime) and end is not None
            start = to_minute(b.start)
            day = date_of(agenda.zone, b.start)  # not cached: a booking's start does not recur
            agenda.add_interval(day, start, end)
            agenda.count(day)
            # Keeping asks for these again and again (keeping._times): worked out here once.
            self.times[id(b)] = (start, end, day, agenda.zone)

    def _count_earlier_this_week(self, b: Booking, agenda: Agenda) -> None:
        """A booking that already happened this week still counts against weekly capacity."""
        if b.all_day or not isinstance(b.start, datetime):
            return
        day = local_date(agenda.zone, to_minute(b.start))
        today = self.inp.now.astimezone(agenda.zone).date()
        if day.isocalendar()[:2] == today.isocalendar()[:2]:
            agenda.count(day)

    def _is_future(self, b: Booking, agenda: Agenda, end: int | None) -> bool:
        """Not over yet: a meeting in progress still counts as booked (it becomes a contact
        when it ends); an all-day event lasts until its exclusive end date. ``end``: the end's
        epoch minute when it is a time."""
        if end is not None:
            return end > self.now_minute
        return b.end > self.inp.now.astimezone(agenda.zone).date()

    def _remember_refusal(self, b: Booking, agenda: Agenda) -> None:
        if b.kind is BookingKind.ANNIVERSARY_REMINDER:
            return
        customer = self._customers.get(b.customer_id)
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

    def open_of(self, customer_id: str) -> list[Booking]:
        """The customer's live bookings ahead not kept yet in this plan."""
        return [b for b in self.live.get(customer_id, ()) if b.key not in self.consumed]

    def take(self, customer_id: str, key: str) -> Booking | None:
        """The customer's live booking under ``key``, marked kept; None when there is none."""
        for b in self.live.get(customer_id, ()):
            if b.key == key and b.key not in self.consumed:
                self.consumed.add(b.key)
                return b
        return None

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


def base_key(key: str) -> str:
    """A booking key without its retry suffix (``.rN``)."""
    if ".r" not in key:  # most keys: no suffix, and a substring test costs a tenth of a regex
        return key
    return _RETRY_SUFFIX.sub("", key)


def sequence_of(b: Booking, policy: SegmentPolicy) -> tuple[int, int, int]:
    """(anniversary months, onboarding step, steps) from a booking key ``customer:kind:seq``."""
    seq = b.key.rsplit(":", 1)[-1].split(".", 1)[0]
    number = int(seq) if seq.isdigit() else 0
    if b.kind is BookingKind.ANNIVERSARY:
        return number, 0, 0
    if b.kind is BookingKind.ONBOARDING:
        return 0, number, len(policy.onboarding)
    return 0, 0, 0


def chain_of(key: str) -> tuple[str, int] | None:
    """(anchor, next index) of a check-in key ``customer:check_in:ANCHOR.N``."""
    parts = base_key(key).split(":")
    if len(parts) < 3 or parts[-2] != BookingKind.CHECK_IN.value:
        return None
    anchor, _, index = parts[-1].rpartition(".")
    return (anchor, int(index) + 1) if anchor and index.isdigit() else None


def superseded(b: Booking, need: Need) -> bool:
    """Was check-in ``b`` planned from another last contact than ``need``? Check-in keys are
    ``customer:check_in:ANCHOR.N`` where ANCHOR names the contact the chain started from."""
    if b.kind is not BookingKind.CHECK_IN or need.kind is not BookingKind.CHECK_IN:
        return False
    return _anchor(b.key) != _anchor(need.key)


def _anchor(key: str) -> str:
    return key.split(":", 2)[-1].split(".", 1)[0]


def same_key(booking_key: str, need_key: str) -> bool:
    """Is ``booking_key`` the need's key, or a retry of it (``need_key.rN``)?"""
    return booking_key == need_key or booking_key.startswith(need_key + ".r")
