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

Capabilities beyond the three abstract methods are declared here too, typed and with a default
(free/busy of many owners at once, a calendar version, forgetting sync state, invitations the
backend mails itself, past events, several owners served at once): the cycle calls them as
methods, never by name, and a backend overrides what it can do better.

Backends are found by name through :func:`connectors.load_backend` and imported only when used,
so an optional dependency (google-api-python-client, msal, caldav) is needed only if configured.
The values crossing the interface live in :mod:`connectors.values` and what a backend is given
in :mod:`connectors.state` (both can be imported from here too); the helpers every connector
shares (validation, local midnights, the state codec, past-event read marks) in
:mod:`connectors.common`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from cadence.values.model import BusyInterval
from cadence.values.schema import Field, Schema
from connectors.common.seen import past_events_key, unseen_past_events
from connectors.state import BackendContext, MemoryState, StagedState, StateStore
from connectors.values import (
    CADENCE_TAG,
    CADENCE_UID,
    SET_ASIDE_LOG,
    UNREADABLE,
    AuthError,
    BackendError,
    Cancel,
    ConflictError,
    Create,
    EventSpec,
    InvalidValue,
    MailMessage,
    NotFoundError,
    PastEvent,
    RemoteEvent,
    TransientError,
    Update,
    WriteOp,
    WriteResult,
    hidden_notes,
    shown_description,
    with_video_link,
)

__all__ = [
    "CADENCE_TAG",
    "CADENCE_UID",
    "SET_ASIDE_LOG",
    "UNREADABLE",
    "AuthError",
    "BackendContext",
    "BackendError",
    "BusyInterval",
    "CalendarBackend",
    "Cancel",
    "ConflictError",
    "Connector",
    "Create",
    "EventSpec",
    "InvalidValue",
    "MailMessage",
    "MailSource",
    "MemoryState",
    "NotFoundError",
    "PastEvent",
    "RemoteEvent",
    "StagedState",
    "StateStore",
    "TransientError",
    "Update",
    "WriteOp",
    "WriteResult",
    "hidden_notes",
    "past_events_key",
    "shown_description",
    "unseen_past_events",
    "with_video_link",
]


class Connector:
    """What calendar backends and mail sources have in common: a name, a config section that
    is checked before use, and how the cycle may call them.

    Subclasses set ``name`` and ``config_schema``, the :class:`~cadence.values.schema.Schema`
    of their section (``[calendar.NAME]``, ``[mail.NAME]``: its keys, defaults, help and
    checks), and ``config_keys`` from it (``config_schema.help_texts()``). A connector with
    ``config_keys`` alone accepts those keys with any value.
    """

    name: ClassVar[str] = ""
    config_schema: ClassVar[Schema | None] = None
    config_keys: ClassVar[Mapping[str, str]] = {}
    # Calls for different owners may run at the same time on several threads (one owner's
    # calls never overlap). The cycle then serves salespeople side by side; otherwise one at
    # a time.
    concurrent: ClassVar[bool] = False
    # Local files, not a server: a failure is a person's to fix at any moment and costs nothing
    # to try again, so the cycle retries on its next run instead of backing off.
    local: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the connector's section (``[calendar.NAME]``, ``[mail.imap]``, already
        validated)."""
        self.config = dict(config)
        self.context = context

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems in this connector's config section as ``(key, message)`` pairs; none when
        fine.

        Everything ``config_schema`` says (unknown keys with a did-you-mean, bad values, rules
        across keys); without one, keys not listed in ``config_keys``.
        """
        schema = cls.config_schema or Schema(
            {key: Field(help=h) for key, h in cls.config_keys.items()}
        )
        return schema.problems(section)

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

    def close(self) -> None:
        """Release connections. Idempotent."""


class CalendarBackend(Connector, abc.ABC):
    """A calendar system holding salespeople's calendars (its section: ``[calendar.NAME]``)."""

    # How many operations one provider batch holds; callers hand :meth:`write` multiples of it.
    write_batch: ClassVar[int] = 50
    # :meth:`busy_many` asks the provider for many owners in one request (Google's free/busy,
    # Graph's getSchedule): the cycle then asks it once per backend, not :meth:`busy` per owner.
    batched_busy: ClassVar[bool] = False

    @abc.abstractmethod
    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Busy time of ``owner`` in ``[start, end)``, excluding cadence's own events and free
        (transparent) events. All-day busy events (out of office) come with ``all_day=True``.

        Raises AuthError, TransientError, BackendError.
        """

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

    def busy_many(
        self, owners: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, list[BusyInterval] | BackendError]:
        """Busy time of each of ``owners`` in ``[start, end)``, as :meth:`busy` gives it, or the
        error that owner's read met. An owner left out of the answer (a calendar the provider's
        batch could not see) is asked with :meth:`busy` alone. Whole-call failures (auth,
        throttling) raise.

        The default asks :meth:`busy` owner by owner; a backend whose provider answers for many
        owners in one request overrides it and sets ``batched_busy``.
        """
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
        """A text that changes whenever ``owner``'s calendar changes, told without reading it
        whole (``last``: what this returned before, for a cheaper check); None when the
        backend cannot tell, so the cycle reads the calendar. The default cannot tell."""
        return None

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

    def pending_invites(self, owner: str) -> int:
        """How many invitations to ``owner``'s attendees wait to be mailed by the backend itself
        (held ones included); 0 for a backend that mails none (the provider invites)."""
        return 0

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

    def read_ahead(self, owners: Sequence[str], start: datetime, end: datetime) -> None:
        """Send now, for all of ``owners`` at once, the first request of the reads the cycle
        makes next for each of them, one salesperson at a time: :meth:`list_owned`, then
        :meth:`new_past_events` with ``start`` and ``end``.

        For a provider whose batch requests take calls for many calendars (Google's batch
        endpoint, Graph's ``$batch``): each answer, an error included, is kept for the read
        that makes that very request, which takes it as its first attempt, briefly (see
        :class:`connectors.common.http.AnswersAhead`). What a read returns, leaves in the state
        or raises is the same with or without it; only the number of requests changes. Never
        raises: what cannot be read ahead is asked by the read itself. The default reads
        nothing ahead."""


class MailSource(Connector, abc.ABC):
    """A mailbox where contacts with customers can be recognised (Gmail, Graph mail, IMAP)."""

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

    def read_ahead(self, owners: Sequence[str], since: datetime) -> None:
        """Send now, for all of ``owners`` at once, the first request of the :meth:`messages`
        call (with ``since``) the cycle makes next for each of them (as
        :meth:`CalendarBackend.read_ahead`). Never raises; the default reads nothing ahead."""
