"""Can a salesperson and a customer ever meet? Their hours over a year, daylight saving included.

A customer is *unbookable* when, on no day of the coming year, the owner's working hours (less
their breaks) and the customer's local hours (the policy's ``customer_hours``) share a stretch
long enough for the meeting; *partly bookable* when that holds on some days only: daylight
saving time starts and ends on different dates in different countries (and not at all in
most of Asia), so an overlap of an hour or two can vanish for weeks or months. The planner
cannot book such a customer then, and says so only in ``cadence explain``; ``cadence check``,
the report and the cycle's log use this module to say it where people look.

Pure; each distinct (owner hours, customer hours, meeting length) is worked out once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from cadence.inputs.policy import PolicySet
from cadence.planner.timegrid import local_date, local_minute
from cadence.values.model import Customer, CustomerStatus, Salesperson
from cadence.values.workweek import WorkingHours

YEAR_DAYS = 366


@dataclass(frozen=True, slots=True)
class Reach:
    """Where a customer's hours stand against their owner's over the year from ``start``."""

    customer_id: str
    owner: str
    never: bool  # not one day with room for the meeting
    gaps: tuple[tuple[date, date], ...]  # stretches (owner-local, inclusive) without room
    detail: str  # the two sides' hours, for messages

    def describe(self) -> str:
        """One sentence: what is wrong, and the fix."""
        if self.never:
            what = f"can never be booked: {self.detail} never meet"
        else:
            shown = ", ".join(f"{a} to {b}" for a, b in self.gaps[:3])
            more = f" and {len(self.gaps) - 3} more" if len(self.gaps) > 3 else ""
            what = (
                f"cannot be booked from {shown}{more}: {self.detail} do not meet then "
                "(daylight saving time moves them apart)"
            )
        return (
            f"{what}; fix: widen {self.owner}'s working_hours in cadence.toml, widen or drop "
            "customer_hours in the customer's segment policy, or give the customer an owner "
            "in a nearer time zone"
        )


def reach_of(
    customer: Customer, person: Salesperson, policies: PolicySet, start: date
) -> Reach | None:
    """The customer's :class:`Reach` when their hours fail to meet the owner's on some day of
    the year from ``start``; None when they meet every day (or nothing is planned for them)."""
    if customer.status is CustomerStatus.DO_NOT_CONTACT:
        return None
    policy = policies.for_customer(customer)
    hours = policy.customer_hours
    if hours is None:
        return None
    length = policies.winback.meeting if customer.status is CustomerStatus.CANCELLED else None
    minutes = int((length or policy.meeting).total_seconds() // 60)
    zone = customer.timezone or policy.timezone or "UTC"
    never, gaps = _gaps(
        person.timezone or "UTC",
        person.working_hours,
        person.breaks,
        zone,
        hours,
        minutes,
        start,
    )
    if not never and not gaps:
        return None
    detail = (
        f"{person.email}'s working hours ({_hours(person.working_hours)} "
        f"{person.timezone or 'UTC'}) and the customer's hours ({_hours(hours)} {zone}) "
        f"for a {minutes}-minute meeting"
    )
    return Reach(customer.id, customer.owner, never, gaps, detail)


def unbookable(
    customers: Sequence[Customer],
    policies: PolicySet,
    salespeople: Mapping[str, Salesperson],
    start: date,
) -> list[Reach]:
    """Every customer whose hours fail to meet their owner's on some day of the year from
    ``start`` (an owner not in ``salespeople`` has the default hours in the policy's zone)."""
    out = []
    for c in customers:
        person = salespeople.get(c.owner) or Salesperson(
            email=c.owner, timezone=policies.defaults.timezone
        )
        try:
            found = reach_of(c, person, policies, start)
        except Exception:  # a customer the planner cannot read is reported by it, not here
            continue
        if found is not None:
            out.append(found)
    return out


def _hours(h: WorkingHours) -> str:
    return (
        f"{h.start_minute // 60:02d}:{h.start_minute % 60:02d}-"
        f"{h.end_minute // 60:02d}:{h.end_minute % 60:02d}"
    )


@lru_cache(maxsize=4096)
def _gaps(
    owner_zone: str,
    working: WorkingHours,
    breaks: tuple[WorkingHours, ...],
    customer_zone: str,
    hours: WorkingHours,
    minutes: int,
    start: date,
) -> tuple[bool, tuple[tuple[date, date], ...]]:
    """(no day has room, the stretches of days without room) over a year from ``start``."""
    own, theirs = ZoneInfo(owner_zone), ZoneInfo(customer_zone)
    gaps: list[tuple[date, date]] = []
    any_room = False
    for k in range(YEAR_DAYS):
        day = start + timedelta(days=k)
        if _room(own, working, breaks, theirs, hours, minutes, day):
            any_room = True
        elif gaps and gaps[-1][1] == day - timedelta(days=1):
            gaps[-1] = (gaps[-1][0], day)
        else:
            gaps.append((day, day))
    return (not any_room, () if not any_room else tuple(gaps))


def _room(
    own: ZoneInfo,
    working: WorkingHours,
    breaks: tuple[WorkingHours, ...],
    theirs: ZoneInfo,
    hours: WorkingHours,
    minutes: int,
    day: date,
) -> bool:
    """Is there a stretch of ``minutes`` on the owner's ``day`` inside both sides' hours and
    outside the owner's breaks?"""
    lo = local_minute(own, day, working.start_minute)
    hi = local_minute(own, day, working.end_minute)
    pieces = []
    their_day = local_date(theirs, lo)
    while their_day <= local_date(theirs, hi - 1):
        a = max(lo, local_minute(theirs, their_day, hours.start_minute))
        b = min(hi, local_minute(theirs, their_day, hours.end_minute))
        if a < b:
            pieces.append((a, b))
        their_day += timedelta(days=1)
    cuts = sorted(
        (local_minute(own, day, b.start_minute), local_minute(own, day, b.end_minute))
        for b in breaks
    )
    for a, b in pieces:
        for s, e in cuts:
            if e <= a or s >= b:
                continue
            if s - a >= minutes:
                return True
            a = max(a, e)
        if b - a >= minutes:
            return True
    return False
