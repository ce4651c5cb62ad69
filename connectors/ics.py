"""The ``ics`` backend: one RFC 5545 file per salesperson, ``<folder>/<email>.ics``.

The embedded default. Each salesperson's calendar is a plain iCalendar file that any calendar
application can open or subscribe to; cadence's events in it carry a stable ``UID``, a
``SEQUENCE`` bumped on every change, ``X-CADENCE-UID`` (the ownership marker: cadence touches
only events where it equals the ``UID``) and one ``X-CADENCE-<TAG>`` property per tag.

What a person does to the file is respected: a moved ``DTSTART``/``DTEND`` is the event's new
time, a removed VEVENT is gone, ``STATUS:CANCELLED`` reads as cancelled and the owner's
``ATTENDEE;PARTSTAT=DECLINED`` as declined. Everything in the file that is not cadence's counts
as busy time (unless transparent, cancelled or declined), recurring events expanded, and so do
the events of ``busy_folder/<email>.ics`` (say, an export of another calendar).

Files are replaced atomically (temporary file in the same folder, fsync, :func:`os.replace`)
under an :func:`fcntl.flock` on ``.<email>.ics.lock``, so a reader never sees half a file and
two processes never interleave their read-modify-write. A file keeps its mode; a new one gets
``0o666`` less the process umask (systemd's ``UMask=0027``: ``0o640``).

**Broken input.** A file that is not an iCalendar file at all (not UTF-8, no VCALENDAR, a
broken structure) raises :class:`BackendError` and is never overwritten. One broken event does
not stop the rest of the file being read:

* one of cadence's events that cannot be read (a property icalendar rejects, a duplicated
  single-valued property such as ``SEQUENCE`` or ``DTSTART``, unreadable times, a UID held by
  two events) is listed by :meth:`IcsBackend.list_owned` with ``status="unreadable"``, its uid,
  its first start and end that parse (else both :data:`UNKNOWN_TIME`, 1970-01-01 UTC: use the
  times cadence recorded) and whatever else reads; it is logged once per version of the file,
  and :meth:`IcsBackend.write` never rewrites, deletes or re-creates it: an operation on its
  uid fails alone, with a :class:`BackendError` saying to fix it in the file;
* someone else's event whose times cannot be read is left out of busy time and contacts, with
  one warning; one with another broken property still counts as busy.

A file is rewritten only when every broken component in it comes out with exactly its lines
(unfolded, in any order) and the new file reads back with no new problem; else the whole write
fails, and the file is left as it is.

**Recurrence, within bounds.** Someone's recurring event is expanded within the bounds of
:mod:`connectors.recurrence` (shared with the CalDAV backend), one budget per file: a series
that repeats more often than hourly, or has too many steps up to the window's end, counts as
busy for its whole span in the window and gives no contacts; a rule that names no day that
exists (``BYMONTH=2;BYMONTHDAY=30``) counts once. Each of these is logged once per version of
the file, naming the file and the UID.

With ``invites = true`` every change is also e-mailed to the owner (and the attendees) as an
iMIP invitation (:mod:`connectors.email`). Invitations go through an outbox kept in the
backend's :class:`StateStore`: the calendar write succeeds even when the mail server is down,
and pending invitations are retried on the next :meth:`IcsBackend.write` or
:meth:`IcsBackend.list_owned`. One invitation that fails on its own (rejected for good, or
impossible to build) is set aside with a backoff and never holds up the others
(:meth:`IcsBackend.flush_invites`, :meth:`IcsBackend.held_invites`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import icalendar

from cadence.errors import Problem, UserError
from cadence.model import BusyInterval
from connectors.base import (
    SET_ASIDE_LOG,
    AuthError,
    BackendContext,
    BackendError,
    CalendarBackend,
    Cancel,
    ConflictError,
    EventSpec,
    NotFoundError,
    PastEvent,
    RemoteEvent,
    TransientError,
    Update,
    WriteOp,
    WriteResult,
)
from connectors.email import (
    SmtpSender,
    SmtpSettings,
    build_invite,
    clean_text,
    invite_calendar,
    one_line,
)
from connectors.memory import owner_zone, require_window, validate_spec, zone_of
from connectors.recurrence import Expansion, Occurrence
from connectors.recurrence.times import as_list as _as_list
from connectors.recurrence.times import ical_text as _ical_text
from connectors.recurrence.times import to_utc as _utc
from connectors.recurrence.times import utc_bounds as _bounds

log = logging.getLogger(__name__)

OWNED_MARKER = "X-CADENCE-UID"
TAG_PREFIX = "X-CADENCE-"
GENERATED_MARKER = "X-CADENCE-GENERATED"  # on the VTIMEZONEs cadence generated itself
PRODID = "-//cadence//cadence calendar files//EN"
_TAG_KEY = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_RESERVED_TAGS = {"uid", "generated"}
_WRITE_ATTEMPTS = 3
INVITE_RETRY_FIRST = timedelta(minutes=1)  # an invitation set aside waits this, doubling...
INVITE_RETRY_MAX = timedelta(days=1)  # ...up to this
_ESCAPED = re.compile(r"\\([\\;,nN])")
_UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU"}

#: :attr:`RemoteEvent.status` of one of cadence's events that cannot be read.
UNREADABLE = "unreadable"
#: start and end of an unreadable event whose times cannot be read at all.
UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class IcsBackend(CalendarBackend):
    """Calendars as iCalendar files in a folder (see the module docs)."""

    name: ClassVar[str] = "ics"
    # Each write call replaces the whole file once: hand it a salesperson's whole cycle.
    write_batch: ClassVar[int] = 1000
    config_keys: ClassVar[Mapping[str, str]] = {
        "folder": "folder of the <email>.ics files (default 'calendars')",
        "invites": "also e-mail iMIP invitations through [smtp] (default false)",
        "busy_folder": "folder of exported <email>.ics files whose events count as busy",
    }

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Unknown keys, and values of the wrong type."""
        problems = super().validate_config(section)
        for key in ("folder", "busy_folder"):
            if key in section and (not isinstance(section[key], str) or not section[key]):
                problems.append((key, f"expected a folder path, got {section[key]!r}"))
        if "invites" in section and not isinstance(section["invites"], bool):
            problems.append(("invites", f"expected true or false, got {section['invites']!r}"))
        return problems

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.folder = context.base_dir / config.get("folder", "calendars")
        busy_folder = config.get("busy_folder")
        self.busy_folder = context.base_dir / busy_folder if busy_folder else None
        self.sender: SmtpSender | None = None
        # path -> (version of the file, what was reported about that version)
        self._reported: dict[str, tuple[str, set[str]]] = {}
        if config.get("invites", False):
            if not context.smtp:
                raise UserError(
                    "invitations need a mail server",
                    [Problem(table="calendar.ics", key="invites", message=(
                        "invites = true needs an [smtp] section (host, sender...)"
                    ))],
                )  # fmt: skip
            settings = SmtpSettings.from_mapping(context.smtp, context.base_dir)
            self.sender = SmtpSender(settings, context.env)

    # -- the contract ------------------------------------------------------------------------

    def path_for(self, owner: str) -> Path:
        """The file holding ``owner``'s calendar."""
        return self.folder / f"{_file_stem(owner)}.ics"

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in ``owner``'s file as they are now, sorted by uid.

        One that cannot be read comes back with ``status="unreadable"`` (see the module docs)
        and is logged once per version of the file. Also retries pending invitations first,
        when invitations are on.
        """
        if self.sender is not None:
            self.flush_invites(owner)
        path = self.path_for(owner)
        loaded = self._load(path)
        if loaded is None:
            return []
        zone = owner_zone(self.context, owner)
        events = []
        for uid, entry in _owned_entries(loaded.cal, loaded.problems, owner, zone).items():
            if entry.remote is not None:
                events.append(entry.remote)
                continue
            self._report_once(
                loaded, f"unreadable:{uid}", logging.ERROR,
                "%s: cadence event %s cannot be read (%s); cadence leaves it exactly as it is "
                "until it is fixed in the file", path, uid, entry.problem,
            )  # fmt: skip
            try:
                events.append(_unreadable_event(entry.event, uid, owner, zone))
            except Exception:  # even the best effort failed: the uid is what matters
                events.append(
                    RemoteEvent(uid, owner, UNKNOWN_TIME, UNKNOWN_TIME, status=UNREADABLE)
                )
        return sorted(events, key=lambda e: e.uid)

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Opaque, live events that are not cadence's, in the owner's file and ``busy_folder``."""
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        seen = set()
        for occ in self._foreign_occurrences(owner, start, end, zone):
            ev = occ.event
            if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if _owner_partstat(ev, owner) == "DECLINED" or occ.end <= occ.start:
                continue
            seen.add(BusyInterval(occ.start, occ.end, all_day=occ.all_day))
        return sorted(seen, key=lambda b: (b.start, b.end))

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Timed events that are not cadence's overlapping ``[start, end)``, with attendees
        (and the organizer) other than the owner, lower-case. Occurrences of a recurring event
        have ids ``UID/<start in UTC>``. A series too dense to expand (see the module docs)
        gives none: it is busy time, not a record of meetings.
        """
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        found: dict[str, PastEvent] = {}
        for occ in self._foreign_occurrences(owner, start, end, zone):
            if occ.all_day or occ.whole_span:
                continue
            ev = occ.event
            uid = str(ev.get("UID", ""))
            remote_id = f"{uid}/{occ.start:%Y%m%dT%H%M%SZ}" if occ.recurring else uid
            people = {a for a in _addresses(ev) if a != owner.lower()}
            found[remote_id] = PastEvent(
                remote_id=remote_id,
                start=occ.start,
                end=occ.end,
                title=str(ev.get("SUMMARY", "")),
                attendees=tuple(sorted(people)),
                declined=_owner_partstat(ev, owner) == "DECLINED",
            )
        return sorted(found.values(), key=lambda p: (p.start, p.remote_id))

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` to the owner's file in one atomic replacement; one result per op.

        A calendar application does not take cadence's lock: when the file changes between
        reading it and replacing it, the batch starts over on the new version, so a person's
        edit is never overwritten (after a few such races: :class:`TransientError`).
        """
        path = self.path_for(owner)
        for _attempt in range(_WRITE_ATTEMPTS):
            with self._locked(path):
                seen = _fingerprint(path)
                loaded = self._load(path)
                cal = loaded.cal if loaded else self._new_calendar(owner)
                problems = loaded.problems if loaded else {}
                results, invites, changed = self._apply_all(cal, problems, owner, ops)
                if not changed:
                    break
                _refresh_timezones(cal)
                data = cal.to_ical()
                _check_round_trip(loaded, data, path)  # never write what we could not read back
                if _fingerprint(path) != seen:
                    log.info("%s changed while cadence was writing it; starting over", path)
                    continue
                before = self._enqueue(owner, invites)
                try:
                    _replace_file(path, data)
                except BackendError:
                    self._set_outbox(owner, before)
                    raise
                break
        else:
            raise TransientError(f"{path}: kept changing while cadence tried to write it")
        if invites:
            self.flush_invites(owner)
        return results

    def _apply_all(
        self,
        cal: icalendar.Calendar,
        problems: Mapping[int, _Problem],
        owner: str,
        ops: Sequence[WriteOp],
    ) -> tuple[list[WriteResult], list[dict[str, Any]], bool]:
        """Apply ``ops`` to ``cal`` in memory: (results, invitations to send, whether changed)."""
        zone = owner_zone(self.context, owner)
        now = self._now()
        results: list[WriteResult] = []
        invites: list[dict[str, Any]] = []
        changed = False
        for op in ops:
            try:
                event, did_change, invite = self._apply(cal, problems, owner, zone, op, now)
            except BackendError as exc:
                results.append(WriteResult(op, error=exc))
                continue
            changed = changed or did_change
            if invite is not None:
                invites.append(invite)
            results.append(WriteResult(op, event=event))
        return results, invites, changed

    # -- invitations -------------------------------------------------------------------------

    def pending_invites(self, owner: str) -> int:
        """How many invitations for ``owner`` wait in the outbox (held ones included)."""
        return len(self._outbox(owner))

    def held_invites(self, owner: str) -> list[dict[str, Any]]:
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
                "next_attempt": _next_attempt(entry),
            }
            for entry in self._outbox(owner)
            if entry.get("attempts")
        ]

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines (see :meth:`held_invites`)."""
        return [
            f"invitation {h['method']} {h['uid']} for {owner} held after {h['attempts']} "
            f"failed attempt(s), next try {h['next_attempt']:%Y-%m-%d %H:%M} UTC: "
            f"{h['last_error']}"
            for h in self.held_invites(owner)
        ]

    def flush_invites(self, owner: str) -> int:
        """Send ``owner``'s pending invitations, oldest first; returns how many still wait.

        A transient failure or a refused login stops the flush (the server is down or the
        password is wrong: the rest wait for the next try). Any other failure of one entry (a
        message the server rejects, one that cannot even be built) sets that entry aside: it
        stays in the outbox with ``attempts``, ``last_error`` and ``next_attempt`` (backoff
        from one minute, doubling, to a day), is logged once as an error, and is skipped until
        then; the entries after it are still sent, in order. A newer invitation for the same
        uid replaces it (see :meth:`_enqueue`).
        """
        if self.sender is None:
            return 0
        entries = self._outbox(owner)
        now = self._now()
        kept: list[dict[str, Any]] = []
        for index, entry in enumerate(entries):
            if _next_attempt(entry) > now:
                kept.append(entry)
                continue
            try:
                self._send(entry)
            except (TransientError, AuthError) as exc:
                log.warning("invite %s %s for %s not sent yet: %s",
                            entry.get("method"), entry.get("uid"), owner, exc)  # fmt: skip
                kept.extend(entries[index:])
                self._set_outbox(owner, kept)
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
        self._set_outbox(owner, kept)
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
            now=self._now(),
        )  # fmt: skip
        self.sender.send(message, entry["recipients"])

    def _outbox(self, owner: str) -> list[dict[str, Any]]:
        raw = self.context.state.get(_outbox_key(owner))
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

    def _set_outbox(self, owner: str, entries: list[dict[str, Any]]) -> None:
        self.context.state.set(_outbox_key(owner), json.dumps(entries) if entries else None)

    def _enqueue(self, owner: str, invites: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``invites`` to the outbox (a newer one replaces an older one for the same uid)
        and return the outbox as it was before.
        """
        before = self._outbox(owner)
        if invites:
            fresh = {i["uid"] for i in invites}
            self._set_outbox(owner, [e for e in before if e["uid"] not in fresh] + invites)
        return before

    def _invite(self, event: icalendar.Event, owner: str, method: str) -> dict[str, Any] | None:
        if self.sender is None:
            return None
        invite = invite_calendar(event, method)
        if method == "CANCEL":
            [copy] = invite.events
            sequence = int(copy.get("SEQUENCE", 0)) + 1
            copy.pop("SEQUENCE", None)
            copy.add("sequence", sequence)
        recipients = [owner.lower(), *sorted(set(_addresses(event)) - {owner.lower()})]
        return {
            "uid": str(event["UID"]),
            "method": method,
            "sequence": int(invite.events[0].get("SEQUENCE", 0)),
            "recipients": recipients,
            "ical": invite.to_ical().decode("utf-8"),
        }

    # -- applying one operation --------------------------------------------------------------

    def _apply(
        self,
        cal: icalendar.Calendar,
        problems: Mapping[int, _Problem],
        owner: str,
        zone: tzinfo,
        op: WriteOp,
        now: datetime,
    ) -> tuple[RemoteEvent | None, bool, dict[str, Any] | None]:
        """Apply ``op`` to ``cal`` in memory: (event after it, whether cal changed, invite)."""
        if isinstance(op, Cancel):
            if op.owner.lower() != owner.lower():
                raise BackendError(f"cancel of {op.uid!r} belongs to {op.owner}, not to {owner}")
            current = _readable_owned(cal, problems, owner, zone, op.uid)
            if current is None:
                return None, False, None  # already gone
            if op.etag is not None and op.etag != _etag(current):
                raise ConflictError(f"event {op.uid!r} changed in {owner}'s calendar")
            _remove(cal, current)
            self._remember_sequence(owner, op.uid, int(current.get("SEQUENCE", 0)) + 1)
            return None, True, self._invite(current, owner, "CANCEL")

        spec = op.spec
        validate_spec(spec, owner)
        for key in spec.tags:
            _tag_property(key)  # rejects tag names the file cannot carry
        current = _readable_owned(cal, problems, owner, zone, spec.uid)
        if isinstance(op, Update):
            if current is None:
                raise NotFoundError(f"event {spec.uid!r} is not in {owner}'s calendar")
            if op.etag is not None and op.etag != _etag(current):
                raise ConflictError(f"event {spec.uid!r} changed in {owner}'s calendar")
        name = self._owner_name(owner)
        if current is not None:
            sequence = int(current.get("SEQUENCE", 0))
            stamps = {k: _dt(current, k) for k in ("DTSTAMP", "CREATED", "LAST-MODIFIED")}
            if None not in stamps.values():
                same = _normalized(_build_event(spec, name, sequence, **_stamp_args(stamps)))
                if same.to_ical() == current.to_ical():  # already exactly as wanted
                    return _remote_event(current, owner, zone), False, None
            created = stamps["CREATED"] or now
            new = _normalized(_build_event(spec, name, sequence + 1, now, created, now))
            _replace(cal, current, new)
        else:
            # A uid cancelled before comes back with a higher SEQUENCE than its CANCEL had, or
            # calendar clients would ignore it as outdated.
            sequence = self._remember_sequence(owner, spec.uid, None)
            new = _normalized(_build_event(spec, name, sequence, now, now, now))
            cal.add_component(new)
        return _remote_event(new, owner, zone), True, self._invite(new, owner, "REQUEST")

    def _remember_sequence(self, owner: str, uid: str, sequence: int | None) -> int:
        """Note the SEQUENCE a cancelled ``uid`` reached (``sequence``), or take it back
        (None): returns the sequence a new event with that uid starts at.
        """
        key = f"ics.cancelled:{owner.lower()}"
        try:
            cancelled = json.loads(self.context.state.get(key) or "{}")
        except ValueError:
            cancelled = {}
        if sequence is not None:
            cancelled[uid] = sequence
            start = sequence
        else:
            start = int(cancelled.pop(uid, -1)) + 1
        self.context.state.set(key, json.dumps(cancelled) if cancelled else None)
        return start

    # -- files -------------------------------------------------------------------------------

    def _load(self, path: Path) -> _Loaded | None:
        """The calendar in ``path`` and what in it cannot be read; None when there is no file.

        A file that is not an iCalendar file at all raises :class:`BackendError`; a broken
        event does not (it is in ``problems``, and reading the rest goes on).
        """
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackendError(f"{path}: cannot read: {exc.strerror}") from None
        return _parse(data, path)

    def _report_once(self, loaded: _Loaded, key: str, level: int, message: str, *args: Any) -> None:
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

    def _new_calendar(self, owner: str) -> icalendar.Calendar:
        cal = icalendar.Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", one_line(f"cadence: {self._owner_name(owner) or owner}"))
        return cal

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """Hold an exclusive lock on ``.<name>.lock`` next to ``path`` (kept, never deleted:
        deleting lock files lets two processes lock different files).
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path.with_name(f".{path.name}.lock"), "a")  # noqa: SIM115
        except OSError as exc:
            raise BackendError(f"{path.parent}: cannot create the lock file: {exc}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
            paths.append(self.busy_folder / f"{_file_stem(owner)}.ics")
        for path in paths:
            loaded = self._load(path)
            if loaded is None:
                continue
            expansion = Expansion(zone, start, end, label=str(path))
            yield from _foreign(loaded, expansion)
            for key, message in expansion.notes:
                self._report_once(loaded, key, logging.WARNING, "%s", message)

    def _owner_name(self, owner: str) -> str:
        for person in self.context.salespeople:
            if person.email.lower() == owner.lower():
                return person.name
        return ""

    def _now(self) -> datetime:
        now = self.context.now() if self.context.now else datetime.now(UTC)
        return now.astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------------------------
# Reading events


@dataclass(frozen=True, slots=True)
class _Problem:
    """Why one component of a file cannot be read, and its lines as the file has them."""

    where: str  # "VEVENT <uid>", for messages
    reason: str
    raw: tuple[str, ...] | None  # its own content lines, unfolded; None when not found
    times_ok: bool  # its times (and recurrence) still read: as foreign busy time it counts


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A parsed file: the calendar, its unreadable components (by ``id``) and its version."""

    path: Path
    cal: icalendar.Calendar
    problems: Mapping[int, _Problem]
    version: str  # a hash of the bytes: "once per version of the file"


def _parse(data: bytes, path: Path) -> _Loaded:
    """Parse a whole calendar file.

    :class:`BackendError` naming the file when it is not an iCalendar file at all; a component
    with a broken property, a duplicated single-valued one or unreadable times is listed in
    ``problems`` instead, so that one bad event does not stop the rest of the file being read.
    """
    hint = "fix or remove it; cadence will not overwrite it"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackendError(f"{path}: not UTF-8 text, so not an iCalendar file; {hint}") from None
    try:
        cal = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and others on malformed input
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"{path}: not a valid iCalendar file ({first}); {hint}") from None
    if cal.name != "VCALENDAR":
        raise BackendError(f"{path}: holds a {cal.name}, not a VCALENDAR; {hint}")
    components = list(cal.walk())
    blocks = _raw_blocks(text)
    if len(blocks) != len(components):  # a line icalendar dropped: nothing can be matched up
        blocks = [None] * len(components)  # type: ignore[list-item]
    problems: dict[int, _Problem] = {}
    for component, raw in zip(components, blocks, strict=True):
        found = _component_problem(component)
        if found is not None:
            reason, times_ok = found
            problems[id(component)] = _Problem(_where(component), reason, raw, times_ok)
    version = hashlib.sha256(data).hexdigest()[:16]
    return _Loaded(path, cal, problems, version)


def _where(component: icalendar.cal.Component) -> str:
    uid = component.get("UID")
    if isinstance(uid, list):
        uid = uid[0]
    return f"{component.name} {uid}" if uid else str(component.name)


# Properties an event has at most once (RFC 5545 3.6.1). A second one makes the event ambiguous:
# which SEQUENCE, which start? cadence does not guess.
_SINGLE = (
    "UID", "DTSTART", "DTEND", "DURATION", "SEQUENCE", "STATUS", "TRANSP", "RECURRENCE-ID",
    "SUMMARY", "DTSTAMP", "CREATED", "LAST-MODIFIED", "ORGANIZER", OWNED_MARKER,
)  # fmt: skip


# What an event's times and recurrence are read from.
_TIME_PROPS = frozenset(
    {"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)


def _component_problem(component: icalendar.cal.Component) -> tuple[str, bool] | None:
    """Why ``component`` cannot be read (its own properties only) and whether its times still
    can, or None when it reads.
    """
    found: tuple[str, bool] | None = None
    for prop, message in component.errors:
        if prop is None:  # icalendar dropped the line: which property it was is not known
            found = found or (f"a line that is not a property ({message})", True)
        elif str(prop).upper() in _TIME_PROPS:
            return f"bad {prop}: {message}", False
        else:
            found = found or (f"bad {prop}: {message}", True)
    if component.name != "VEVENT":
        return found
    ev = component
    for name in (*_SINGLE, *(n for n in ev if n.upper().startswith(TAG_PREFIX))):
        values = ev.get(name)
        if isinstance(values, list):
            reason = f"{name.upper()} appears {len(values)} times"
            if name.upper() in _TIME_PROPS:
                return reason, False
            found = found or (reason, True)
    if "DTSTART" not in ev:
        return "no DTSTART", False
    try:
        _bounds(ev, UTC, None)
    except BackendError as exc:
        return str(exc), False
    for rule in _as_list(ev.get("RRULE")):
        if not isinstance(rule, icalendar.vRecur) or not rule.get("FREQ"):
            return f"RRULE {_ical_text(rule)!r} has no FREQ", False
    return found


def _content_lines(text: str) -> list[str]:
    """The unfolded content lines of ``text`` (RFC 5545 3.1), blank ones left out."""
    lines: list[str] = []
    for line in re.split(r"\r\n|\n|\r", text):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def _line_key(line: str) -> str:
    """A content line with its property name in upper case (names are case-insensitive)."""
    cut = min((i for i in (line.find(";"), line.find(":")) if i >= 0), default=len(line))
    return line[:cut].upper() + line[cut:]


def _raw_blocks(text: str) -> list[tuple[str, ...]]:
    """Each component's own content lines (not its subcomponents'), in the order of
    ``BEGIN`` lines: the order in which :meth:`icalendar.Calendar.walk` yields components.
    """
    blocks: list[list[str]] = []
    stack: list[list[str]] = []
    for line in _content_lines(text):
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            blocks.append([])
            stack.append(blocks[-1])
        elif name == "END":
            if stack:
                stack.pop()
        elif stack:
            stack[-1].append(_line_key(line))
    return [tuple(sorted(block)) for block in blocks]


def _check_round_trip(loaded: _Loaded | None, data: bytes, path: Path) -> None:
    """Refuse (:class:`BackendError`) to write ``data`` over ``path`` unless it reads back with
    no new problem and every broken component of the file as it was keeps its exact lines:
    cadence never "repairs" (and so loses) what a person wrote, even where it is broken.
    """
    hint = "fix it in the file; cadence will not rewrite a file it would change there"
    after = _parse(data, path)  # a whole-file failure raises here
    if len(after.problems) > (len(loaded.problems) if loaded else 0):
        known = {(p.where, p.reason) for p in (loaded.problems.values() if loaded else ())}
        fresh = [p for p in after.problems.values() if (p.where, p.reason) not in known]
        first = (fresh or list(after.problems.values()))[0]
        raise BackendError(
            f"{path}: the new version would not read back ({first.where}: {first.reason}); "
            "nothing was written"
        )
    if loaded is None:
        return
    by_id = {id(c): c for c in loaded.cal.walk()}
    for key, problem in loaded.problems.items():
        component = by_id.get(key)
        if component is None:
            raise BackendError(f"{path}: {problem.where} ({problem.reason}) would be lost; {hint}")
        text = component.to_ical().decode("utf-8")
        blocks = _raw_blocks(text)
        if problem.raw is None or not blocks or blocks[0] != problem.raw:
            raise BackendError(
                f"{path}: {problem.where}: {problem.reason}; cadence cannot keep it exactly as "
                f"it is when rewriting the file, so it writes nothing: {hint}"
            )


# --------------------------------------------------------------------------------------------
# cadence's own events


def _owned_uid(ev: icalendar.Event) -> str | None:
    """The uid when ``ev`` is cadence's own: the marker equals the UID (a copy made in an app
    has a new UID). Read leniently, so that an event with a duplicated UID or marker line is
    still recognised as cadence's (and then reported as unreadable, never taken as foreign).
    """
    uids = {_text(u) for u in _as_list(ev.get("UID"))}
    for marker in _as_list(ev.get(OWNED_MARKER)):
        text = _text(marker)
        if text in uids:
            return text
    return None


def _is_owned(ev: icalendar.Event) -> bool:
    return _owned_uid(ev) is not None


@dataclass(slots=True)
class _Owned:
    """One of cadence's uids in a file: the event, and either how it reads or why it cannot."""

    event: icalendar.Event
    remote: RemoteEvent | None
    problem: str | None


def _owned_entries(
    cal: icalendar.Calendar, problems: Mapping[int, _Problem], owner: str, zone: tzinfo
) -> dict[str, _Owned]:
    """cadence's events in ``cal`` by uid. An event that cannot be read, or a uid held by two
    events, has ``remote=None`` and the ``problem``.
    """
    owned: dict[str, _Owned] = {}
    for ev in cal.walk("VEVENT"):
        uid = _owned_uid(ev)
        if uid is None or ("RECURRENCE-ID" in ev and not isinstance(ev["RECURRENCE-ID"], list)):
            continue  # a person's exception to one occurrence is not one of cadence's events
        if uid in owned:
            owned[uid] = _Owned(owned[uid].event, None, "two events have this UID; remove one")
            continue
        problem = problems.get(id(ev))
        if problem is not None:
            owned[uid] = _Owned(ev, None, problem.reason)
            continue
        try:
            owned[uid] = _Owned(ev, _remote_event(ev, owner, zone), None)
        except Exception as exc:  # any value cadence cannot make sense of: this event only
            owned[uid] = _Owned(ev, None, f"{type(exc).__name__}: {exc}")
    return owned


def _readable_owned(
    cal: icalendar.Calendar,
    problems: Mapping[int, _Problem],
    owner: str,
    zone: tzinfo,
    uid: str,
) -> icalendar.Event | None:
    """cadence's event ``uid`` in ``cal`` (None: not there); :class:`BackendError` when it is
    there but cannot be read, so that no operation rewrites, deletes or duplicates it.
    """
    # Only the events carrying ``uid`` are read: a write batch calls this once per operation,
    # and reading every event each time made a first sync quadratic in the file's size.
    found = [
        ev
        for ev in cal.walk("VEVENT")
        if uid in {_text(u) for u in _as_list(ev.get("UID"))}
        and _owned_uid(ev) == uid
        and not ("RECURRENCE-ID" in ev and not isinstance(ev["RECURRENCE-ID"], list))
    ]
    if not found:
        return None
    problem: str | None = None
    if len(found) > 1:
        problem = "two events have this UID; remove one"
    elif (known := problems.get(id(found[0]))) is not None:
        problem = known.reason
    else:
        try:
            _bounds(found[0], zone, None, keep_dates=True)
            int(found[0].get("SEQUENCE", 0))
        except Exception as exc:  # any value cadence cannot make sense of: this event only
            problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        raise BackendError(
            f"event {uid!r} in {owner}'s calendar file is unreadable ({problem}); "
            "cadence leaves it as it is: fix it in the file"
        )
    return found[0]


def _remote_event(ev: icalendar.Event, owner: str, zone: tzinfo) -> RemoteEvent:
    start, end, all_day = _bounds(ev, zone, None, keep_dates=True)
    status = "confirmed"
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        status = "cancelled"
    elif _owner_partstat(ev, owner) == "DECLINED":
        status = "declined"
    uid = str(ev["UID"])
    return RemoteEvent(
        uid=uid,
        owner=owner,
        start=start,
        end=end,
        all_day=all_day,
        status=status,
        title=str(ev.get("SUMMARY", "")),
        etag=_etag(ev),
        remote_id=uid,
        sequence=int(ev.get("SEQUENCE", 0)),
        tags=_tags(ev),
    )


def _unreadable_event(ev: icalendar.Event, uid: str, owner: str, zone: tzinfo) -> RemoteEvent:
    """What can still be told of cadence's event ``uid`` that cannot be read as a whole: its
    first start and end that parse (else :data:`UNKNOWN_TIME` for both), and best-effort
    title, sequence and tags.
    """
    start: datetime | date = UNKNOWN_TIME
    end: datetime | date = UNKNOWN_TIME
    all_day = False
    starts = [v.dt for v in _as_list(ev.get("DTSTART")) if isinstance(v, icalendar.vDDDTypes)]
    ends = [v.dt for v in _as_list(ev.get("DTEND")) if isinstance(v, icalendar.vDDDTypes)]
    if starts and isinstance(starts[0], date):
        first = starts[0]
        if isinstance(first, datetime):
            start = _utc(first, zone)
            last = ends[0] if ends and isinstance(ends[0], datetime) else first
            end = max(start, _utc(last, zone))
        else:
            all_day = True
            start = first
            last = ends[0] if ends and type(ends[0]) is date else first + timedelta(days=1)
            end = max(last, first + timedelta(days=1))
    summaries = _as_list(ev.get("SUMMARY"))
    sequences = [s for s in _as_list(ev.get("SEQUENCE")) if isinstance(s, int)]
    try:
        tags = _tags(ev)
    except Exception:  # the tags are what is broken: report the event without them
        tags = {}
    return RemoteEvent(
        uid=uid,
        owner=owner,
        start=start,
        end=end,
        all_day=all_day,
        status=UNREADABLE,
        title=str(summaries[0]) if summaries else "",
        etag=_etag(ev),
        remote_id=uid,
        sequence=int(sequences[0]) if sequences else 0,
        tags=tags,
    )


# --------------------------------------------------------------------------------------------
# Busy time: events that are not cadence's


def _foreign(loaded: _Loaded, expansion: Expansion) -> Iterator[Occurrence]:
    """Occurrences in ``expansion``'s window of the events in ``loaded`` that are not
    cadence's, series by series; what was left out or approximated goes to its ``notes``.
    """
    path = loaded.path
    groups: dict[str, list[icalendar.Event]] = {}
    broken: dict[str, _Problem] = {}
    for ev in loaded.cal.walk("VEVENT"):
        if _is_owned(ev):
            continue
        uid = _text(ev["UID"]) if "UID" in ev and not isinstance(ev["UID"], list) else ""
        key = uid or f"#{id(ev)}"
        problem = loaded.problems.get(id(ev))
        if problem is not None and not problem.times_ok:
            broken.setdefault(key, problem)
        elif problem is not None:
            expansion.note(
                f"odd:{key}",
                f"{path}: {problem.where}: {problem.reason}; its time still counts as "
                "busy, but cadence will not rewrite this file until it is fixed",
            )
        groups.setdefault(key, []).append(ev)
    for key, group in groups.items():
        if key in broken:
            problem = broken[key]
            expansion.note(
                f"broken:{key}",
                f"{path}: {problem.where}: {problem.reason}; this event is left out "
                "of busy time and contacts until it is fixed (the rest of the file counts)",
            )
            continue
        yield from expansion.series(key, group, loaded.cal)


def _tags(ev: icalendar.Event) -> dict[str, str]:
    tags = {}
    for name, value in ev.property_items(recursive=False, sorted=False):
        name = name.upper()
        if name.startswith(TAG_PREFIX) and name != OWNED_MARKER:
            tags[name[len(TAG_PREFIX) :].lower().replace("-", "_")] = _text(value)
    return tags


def _text(value: Any) -> str:
    """A TEXT value, unescaped. icalendar hands X- properties back still escaped (it cannot
    know their type), so undo RFC 5545 3.3.11 escaping here, in one pass.
    """
    if isinstance(value, icalendar.vText):
        return str(value)
    raw = value.to_ical() if hasattr(value, "to_ical") else value
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), str(raw))


def _address(value: Any) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.lower()


def _addresses(ev: icalendar.Event) -> list[str]:
    """Attendees and organizer, lower-case, in order, without duplicates."""
    found = [_address(a) for a in _as_list(ev.get("ATTENDEE"))]
    if ev.get("ORGANIZER") is not None:
        found.append(_address(ev["ORGANIZER"]))
    return list(dict.fromkeys(a for a in found if a))


def _owner_partstat(ev: icalendar.Event, owner: str) -> str:
    for attendee in _as_list(ev.get("ATTENDEE")):
        if _address(attendee) == owner.lower():
            return str(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    return ""


def _etag(ev: icalendar.Event) -> str:
    return hashlib.sha256(ev.to_ical()).hexdigest()[:32]


def _dt_value(prop: Any) -> Any:
    """The date or datetime of a date-time property; None for anything else (a duplicated
    property is a list, a broken one raises on any attribute).
    """
    return prop.dt if isinstance(prop, icalendar.vDDDTypes) else None


def _dt(ev: icalendar.Event, name: str) -> datetime | None:
    value = _dt_value(ev.get(name))
    return value if isinstance(value, datetime) else None


# --------------------------------------------------------------------------------------------
# Writing events


def _tag_property(key: str) -> str:
    """``customer_id`` -> ``X-CADENCE-CUSTOMER-ID`` (property names allow letters, digits, -)."""
    if not _TAG_KEY.match(key) or key in _RESERVED_TAGS:
        raise BackendError(
            f"tag name {key!r} cannot be stored in an .ics file: use lower-case letters, digits "
            f"and single underscores, not {sorted(_RESERVED_TAGS)}"
        )
    return TAG_PREFIX + key.upper().replace("_", "-")


def _stamp_args(stamps: Mapping[str, datetime | None]) -> dict[str, datetime]:
    return {
        "stamp": stamps["DTSTAMP"],  # type: ignore[dict-item]
        "created": stamps["CREATED"],  # type: ignore[dict-item]
        "modified": stamps["LAST-MODIFIED"],  # type: ignore[dict-item]
    }


def _build_event(
    spec: EventSpec,
    owner_name: str,
    sequence: int,
    stamp: datetime,
    created: datetime,
    modified: datetime,
) -> icalendar.Event:
    """The VEVENT for ``spec`` (already validated)."""
    ev = icalendar.Event()
    ev.add("uid", spec.uid)
    ev.add("dtstamp", stamp)
    ev.add("created", created)
    ev.add("last-modified", modified)
    ev.add("sequence", sequence)
    # Names come from customer files and cadence.toml: no control character reaches the file
    # (nor the invitation built from it).
    title = one_line(spec.title)
    ev.add("summary", title)
    if spec.description:
        ev.add("description", clean_text(spec.description))
    if spec.all_day:
        ev.add("dtstart", spec.start)
        ev.add("dtend", spec.end)
    else:
        ev.add("dtstart", _wall_clock(spec.start, spec.timezone))  # type: ignore[arg-type]
        ev.add("dtend", _wall_clock(spec.end, spec.timezone))  # type: ignore[arg-type]
    ev.add("status", "CONFIRMED")
    ev.add("transp", "TRANSPARENT" if spec.transparent else "OPAQUE")
    ev.add("organizer", _cal_address(spec.owner, owner_name))
    # The owner attends too, so that declining can be written down (PARTSTAT=DECLINED).
    ev.add("attendee", _cal_address(spec.owner, owner_name, ROLE="CHAIR", PARTSTAT="ACCEPTED"))
    for guest in spec.attendees:
        ev.add("attendee", _cal_address(
            guest, "", ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE"
        ))  # fmt: skip
    ev.add(OWNED_MARKER, icalendar.vText(spec.uid))
    for key in sorted(spec.tags):
        ev.add(_tag_property(key), icalendar.vText(spec.tags[key]))
    for minutes in sorted(set(spec.reminder_minutes)):
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        ev.add_component(alarm)
    return ev


def _cal_address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    # An address has no spaces either: whatever one_line would turn into a space goes.
    address = icalendar.vCalAddress(f"mailto:{''.join(one_line(email).split())}")
    name = one_line(name)
    if name:
        address.params["CN"] = icalendar.vText(name)
    for key, value in params.items():
        address.params[key] = value
    return address


def _wall_clock(value: datetime, zone_name: str) -> datetime:
    """``value`` as the salesperson's wall-clock time (written with TZID), or in UTC when the
    wall-clock time is ambiguous: a local time in the repeated hour of a fall-back means its
    first occurrence (RFC 5545 3.3.5), so the second one can only be written in UTC.
    """
    if zone_name.upper() in _UTC_NAMES:
        return value.astimezone(UTC)
    local = value.astimezone(zone_of(zone_name))
    twin = local.replace(fold=1 - local.fold)
    if twin.utcoffset() != local.utcoffset():
        return value.astimezone(UTC)
    return local


def _normalized(ev: icalendar.Event) -> icalendar.Event:
    """``ev`` as it reads back from a file, so its etag is the one readers will compute."""
    event = icalendar.Event.from_ical(ev.to_ical())
    assert isinstance(event, icalendar.Event)
    return event


def _index(cal: icalendar.Calendar, component: icalendar.Event) -> int:
    for i, candidate in enumerate(cal.subcomponents):
        if candidate is component:
            return i
    raise BackendError(f"event {component.get('UID')} vanished from the calendar")


def _replace(cal: icalendar.Calendar, old: icalendar.Event, new: icalendar.Event) -> None:
    cal.subcomponents[_index(cal, old)] = new


def _remove(cal: icalendar.Calendar, component: icalendar.Event) -> None:
    del cal.subcomponents[_index(cal, component)]


def _refresh_timezones(cal: icalendar.Calendar) -> None:
    """Give every IANA zone the events use a VTIMEZONE covering their years.

    VTIMEZONEs cadence generated are regenerated (their range follows the events; a narrow
    range also keeps them simple enough for every parser); ones someone else wrote are kept.
    Unused generated ones are dropped. VTIMEZONEs go first, as calendar applications write them.
    """
    years: dict[str, set[int]] = {}
    for ev in cal.walk("VEVENT"):
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = _dt_value(ev.get(name))
            zone = getattr(value, "tzinfo", None)
            if not isinstance(value, datetime) or not isinstance(zone, ZoneInfo):
                continue
            if zone.key.upper() not in _UTC_NAMES:
                years.setdefault(zone.key, set()).add(value.year)
    timezones, others = [], []
    foreign_tzids = set()
    for component in cal.subcomponents:
        if component.name != "VTIMEZONE":
            others.append(component)
        elif GENERATED_MARKER not in component:
            timezones.append(component)
            foreign_tzids.add(str(component.get("TZID")))
    for tzid in sorted(set(years) - foreign_tzids):
        first, last = min(years[tzid]), max(years[tzid])
        tz = icalendar.Timezone.from_tzinfo(
            ZoneInfo(tzid), tzid, first_date=date(first, 1, 1), last_date=date(last + 2, 1, 1)
        )
        tz.add(GENERATED_MARKER, "TRUE")
        timezones.append(tz)
    cal.subcomponents[:] = timezones + others


def _fingerprint(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from the next (None: no file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


_UMASK_LOCK = threading.Lock()


def process_umask(status: Path = Path("/proc/self/status")) -> int:
    """The process's umask, read without changing it where the system tells it
    (``Umask:`` in ``/proc/self/status``, Linux 4.7+): setting it to read it back, the only
    portable way, briefly changes it for every thread of the process. That fallback is
    serialised here, which guards against this module's other threads only.
    """
    try:
        with open(status, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # the strictest value, for the instant it is in force
        os.umask(mask)
    return mask


def _replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: readers see the old file or the new one.

    The file keeps its mode; a new one gets ``0o666`` less the umask, as ``open()`` would
    give it (``mkstemp`` makes it ``0o600``, whatever the umask: systemd's ``UMask=0027``
    should give ``0o640``, a shell's ``022`` ``0o644``).
    """
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~process_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # make the rename itself durable
        finally:
            os.close(folder)
    except OSError as exc:
        raise BackendError(f"{path}: cannot write: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Small checks


def _file_stem(owner: str) -> str:
    stem = owner.strip().lower()
    if not stem or "@" not in stem or stem.startswith(".") or any(c in stem for c in "/\\\0"):
        raise BackendError(f"{owner!r} is not an e-mail address usable as a file name")
    return stem


def _next_attempt(entry: Mapping[str, Any]) -> datetime:
    """When a held outbox entry may be tried again (long ago for one never held)."""
    try:
        when = datetime.fromisoformat(str(entry["next_attempt"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _outbox_key(owner: str) -> str:
    return f"ics.outbox:{owner.lower()}"
