"""The one interface every calendar and mail backend implements.

Terms of the contract (the shared suite in ``tests/contract/`` checks every backend against it):

* **Owners.** Every call names the salesperson (``owner``, an e-mail address) whose calendar or
  mailbox it concerns. A backend serves many owners; trouble with one owner raises for that call
  only and never poisons calls for other owners.
* **Time.** Every datetime passed in or returned is timezone-aware. Timed events carry aware
  datetimes; all-day events carry :class:`datetime.date` values with an *exclusive* end
  (iCalendar semantics: a one-day event on 5 May has ``start=5 May, end=6 May``).
* **Ownership.** cadence only ever changes or deletes events it created. Those carry the tags of
  :class:`EventSpec` (Google ``extendedProperties.private``, Graph single-value extended property,
  iCalendar ``X-CADENCE-*``) and the stable ``uid``. :meth:`CalendarBackend.list_owned` returns only
  such events; :meth:`CalendarBackend.busy` returns everything *except* them.
* **Idempotence.** :meth:`CalendarBackend.write` of a :class:`Create` for a ``uid`` that already
  exists (say a retry after a lost response) must not make a second event: it returns the
  existing one (updated to the spec). :class:`Cancel` of an event that is already gone succeeds.
* **Failures.** Each operation of a batch gets its own :class:`WriteResult`; one failed operation
  does not fail the batch. Whole-call failures raise :class:`AuthError` (credentials are wrong or
  revoked: retrying will not help until a person fixes them), :class:`TransientError` (throttled,
  timed out, 5xx: retry later, honouring ``retry_after`` seconds when known) or
  :class:`BackendError` (anything else: a bug or a misconfiguration, reported).
* **State.** Incremental-sync tokens and caches go through the :class:`StateStore` handed to the
  backend, so they survive restarts; a backend must cope with the state being lost (full re-read).
  Read marks (what :meth:`CalendarBackend.new_past_events` and :meth:`MailSource.messages` have
  returned) live only there, never in memory between calls: the cycle hands sources a
  :class:`StagedState` and commits the marks a call wrote only after it stored the contacts the
  call returned, so a crash in between costs a re-read, never a contact.
* **Contacts: what is new, not what is recent.** :meth:`CalendarBackend.new_past_events` and
  :meth:`MailSource.messages` return what they have not returned before, whatever its date (a
  meeting entered late, a message delivered late), each with its own date; the suites in
  ``tests/contract/past_meetings.py`` and ``tests/contract/mail.py`` check it. Which customer an
  address belongs to is decided by :mod:`cadence.values.matching` alone.

Backends are found by name through :func:`connectors.load_backend` and imported only when used,
so an optional dependency (google-api-python-client, msal, caldav) is needed only if configured.
"""

from __future__ import annotations

import abc
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cadence.values.errors import CadenceError
from cadence.values.model import BusyInterval, Salesperson
from cadence.values.schema import Field, Schema

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


# --------------------------------------------------------------------------------------------
# What a backend is given


class StateStore(Protocol):
    """Small persistent key/value state for a backend (sync tokens, delta links, caches)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...


class MemoryState:
    """A :class:`StateStore` in a dict (tests, dry runs)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value


class StagedState:
    """A :class:`StateStore` whose writes can be held back and committed later.

    Between :meth:`hold` and :meth:`release`, :meth:`set` only records the value (:meth:`get`
    sees it, so a source reads back what it wrote); :meth:`release` returns what was recorded,
    and :meth:`commit` writes it through. The cycle holds a source's writes while it reads
    contacts, stores the contacts, then commits: a source's read marks never get ahead of
    what is stored. Outside a hold, writes go straight through.

    A hold belongs to the thread that made it (the cycle serves salespeople side by side, each
    on a thread of its own): another thread's writes meanwhile go straight through.
    """

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self._local = threading.local()

    @property
    def _held(self) -> dict[str, str | None] | None:
        held: dict[str, str | None] | None = getattr(self._local, "held", None)
        return held

    def get(self, key: str) -> str | None:
        held = self._held
        if held is not None and key in held:
            return held[key]
        return self.inner.get(key)

    def set(self, key: str, value: str | None) -> None:
        held = self._held
        if held is None:
            self.inner.set(key, value)
        else:
            held[key] = value

    def hold(self) -> None:
        """Record this thread's writes from now on instead of making them."""
        self._local.held = {}

    def release(self) -> dict[str, str | None]:
        """Stop holding; the writes recorded since :meth:`hold` (key -> value, None: removed)."""
        held, self._local.held = self._held or {}, None
        return held

    def commit(self, held: Mapping[str, str | None]) -> None:
        """Make the writes :meth:`release` returned."""
        for key, value in held.items():
            self.inner.set(key, value)


@dataclass
class BackendContext:
    """Everything a backend may use besides its own config section.

    ``base_dir`` resolves relative paths (the folder holding cadence.toml); ``salespeople`` are
    the owners it serves; ``smtp`` is the ``[smtp]`` section (for iMIP invites); ``sleep`` is
    injectable so retry tests do not wait; ``env`` is where secrets named in the config are read.
    """

    base_dir: Path
    salespeople: Sequence[Salesperson] = ()
    state: StateStore = field(default_factory=MemoryState)
    smtp: Mapping[str, Any] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] | None = None
    now: Callable[[], datetime] | None = None


# --------------------------------------------------------------------------------------------
# The interface


class CalendarBackend(abc.ABC):
    """A calendar system holding salespeople's calendars.

    Subclasses set ``name`` and ``config_schema``, the :class:`~cadence.values.schema.Schema`
    of their ``[calendar.NAME]`` section (its keys, defaults, help and checks), and
    ``config_keys`` from it (``config_schema.help_texts()``). A connector with ``config_keys``
    alone accepts those keys with any value.
    """

    name: ClassVar[str] = ""
    config_schema: ClassVar[Schema | None] = None
    config_keys: ClassVar[Mapping[str, str]] = {}
    # How many operations one provider batch holds; callers hand :meth:`write` multiples of it.
    write_batch: ClassVar[int] = 50
    # Local files, not a server: a failure is a person's to fix at any moment and costs nothing
    # to try again, so the cycle retries on its next run instead of backing off.
    local: ClassVar[bool] = False
    # Calls for different owners may run at the same time on several threads (one owner's
    # calls never overlap). The cycle then serves salespeople side by side; otherwise one at
    # a time.
    concurrent: ClassVar[bool] = False
    # busy_many answers for many owners in one request (Google's free/busy takes 50 calendars,
    # Graph's getSchedule 20 mailboxes); otherwise the cycle asks busy() owner by owner, several
    # at once when the backend is concurrent.
    batched_busy: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the backend's ``[calendar.NAME]`` section (already validated)."""
        self.config = dict(config)
        self.context = context

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems in this backend's config section as ``(key, message)`` pairs; none when fine.

        Everything ``config_schema`` says (unknown keys with a did-you-mean, bad values, rules
        across keys); without one, keys not listed in ``config_keys``.
        """
        schema = cls.config_schema or Schema(
            {key: Field(help=h) for key, h in cls.config_keys.items()}
        )
        return schema.problems(section)

    @abc.abstractmethod
    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Busy time of ``owner`` in ``[start, end)``, excluding cadence's own events and free
        (transparent) events. All-day busy events (out of office) come with ``all_day=True``.

        Raises AuthError, TransientError, BackendError.
        """

    def busy_many(
        self, owners: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, list[BusyInterval] | BackendError]:
        """:meth:`busy` of several owners, each owner's intervals or error; an owner left out
        is asked with :meth:`busy` by the cycle. Whole-call failures (auth, throttling) raise.
        The default asks :meth:`busy` of each; a backend that sets ``batched_busy`` answers
        in fewer requests."""
        found: dict[str, list[BusyInterval] | BackendError] = {}
        for owner in owners:
            try:
                found[owner] = self.busy(owner, start, end)
            except (AuthError, TransientError):
                raise
            except BackendError as exc:
                found[owner] = exc
        return found

    def version(self, owner: str, last: str | None = None) -> str | None:
        """What tells one state of ``owner``'s calendar from another without reading it whole
        (``last``: an earlier answer, which may be returned as is when nothing changed), or
        None when the backend cannot tell: then every cycle reads the calendar. A cycle whose
        inputs, this version among them, are as when the last one did nothing is left alone
        (:mod:`cadence.sync.incremental`)."""
        return None

    @abc.abstractmethod
    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """All of cadence's events in ``owner``'s calendar, as they are now (incl. moves and
        declines made by the owner). May use incremental sync through the StateStore.

        Raises AuthError, TransientError, BackendError.
        """

    @abc.abstractmethod
    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` to ``owner``'s calendar, in order; one result per op, same order.

        Must be idempotent on ``uid`` (see the module docs). Per-op failures go into the results;
        a failure that prevents the whole call (auth, a dead server) raises instead.
        """

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """Problems with the local files and secrets ``section`` names, as ``(key, message)``
        pairs: a secret file that cannot be read or that other users can read, a token cache or
        folder that cannot be written, a CA bundle that does not exist. ``cadence check`` calls
        it (``validate_config`` only looks at the section's values); the default finds none.
        """
        return []

    def forget_sync(self, owner: str) -> None:
        """Forget what is kept between reads of ``owner``'s events (sync tokens, delta links,
        what was known of them), so the next :meth:`list_owned` reads the calendar whole
        again. The cycle calls it when a read looks implausible (most of cadence's events gone
        at once). The default keeps nothing to forget."""
        return None

    def set_aside(self, owner: str) -> list[str]:
        """What this backend set aside for ``owner`` after a failure of its own and retries
        later (an invitation that cannot be built or sent), one line each, for the cycle's
        report. The backend logs each when it sets it aside; the default has nothing."""
        return []

    def notify_attendees(self, owner: str, uids: Sequence[str]) -> int:
        """Tell the attendees of cadence's events ``uids`` what ``owner`` did to them in the
        calendar itself (moved, deleted or declined them, as :meth:`list_owned` just showed):
        a moved event as a ``REQUEST`` with a higher ``SEQUENCE``, a deleted or declined one as
        a ``CANCEL``. Returns how many messages it queued.

        Idempotent: the backend remembers what the attendees were last sent, so calling it
        again for the same change (after a crash, or for an event cadence itself just
        rewrote) sends nothing more. Called before the cycle stores what it observed, so a
        crash in between never loses a message.

        The default sends nothing: a provider that tells attendees itself (Google Calendar
        when the person moves or deletes the event in it, Exchange for Outlook, a CalDAV server
        with scheduling) needs no help. The .ics backend and CalDAV with ``invites = true``
        mail the attendees themselves. Raises AuthError, TransientError, BackendError.
        """
        return 0

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Events in ``owner``'s calendar in ``[start, end)`` that are not cadence's, with their
        attendees, for contact recognition. Backends that cannot tell return ``[]``.
        """
        return []

    def new_past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Events of :meth:`past_events` in ``[start, end)`` that this backend has not returned
        before for ``owner``, whatever their date: a meeting entered today for last week comes
        back on the next call, with its own time; one already returned does not, unless it
        changed (moved, attendees or the owner's answer changed).

        The default reads the whole window and remembers a digest of each event returned in
        the state store (:func:`unseen_past_events`); a backend that can tell cheaply that its
        calendar did not change overrides it.
        """
        events = self.past_events(owner, start, end)
        return unseen_past_events(self.context.state, past_events_key(owner), events, start)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Idempotent."""


def past_events_key(owner: str) -> str:
    """The state key under which :func:`unseen_past_events` keeps ``owner``'s digests."""
    return f"past-events:{owner.lower()}"


def unseen_past_events(
    state: StateStore, key: str, events: Iterable[PastEvent], floor: datetime
) -> list[PastEvent]:
    """``events`` not returned before under ``key``; remembers them. Digests of events that
    started before ``floor`` are forgotten (they are outside every later window)."""
    try:
        seen: dict[str, str] = json.loads(state.get(key) or "{}")
    except ValueError:
        seen = {}
    floor_text = floor.astimezone(UTC).isoformat()
    seen = {d: at for d, at in seen.items() if at >= floor_text}
    fresh = []
    for event in events:
        digest = _digest(event)
        if digest not in seen:
            seen[digest] = event.start.astimezone(UTC).isoformat()
            fresh.append(event)
    state.set(key, json.dumps(seen, sort_keys=True))
    return fresh


def _digest(event: PastEvent) -> str:
    text = json.dumps(
        [
            event.remote_id,
            event.start.astimezone(UTC).isoformat(),
            event.end.astimezone(UTC).isoformat(),
            sorted(event.attendees),
            event.declined,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class MailSource(abc.ABC):
    """A mailbox where contacts with customers can be recognised (Gmail, Graph mail, IMAP)."""

    name: ClassVar[str] = ""
    config_schema: ClassVar[Schema | None] = None
    config_keys: ClassVar[Mapping[str, str]] = {}
    # As CalendarBackend.concurrent: reads for different owners may run at the same time.
    concurrent: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the source's section (``[mail.imap]``, or the calendar section)."""
        self.config = dict(config)
        self.context = context

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems in this source's config section as ``(key, message)`` pairs."""
        return CalendarBackend.validate_config.__func__(cls, section)  # type: ignore[attr-defined]

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """As :meth:`CalendarBackend.check_local`, for a mail source's section."""
        return []

    @abc.abstractmethod
    def messages(
        self, owner: str, addresses: Iterable[str], domains: Iterable[str], since: datetime
    ) -> list[MailMessage]:
        """Messages in ``owner``'s mailbox sent to or received from any of ``addresses`` or any
        address in ``domains`` (by :mod:`cadence.values.matching`: subdomains, IDN, plus-addressing)
        that this source has not returned before, whatever their date.

        Sources read incrementally by what the mailbox has not shown them before (IMAP
        UIDVALIDITY and UID, the Gmail history id, Graph's ``lastModifiedDateTime`` mark), so a
        message dated in the past but delivered, uploaded or imported now is returned, once,
        with its own date (its ``Date``). ``since`` bounds only a full read (the first one,
        after lost state, or for addresses or domains not asked for before): older mail is not
        searched for then.
        Sent mail's counterparts are its To, Cc and Bcc. Raises AuthError, TransientError,
        BackendError.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Idempotent."""
