"""The values that cross the backend interface (:mod:`connectors.base`), and its errors.

What cadence asks a calendar for (:class:`EventSpec`, the :data:`WriteOp` operations) and what it
gets back (:class:`RemoteEvent`, :class:`PastEvent`, :class:`MailMessage`,
:class:`WriteResult`); the exceptions a backend raises. Plain frozen data: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from cadence.values.errors import CadenceError

# --------------------------------------------------------------------------------------------
# Errors


class BackendError(CadenceError):
    """A backend call failed for a reason that is neither auth nor transient."""


class AuthError(BackendError):
    """Credentials are missing, invalid or revoked. Stop using this owner/backend until fixed."""


class TransientError(BackendError):
    """Throttling, a timeout or a server error: try again later.

    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConflictError(BackendError):
    """The event changed since we read it (etag mismatch): re-read it, never overwrite it."""


class NotFoundError(BackendError):
    """The event does not exist (deleted by a person, or never created)."""


class InvalidValue(BackendError, ValueError):
    """A value a backend cannot take as given: a naive datetime, a datetime where a date is
    due, an end not after its start, an unknown time zone (:mod:`connectors.common.validation`).

    A caller's bug, or an event no calendar can hold: it fails that one operation (a
    :class:`WriteResult` error) or that one call. It is a :class:`ValueError` too, so code that
    reads and builds wire formats, where a bad value is a ``ValueError``, treats it as one.
    """


# --------------------------------------------------------------------------------------------
# Values crossing the interface

CADENCE_TAG = "cadence"  # tag name marking an event as cadence's own
# ``extra`` for the log record of something a backend sets aside (see set_aside()): a command
# that prints the cycle's list of set-aside things leaves these records out, so each is said once.
SET_ASIDE_LOG = {"in_result": True}
# The uids cadence gives its events (cadence.sync.reconcile.uid_for): "cadence-" and 32 hex digits.
# An iCalendar event with such a UID is cadence's even when a client rewrote it without the
# X-CADENCE-* properties (a copy made in an app gets a new UID, so it is never taken for ours).
CADENCE_UID = re.compile(r"cadence-[0-9a-f]{32}")
# RemoteEvent.status of one of cadence's events the calendar holds but the backend cannot read
# (a hand-edited file with a broken property): left exactly as it is, never taken as deleted.
UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What cadence wants in a salesperson's calendar.

    ``uid`` is stable for (customer, kind, sequence): the same booking always has the same uid,
    so creating it twice is detected. ``tags`` go into the backend's private properties and
    come back in :class:`RemoteEvent`. ``timezone`` is the salesperson's IANA zone, used for
    display of timed events. ``attendees`` are customer addresses, only when the policy invites
    the customer. ``transparent`` events do not block time (the all-day anniversary reminders).
    """

    uid: str
    owner: str
    title: str
    description: str
    start: datetime | date
    end: datetime | date
    all_day: bool = False
    transparent: bool = False
    timezone: str = "UTC"
    attendees: tuple[str, ...] = ()
    # The display name of each attendee address (CN, displayName), where one is known.
    attendee_names: Mapping[str, str] = field(default_factory=dict)
    reminder_minutes: tuple[int, ...] = (15,)
    tags: Mapping[str, str] = field(default_factory=dict)
    # What invited attendees read instead of ``description`` (the owner's notes).
    customer_description: str = ""
    # Where the meeting is (a video link, shown by every backend), and a video meeting the
    # provider creates: "meet" (Google backend only) or "teams" (Outlook backend only).
    location: str = ""
    video: str = ""


def shown_description(spec: EventSpec) -> str:
    """The description an event shows everyone who can see it.

    A provider that invites (Google, Exchange, a CalDAV server with scheduling) sends the
    event's description to the attendees, so an event with attendees shows the customer's text
    (:attr:`EventSpec.customer_description`, possibly empty) and never the owner's notes.
    """
    return spec.customer_description if spec.attendees else spec.description


def with_video_link(text: str, link: str) -> str:
    """``text`` with the video ``link`` on a line of its own at the top (how every backend and
    both descriptions show it)."""
    return f"Video: {link}\n\n{text}" if text else f"Video: {link}"


def hidden_notes(spec: EventSpec) -> str:
    """The owner's notes a backend keeps where only the owner's copy has them (a private
    property), because the event shows the customer's text instead; ``""`` when the event shows
    the notes itself."""
    return spec.description if spec.attendees else ""


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """One of cadence's own events as the calendar has it now.

    ``status``: ``"confirmed"``, ``"declined"`` (the owner declined it) or ``"cancelled"``
    (deleted in the calendar, where the backend can still see it). An event deleted without a
    trace is simply absent from :meth:`CalendarBackend.list_owned`. ``etag`` and ``remote_id``
    are what the backend needs to update it safely later.
    ``"unreadable"``: in the calendar but not readable (a hand-edited file): leave it as it is.
    """

    uid: str
    owner: str
    start: datetime | date
    end: datetime | date
    all_day: bool = False
    status: str = "confirmed"
    title: str = ""
    etag: str | None = None
    remote_id: str | None = None
    sequence: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PastEvent:
    """An event in the owner's calendar (not one of cadence's), used to recognise contacts."""

    remote_id: str
    start: datetime
    end: datetime
    title: str = ""
    # lower-case e-mail addresses of the attendees (and organizer) other than the owner who
    # did not decline: a customer who declined did not meet the owner
    attendees: tuple[str, ...] = ()
    declined: bool = False  # the owner declined it: did not happen for them


@dataclass(frozen=True, slots=True)
class MailMessage:
    """A message to or from the owner, for contact recognition."""

    message_id: str  # RFC 5322 Message-ID when known, else the provider's id
    at: datetime
    outgoing: bool  # True: sent by the owner; False: received
    addresses: tuple[str, ...]  # lower-case counterparts: to/cc when sent, from when received
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Create:
    spec: EventSpec


@dataclass(frozen=True, slots=True)
class Update:
    """Replace the event ``spec.uid`` with ``spec``. ``etag``: only if unchanged since read."""

    spec: EventSpec
    etag: str | None = None
    remote_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Remove (or mark cancelled) the cadence event ``uid``."""

    owner: str
    uid: str
    etag: str | None = None
    remote_id: str | None = None


WriteOp = Create | Update | Cancel


@dataclass(frozen=True, slots=True)
class WriteResult:
    """One :data:`WriteOp`'s outcome: ``event`` on success (None after a cancel) or ``error``."""

    op: WriteOp
    event: RemoteEvent | None = None
    error: BackendError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
