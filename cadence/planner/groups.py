"""The customers in groups of whole salespeople, planned one group after another.

Salespeople share neither time nor capacity (the same reason a large book can be split across
processes): the engine starts a group's customers, levels and places them to the end, and lets
go of what the group needed before it starts the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cadence.planner.timegrid import sort_minute
from cadence.values.model import Customer, PlannedContact

GROUP_SIZE = 2_000  # customers started at once, in whole salespeople (owner_groups)


def owner_groups(customers: Sequence[Customer], size: int) -> Iterator[list[Customer]]:
    """The customers in groups of whole salespeople's books: the owners in order (the plan's
    order), each owner's customers in id order, each group at least ``size`` customers but
    the last.

    Salespeople share neither time nor capacity (the same reason a large book can be split
    across processes), so a group is planned to its end before the next one is started: a plan
    holds the tracks, states and queued needs of one group at a time, not of every customer
    (at a million customers, a million generators and their needs: about 2 GB).
    """
    by_owner: dict[str, list[Customer]] = {}
    for customer in sorted(customers, key=lambda c: c.id):
        by_owner.setdefault(customer.owner, []).append(customer)
    group: list[Customer] = []
    for owner in sorted(by_owner):
        group += by_owner[owner]
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def plan_order(c: PlannedContact) -> tuple[str, int, str]:
    """The plan's order of contacts: by owner, start, key."""
    return c.owner, sort_minute(c.start), c.key
