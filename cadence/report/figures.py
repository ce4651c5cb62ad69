"""The rhythm-health report (``cadence report``): how steady is every customer's contact rhythm?

:func:`build_report` is pure: customers, their contacts, the planner's output, the policies and
``now`` go in; a :class:`Report` of plain numbers comes out. :func:`render_text` turns it into
fixed-width tables for a terminal, :func:`render_html` into one self-contained page of charts.
Each customer is measured by :mod:`cadence.report.health` (contact days, rhythm status, gaps,
busy-season contacts: defined there); this module adds them up per segment, per salesperson and
for everyone, with the coming weeks' bookings.

Definitions (the legend of both renderings says the same in fewer words):

* **Feast-or-famine score**: the coefficient of variation (population stdev / mean) of the gaps,
  each divided by its customer's ``every`` first. Within one segment that is exactly the CV of the
  gaps in days; across segments (a salesperson, everyone) it keeps a 4-week customer and a
  quarterly one, both perfectly on rhythm, from looking like feast and famine.
* **Bookings per day**: the timed planned contacts (all-day anniversary reminders are no load)
  whose salesperson-local day falls in the coming ``weeks_ahead`` ISO weeks, counted per
  salesperson-day: the busiest salesperson-day (max) against the mean over salesperson-days with
  at least one booking. **Load**: the same bookings per salesperson per ISO week, from the week
  holding ``now`` (UTC) on. Whatever ``planned`` holds is counted: pass ``Plan.booked()`` for
  what is in calendars, or ``Plan.contacts`` to include the forecast.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cadence.inputs.policy import PolicySet
from cadence.planner.overlap import unbookable
from cadence.report.health import ACTIVE_RHYTHMS, CustomerHealth, Rhythm, customer_health
from cadence.values.errors import describe_error
from cadence.values.model import (
    Contact,
    Customer,
    PlannedContact,
    Salesperson,
    Snooze,
    require_aware,
)
from cadence.values.progress import Tick, every
from cadence.values.seasons import Season, SeasonParser, parse_season
from cadence.values.text import count

SEGMENT, SALESPERSON, ALL = "segment", "salesperson", "all"
KINDS = (SEGMENT, SALESPERSON, ALL)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """The figures of one group: a segment, a salesperson (by e-mail) or everyone (``all``).

    Status counts cover active customers (``in_rhythm + due_soon + overdue == active``;
    ``never_contacted`` is a subset of them). ``max_gap_days`` is the segment's ``max_gap`` in
    days (None for groups that mix segments). Figures without data are None.
    """

    kind: str
    name: str
    label: str
    active: int
    in_rhythm: int
    due_soon: int
    overdue: int
    never_contacted: int
    cancelled: int
    do_not_contact: int
    contact_days: int
    busy_season_contacts: int
    gaps: tuple[int, ...]  # sorted
    gap_median: float | None
    gap_p90: float | None
    gap_max: int | None
    gaps_over_max_gap: int
    max_gap_days: int | None
    feast_or_famine: float | None
    bookings: int  # timed bookings in the coming weeks
    booking_days: int  # salesperson-days with at least one booking
    bookings_per_day_max: int
    bookings_per_day_mean: float | None
    # Active customers at risk of going overdue: overdue already, or whose hours never meet
    # their owner's (or not for part of the year): cadence cannot book them then.
    at_risk: int = 0


@dataclass(frozen=True)
class Report:
    """The whole report. ``load[owner][i]`` is the bookings in the week starting ``weeks[i]``."""

    now: datetime
    groups: list[GroupStats]
    customers: list[CustomerHealth]
    weeks: list[date]  # the Monday of each ISO week shown
    load: dict[str, list[int]]
    capacity_per_day: dict[str, int | None]
    capacity_per_week: dict[str, int | None]
    salesperson_labels: dict[str, str] = field(default_factory=dict)
    # What could not be done or measured, one line each: worst news first in every rendering.
    attention: list[str] = field(default_factory=list)
    # Customers nothing can be booked for, all year or part of it (their hours never meet
    # their owner's): (customer id, name, owner, why and the fix).
    cannot_book: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Paused customers (``cadence snooze``) whose pause is not over: (id, name, owner, until,
    # note).
    snoozed: list[tuple[str, str, str, date, str]] = field(default_factory=list)
    # Each customer's next booked or planned contact ahead: (day, title).
    next_contact: dict[str, tuple[date, str]] = field(default_factory=dict)
    # Salespeople whose coming weeks are over capacity or far from the team's mean:
    # (owner, "over" or "under", why).
    load_flags: list[tuple[str, str, str]] = field(default_factory=list)

    def by_kind(self, kind: str) -> list[GroupStats]:
        """The groups of one kind (``segment``, ``salesperson`` or ``all``), in report order."""
        return [g for g in self.groups if g.kind == kind]

    def group(self, kind: str, name: str) -> GroupStats:
        """One group; raises KeyError when there is no such group."""
        for g in self.groups:
            if g.kind == kind and g.name == name:
                return g
        raise KeyError(f"no {kind} group {name!r} in the report")

    @property
    def overall(self) -> GroupStats:
        """The ``all`` group."""
        return self.group(ALL, ALL)

    def members(self, group: GroupStats) -> list[CustomerHealth]:
        """The customers a group covers."""
        return [h for h in self.customers if _belongs(h, group.kind, group.name)]


# ---- statistics ---------------------------------------------------------------------------------


def feast_or_famine(gaps: Sequence[float]) -> float | None:
    """The coefficient of variation of ``gaps``: population stdev / mean.

    0 is a perfectly steady rhythm; 0.5 and more is feast and famine. None with fewer than two
    gaps (one gap has no variation to speak of) or a non-positive mean.
    """
    if len(gaps) < 2:
        return None
    mean = statistics.fmean(gaps)
    if mean <= 0:
        return None
    return statistics.pstdev(gaps) / mean


def percentile(values: Sequence[float], pct: int) -> float | None:
    """The ``pct``-th percentile (1..99), interpolating linearly between ranks; None when empty."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# ---- building -----------------------------------------------------------------------------------


def build_report(
    customers: Sequence[Customer],
    contacts: Mapping[str, Sequence[Contact]],
    planned: Sequence[PlannedContact],
    policies: PolicySet,
    salespeople: Mapping[str, Salesperson],
    now: datetime,
    *,
    season_parser: Callable[[str], Season] = parse_season,
    weeks_ahead: int = 8,
    attention: Sequence[str] = (),
    snoozes: Mapping[str, Snooze] | None = None,
    progress: Tick | None = None,
) -> Report:
    """Measure every customer's rhythm and the coming weeks' bookings (see the module docstring).

    Pure: nothing here reads a clock, a file or a calendar. ``attention`` lists what the last
    cycle could not do; a customer whose rhythm cannot be measured is added to it and left out
    of the figures, never stopping the report.
    """
    require_aware(now, "report now")
    if weeks_ahead < 1:
        raise ValueError(f"weeks_ahead must be at least 1, got {weeks_ahead}")
    seasons = (
        season_parser
        if isinstance(season_parser, SeasonParser)
        else SeasonParser(parse=season_parser)
    )
    notes = list(attention)
    healths = []
    measured = every(progress, "measuring customers", len(customers), 1000)
    for done, c in enumerate(customers, 1):
        measured(done)
        try:
            healths.append(customer_health(c, contacts.get(c.id, ()), policies, seasons, now))
        except Exception as exc:  # one customer's bad data costs that customer's line only
            notes.append(f"customer {c.name} ({c.id}) not measured: {describe_error(exc)}")
    healths.sort(key=lambda h: (h.segment, h.owner, h.customer_id))
    names = {c.id: c.name for c in customers}
    reach = unbookable(customers, policies, salespeople, now.astimezone(UTC).date())
    cannot_book = [(r.customer_id, names[r.customer_id], r.owner, r.describe()) for r in reach]
    risky = {r.customer_id for r in reach}
    owner_of = {c.id: c.owner for c in customers}
    snoozed = [
        (s.customer_id, names[s.customer_id], owner_of[s.customer_id], s.until, s.note)
        for s in sorted((snoozes or {}).values(), key=lambda s: (s.until, s.customer_id))
        if s.customer_id in names and s.until > now.astimezone(UTC).date()
    ]

    first_monday = _monday(now.astimezone(UTC).date())
    weeks = [first_monday + timedelta(weeks=i) for i in range(weeks_ahead)]
    end = first_monday + timedelta(weeks=weeks_ahead)
    timed = [p for p in planned if not p.all_day and first_monday <= p.day < end]
    segment_of = {h.customer_id: h.segment for h in healths}

    owners = sorted({*salespeople, *(c.owner for c in customers), *(p.owner for p in timed)})
    labels = {o: (salespeople[o].name if o in salespeople else "") or o for o in owners}
    groups: list[GroupStats] = []
    for name in sorted({h.segment for h in healths}):
        policy = policies.for_segment(name)
        members = [h for h in healths if h.segment == name]
        bookings = [p for p in timed if segment_of.get(p.customer_id) == name]
        max_gap = round(policy.max_gap.approx_days)
        groups.append(_group(SEGMENT, name, name, members, bookings, max_gap, risky))
    for owner in owners:
        members = [h for h in healths if h.owner == owner]
        bookings = [p for p in timed if p.owner == owner]
        groups.append(_group(SALESPERSON, owner, labels[owner], members, bookings, None, risky))
    groups.append(_group(ALL, ALL, "everyone", healths, timed, None, risky))

    load: dict[str, list[int]] = {o: [0] * weeks_ahead for o in owners}
    for p in timed:
        load[p.owner][(p.day - first_monday).days // 7] += 1
    cap = policies.capacity
    per_day = {o: _capacity(salespeople.get(o), "per_day", cap.per_day) for o in owners}
    per_week = {o: _capacity(salespeople.get(o), "per_week", cap.per_week) for o in owners}
    ahead = sorted(
        (p for p in planned if p.day >= now.astimezone(UTC).date()), key=lambda p: (p.day, p.key)
    )
    next_contact: dict[str, tuple[date, str]] = {}
    for p in ahead:
        next_contact.setdefault(p.customer_id, (p.day, p.title))
    flags = load_flags(
        load, per_week, weeks, {o: len([h for h in healths if h.owner == o]) for o in owners}
    )
    return Report(
        now,
        groups,
        healths,
        weeks,
        load,
        per_day,
        per_week,
        labels,
        notes,
        cannot_book,
        snoozed,
        next_contact,
        flags,
    )


def load_flags(
    load: Mapping[str, Sequence[int]],
    per_week: Mapping[str, int | None],
    weeks: Sequence[date],
    customers: Mapping[str, int],
) -> list[tuple[str, str, str]]:
    """Salespeople to look at: a week over their weekly capacity, or a load for the coming weeks
    at least half again the team's mean per salesperson ("over"), or at most half of it while
    they have customers ("under"). Busiest first, then the idlest."""
    totals = {o: sum(counts) for o, counts in load.items()}
    staffed = [o for o in totals if customers.get(o)]
    mean = sum(totals[o] for o in staffed) / len(staffed) if staffed else 0.0
    over: list[tuple[float, str, str]] = []
    under: list[tuple[float, str, str]] = []
    for owner in staffed:
        total, cap = totals[owner], per_week.get(owner)
        full = [
            f"W{weeks[i].isocalendar().week:02d} ({n} > {cap})"
            for i, n in enumerate(load[owner])
            if cap is not None and n > cap
        ]
        if full:
            over.append((total, owner, "over weekly capacity in " + ", ".join(full[:4])))
        elif mean and total >= 1.5 * mean:
            over.append((total, owner, f"{count(total, 'booking')} ahead, team mean {mean:.0f}"))
        elif mean and total <= 0.5 * mean:
            under.append((total, owner, f"{count(total, 'booking')} ahead, team mean {mean:.0f}"))
    return [(o, "over", why) for _, o, why in sorted(over, key=lambda t: (-t[0], t[1]))] + [
        (o, "under", why) for _, o, why in sorted(under, key=lambda t: (t[0], t[1]))
    ]


def _capacity(person: Salesperson | None, attr: str, default: int | None) -> int | None:
    own = getattr(person, attr) if person is not None else None
    return own if own is not None else default


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _group(
    kind: str,
    name: str,
    label: str,
    members: Sequence[CustomerHealth],
    bookings: Sequence[PlannedContact],
    max_gap_days: int | None,
    risky: set[str] | frozenset[str] = frozenset(),
) -> GroupStats:
    by_rhythm = Counter(h.rhythm for h in members)
    active = [h for h in members if h.rhythm in ACTIVE_RHYTHMS]
    gaps = sorted(g for h in active for g in h.gaps)
    per_day = Counter((p.owner, p.day) for p in bookings)
    return GroupStats(
        kind=kind,
        name=name,
        label=label,
        active=len(active),
        in_rhythm=by_rhythm[Rhythm.IN_RHYTHM],
        due_soon=by_rhythm[Rhythm.DUE_SOON],
        overdue=by_rhythm[Rhythm.OVERDUE],
        never_contacted=sum(1 for h in active if h.never_contacted),
        cancelled=by_rhythm[Rhythm.CANCELLED],
        do_not_contact=by_rhythm[Rhythm.DO_NOT_CONTACT],
        contact_days=sum(h.contact_days for h in active),
        busy_season_contacts=sum(h.busy_season_contacts for h in active),
        gaps=tuple(gaps),
        gap_median=float(statistics.median(gaps)) if gaps else None,
        gap_p90=percentile(gaps, 90),
        gap_max=gaps[-1] if gaps else None,
        gaps_over_max_gap=sum(h.gaps_over_max_gap for h in active),
        max_gap_days=max_gap_days,
        feast_or_famine=feast_or_famine([r for h in active for r in h.gap_ratios]),
        bookings=len(bookings),
        booking_days=len(per_day),
        bookings_per_day_max=max(per_day.values(), default=0),
        bookings_per_day_mean=statistics.fmean(per_day.values()) if per_day else None,
        at_risk=sum(1 for h in active if h.rhythm is Rhythm.OVERDUE or h.customer_id in risky),
    )


def _belongs(h: CustomerHealth, kind: str, name: str) -> bool:
    if kind == SEGMENT:
        return h.segment == name
    if kind == SALESPERSON:
        return h.owner == name
    return True
