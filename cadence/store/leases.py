"""Dividing the salespeople between several daemons that share one database (SPEC 10).

Every daemon renews a ``daemon:HOLDER`` lease each cycle (its heartbeat) and holds an
``owner:EMAIL`` lease for each salesperson it serves. With D live daemons each takes at most
``ceil(N / D)`` of the N salespeople: it renews the ones it has, gives back any over its share,
and takes free or expired ones up to it. A daemon that dies stops renewing; after the lease
time its salespeople are free and the others take them over.

Only the holder of a salesperson's lease writes to their calendar: the lease is renewed again
right before every write batch (:func:`renew`), so it cannot lapse during a long cycle, and a
daemon whose lease was taken over stops writing there. Every write is idempotent on a stable
uid besides.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import datetime

from cadence.store.repository import Store

DAEMON = "daemon:"
OWNER = "owner:"


def claim_share(
    store: Store, holder: str, owners: Iterable[str], now: datetime, ttl_seconds: float
) -> set[str]:
    """The salespeople ``holder`` serves this cycle (leases taken or renewed until now + ttl)."""
    everyone = sorted(set(owners))
    store.try_lease(DAEMON + holder, holder, now, ttl_seconds)
    daemons = max(1, len(store.live_leases(DAEMON, now)))
    quota = math.ceil(len(everyone) / daemons)
    held = store.live_leases(OWNER, now)
    mine = [o for o in everyone if held.get(OWNER + o) == holder]
    for owner in mine[quota:]:  # over our share since another daemon joined: give back
        store.release_lease(OWNER + owner, holder)
    share = {o for o in mine[:quota] if store.try_lease(OWNER + o, holder, now, ttl_seconds)}
    # Free ones, in an order of our own so that daemons starting together seldom collide.
    for owner in sorted(everyone, key=lambda o: hashlib.sha256((holder + o).encode()).digest()):
        if len(share) >= quota:
            break
        if owner in share or OWNER + owner in held:
            continue
        if store.try_lease(OWNER + owner, holder, now, ttl_seconds):
            share.add(owner)
    return share


def renew(store: Store, holder: str, owner: str, now: datetime, ttl_seconds: float) -> bool:
    """Before writing to ``owner``'s calendar: extend ``holder``'s lease on them (and the
    daemon's heartbeat). False when another daemon holds it now: ``holder`` must not write.

    Renewing right before each write batch keeps a lease from lapsing however long the cycle
    takes; a batch is seconds, far shorter than any lease.
    """
    store.try_lease(DAEMON + holder, holder, now, ttl_seconds)
    return store.try_lease(OWNER + owner, holder, now, ttl_seconds)


def release(store: Store, holder: str) -> None:
    """Give everything back (a clean shutdown): the others take over at their next cycle."""
    store.release_holder(holder)
