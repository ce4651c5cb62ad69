"""Several daemons on one database (``[daemon] lease_seconds``): each cycle serves this
daemon's share of salespeople, and the salesperson's lease is renewed before each write to
their calendar (:mod:`cadence.store.leases`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from cadence.store.leases import claim_share, renew
from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import require_aware

log = logging.getLogger("cadence.daemon")


def lease_seconds(configured: float | None, last_cycle_seconds: float) -> float | None:
    """How long a lease taken now lasts: ``configured``, or twice the last cycle's duration
    when cycles take longer, so that a slow cycle's leases do not lapse between renewals.
    None: this daemon is alone on its database."""
    if not configured:
        return None
    return max(configured, 2 * last_cycle_seconds)


def run_shared_cycle(
    workspace: Workspace,
    holder: str,
    now: datetime,
    ttl: float,
    stop: Callable[[], bool],
    clock: Callable[[], datetime],
) -> CycleResult:
    """The cycle of ``holder``'s share of salespeople (claimed for ``ttl`` seconds), importing
    the customer file only when it holds that task's lease. A lease another daemon took since
    stops this daemon's writes to that calendar."""
    store = workspace.store
    share = claim_share(store, holder, workspace.owners(), now, ttl)
    importer = store.try_lease("task:import", holder, now, ttl)
    log.info("serving %d salespeople as %s", len(share), holder)

    def keep(owner: str) -> bool:
        moment = require_aware(clock(), "daemon clock")
        return renew(store, holder, owner, moment, ttl)

    return workspace.run_cycle(now, stop=stop, share=share, import_customers=importer, keep=keep)
