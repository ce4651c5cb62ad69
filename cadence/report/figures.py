"""The rhythm-health report (``cadence report``): how steady is every customer's contact rhythm?

:func:`build_report` is pure: customers, their contacts, the planner's output, the policies and
``now`` go in; a :class:`Report` of plain numbers comes out. :func:`render_text` turns it into
fixed-width tables for a terminal, :func:`render_html` into one self-contained page of charts.

Definitions (the legend of both renderings says the same in fewer words):

* **Contact days.** A customer's counted contacts (:func:`cadence.planner.contacts.collapse`, then
  :func:`~cadence.planner.contacts.counts` under the customer's segment policy, none later than
  ``now``) as dates in the customer's zone, plus the CSV ``last_contact`` date. Several counted
  contacts on one day are one touch: a meeting and its follow-up e-mail are not a gap of zero days.
* **Rhythm status** of an active customer, from the last contact day L (or ``customer_since``
  when there is none): *in rhythm* while today <= L + ``every``; *due soon* while today <= L +
  ``max_gap``; *overdue* after that. A customer never contacted and without ``customer_since``
  is *due soon*: the planner books them as soon as possible. *Never contacted* counts active
  customers without any contact day; they are in one of the three statuses too. Cancelled and
  do-not-contact customers are counted apart and take no part in the other figures.
* **Gaps** are the days between consecutive contact days of one customer, both inside the last
  :data:`GAP_WINDOW_DAYS` days (customer-local). The open stretch from the last contact to now is
  not a gap (the status covers it). Median and 90th percentile interpolate linearly between
  ranks (:func:`statistics.quantiles`, ``method="inclusive"``); ``>max_gap`` counts gaps longer
  than the customer's ``max_gap``.
* **Feast-or-famine score**: the coefficient of variation (population stdev / mean) of the gaps,
  each divided by its customer's ``every`` first. Within one segment that is exactly the CV of the
  gaps in days; across segments (a salesperson, everyone) it keeps a 4-week customer and a
  quarterly one, both perfectly on rhythm, from looking like feast and famine.
* **Busy-season contacts**: contact days in the gap window that fell in the customer's busy
  seasons (its industry's plus its own, customer-local dates).
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from cadence.inputs.policy import PolicySet, SegmentPolicy
from cadence.planner.contacts import collapse, counts
from cadence.planner.overlap import unbookable
from cadence.values.errors import describe_error
from cadence.values.model import (
    Contact,
    Customer,
    CustomerStatus,
    PlannedContact,
    Salesperson,
    Snooze,
    require_aware,
)
from cadence.values.progress import Tick, every
from cadence.values.seasons import Season, SeasonSet, parse_season
from cadence.values.text import count

GAP_WINDOW_DAYS = 365
SEGMENT, SALESPERSON, ALL = "segment", "salesperson", "all"
KINDS = (SEGMENT, SALESPERSON, ALL)


class Rhythm(StrEnum):
    """Where one customer stands in their rhythm today."""

    IN_RHYTHM = "in_rhythm"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"
    DO_NOT_CONTACT = "do_not_contact"


ACTIVE_RHYTHMS = (Rhythm.IN_RHYTHM, Rhythm.DUE_SOON, Rhythm.OVERDUE)


@dataclass(frozen=True, slots=True)
class CustomerHealth:
    """One customer's rhythm: status, last contact and the gaps of the last year.

    ``due_on`` is L + ``every`` and ``overdue_after`` L + ``max_gap`` (L = last contact day, or
    ``customer_since`` when never contacted); both None when neither is known or the customer is
    not active. ``gap_ratios`` are the gaps divided by the segment's ``every`` in days.
    """

    customer_id: str
    name: str
    owner: str
    segment: str
    rhythm: Rhythm
    last_contact: date | None
    never_contacted: bool
    due_on: date | None
    overdue_after: date | None
    days_since: int | None  # days from the last contact day to today (customer-local)
    contact_days: int  # contact days inside the gap window
    gaps: tuple[int, ...]
    gap_ratios: tuple[float, ...]
    gaps_over_max_gap: int
    busy_season_contacts: int


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
    seasons = _SeasonCache(policies, season_parser)
    notes = list(attention)
    healths = []
    measured = every(progress, "measuring customers", len(customers), 1000)
    for done, c in enumerate(customers, 1):
        measured(done)
        try:
            healths.append(_customer_health(c, contacts.get(c.id, ()), policies, seasons, now))
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


class _SeasonCache:
    """Each customer's busy seasons, parsed once per text and shared between customers."""

    def __init__(self, policies: PolicySet, parser: Callable[[str], Season]) -> None:
        self.policies = policies
        self.parser = parser
        self.parsed: dict[str, Season] = {}
        self.sets: dict[tuple[Season, ...], SeasonSet] = {}

    def of(self, customer: Customer) -> SeasonSet:
        own = tuple(self._parse(text) for text in customer.busy_seasons)
        seasons = self.policies.industry_seasons(customer.industry) + own
        found = self.sets.get(seasons)
        if found is None:
            found = self.sets[seasons] = SeasonSet(seasons)
        return found

    def _parse(self, text: str) -> Season:
        season = self.parsed.get(text)
        if season is None:
            season = self.parsed[text] = self.parser(text)
        return season


def _segment_name(customer: Customer, policies: PolicySet) -> str:
    """The segment whose policy applies: unknown or empty segments fall back to ``default``."""
    return customer.segment if customer.segment in policies.segments else "default"


def _contact_days(
    customer: Customer,
    contacts: Iterable[Contact],
    policy: SegmentPolicy,
    zone: ZoneInfo,
    now: datetime,
) -> list[date]:
    today = now.astimezone(zone).date()
    days = {
        c.at.astimezone(zone).date()
        for c in collapse(contacts)
        if counts(c, policy.counts) and c.at <= now
    }
    if customer.last_contact is not None and customer.last_contact <= today:
        days.add(customer.last_contact)
    return sorted(days)


def _customer_health(
    customer: Customer,
    contacts: Iterable[Contact],
    policies: PolicySet,
    seasons: _SeasonCache,
    now: datetime,
) -> CustomerHealth:
    policy = policies.for_customer(customer)
    zone = ZoneInfo(customer.timezone or policy.timezone or "UTC")
    today = now.astimezone(zone).date()
    days = _contact_days(customer, contacts, policy, zone, now)
    last = days[-1] if days else None
    anchor = last or customer.customer_since
    due_on = overdue_after = None
    window: list[date] = []
    if customer.status is CustomerStatus.CANCELLED:
        rhythm = Rhythm.CANCELLED
    elif customer.status is CustomerStatus.DO_NOT_CONTACT:
        rhythm = Rhythm.DO_NOT_CONTACT
    else:
        # Only active customers are rhythm material: their status, gaps and seasons count.
        window = [d for d in days if d >= today - timedelta(days=GAP_WINDOW_DAYS)]
        if anchor is None:
            rhythm = Rhythm.DUE_SOON  # never contacted, no start date: due as soon as possible
        else:
            due_on = policy.every.add_to(anchor)
            overdue_after = policy.max_gap.add_to(anchor)
            rhythm = (
                Rhythm.IN_RHYTHM
                if today <= due_on
                else Rhythm.DUE_SOON
                if today <= overdue_after
                else Rhythm.OVERDUE
            )
    gaps = tuple((b - a).days for a, b in pairwise(window))
    season_set = seasons.of(customer)
    return CustomerHealth(
        customer_id=customer.id,
        name=customer.name,
        owner=customer.owner,
        segment=_segment_name(customer, policies),
        rhythm=rhythm,
        last_contact=last,
        never_contacted=last is None,
        due_on=due_on,
        overdue_after=overdue_after,
        days_since=(today - last).days if last else None,
        contact_days=len(window),
        gaps=gaps,
        gap_ratios=tuple(g / policy.every.approx_days for g in gaps),
        gaps_over_max_gap=sum(1 for a, b in pairwise(window) if b > policy.max_gap.add_to(a)),
        busy_season_contacts=sum(1 for d in window if season_set.season_on(d) is not None),
    )


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


# ---- shared by the text and the HTML renderings ---------------------------------------------

OVERDUE_LISTED = 20
SALESPEOPLE_LISTED = 25  # rows of a salesperson table before "... and N more" (riskiest first)


def format_number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def _cv_text(g: GroupStats) -> str:
    return "-" if g.feast_or_famine is None else f"{g.feast_or_famine:.2f}"


Column = tuple[str, Callable[[GroupStats], str]]
STATUS_COLUMNS: list[Column] = [
    ("active", lambda g: str(g.active)),
    ("in rhythm", lambda g: str(g.in_rhythm)),
    ("due soon", lambda g: str(g.due_soon)),
    ("overdue", lambda g: str(g.overdue)),
    ("at risk", lambda g: str(g.at_risk)),
    ("never", lambda g: str(g.never_contacted)),
    ("cancelled", lambda g: str(g.cancelled)),
    ("do not contact", lambda g: str(g.do_not_contact)),
]
GAP_COLUMNS: list[Column] = [
    ("contacts", lambda g: str(g.contact_days)),
    ("in season", lambda g: str(g.busy_season_contacts)),
    ("gaps", lambda g: str(len(g.gaps))),
    ("median", lambda g: format_number(g.gap_median)),
    ("p90", lambda g: format_number(g.gap_p90)),
    ("max", lambda g: format_number(g.gap_max)),
    (">max_gap", lambda g: str(g.gaps_over_max_gap)),
    ("max_gap", lambda g: format_number(g.max_gap_days)),
    ("feast/famine", _cv_text),
]
BOOKING_COLUMNS: list[Column] = [
    ("bookings", lambda g: str(g.bookings)),
    ("days booked", lambda g: str(g.booking_days)),
    ("max/day", lambda g: str(g.bookings_per_day_max) if g.booking_days else "-"),
    ("mean/day", lambda g: format_number(g.bookings_per_day_mean, 2)),
]


def by_risk(groups: Sequence[GroupStats]) -> list[GroupStats]:
    """Salespeople with the most customers at risk first (then most overdue, then by name)."""
    return sorted(groups, key=lambda g: (-g.at_risk, -g.overdue, g.label))


def most_overdue(report: Report) -> list[CustomerHealth]:
    overdue = [h for h in report.customers if h.rhythm is Rhythm.OVERDUE]
    return sorted(overdue, key=lambda h: (h.overdue_after or date.min, h.customer_id))
