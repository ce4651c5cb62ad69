"""``invites = true``: cadence mails a CalDAV calendar's invited customers itself (iMIP).

For servers without RFC 6638 scheduling only, through the .ics backend's outbox
(:mod:`connectors.ics.outbox`, state keys ``caldav.outbox:`` / ``caldav.mailed:``, no copy to the
owner, who sees the change in their calendar): a ``REQUEST`` queued before each PUT of an event
with customers, a ``CANCEL`` before each DELETE of one they were sent, both taken back when the
write certainly did not happen; the owner's own moves, deletes and declines are told by
:meth:`Invitations.notify`. A resource keeps the customer's text in ``DESCRIPTION``:
:func:`.ical.outbox_form` turns it into the .ics form the outbox expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from icalendar import Event

from connectors.base import BackendContext, RemoteEvent
from connectors.caldav.ical import outbox_form
from connectors.email import invite_sender
from connectors.ics.outbox import Outbox, Undo

# What the calendar holds for a uid now: cadence's event as read (None: gone or not ours) and
# the resource's iCalendar text (None: no resource).
Current = Callable[[str], tuple[RemoteEvent | None, bytes | None]]


class Invitations:
    """The invitations of one CalDAV backend; with ``invites`` off, nothing is ever mailed."""

    def __init__(
        self, config: Mapping[str, Any], context: BackendContext, stamp: Callable[[], datetime]
    ) -> None:
        self.sender = invite_sender(config, context, "calendar.caldav")
        self.outbox = Outbox(context.state, self.sender, stamp, prefix="caldav", owner_copy=False)

    @property
    def on(self) -> bool:
        """Whether cadence mails the attendees itself (``invites = true``)."""
        return self.sender is not None

    def flush(self, owner: str) -> None:
        """Send what waits for ``owner`` (held invitations stay held)."""
        if self.on:
            self.outbox.flush(owner)

    def flush_queued(self, owner: str) -> None:
        """Send what waits for ``owner``, when anything does (after a write)."""
        if self.on and self.outbox.entries(owner):
            self.outbox.flush(owner)

    def before_put(self, owner: str, uid: str, body: bytes) -> Undo | None:
        """Queue the ``REQUEST`` of the resource ``body`` about to be written, for its
        attendees; or, when it has none left but they were sent one, their ``CANCEL``."""
        if not self.on:
            return None
        event = outbox_form(body)
        invite = self.outbox.attendee_request(event, owner) if event is not None else None
        return self._queue(owner, invite or self.outbox.attendee_cancel(owner, uid))

    def before_delete(self, owner: str, uid: str) -> Undo | None:
        """Queue the ``CANCEL`` of the event ``uid`` about to be deleted, when its attendees
        were sent anything."""
        return self._queue(owner, self.outbox.attendee_cancel(owner, uid))

    def _queue(self, owner: str, invite: dict[str, Any] | None) -> Undo | None:
        """Queue ``invite`` before its write (a crash after it still sends it); None: none."""
        return self.outbox.enqueue(owner, [invite]) if invite is not None else None

    def take_back(self, owner: str, undo: Undo | None) -> None:
        """Take back what was queued for a write that certainly did not happen (a 412, a
        refusal). After a timeout or a 5xx the write may have been applied with its answer
        lost: the message stays queued, since the next cycle may find the write done and not
        repeat it (a write that was not applied is repeated, and its message replaces this
        one in the outbox)."""
        if undo is not None:
            self.outbox.undo(owner, undo)

    def notify(self, owner: str, uids: Sequence[str], current: Current) -> int:
        """Tell the attendees what the owner did to events ``uids``, judged against what they
        were last sent: an event gone, cancelled or declined by the owner gets a ``CANCEL``;
        one at another time a ``REQUEST`` with a higher ``SEQUENCE``; anything else nothing.
        ``current`` is asked only for the uids the attendees were sent something for. Returns
        how many messages were queued."""

        def now(uid: str) -> tuple[RemoteEvent | None, Callable[[], Event | None]]:
            remote, data = current(uid)
            return remote, lambda: outbox_form(data) if data is not None else None

        queued = self.outbox.tell_attendees(owner, uids, now)
        if queued:
            self.outbox.flush(owner)
        return queued

    def pending(self, owner: str) -> int:
        """How many invitations for ``owner`` wait in the outbox (held ones included)."""
        return len(self.outbox.entries(owner))

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines."""
        return self.outbox.set_aside(owner)
