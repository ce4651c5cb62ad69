"""``cadence check``: the customers against the policies and the salespeople (each valid
alone): segments nobody defined, owners nobody listed, unknown countries and zones, seasons
that leave no free day, a customer's own rhythm out of order, and hours that never meet their
owner's."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from cadence.inputs.config import Config
from cadence.inputs.policy import PolicySet, rhythm_problem
from cadence.planner.overlap import unbookable
from cadence.values.daycal import is_known_country, subdivision_warning
from cadence.values.errors import Problem
from cadence.values.model import Customer
from cadence.values.seasons import SeasonParser, free_day_problem
from cadence.values.zones import is_zone

DEFAULT_SEGMENT = "default"


def check_customers(
    customers: Sequence[Customer],
    policies: PolicySet,
    config: Config,
    seasons: SeasonParser | None = None,
) -> list[Problem]:
    """Problems that only show when customers meet the policies and the salespeople.

    Warnings: a segment used by customers but not defined (they get the default policy), an
    owner who is not a ``[[salesperson]]`` (default hours, days and zone), a country code the
    holidays package does not know (no public holidays). Errors: an unknown customer time zone.
    Problems are named after the customer file when cadence.toml names one. ``seasons``
    reads the customers' busy seasons (by default one parser for this check).
    """
    file = str(config.customers) if config.customers else ""
    seasons = seasons or SeasonParser(config.date_reader())
    problems: list[Problem] = []

    segments = Counter(c.segment for c in customers if c.segment)
    for name, count in sorted(segments.items()):
        if name != DEFAULT_SEGMENT and name not in policies.segments:
            problems.append(
                Problem(
                    file=file,
                    key="segment",
                    message=f"segment {name!r} is used by {_customers(count)} but not defined "
                    "in the policies; they get the default policy",
                    severity="warning",
                )
            )

    listed = sorted(s.email.lower() for s in config.salespeople)
    owners = Counter(c.owner.lower() for c in customers)
    for owner, count in sorted(owners.items()):
        if owner not in listed:
            close = _near_miss(owner, listed)
            hint = f"did you mean {close}? " if close else ""
            problems.append(
                Problem(
                    file=file,
                    key="owner",
                    message=f"{owner} owns {_customers(count)} but is not a [[salesperson]] in "
                    f"{config.path.name}; {hint}default working hours, days and time zone "
                    "apply, in a calendar of its own",
                    severity="warning",
                )
            )

    countries = Counter(c.country.upper() for c in customers if c.country)
    for code, count in sorted(countries.items()):
        if not is_known_country(code):
            problems.append(
                Problem(
                    file=file,
                    key="country",
                    message=f"country code {code!r} of {_customers(count)} is unknown to the "
                    "holidays package; no public holidays apply on their side",
                    severity="warning",
                )
            )
        elif warning := subdivision_warning(code):
            problems.append(
                Problem(
                    file=file,
                    key="country",
                    message=f"country {code!r} of {_customers(count)}: {warning}",
                    severity="warning",
                )
            )

    for customer in customers:
        # A text the file reader rejected rejected its row: what is left of it is checked here.
        theirs = seasons.of_customer(
            customer, policies.industry_seasons(customer.industry), skip_unreadable=True
        )
        problem = free_day_problem(theirs) if theirs else None
        if problem:
            problems.append(
                Problem(
                    file=file,
                    key=customer.id,
                    message=f"busy_seasons: {problem} (with the seasons of industry "
                    f"{customer.industry!r})"
                    if customer.industry and policies.industry_seasons(customer.industry)
                    else f"busy_seasons: {problem}",
                )
            )
        if customer.timezone and not is_zone(customer.timezone):
            problems.append(
                Problem(
                    file=file,
                    key="timezone",
                    message=f"customer {customer.id} ({customer.name}): unknown time zone "
                    f"{customer.timezone!r}",
                )
            )
        own = (customer.every, customer.min_gap, customer.max_gap)
        if any(own) and (problem := rhythm_problem(policies.for_customer(customer))):
            problems.append(
                Problem(
                    file=file,
                    key=customer.id,
                    message=f"customer {customer.name!r}: its own every/min_gap/max_gap with "
                    f"segment {customer.segment!r}: {problem}; run would skip this customer",
                )
            )
    return problems


def _near_miss(address: str, listed: Sequence[str]) -> str | None:
    """The listed address ``address`` is most likely a typo of: the same name at a domain one
    slip away (``ben@exmaple.com``), or a name one slip away at the same domain."""
    name, _, domain = address.partition("@")
    best: tuple[float, str] | None = None
    for candidate in listed:
        other_name, _, other_domain = candidate.partition("@")
        if name == other_name:
            score = difflib.SequenceMatcher(None, domain, other_domain).ratio()
        elif domain == other_domain:
            score = difflib.SequenceMatcher(None, name, other_name).ratio()
        else:
            continue
        if score >= 0.8 and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


def _customers(count: int) -> str:
    return f"{count} customer{'s' if count != 1 else ''}"


def check_hours_meet(
    customers: Sequence[Customer], policies: PolicySet, config: Config, now: datetime
) -> list[Problem]:
    """A warning for each customer whose hours never meet their owner's working hours, or
    not for part of the coming year (daylight saving time), naming the customer and the fix:
    nothing can be booked for them then (:mod:`cadence.planner.overlap`)."""
    file = str(config.customers or "")
    people = {p.email: p for p in config.salespeople}
    by_id = {c.id: c for c in customers}
    return [
        Problem(
            file=file,
            key=reach.customer_id,
            message=f"customer {by_id[reach.customer_id].name!r} {reach.describe()}",
            severity="warning",
        )
        for reach in unbookable(customers, policies, people, now.date())
    ]
