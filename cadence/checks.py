"""Checks across inputs that are each valid alone: customers against policies and cadence.toml.

Used by ``cadence check`` after the config, the policies and the customers have been read. A
segment nobody defined or an owner nobody listed still plans (with the defaults), so those are
warnings; a customer time zone that does not exist cannot be planned, so that is an error.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Sequence

from cadence.config import Config
from cadence.daycal import is_known_country
from cadence.errors import Problem
from cadence.model import Customer
from cadence.policy import PolicySet

DEFAULT_SEGMENT = "default"


def check_customers(
    customers: Sequence[Customer], policies: PolicySet, config: Config
) -> list[Problem]:
    """Problems that only show when customers meet the policies and the salespeople.

    Warnings: a segment used by customers but not defined (they get the default policy), an
    owner who is not a ``[[salesperson]]`` (default hours, days and zone), a country code the
    holidays package does not know (no public holidays). Errors: an unknown customer time zone.
    Problems are named after the customer file when cadence.toml names one.
    """
    file = str(config.customers) if config.customers else ""
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

    listed = {s.email.lower() for s in config.salespeople}
    owners = Counter(c.owner.lower() for c in customers)
    for owner, count in sorted(owners.items()):
        if owner not in listed:
            problems.append(
                Problem(
                    file=file,
                    key="owner",
                    message=f"{owner} owns {_customers(count)} but is not a [[salesperson]] in "
                    f"{config.path.name}; default working hours, days and time zone apply",
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

    for customer in customers:
        if customer.timezone and not _zone_exists(customer.timezone):
            problems.append(
                Problem(
                    file=file,
                    key="timezone",
                    message=f"customer {customer.id} ({customer.name}): unknown time zone "
                    f"{customer.timezone!r}",
                )
            )
    return problems


def _customers(count: int) -> str:
    return f"{count} customer{'s' if count != 1 else ''}"


def _zone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
