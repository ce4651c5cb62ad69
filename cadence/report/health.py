"""One customer's rhythm health (:class:`CustomerHealth`): where they stand in their rhythm
today and the gaps between their contact days over the last year. This is the per-customer part
of ``cadence report``; :mod:`cadence.report.figures` adds customers up into groups.

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
* **Busy-season contacts**: contact days in the gap window that fell in the customer's busy
  seasons (its industry's plus its own, customer-local dates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from cadence.inputs.policy import PolicySet, SegmentPolicy
from cadence.planner.contacts import collapse, counts
from cadence.values.model import Contact, Customer, CustomerStatus
from cadence.values.seasons import SeasonParser

GAP_WINDOW_DAYS = 365


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


def segment_name(customer: Customer, policies: PolicySet) -> str:
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


def customer_health(
    customer: Customer,
    contacts: Iterable[Contact],
    policies: PolicySet,
    seasons: SeasonParser,
    now: datetime,
) -> CustomerHealth:
    """Measure one customer at ``now``; its busy seasons (its industry's and its own) are read
    by ``seasons``. Raises whatever its data cannot give (a season that cannot be read)."""
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
    industry = policies.industry_seasons(customer.industry)
    season_set = seasons.season_set(seasons.of_customer(customer, industry))
    return CustomerHealth(
        customer_id=customer.id,
        name=customer.name,
        owner=customer.owner,
        segment=segment_name(customer, policies),
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
