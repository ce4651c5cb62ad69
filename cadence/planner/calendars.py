"""The calendars the planner places contacts in: one :class:`Agenda` per salesperson and one
:class:`CustomerDays` per distinct customer-side calendar, built on first use and shared.

Customers that share a zone, country, weekend, seasons and hours share one
:class:`CustomerDays` (and its caches), and every distinct busy-season text is parsed once, so
that a large book costs one calendar per kind of customer rather than one per customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cadence.inputs.policy import SegmentPolicy
from cadence.planner.agenda import Agenda
from cadence.planner.api import PlanInput
from cadence.planner.customer_days import CustomerDays, LocalHours
from cadence.values.daycal import DEFAULT_WEEKEND, weekend_of
from cadence.values.errors import ValueParseError
from cadence.values.model import Customer, Salesperson
from cadence.values.seasons import Season, SeasonSet, free_day_problem
from cadence.values.workweek import WorkingHours


class OwnerDays(NamedTuple):
    """What every customer of one salesperson starts from alike (:meth:`Calendars.owner_days`):
    the days are in the salesperson's zone."""

    agenda: Agenda
    named: bool  # whether cadence.toml names them (else the policy defaults apply)
    today: date
    first_day: date  # the first plannable day
    horizon_day: date
    end_day: date  # the end of the planning range (the horizon, or the forecast beyond it)


class Calendars:
    """The salespeople's agendas and the customers' day rules of one plan."""

    def __init__(self, inp: PlanInput) -> None:
        self.inp = inp
        self.agendas: dict[str, Agenda] = {}
        self.seasons: dict[str, Season] = {}
        # The customer-side calendars by the customer's and policy's own fields: most
        # customers repeat them.
        self.days_of: dict[tuple, CustomerDays] = {}
        self.owners: dict[str, OwnerDays] = {}

    def agenda(self, email: str) -> Agenda:
        """The agenda of salesperson ``email`` (the policy defaults for one not configured)."""
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

    def owner_days(self, email: str) -> OwnerDays:
        """What every customer of salesperson ``email`` starts from alike, worked out once:
        their agenda, whether cadence.toml names them, and in their zone today, the first
        plannable day, the horizon day and the end of the planning range."""
        found = self.owners.get(email)
        if found is None:
            agenda = self.agenda(email)
            today = self.inp.now.astimezone(agenda.zone).date()
            horizon_days = self.inp.horizon_days
            found = self.owners[email] = OwnerDays(
                agenda,
                email in self.inp.salespeople,
                today,
                today + timedelta(days=1),
                today + timedelta(days=horizon_days),
                today + timedelta(days=max(horizon_days, self.inp.forecast_days)),
            )
        return found

    def customer_days(self, customer: Customer, policy: SegmentPolicy) -> CustomerDays:
        """The customer's side of every day: their zone, weekend, holidays, seasons, hours."""
        hours = policy.customer_hours
        # The hours as two integers: a WorkingHours hashes in Python, once per customer.
        fields = (
            customer.timezone,
            customer.country,
            customer.industry,
            customer.busy_seasons,
            policy.timezone,
            hours.start_minute if hours is not None else -1,
            hours.end_minute if hours is not None else -1,
        )
        days = self.days_of.get(fields)
        if days is None:
            days = self.days_of[fields] = self._customer_days(customer, policy)
        return days

    def _customer_days(self, customer: Customer, policy: SegmentPolicy) -> CustomerDays:
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
        return shared_days(zone_name, country, weekend, seasons, policy.customer_hours)

    def season_set(self, seasons: tuple[Season, ...]) -> SeasonSet:
        """One shared :class:`SeasonSet` (and its day cache) per distinct tuple of seasons."""
        return season_set(seasons)

    def season(self, text: str) -> Season:
        """The busy season or closure ``text``, parsed once per plan."""
        season = self.seasons.get(text)
        if season is None:
            season = self.seasons[text] = self.inp.season_parser(text)
        return season

    def let_go(self, emails: Iterable[str]) -> None:
        """Forget the agendas of ``emails``, whose customers are all planned: a plan then holds
        the agendas of one group of salespeople at a time (at 50k customers and 250
        salespeople, the plan's peak above its input went from 134 to 116 MB)."""
        for email in emails:
            self.agendas.pop(email, None)
            self.owners.pop(email, None)


# The customer-side calendars are values of their key alone (zone, country, weekend, seasons,
# hours), and so are their caches: they are shared by every plan made until plan() returns
# (split.PLAN_CACHES empties them), so that the settling re-plans of a plan find them warm.


@cache
def shared_days(
    zone_name: str,
    country: str,
    weekend: frozenset[int],
    seasons: tuple[Season, ...],
    hours: WorkingHours | None,
) -> CustomerDays:
    """The one :class:`CustomerDays` of a zone, country, weekend, seasons and hours."""
    problem = free_day_problem(seasons)
    if problem:
        raise ValueParseError(problem)
    local = local_hours(zone_name, hours)
    return CustomerDays(local.zone, country, weekend, season_set(seasons), hours, local)


@cache
def local_hours(zone_name: str, hours: WorkingHours | None) -> LocalHours:
    """The one :class:`LocalHours` of a zone and customer hours."""
    return LocalHours(_zone(zone_name), hours)


@cache
def season_set(seasons: tuple[Season, ...]) -> SeasonSet:
    """The one :class:`SeasonSet` (and its day cache) of a tuple of seasons."""
    return SeasonSet(seasons)


def _zone(name: str) -> ZoneInfo:
    """The customer's zone; a clear error for a name that is no zone (``America``, a path)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise ValueParseError(f"time zone {shown!r} is not an IANA zone name") from None
