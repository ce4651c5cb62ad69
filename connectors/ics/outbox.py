"""The invitation outbox: iMIP invitations waiting to be e-mailed, kept in the state store.

With ``invites = true`` every change to a calendar file is also e-mailed to the owner (and the
attendees) as an iMIP invitation (:mod:`connectors.email`). Invitations go through an outbox
kept in the backend's :class:`StateStore`: the calendar write succeeds even when the mail
server is down, and pending invitations are retried on the next write or read. One invitation
that fails on its own (rejected for good, or impossible to build) is set aside with a backoff
and never holds up the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from connectors.base import SET_ASIDE_LOG, AuthError, BackendError, StateStore, TransientError
from connectors.email import SmtpSender, build_invite, invite_calendar
from connectors.ics.events import addresses

log = logging.getLogger(__name__)

INVITE_RETRY_FIRST = timedelta(minutes=1)  # an invitation set aside waits this, doubling...
INVITE_RETRY_MAX = timedelta(days=1)  # ...up to this


class Outbox:
    """Each owner's pending invitations, oldest first, as JSON under :func:`outbox_key`.

    An entry holds ``uid``, ``method``, ``sequence``, ``recipients`` and the ``ical`` text; one
    set aside also ``attempts``, ``last_error`` and ``next_attempt``. Without a ``sender``
    (invitations off) nothing is queued or sent.
    """

    def __init__(
        self, state: StateStore, sender: SmtpSender | None, now: Callable[[], datetime]
    ) -> None:
        """``now``: the current time, aware UTC without microseconds."""
        self.state = state
        self.sender = sender
        self.now = now

    def entries(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s entries, in order; an unreadable outbox is logged and starts anew."""
        raw = self.state.get(outbox_key(owner))
        if not raw:
            return []
        try:
            entries = json.loads(raw)
        except ValueError:
            log.error("invite outbox of %s is unreadable; starting a new one", owner)
            return []
        if not isinstance(entries, list):
            return []
        good = [e for e in entries if isinstance(e, dict) and isinstance(e.get("uid"), str)]
        if len(good) != len(entries):
            log.error("invite outbox of %s: %d entries without a uid dropped",
                      owner, len(entries) - len(good))  # fmt: skip
        return good

    def save(self, owner: str, entries: list[dict[str, Any]]) -> None:
        """Make ``entries`` ``owner``'s whole outbox (none: the key is removed)."""
        self.state.set(outbox_key(owner), json.dumps(entries) if entries else None)

    def enqueue(self, owner: str, invites: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``invites`` to the outbox (a newer one replaces an older one for the same uid)
        and return the outbox as it was before.
        """
        before = self.entries(owner)
        if invites:
            fresh = {i["uid"] for i in invites}
            self.save(owner, [e for e in before if e["uid"] not in fresh] + invites)
        return before

    def invitation(self, event: icalendar.Event, owner: str, method: str) -> dict[str, Any] | None:
        """The outbox entry inviting to ``event`` (``REQUEST``) or cancelling it (``CANCEL``);
        None when invitations are off.
        """
        if self.sender is None:
            return None
        invite = invite_calendar(event, method)
        if method == "CANCEL":
            [copy] = invite.events
            sequence = int(copy.get("SEQUENCE", 0)) + 1
            copy.pop("SEQUENCE", None)
            copy.add("sequence", sequence)
        recipients = [owner.lower(), *sorted(set(addresses(event)) - {owner.lower()})]
        return {
            "uid": str(event["UID"]),
            "method": method,
            "sequence": int(invite.events[0].get("SEQUENCE", 0)),
            "recipients": recipients,
            "ical": invite.to_ical().decode("utf-8"),
        }

    def held(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s invitations set aside after a failure of their own, for the report:
        ``uid``, ``method``, ``attempts``, ``last_error`` and ``next_attempt`` (aware UTC
        datetime), in outbox order.
        """
        return [
            {
                "uid": entry.get("uid"),
                "method": entry.get("method"),
                "attempts": int(entry["attempts"]),
                "last_error": entry.get("last_error", ""),
                "next_attempt": next_attempt(entry),
            }
            for entry in self.entries(owner)
            if entry.get("attempts")
        ]

    def flush(self, owner: str) -> int:
        """Send ``owner``'s pending invitations, oldest first; returns how many still wait.

        A transient failure or a refused login stops the flush (the server is down or the
        password is wrong: the rest wait for the next try). Any other failure of one entry (a
        message the server rejects, one that cannot even be built) sets that entry aside: it
        stays in the outbox with ``attempts``, ``last_error`` and ``next_attempt`` (backoff
        from one minute, doubling, to a day), is logged once as an error, and is skipped until
        then; the entries after it are still sent, in order. A newer invitation for the same
        uid replaces it (see :meth:`enqueue`).
        """
        if self.sender is None:
            return 0
        entries = self.entries(owner)
        now = self.now()
        kept: list[dict[str, Any]] = []
        for index, entry in enumerate(entries):
            if next_attempt(entry) > now:
                kept.append(entry)
                continue
            try:
                self._send(entry)
            except (TransientError, AuthError) as exc:
                log.warning("invite %s %s for %s not sent yet: %s",
                            entry.get("method"), entry.get("uid"), owner, exc)  # fmt: skip
                kept.extend(entries[index:])
                self.save(owner, kept)
                return len(kept)
            except Exception as exc:  # this entry's own trouble: it must not block the others
                kept.append(self._hold(owner, entry, exc, now))
            else:
                if entry.get("attempts"):
                    log.info("invite %s %s for %s sent after %s failed attempts",
                             entry.get("method"), entry.get("uid"), owner,
                             entry["attempts"])  # fmt: skip
                sent_to = ", ".join(entry.get("recipients", []))
                log.info("invite %s %s (sequence %s) sent to %s",
                         entry.get("method"), entry.get("uid"), entry.get("sequence"),
                         sent_to)  # fmt: skip
        self.save(owner, kept)
        return len(kept)

    def _hold(
        self, owner: str, entry: dict[str, Any], exc: Exception, now: datetime
    ) -> dict[str, Any]:
        """``entry`` set aside after ``exc``: one more attempt, and the time of the next."""
        attempts = int(entry.get("attempts") or 0) + 1
        delay = min(INVITE_RETRY_FIRST * 2 ** (attempts - 1), INVITE_RETRY_MAX)
        cause = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
        held = {
            **entry,
            "attempts": attempts,
            "last_error": cause,
            "next_attempt": (now + delay).isoformat(),
        }
        if attempts == 1:
            log.error(
                "invite %s %s for %s set aside, retried from %s: %s",
                entry.get("method"), entry.get("uid"), owner, held["next_attempt"], cause,
                extra=SET_ASIDE_LOG,
            )  # fmt: skip
        else:
            log.debug("invite %s %s for %s failed again (%s attempts): %s",
                      entry.get("method"), entry.get("uid"), owner, attempts, cause)  # fmt: skip
        return held

    def _send(self, entry: Mapping[str, Any]) -> None:
        assert self.sender is not None
        cal = icalendar.Calendar.from_ical(entry["ical"])
        message = build_invite(
            cal, sender=self.sender.settings.sender, recipients=entry["recipients"],
            now=self.now(),
        )  # fmt: skip
        self.sender.send(message, entry["recipients"])


def next_attempt(entry: Mapping[str, Any]) -> datetime:
    """When a held outbox entry may be tried again (long ago for one never held)."""
    try:
        when = datetime.fromisoformat(str(entry["next_attempt"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def outbox_key(owner: str) -> str:
    """The state key of ``owner``'s outbox."""
    return f"ics.outbox:{owner.lower()}"
