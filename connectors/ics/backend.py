""":class:`IcsBackend`: the backend contract kept in one iCalendar file per salesperson.

How the files are read (:mod:`.parse`), which events are cadence's (:mod:`.events`), what
counts as busy (:mod:`.foreign`), how a batch of operations changes a calendar (:mod:`.apply`,
:mod:`.build`), how a file is written (:mod:`.writing`) and replaced (:mod:`.files`,
:mod:`.written`) and how invitations are sent (:mod:`.outbox`) live in their own modules; this
one ties them to the contract. See :mod:`connectors.ics` for the whole story.

icalendar and the modules that parse, build, expand or mail are imported by the methods that
need them: a command that finds every file as cadence wrote it (:mod:`.known`) never imports
them (about 0.2 s of its start).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cadence.values.model import BusyInterval
from cadence.values.schema import Schema
from connectors.base import (
    BackendContext,
    BackendError,
    CalendarBackend,
    PastEvent,
    RemoteEvent,
    WriteOp,
    WriteResult,
    past_events_key,
    unseen_past_events,
)
from connectors.common.validation import owner_zone, require_window
from connectors.ics.cache import LoadCache
from connectors.ics.files import file_stem, fingerprint
from connectors.ics.known import KnownFiles
from connectors.ics.settings import DEFAULT_FOLDER, SCHEMA

if TYPE_CHECKING:  # imported where they are used (see the module's text)
    from icalendar import Event

    from connectors.ics import parse
    from connectors.ics.outbox import Outbox
    from connectors.recurrence import Occurrence
    from connectors.smtp import SmtpSender

log = logging.getLogger(__name__)


class IcsBackend(CalendarBackend):
    """Calendars as iCalendar files in a folder (see :mod:`connectors.ics`)."""

    name: ClassVar[str] = "ics"
    # Each write call replaces the whole file once: hand it a salesperson's whole cycle.
    write_batch: ClassVar[int] = 1000
    local: ClassVar[bool] = True
    config_schema: ClassVar[Schema] = SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = SCHEMA.help_texts()

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The calendar folder must take new files (the shipped unit makes everything but the
        state directory read-only); a ``busy_folder`` must exist."""
        from connectors.localfiles import writable_problem

        problems: list[tuple[str, str]] = []
        folder = base_dir / str(section.get("folder", DEFAULT_FOLDER))
        why = writable_problem(folder / "salesperson@example.com.ics")
        if why:
            problems.append(("folder", why))
        busy = section.get("busy_folder")
        if isinstance(busy, str) and busy and not (base_dir / busy).is_dir():
            problems.append(("busy_folder", f"{base_dir / busy} is not a folder"))
        return problems

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.folder = context.base_dir / config.get("folder", DEFAULT_FOLDER)
        busy_folder = config.get("busy_folder")
        self.busy_folder = context.base_dir / busy_folder if busy_folder else None
        # path -> (version of the file, what was reported about that version)
        self._reported: dict[str, tuple[str, set[str]]] = {}
        self.sender: SmtpSender | None = None
        if config.get("invites", False):  # the mail modules only when invitations are on
            from connectors.email import invite_sender

            self.sender = invite_sender(config, context, "calendar.ics")
        # Each file is parsed once per version: list_owned, busy and past_events of one cycle
        # (and the daemon's next cycles, while nobody edits the file) share one parse.
        self.files = LoadCache()
        # A version cadence wrote is not parsed at all: the write said what a read finds.
        self.known = KnownFiles(context.state)

    @functools.cached_property
    def outbox(self) -> Outbox:
        """The invitation outbox (:mod:`.outbox`), made when first used."""
        from connectors.ics.outbox import Outbox

        return Outbox(self.context.state, self.sender, self.stamp)

    # -- the contract ------------------------------------------------------------------------

    def path_for(self, owner: str) -> Path:
        """The file holding ``owner``'s calendar."""
        return self.folder / f"{file_stem(owner)}.ics"

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in ``owner``'s file as they are now, sorted by uid.

        One that cannot be read comes back with ``status="unreadable"`` (see the package docs)
        and is logged once per version of the file. Also retries pending invitations first,
        when invitations are on.
        """
        if self.sender is not None:
            self.flush_invites(owner)
        path = self.path_for(owner)
        zone = owner_zone(self.context, owner)
        known = self.known.owned(owner, path, zone)
        if known is not None:
            return known
        loaded = self.files.load(path)
        if loaded is None:
            return []
        from connectors.ics.events import UNKNOWN_TIME, UNREADABLE, owned_entries, unreadable_event

        events = []
        for uid, entry in owned_entries(loaded.cal, loaded.problems, owner, zone).items():
            if entry.remote is not None:
                events.append(entry.remote)
                continue
            self._report_once(
                loaded, f"unreadable:{uid}", logging.ERROR,
                "%s: cadence event %s cannot be read (%s); cadence leaves it exactly as it is "
                "until it is fixed in the file", path, uid, entry.problem,
            )  # fmt: skip
            try:
                events.append(unreadable_event(entry.event, uid, owner, zone))
            except Exception:  # even the best effort failed: the uid is what matters
                events.append(
                    RemoteEvent(uid, owner, UNKNOWN_TIME, UNKNOWN_TIME, status=UNREADABLE)
                )
        return sorted(events, key=lambda e: e.uid)

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Opaque, live events that are not cadence's, in the owner's file and ``busy_folder``."""
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        occurrences = list(self._foreign_occurrences(owner, start, end, zone))
        if not occurrences:
            return []
        from connectors.ics.events import owner_partstat

        seen = set()
        for occ in occurrences:
            ev = occ.event
            if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if owner_partstat(ev, owner) == "DECLINED" or occ.end <= occ.start:
                continue
            seen.add(BusyInterval(occ.start, occ.end, all_day=occ.all_day))
        return sorted(seen, key=lambda b: (b.start, b.end))

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Timed events that are not cadence's overlapping ``[start, end)``, with attendees
        (and the organizer) other than the owner, lower-case. Occurrences of a recurring event
        have ids ``UID/<start in UTC>``. A series too dense to expand (see
        :mod:`connectors.recurrence`) gives none: it is busy time, not a record of meetings.
        """
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        found: dict[str, PastEvent] = {}
        occurrences = list(self._foreign_occurrences(owner, start, end, zone))
        if not occurrences:
            return []
        from connectors.icalpeople import meeting

        for occ in occurrences:
            if occ.all_day or occ.whole_span:
                continue
            ev = occ.event
            uid = str(ev.get("UID", ""))
            remote_id = f"{uid}/{occ.start:%Y%m%dT%H%M%SZ}" if occ.recurring else uid
            found[remote_id] = meeting(ev, owner, remote_id, occ.start, occ.end)
        return sorted(found.values(), key=lambda p: (p.start, p.remote_id))

    def new_past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """:meth:`past_events` not returned before (see the base class), by content: while the
        owner's files hold the same bytes as at the last call, only the time that passed since
        then is read (a meeting that has now begun); when they changed (a meeting entered late,
        moved, a customer's answer) the whole window is read again. Either way only events not
        returned before come back.
        """
        require_window(start, end)
        key = f"past-read:{owner.lower()}"
        content = self._content_digest(owner)
        saved = self.context.state.get(key)
        last_content, _, last_end = (saved or "").partition(" ")
        window_start = start
        if last_content == content and last_end:
            window_start = max(start, datetime.fromisoformat(last_end))
        events = self.past_events(owner, window_start, end) if window_start < end else []
        fresh = unseen_past_events(self.context.state, past_events_key(owner), events, start)
        self.context.state.set(key, f"{content} {end.astimezone(UTC).isoformat()}")
        return fresh

    def _content_digest(self, owner: str) -> str:
        """A hash of the versions (byte hashes) of the owner's file and their ``busy_folder``
        file, from the parse cache: an unchanged file is not read again."""
        digest = hashlib.sha256()
        own = self.path_for(owner)
        paths = [own]
        if self.busy_folder is not None:
            paths.append(self.busy_folder / f"{file_stem(owner)}.ics")
        zone = owner_zone(self.context, owner)
        for path in paths:
            try:
                version = path == own and self.known.version(owner, path, zone)
                version = version or self.files.version(path)
            except BackendError:
                version = None
            digest.update(version.encode() if version else b"\0missing")
            digest.update(b"\0")
        return digest.hexdigest()[:32]

    def version(self, owner: str, last: str | None = None) -> str | None:
        """What tells one state of ``owner``'s calendar from another, without parsing it:
        ``"<inode:size:mtime of each file>|<hash of their bytes>"``. When the files' inode,
        size and mtime are those of ``last`` (an earlier answer), ``last`` is the answer and
        nothing is read; otherwise the bytes are read and hashed (a file touched or copied
        back hashes as before). None while invitations are on: the outbox's retries are work
        a cycle must do whatever the file holds.
        """
        if self.sender is not None:
            return None
        paths = [self.path_for(owner)]
        if self.busy_folder is not None:
            paths.append(self.busy_folder / f"{file_stem(owner)}.ics")
        stats = ";".join(
            ":".join(map(str, seen)) if (seen := fingerprint(p)) else "-" for p in paths
        )
        if last is not None and last.partition("|")[0] == stats:
            return last
        digest = hashlib.sha256()
        for path in paths:
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except FileNotFoundError:
                digest.update(b"\0missing")
            except OSError as exc:
                raise BackendError(f"{path}: cannot read: {exc.strerror}") from None
        return f"{stats}|{digest.hexdigest()[:32]}"

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` to the owner's file in one atomic replacement; one result per op.

        A calendar application does not take cadence's lock: when the file changes between
        reading it and replacing it, the batch starts over on the new version, so a person's
        edit is never overwritten (after a few such races: :class:`TransientError`).
        """
        from connectors.ics.writing import write_file

        results, invites = write_file(self, owner, ops)
        if invites:
            self.flush_invites(owner)
        return results

    # -- invitations (see connectors.ics.outbox) ---------------------------------------------

    def pending_invites(self, owner: str) -> int:
        """How many invitations for ``owner`` wait in the outbox (held ones included)."""
        return len(self.outbox.entries(owner))

    def held_invites(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s invitations set aside after a failure of their own, for the report:
        ``uid``, ``method``, ``attempts``, ``last_error`` and ``next_attempt`` (aware UTC
        datetime), in outbox order.
        """
        return self.outbox.held(owner)

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines (see :meth:`held_invites`)."""
        return self.outbox.set_aside(owner)

    def notify_attendees(self, owner: str, uids: Sequence[str]) -> int:
        """Tell the attendees what the owner did to events ``uids`` in the file (see the base
        class and :meth:`Outbox.tell_attendees`). Only the attendees are mailed: the owner made
        the change."""
        if self.sender is None or not uids:
            return 0
        from connectors.ics.events import owned_entries

        loaded = self.files.load(self.path_for(owner))
        owned = (
            owned_entries(loaded.cal, loaded.problems, owner, owner_zone(self.context, owner))
            if loaded is not None
            else {}
        )

        def current(uid: str) -> tuple[RemoteEvent | None, Callable[[], Event | None]] | None:
            entry = owned.get(uid)
            if entry is None:
                return None, lambda: None
            if entry.remote is None:
                return None  # unreadable: left alone until it is fixed
            return entry.remote, lambda: entry.event

        queued = self.outbox.tell_attendees(owner, uids, current)
        if queued:
            self.flush_invites(owner)
        return queued

    def flush_invites(self, owner: str) -> int:
        """Send ``owner``'s pending invitations, oldest first; returns how many still wait.

        One that fails on its own is set aside with a backoff and does not hold up the others
        (see :meth:`connectors.ics.outbox.Outbox.flush`).
        """
        return self.outbox.flush(owner)

    # -- reading -----------------------------------------------------------------------------

    def _foreign_occurrences(
        self, owner: str, start: datetime, end: datetime, zone: tzinfo
    ) -> Iterator[Occurrence]:
        """Occurrences of events that are not cadence's, overlapping ``[start, end)``, from the
        owner's file and ``busy_folder``, not cancelled, expanded within the bounds of
        :mod:`connectors.recurrence`. A broken event is skipped (and logged once); the rest
        still counts.
        """
        paths = [self.path_for(owner)]
        if self.busy_folder is not None:
            paths.append(self.busy_folder / f"{file_stem(owner)}.ics")
        for path in paths:
            known = None
            if path == paths[0]:
                others = self.known.holds_others(owner, path, zone)
                if others is False:  # as cadence wrote it, with no one else's events
                    continue
                known = self.known.foreign(owner, path, zone) if others else None
            loaded = known or self.files.foreign(path)
            if loaded is None:
                continue
            from connectors.ics.foreign import foreign_occurrences
            from connectors.recurrence import Expansion

            expansion = Expansion(zone, start, end, label=str(path))
            yield from foreign_occurrences(loaded, expansion)
            for key, message in expansion.notes:
                self._report_once(loaded, key, logging.WARNING, "%s", message)

    def _report_once(
        self, loaded: parse.Loaded, key: str, level: int, message: str, *args: Any
    ) -> None:
        """Log ``message`` once per version of ``loaded``'s file and ``key``: the same broken
        event is not reported again on every call, but is again after the file changed.
        """
        name = str(loaded.path)
        version, keys = self._reported.get(name, ("", set()))
        if version != loaded.version:
            version, keys = loaded.version, set()
            self._reported[name] = (version, keys)
        if key not in keys:
            keys.add(key)
            log.log(level, message, *args)

    def owner_name(self, owner: str) -> str:
        """``owner``'s name in cadence.toml ("" when not listed)."""
        person = self.context.salesperson(owner)
        return "" if person is None else person.name

    def stamp(self) -> datetime:
        """The current time for what a write stamps: aware UTC without microseconds."""
        now = self.context.now() if self.context.now else datetime.now(UTC)
        return now.astimezone(UTC).replace(microsecond=0)
