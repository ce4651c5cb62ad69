"""What each customer needs, one contact at a time.

A *track* is a generator: it yields a :class:`Need` (a window and an ideal day for the next
contact), the engine places it and sends back the salesperson-local day it landed on (or None
when it could not be placed), and the track computes the next need from there. Tracks never
look at other customers: sharing capacity is the engine's job.

Rules implemented here (SPEC 5):

* the rhythm window ``[L + min_gap, L + max_gap]``, ideally ``L + every``; a customer never
  contacted, or already past ``max_gap``, is due within the catch-up period from the first
  plannable day (the engine spreads that backlog, most overdue first);
* onboarding steps after ``customer_since``, then the rhythm from the last step;
* anniversary check-ins within ``anniversary_lead`` of each anniversary, merged with a regular
  check-in that would land within ``min_gap`` of it, plus the all-day reminder on the day;
* the win-back track for cancelled customers: a fast first call, then one every ``every``
  until ``until``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, timedelta

from cadence.inputs.policy import WinbackPolicy
from cadence.planner.needs import Need, Reminder, TrackContext, anniversary_key
from cadence.planner.timegrid import iso, minutes_of
from cadence.planner.titles import (
    age_text,
    is_milestone,
)
from cadence.values.durations import add_months
from cadence.values.model import BookingKind


def active_track(ctx: TrackContext) -> Generator[Need, date | None, None]:
    """Onboarding, anniversaries and the regular rhythm of an active customer."""
    p, c, rhythm = ctx.policy, ctx.customer, ctx.rhythm
    last = ctx.last_contact
    since = c.customer_since
    if since is not None and p.onboarding and _onboarding_ahead(ctx, since):
        last, go_on = yield from _onboarding(ctx, since, last)
        if not go_on:
            return
    anniversaries = _anniversaries(ctx)
    chain = 0
    anchor_text = last.isoformat() if last else "new"
    if last is None and since is not None:
        last = since
        ctx.notes.append(f"no contact on record: the rhythm counts from customer_since {since}")
        anchor_text = f"since{since.isoformat()}"
    elif last is None:
        ctx.notes.append("never contacted: due as soon as possible")
    elif ctx.chain is not None:
        anchor_text, chain = ctx.chain
    first_day, end_day = ctx.first_day, ctx.end_day
    booked_last = False  # whether `last` is a booking planned just before, not a contact
    # The same for every need of the track.
    minutes, gaps, key_head = rhythm.minutes, rhythm.gaps, f"{c.id}:check_in:"
    while True:
        forced = False
        overdue_since: date | None = None
        # The catch-up period is asked for only when due at once: most customers never are.
        if last is None:
            ideal = ws = first_day
            we, catch_up_text = rhythm.catch_up(first_day, ctx.catch_up)
            reasons = ["never contacted", catch_up_text]
            overdue_since = date.min
            raw: tuple[date, date, date, str] | None = None
        else:
            raw = rhythm.after(last, booked_last)
            ideal, ws, we, why = raw
            reasons = [why]
            if we < first_day:
                forced = True
                catch_up_end, catch_up_text = rhythm.catch_up(first_day, ctx.catch_up)
                reasons.append(
                    f"overdue: max_gap {rhythm.max_gap_text} after {iso(last)} passed on {iso(we)}"
                )
                reasons.append(catch_up_text)
                overdue_since = we
                ideal = ws = first_day
                we = catch_up_end
            elif ws < first_day:
                ws = first_day
                ideal = max(ideal, ws)
        if anniversaries:
            months, day = anniversaries[0]
            lead_ws, lead_we = rhythm.lead_window(day)
            rhythm_floor = raw[1] if raw is not None else first_day
            before_rhythm = lead_we < ws
            # Whether the check-in merges into the anniversary is decided on the rhythm's own
            # window, not on one shifted to today: an overdue customer's window moves every
            # day, and the decision (and so the booking) must not.
            mergeable = False
            if raw is not None:
                raw_ideal, raw_ws, raw_we, _ = raw
                mergeable = max(lead_ws, raw_ws, first_day) <= min(
                    lead_we, raw_we
                ) and day < rhythm.min_gap_after(raw_ideal)
            if before_rhythm or mergeable:
                anniversaries.pop(0)
                need = _anniversary_need(
                    ctx, months, day, (lead_ws, lead_we), rhythm_floor, last, merged=mergeable
                )
                if need is not None and mergeable:
                    need.alt_window = (ws, we)
                if need is None:
                    continue
                if need.ideal > end_day:
                    return
                placed = yield need
                if placed is None:
                    return
                last, booked_last = placed, True
                continue
        if ideal > end_day:
            return
        key = f"{key_head}{anchor_text}.{chain}"
        need = Need(BookingKind.CHECK_IN, key, ideal, ws, we, minutes, last, reasons)
        need.forced, need.overdue_since = forced, overdue_since
        need.max_day = raw[2] if raw is not None else None
        need.next_gaps, need.merge_within = gaps, p.min_gap
        need.anniversary = anniversaries[0] if anniversaries else None
        placed = yield need
        chain += 1
        if placed is None:
            return
        if need.kind is BookingKind.ANNIVERSARY:  # it became the anniversary check-in
            anniversaries = [a for a in anniversaries if a[0] != need.months]
        last, booked_last = placed, True


def _onboarding_ahead(ctx: TrackContext, since: date) -> bool:
    """Is the customer's onboarding still going on: the last step's window reaches the first
    plannable day, or a step is booked (after a season)? Most customers' is over, and their
    track then makes no generator for the steps (:func:`_onboarding`)."""
    rhythm, first_day = ctx.rhythm, ctx.first_day
    # Asked only when the end could reach first_day (most customers' onboarding ended years
    # before: no dates worked out for them, nor kept).
    reach = since.toordinal() + rhythm.onboarding_days
    if reach >= first_day.toordinal() and rhythm.onboarding_end(since) >= first_day:
        return True
    booked, c = ctx.booked_keys, ctx.customer
    return bool(booked) and any(
        f"{c.id}:onboarding:{i}" in booked for i in range(1, len(ctx.policy.onboarding) + 1)
    )


def _onboarding(
    ctx: TrackContext, since: date, last: date | None
) -> Generator[Need, date | None, tuple[date | None, bool]]:
    """Yield the onboarding steps still ahead (:func:`_onboarding_ahead`); return the day the
    rhythm continues from and whether it continues at all within the range (not when a step
    could not be placed or lies beyond the horizon)."""
    p, c = ctx.policy, ctx.customer
    steps = p.onboarding
    ctx.notes.append(f"onboarding: {len(steps)} steps from customer_since {since}")
    for index, step in enumerate(steps, start=1):
        ideal = step.add_to(since)
        ws = p.onboarding_window.subtract_from(ideal)
        we = p.onboarding_window.add_to(ideal)
        done = next((d for d in ctx.contact_days if ws <= d <= we), None)
        if done is not None:
            ctx.notes.append(f"onboarding step {index} done by the contact on {done}")
            last = done
            continue
        key = f"{c.id}:onboarding:{index}"
        if we < ctx.first_day:
            if key not in ctx.booked_keys:
                ctx.notes.append(f"onboarding step {index} ({ideal}) passed without a contact")
                continue
            we = ctx.first_day  # its window passed, but it is booked (after a season): keep it
        ws = max(ws, ctx.first_day)
        ideal = max(ideal, ws)
        if ideal > ctx.end_day:
            return last, False  # beyond the range: nothing after it either
        why = f"onboarding step {index} of {len(steps)}: {step} after {since}"
        need = Need(BookingKind.ONBOARDING, key, ideal, ws, we, ctx.rhythm.minutes, last, [why])
        need.step, need.steps, need.rhythm = index, len(steps), False
        placed = yield need
        if placed is None:
            return last, False
        last = placed
    return last, True


def _anniversaries(ctx: TrackContext) -> list[tuple[int, date]]:
    """(age in months, date) of the anniversaries whose check-in window reaches the range;
    emits the all-day reminders for those inside the range."""
    c = ctx.customer
    since, period = c.customer_since, ctx.rhythm.period
    if period is None or since is None:
        return []
    found: list[tuple[int, date]] = []
    keys = ctx.booked_keys or ctx.fixed_keys  # most customers have neither
    days, shift = ctx.rhythm.anniversaries(since, ctx.first_day, ctx.end_day)
    for age, day, lead_reaches, reminded in days:
        months = age + shift
        if months < period:  # before the customer's first anniversary
            continue
        key = anniversary_key(c.id, months) if keys else ""
        if lead_reaches or key in ctx.booked_keys:
            if key not in ctx.fixed_keys:
                found.append((months, day))
            if reminded:
                ctx.emit_reminder(
                    ctx, Reminder(f"{c.id}:anniversary_reminder:{months}", day, months)
                )
    return found


def _anniversary_need(
    ctx: TrackContext,
    months: int,
    day: date,
    lead_window: tuple[date, date],
    rhythm_floor: date,
    last: date | None,
    *,
    merged: bool,
) -> Need | None:
    p, c = ctx.policy, ctx.customer
    ws, we = lead_window
    reasons = [f"anniversary on {iso(day)} ({age_text(months)})"]
    if is_milestone(months):
        reasons.append("milestone anniversary")
    if merged:
        reasons.append("the regular check-in merges into it (within min_gap)")
    ws = max(ws, ctx.first_day, rhythm_floor)
    if we < ws and anniversary_key(c.id, months) in ctx.booked_keys and we < ctx.first_day:
        we = ws  # its window passed, but it is booked (after a season): keep it
    if we < ws:
        # The customer was contacted within min_gap before the anniversary: a second meeting
        # now would crowd them. The all-day reminder stays; the rhythm goes on from ``last``.
        ctx.notes.append(
            f"anniversary check-in for {day} skipped: the contact on {last} is within "
            f"min_gap {p.min_gap}; the reminder stays"
        )
        return None
    ideal = min(max(day, ws), we)
    key = anniversary_key(c.id, months)
    need = Need(BookingKind.ANNIVERSARY, key, ideal, ws, we, ctx.rhythm.minutes, last, reasons)
    need.months = months
    return need


def winback_track(
    ctx: TrackContext, winback: WinbackPolicy, contacts_after_cancel: list[date]
) -> Generator[Need, date | None, None]:
    """A fast first call after ``cancelled_on``, then one every ``every`` until ``until``."""
    c = ctx.customer
    cancelled = c.cancelled_on
    assert cancelled is not None
    until = winback.until.add_to(cancelled)
    booked = any(key.startswith(f"{c.id}:winback:") for key in ctx.booked_keys)
    if until < ctx.first_day and not booked:
        ctx.notes.append(f"win-back track ended on {until}")
        return
    minutes = minutes_of(winback.meeting)
    if contacts_after_cancel:
        last = contacts_after_cancel[-1]
        ctx.notes.append(f"win-back: first call done on {contacts_after_cancel[0]}")
    else:
        due = winback.first_within.add_to(cancelled)
        reasons = [f"cancelled on {cancelled}; first call within {winback.first_within}"]
        forced = False
        if due < ctx.first_day:
            ws = ideal = ctx.first_day
            we = winback.first_within.add_to(ws)
            forced = True
            reasons.append(f"first call overdue since {due}")
        else:
            ws = ideal = max(cancelled, ctx.first_day)
            we = due
        key = f"{c.id}:winback:first"
        need = Need(BookingKind.WINBACK, key, ideal, ws, we, minutes, None, reasons)
        need.rhythm, need.forced, need.outranks_capacity = False, forced, True
        placed = yield need
        if placed is None:
            return
        last = placed
    anchor_text = last.isoformat()
    chain = 0
    while True:
        ideal = winback.every.add_to(last)
        if ideal > until or ideal > ctx.end_day:
            if ideal > until:
                ctx.notes.append(f"win-back track ends on {until}")
            return
        ws = ideal
        we = min(add_months(ideal, 1), until)
        reasons = [f"win-back: every {winback.every} after {last}, until {until}"]
        if we < ctx.first_day:
            ws = ideal = ctx.first_day
            we = min(ws + timedelta(days=14), until)
            reasons.append("overdue")
        elif ws < ctx.first_day:
            ws = ideal = ctx.first_day
        key = f"{c.id}:winback:{anchor_text}.{chain}"
        need = Need(BookingKind.WINBACK, key, ideal, ws, we, minutes, last, reasons)
        need.rhythm = False
        placed = yield need
        chain += 1
        if placed is None:
            return
        last = placed
