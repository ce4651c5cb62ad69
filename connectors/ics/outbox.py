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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar

from connectors.base import (
    SET_ASIDE_LOG,
    AuthError,
    BackendError,
    RemoteEvent,
    StateStore,
    TransientError,
)
from connectors.email import build_invite, invite_calendar
from connectors.ics.events import addresses, dt_value
from connectors.smtp import SmtpSender

# An event as its calendar holds it now, for tell_attendees: what was read of it, and its
# outbox form when one is needed (built only then); None: leave the event alone.
Current = Callable[[str], tuple[RemoteEvent | None, Callable[[], icalendar.Event | None]] | None]

log = logging.getLogger(__name__)

INVITE_RETRY_FIRST = timedelta(minutes=1)  # an invitation set aside waits this, doubling...
INVITE_RETRY_MAX = timedelta(days=1)  # ...up to this


class Outbox:
    """Each owner's pending invitations, oldest first, as JSON under :func:`outbox_key`.

    An entry holds ``uid``, ``method``, ``sequence``, ``recipients`` and the ``ical`` text; one
    set aside also ``attempts``, ``last_error`` and ``next_attempt``. Without a ``sender``
    (invitations off) nothing is queued or sent.

    The events it is given are in the .ics form: ``DESCRIPTION`` the owner's notes, the
    customer's text in :data:`connectors.email.CUSTOMER_TEXT` (the CalDAV backend converts its
    resources first: :func:`connectors.caldav.ical.outbox_form`).
    """

    def __init__(
        self,
        state: StateStore,
        sender: SmtpSender | None,
        now: Callable[[], datetime],
        *,
        prefix: str = "ics",
        owner_copy: bool = True,
    ) -> None:
        """``now``: the current time, aware UTC without microseconds. ``prefix``: the first
        part of its state keys (one per backend). ``owner_copy``: also mail the owner their own
        copy of each change (the .ics backend: the file is not their calendar application;
        CalDAV: no, the server shows it to them)."""
        self.state = state
        self.sender = sender
        self.now = now
        self.prefix = prefix
        self.owner_copy = owner_copy

    def entries(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s entries, in order; an unreadable outbox is logged and starts anew."""
        raw = self.state.get(outbox_key(owner, self.prefix))
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
        self.state.set(outbox_key(owner, self.prefix), json.dumps(entries) if entries else None)

    def enqueue(self, owner: str, invites: list[dict[str, Any]]) -> Undo:
        """Add ``invites`` to the outbox (a newer one replaces an older one for the same uid
        and audience) and remember what the attendees were last sent of each uid (see
        :meth:`mailed`); returns what :meth:`undo` needs to take it back.

        Every message to attendees gets a ``SEQUENCE`` above the last one they were sent for
        that uid, so no client ignores it as outdated (an event moved by hand in the file
        keeps its SEQUENCE, but the attendees must see a newer version).
        """
        before = self.entries(owner)
        mailed_before = self.state.get(mailed_key(owner, self.prefix))
        if not invites:
            return Undo(before, mailed_before)
        mailed = self._mailed(owner)
        for invite in invites:
            if invite["audience"] != "attendees":
                continue
            last = mailed.get(invite["uid"])
            if last is not None and invite["sequence"] <= int(last["sequence"]):
                _set_sequence(invite, int(last["sequence"]) + 1)
            mailed[invite["uid"]] = {
                key: invite[key] for key in ("method", "sequence", "start", "end", "ical")
            }
        # What ended over a day ago is never announced again: forget it.
        horizon = (self.now() - timedelta(days=1)).isoformat()
        mailed = {uid: m for uid, m in mailed.items() if m["end"] >= horizon}
        self.state.set(
            mailed_key(owner, self.prefix), json.dumps(mailed, sort_keys=True) if mailed else None
        )
        fresh = {(i["uid"], i["audience"]) for i in invites}
        kept = [e for e in before if (e["uid"], e.get("audience")) not in fresh]
        self.save(owner, kept + invites)
        return Undo(before, mailed_before)

    def undo(self, owner: str, undo: Undo) -> None:
        """Take back an :meth:`enqueue` whose calendar write failed."""
        self.save(owner, undo.entries)
        self.state.set(mailed_key(owner, self.prefix), undo.mailed)

    def _mailed(self, owner: str) -> dict[str, dict[str, Any]]:
        try:
            mailed = json.loads(self.state.get(mailed_key(owner, self.prefix)) or "{}")
        except ValueError:
            log.error("the record of invitations mailed for %s is unreadable; starting anew", owner)
            return {}
        return mailed if isinstance(mailed, dict) else {}

    def mailed(self, owner: str, uid: str) -> dict[str, Any] | None:
        """What the attendees of ``uid`` were last sent (``method``, ``sequence``, ``start``
        and ``end`` as ISO texts, UTC for times, and the ``ical``), or None when they were
        sent nothing, or nothing that is not long over."""
        return self._mailed(owner).get(uid)

    def invitations(self, event: icalendar.Event, owner: str, method: str) -> list[dict[str, Any]]:
        """The outbox entries for ``event`` as written (``REQUEST``) or cancelled (``CANCEL``):
        the owner's own copy (``PUBLISH``, or ``CANCEL``) and, when it has other attendees,
        theirs (``REQUEST`` or ``CANCEL``: see :func:`connectors.email.invite_calendar`).
        None when invitations are off.
        """
        if self.sender is None:
            return []
        own = "PUBLISH" if method == "REQUEST" else method
        entries = [_entry(event, own, owner, to_owner=True)] if self.owner_copy else []
        if _guests(event, owner):
            entries.append(_entry(event, method, owner))
        return entries

    def attendee_request(self, event: icalendar.Event, owner: str) -> dict[str, Any] | None:
        """The ``REQUEST`` telling ``event``'s attendees (not the owner) its time now; None
        without attendees, or with invitations off."""
        if self.sender is None or not _guests(event, owner):
            return None
        return _entry(event, "REQUEST", owner)

    def tell_attendees(self, owner: str, uids: Sequence[str], current: Current) -> int:
        """Queue what the attendees of events ``uids`` must hear of what ``owner`` did to them
        in the calendar (see ``CalendarBackend.notify_attendees``), judged against what they
        were last sent: an event gone, cancelled or declined by the owner gets a ``CANCEL``;
        one at another time than they were sent a ``REQUEST`` with a higher ``SEQUENCE``;
        anything else nothing. ``current(uid)`` is the event as the calendar holds it now
        (``(None, ...)`` when gone), or None to leave it alone (unreadable); it is asked only
        for the uids the attendees were sent something for. Returns how many were queued."""
        invites = []
        for uid in uids:
            last = self.mailed(owner, uid)
            if last is None or last["method"] == "CANCEL":
                continue  # the attendees were never told of it, or know it is off
            now = current(uid)
            if now is None:
                continue
            remote, event = now
            if remote is None or remote.status in ("cancelled", "declined"):
                invite = self.attendee_cancel(owner, uid)
            elif (iso_time(remote.start), iso_time(remote.end)) != (last["start"], last["end"]):
                built = event()
                invite = self.attendee_request(built, owner) if built is not None else None
            else:
                invite = None
            if invite is not None:
                invites.append(invite)
        if invites:
            self.enqueue(owner, invites)
        return len(invites)

    def attendee_cancel(self, owner: str, uid: str) -> dict[str, Any] | None:
        """The ``CANCEL`` telling the attendees of ``uid`` it is off, built from what they were
        last sent (the event may be gone from the file); None when they were sent nothing
        current, or a CANCEL already."""
        last = self.mailed(owner, uid)
        if self.sender is None or last is None or last["method"] == "CANCEL":
            return None
        [event] = icalendar.Calendar.from_ical(last["ical"]).events
        return _entry(event, "CANCEL", owner)

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

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines (see :meth:`held`)."""
        return [
            f"invitation {h['method']} {h['uid']} for {owner} held after {h['attempts']} "
            f"failed attempt(s), next try {h['next_attempt']:%Y-%m-%d %H:%M} UTC: "
            f"{h['last_error']}"
            for h in self.held(owner)
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


@dataclass(frozen=True, slots=True)
class Undo:
    """What :meth:`Outbox.enqueue` changed, to put back."""

    entries: list[dict[str, Any]]
    mailed: str | None


def _guests(event: icalendar.cal.Component, owner: str) -> list[str]:
    """``event``'s attendees other than its owner, lower-case, sorted."""
    return sorted(set(addresses(event)) - {owner.lower()})  # type: ignore[arg-type]


def _entry(
    event: icalendar.cal.Component, method: str, owner: str, *, to_owner: bool = False
) -> dict[str, Any]:
    """One outbox entry: ``event`` as ``method``, to the owner alone (their full copy) or to
    the other attendees (the customer's copy)."""
    invite = invite_calendar(event, method, for_owner=to_owner)  # type: ignore[arg-type]
    [copy] = invite.events
    if method == "CANCEL":
        copy.pop("SEQUENCE", None)
        copy.add("sequence", int(event.get("SEQUENCE", 0)) + 1)
    return {
        "uid": str(event["UID"]),
        "method": method,
        "audience": "owner" if to_owner else "attendees",
        "sequence": int(copy.get("SEQUENCE", 0)),
        "start": _iso(copy, "DTSTART"),
        "end": _iso(copy, "DTEND"),
        "recipients": [owner.lower()] if to_owner else _guests(event, owner),
        "ical": invite.to_ical().decode("utf-8"),
    }


def _iso(event: icalendar.cal.Component, name: str) -> str:
    """``event``'s ``name`` as :func:`iso_time` gives it."""
    return iso_time(dt_value(event.get(name)))


def iso_time(value: datetime | date) -> str:
    """A start or end as the outbox records it: ISO text, in UTC for a time (so that texts
    compare), a date as itself."""
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value.isoformat()


def _set_sequence(entry: dict[str, Any], sequence: int) -> None:
    """Give ``entry``'s event ``sequence``."""
    cal = icalendar.Calendar.from_ical(entry["ical"])
    [event] = cal.events
    event.pop("SEQUENCE", None)
    event.add("sequence", sequence)
    entry["sequence"] = sequence
    entry["ical"] = cal.to_ical().decode("utf-8")


def mailed_key(owner: str, prefix: str = "ics") -> str:
    """The state key of what ``owner``'s attendees were last sent, by uid."""
    return f"{prefix}.mailed:{owner.lower()}"


def next_attempt(entry: Mapping[str, Any]) -> datetime:
    """When a held outbox entry may be tried again (long ago for one never held)."""
    try:
        when = datetime.fromisoformat(str(entry["next_attempt"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def outbox_key(owner: str, prefix: str = "ics") -> str:
    """The state key of ``owner``'s outbox."""
    return f"{prefix}.outbox:{owner.lower()}"
