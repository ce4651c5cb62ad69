"""Reading ahead: everyone's first read request at once, before salespeople are read one by one.

The cycle reads each salesperson's calendar and mail on its own (:func:`cadence.sync.calendars.
read_owned`, :func:`cadence.sync.contacts.read_contacts`). A backend whose provider takes
requests for many calendars in one HTTP request (Google's batch endpoint, Graph's ``$batch``)
is first told which reads come next (:meth:`connectors.base.CalendarBackend.read_ahead`,
:meth:`connectors.base.MailSource.read_ahead`), sends their first requests together, and each
read then takes its answer instead of asking: the number of requests falls from a few per
salesperson to a few per team, and nothing else changes (states, retries, errors are each
read's own). Salespeople whose calls are backing off are left out: nothing is asked of them
before their time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from cadence.sync.contacts import FIRST_LOOKBACK
from cadence.values.errors import describe_error
from cadence.values.model import Customer, Salesperson

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

log = logging.getLogger("cadence")


def read_ahead(
    ws: Workspace,
    now: datetime,
    owners: Sequence[str],
    people: Mapping[str, Salesperson],
    mine: Mapping[str, Sequence[Customer]],
) -> None:
    """Let each calendar backend, then each mail source, send the first requests of the reads
    the cycle makes next for ``owners`` (their mail only for those with customers, ``mine``).
    Best effort: a failure here is logged at debug level and the reads ask for themselves."""
    groups: dict[str, list[str]] = {}
    for owner in owners:
        name = ws.backend_name(people[owner])
        if not ws.calls.backing_off(name, owner, "list_owned", now):
            groups.setdefault(name, []).append(owner)
    readers = [owner for group in groups.values() for owner in group if owner in mine]
    with ws.calls.at(now):
        try:
            for name, group in groups.items():
                ws.backend(name).read_ahead(group, now - FIRST_LOOKBACK, now)
            for source_name, source in ws.mail_sources().items():
                name = f"mail.{source_name}"
                ready = [o for o in readers if not ws.calls.backing_off(name, o, "messages", now)]
                source.read_ahead(ready, now - FIRST_LOOKBACK)
        except Exception as exc:  # a backend's bug must not stop the reads themselves
            log.debug("reading ahead failed: %s", describe_error(exc), exc_info=True)
