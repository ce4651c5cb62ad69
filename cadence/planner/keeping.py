"""Stability: which bookings already in the calendars keep serving, and where they stay.

A booking that still serves its need is kept while its reason holds: the exact one while it is
inside its window, on an allowed day on both sides and clear of busy time; else one the owner
moved (their time wins); else one still inside the new window. A booking that is no longer
right is placed again, and keeps its time when the search lands on its day anyway (or, after a
forced gap, while it is no later than the new day and still fits). Bookings that start before
the first plannable day are fixed as they are (SPEC 5.10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cadence.planner.existing import ExistingBookings, same_key, sequence_of, superseded
from cadence.planner.needs import Need
from cadence.planner.state import CustomerState, Found
from cadence.planner.timegrid import date_of, from_minute, iso, local_date, to_minute
from cadence.planner.titles import title
from cadence.values.model import Booking, BookingKind, BookingState, PlannedContact, PlanStatus


@dataclass(slots=True)
class Kept:
    """A booking kept for a need: the salesperson-local day, its start and end (the policy's
    meeting length now), the plan status and the reason."""

    booking: Booking
    day: date
    start: datetime
    end: datetime
    minutes: tuple[int, int]  # the epoch minutes of start and end (floored)
    status: PlanStatus
    why: str


def keep_imminent(book: ExistingBookings, state: CustomerState) -> list[PlannedContact]:
    """Bookings that start before the first plannable day (later today, or in progress)
    are fixed: kept as they are, and the rhythm continues from them."""
    fixed: list[PlannedContact] = []
    for b in book.live.get(state.customer.id, ()):
        if b.all_day or b.key in book.consumed or not isinstance(b.start, datetime):
            continue
        assert isinstance(b.end, datetime)
        day = _times(book, state, b)[2]
        if day >= state.first_day:
            continue
        book.consumed.add(b.key)
        moved = b.state is BookingState.MOVED_BY_OWNER
        c = state.customer
        months, step, steps = sequence_of(b, state.policy)
        fixed.append(
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
    return fixed


def keep_existing(
    book: ExistingBookings, state: CustomerState, need: Need, excluded: set[date]
) -> tuple[Kept | None, Booking | None]:
    """Keep a booking that already serves this need: the exact one if it is still right,
    else one the owner moved (their time wins), else one still inside the new window.

    Returns what was kept (the engine records it), or None and the booking made for this
    very need that is no longer right by its window (the caller re-places it, and keeps its
    time if the search lands on the same day anyway, as after a forced gap).
    """
    live = book.live.get(state.customer.id)
    if not live:
        return None, None
    kind, consumed, first_day = need.kind, book.consumed, state.first_day
    # An anniversary booking counts as a check-in.
    also = BookingKind.ANNIVERSARY if kind is BookingKind.CHECK_IN else kind
    candidates = []
    for b in live:
        if (b.kind == kind or b.kind == also) and b.key not in consumed:
            if isinstance(b.start, datetime) and _times(book, state, b)[2] < first_day:
                continue  # paused: before the customer's first plannable day
            candidates.append(b)
    if not candidates:
        return None, None
    # Only the need's own key is an exact match: a merged anniversary booking is found as
    # the first booking inside the window, like any booking whose key has shifted.
    exact = None
    for b in candidates:
        if same_key(b.key, need.key):
            exact = b
            break
    choice: Booking | None = None
    if exact is not None and (
        exact.state is BookingState.MOVED_BY_OWNER
        or _still_right(state, need, exact, book, excluded)
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
                and not superseded(b, need)
                and _still_right(state, need, b, book, excluded)
            ),
            None,
        )
    if choice is None:
        # A booking that is no longer right by its window is placed again; it keeps its
        # time when the search lands on its day anyway (a forced gap after a season).
        later = next(
            (
                b
                for b in candidates
                if b.state is not BookingState.MOVED_BY_OWNER
                and isinstance(b.start, datetime)
                and _times(book, state, b)[2] > need.window_end
            ),
            None,
        )
        # A check-in planned from an older last contact: a new contact is a reason to move
        # (SPEC 5.10), so it is placed again from the new one (kept if that lands on its day).
        outdated = [
            b
            for b in candidates
            if b.state is not BookingState.MOVED_BY_OWNER and superseded(b, need)
        ]
        in_window = next(
            (b for b in outdated if _still_right(state, need, b, book, excluded)), None
        )
        stale = in_window or later or exact or next(iter(outdated), None)
        if stale is not None and stale.state is not BookingState.MOVED_BY_OWNER:
            book.consumed.add(stale.key)
            _done(book, stale)
            return None, stale
        return None, None
    book.consumed.add(choice.key)
    assert isinstance(choice.start, datetime) and isinstance(choice.end, datetime)
    start, booked_end, day = _times(book, state, choice)
    _done(book, choice)
    assert booked_end is not None
    adopt_kind(state, need, choice)
    end, end_minute = choice.end, booked_end
    if choice.state is BookingState.MOVED_BY_OWNER:
        status, why = (
            PlanStatus.MOVED_BY_OWNER,
            f"moved by the owner to {iso(day)}: their time wins",
        )
    else:
        status, why = PlanStatus.BOOKED, f"already booked on {iso(day)}"
        if booked_end - start != need.minutes:  # the policy's meeting length changed
            state.agenda.resize(day, start, booked_end, start + need.minutes)
            end_minute = start + need.minutes
            end = from_minute(end_minute)
    return Kept(choice, day, choice.start, end, (start, end_minute), status, why), None


def paused(state: CustomerState, b: Booking) -> bool:
    """Is ``b`` before the customer's first plannable day (inside a snooze)?"""
    if not isinstance(b.start, datetime):
        return False
    return local_date(state.agenda.zone, to_minute(b.start)) < state.first_day


def adopt_kind(state: CustomerState, need: Need, b: Booking) -> None:
    """A check-in served by an anniversary booking becomes that anniversary check-in."""
    if b.kind is BookingKind.ANNIVERSARY and need.kind is not BookingKind.ANNIVERSARY:
        months, _, _ = sequence_of(b, state.policy)
        need.become_anniversary(state.customer.id, months)


_Times = tuple[int, int | None, date]  # a booking's start, end (None: not a time), local day


def _times(book: ExistingBookings, state: CustomerState, b: Booking) -> _Times:
    """(start, end, salesperson-local day of the start) of live booking ``b`` (its start a
    time), worked out once for ``book`` (the customer's needs ask about each of their bookings
    again and again) until :func:`_done` lets them go."""
    zone = state.agenda.zone
    found = book.times.get(id(b))
    if found is not None and found[3] is zone:
        return found[0], found[1], found[2]
    times = _times_of(zone, b)
    book.times[id(b)] = (*times, zone)
    return times


def _done(book: ExistingBookings, b: Booking) -> None:
    """``b`` is kept or given up (consumed): its times are not asked about again."""
    book.times.pop(id(b), None)


def _times_of(zone: ZoneInfo, b: Booking) -> _Times:
    """(start, end, the start's date in ``zone``) of booking ``b`` (its start a time)."""
    assert isinstance(b.start, datetime)
    start = to_minute(b.start)
    end = to_minute(b.end) if isinstance(b.end, datetime) else None
    return start, end, date_of(zone, b.start)


def still_right(state: CustomerState, need: Need, b: Booking, excluded: set[date]) -> bool:
    """Is booking ``b`` still a valid answer to ``need``: inside the window, on an allowed
    day on both sides, inside the hours, and clear of every busy event?"""
    return _still_right(state, need, b, None, excluded)


def _still_right(
    state: CustomerState,
    need: Need,
    b: Booking,
    book: ExistingBookings | None,
    excluded: set[date],
) -> bool:
    """:func:`still_right`, with ``b``'s times from ``book``'s index when given."""
    if not isinstance(b.start, datetime):
        return False
    times = _times_of(state.agenda.zone, b) if book is None else _times(book, state, b)
    day, first_day, today = times[2], state.first_day, state.today
    if day in excluded or day < first_day:
        return False
    ws, we = need.window_start, need.window_end
    if not (ws if ws > first_day else today) <= day <= we and not in_window(
        need, b.key, day, first_day, today
    ):
        return False
    return _slot_free(state, times, True, need.minutes)


def in_window(need: Need, key: str, day: date, first_day: date, today: date) -> bool:
    """Is ``day`` inside the need's window, or its other one, or (a booking under the need's
    key whose window passed while it waited: a forced gap) any day from today: time passing
    is no reason to move it (SPEC 5.10)? A window that starts before ``first_day`` counts
    from ``today``."""
    windows = [(need.window_start, need.window_end)]
    if need.alt_window is not None:
        windows.append(need.alt_window)
    if need.window_end <= first_day and same_key(key, need.key):
        windows.append((first_day, date.max))
    return any((ws if ws > first_day else today) <= day <= we for ws, we in windows)


def slot_still_free(
    state: CustomerState, b: Booking, *, reserved: bool, minutes: int | None = None
) -> bool:
    """Is ``b``'s time (from its start for ``minutes`` when given: the policy's meeting
    length now) still on an allowed day on both sides, inside the hours, and clear of busy
    time (other than its own reservation when ``reserved``)?"""
    return _slot_free(state, _times_of(state.agenda.zone, b), reserved, minutes)


def _slot_free(state: CustomerState, times: _Times, reserved: bool, minutes: int | None) -> bool:
    """:func:`slot_still_free` of a booking's (start, end, local day)."""
    agenda = state.agenda
    start, booked_end, day = times
    assert booked_end is not None
    end = booked_end if minutes is None else start + minutes
    if agenda.blocked(day) is not None:
        return False
    for lo, hi in state.days.allowed_spans(agenda.work_span(day)):
        if lo <= start and end <= hi:
            break
    else:
        return False
    if agenda.in_break(day, start, end):
        return False
    ignore = (start, booked_end) if reserved else None
    return not agenda.overlaps(day, start, end, ignore=ignore)


def forced_stays(state: CustomerState, need: Need, b: Booking, found: Found) -> bool:
    """Does booking ``b``, placed after its window (a forced gap), keep its time rather
    than move to ``found``? Yes while it is no later than ``found`` and still fits (its
    day allowed on both sides and not full, its time free): the even load may spread a
    fresh search over other days, and a kept booking that still fits stays."""
    if not isinstance(b.start, datetime):
        return False
    day = local_date(state.agenda.zone, to_minute(b.start))
    if not need.window_end < day <= found.day or state.agenda.unavailable(day):
        return False
    return slot_still_free(state, b, reserved=False, minutes=need.minutes)


def release(state: CustomerState, b: Booking) -> None:
    """Give back the time and capacity reserved for booking ``b``."""
    assert isinstance(b.start, datetime) and isinstance(b.end, datetime)
    start, end = to_minute(b.start), to_minute(b.end)
    day = local_date(state.agenda.zone, start)
    state.agenda.release(day, start, end)


def same_day_keeps(state: CustomerState, b: Booking, found: Found, minutes: int) -> bool:
    """Did the search land on the day ``b`` is already on, with ``b``'s start still free
    for ``minutes``?"""
    assert isinstance(b.start, datetime)
    day = local_date(state.agenda.zone, to_minute(b.start))
    return day == found.day and slot_still_free(state, b, reserved=False, minutes=minutes)
