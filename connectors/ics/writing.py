"""Writing one owner's file: a batch of operations applied to the file as it is, checked and
put in its place in one atomic replacement (:meth:`IcsBackend.write`).

A calendar application does not take cadence's lock: when the file changes between reading it
and replacing it, the batch starts over on the new version, so a person's edit is never
overwritten (after a few such races: :class:`TransientError`). This module, and icalendar
with it, is imported by the first write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from connectors.base import BackendError, TransientError, WriteOp, WriteResult
from connectors.common.validation import owner_zone
from connectors.ics import parse
from connectors.ics.apply import Batch
from connectors.ics.build import new_calendar
from connectors.ics.draft import Draft, checked_timezones, refresh_timezones
from connectors.ics.files import fingerprint, locked, replace_file
from connectors.ics.serial import serialise
from connectors.ics.written import as_read, as_written

if TYPE_CHECKING:
    from connectors.ics.backend import IcsBackend

log = logging.getLogger(__name__)

_ATTEMPTS = 3


def write_file(
    backend: IcsBackend, owner: str, ops: Sequence[WriteOp]
) -> tuple[list[WriteResult], list[dict[str, Any]]]:
    """Apply ``ops`` to ``owner``'s file in one atomic replacement: one result per op, and the
    invitations queued in the outbox with it (to be sent once the file is in place)."""
    path = backend.path_for(owner)
    name = backend.owner_name(owner)
    for _attempt in range(_ATTEMPTS):
        with locked(path):
            seen = fingerprint(path)
            loaded = parse.load(path)
            cal = loaded.cal if loaded else new_calendar(owner, name)
            problems = loaded.problems if loaded else {}
            draft = Draft.of(cal)
            zone = owner_zone(backend.context, owner)
            batch = Batch(
                draft, problems, owner, zone, name, backend.stamp(), backend.context.state,
                backend.outbox,
            )  # fmt: skip
            results, invites, changed = batch.apply_all(ops)
            if not changed:
                return results, invites
            refresh_timezones(draft)
            written = serialise(draft)
            data = written.data
            # Never write what cannot read back. The events built here are left out of the
            # check: they read back as their bytes (build_event's round trip); so are the
            # VTIMEZONEs cadence generated, each checked once per process.
            left_out = [*batch.built.values(), *checked_timezones(written.parts)]
            after = parse.check_round_trip(loaded, written.without(left_out), path)
            if fingerprint(path) != seen:
                log.info("%s changed while cadence was writing it; starting over", path)
                continue
            undo = backend.outbox.enqueue(owner, invites) if invites else None
            try:
                replace_file(path, data)
            except BackendError:
                if undo is not None:
                    backend.outbox.undo(owner, undo)
                raise
            # What the next read finds in the new file, kept so that it parses nothing.
            backend.files.forget(path)
            found = as_read(after, written, left_out, owner, zone)
            backend.known.remember(owner, path, zone, data, found)
            return as_written(results, batch.built, batch.fresh, written), invites
    raise TransientError(f"{path}: kept changing while cadence tried to write it")
