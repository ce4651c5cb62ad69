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
two processes never interleave their read-modify-write. A file that does not parse raises
:class:`BackendError` and is never overwritten.

With ``invites = true`` every change is also e-mailed to the owner (and the attendees) as an
iMIP invitation (:mod:`connectors.email`). Invitations go through an outbox kept in the
backend's :class:`StateStore`: the calendar write succeeds even when the mail server is down,
and pending invitations are retried on the next :meth:`IcsBackend.write` or
:meth:`IcsBackend.list_owned`.
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
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from cadence.errors import Problem, UserError
from cadence.model import BusyInterval
from connectors.base import (
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
from connectors.email import SmtpSender, SmtpSettings, build_invite, invite_calendar
from connectors.memory import day_bounds, owner_zone, require_window, validate_spec, zone_of

log = logging.getLogger(__name__)

OWNED_MARKER = "X-CADENCE-UID"
TAG_PREFIX = "X-CADENCE-"
GENERATED_MARKER = "X-CADENCE-GENERATED"  # on the VTIMEZONEs cadence generated itself
PRODID = "-//cadence//cadence calendar files//EN"
_TAG_KEY = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_RESERVED_TAGS = {"uid", "generated"}
_WRITE_ATTEMPTS = 3
_ESCAPED = re.compile(r"\\([\\;,nN])")
_UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU"}


class IcsBackend(CalendarBackend):
    """Calendars as iCalendar files in a folder (see the module docs)."""

    name: ClassVar[str] = "ics"
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

        Also retries pending invitations first, when invitations are on.
        """
        if self.sender is not None:
            self.flush_invites(owner)
        cal = self._load(self.path_for(owner))
        if cal is None:
            return []
        zone = owner_zone(self.context, owner)
        events = [_remote_event(ev, owner, zone) for ev in _owned_events(cal).values()]
        return sorted(events, key=lambda e: e.uid)

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Opaque, live events that are not cadence's, in the owner's file and ``busy_folder``."""
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        seen = set()
        for ev, lo, hi, all_day, _ in self._foreign_occurrences(owner, start, end, zone):
            if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if _owner_partstat(ev, owner) == "DECLINED" or hi <= lo:
                continue
            seen.add(BusyInterval(lo, hi, all_day=all_day))
        return sorted(seen, key=lambda b: (b.start, b.end))

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Timed events that are not cadence's overlapping ``[start, end)``, with attendees
        (and the organizer) other than the owner, lower-case. Occurrences of a recurring event
        have ids ``UID/<start in UTC>``.
        """
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        found: dict[str, PastEvent] = {}
        for ev, lo, hi, all_day, recurring in self._foreign_occurrences(owner, start, end, zone):
            if all_day:
                continue
            uid = str(ev.get("UID", ""))
            remote_id = f"{uid}/{lo:%Y%m%dT%H%M%SZ}" if recurring else uid
            people = {a for a in _addresses(ev) if a != owner.lower()}
            found[remote_id] = PastEvent(
                remote_id=remote_id,
                start=lo,
                end=hi,
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
                cal = self._load(path) or self._new_calendar(owner)
                results, invites, changed = self._apply_all(cal, owner, ops)
                if not changed:
                    break
                _refresh_timezones(cal)
                data = cal.to_ical()
                _parse(data, path)  # never write what we could not read back
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
        self, cal: icalendar.Calendar, owner: str, ops: Sequence[WriteOp]
    ) -> tuple[list[WriteResult], list[dict[str, Any]], bool]:
        """Apply ``ops`` to ``cal`` in memory: (results, invitations to send, whether changed)."""
        zone = owner_zone(self.context, owner)
        now = self._now()
        results: list[WriteResult] = []
        invites: list[dict[str, Any]] = []
        changed = False
        for op in ops:
            try:
                event, did_change, invite = self._apply(cal, owner, zone, op, now)
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
        """How many invitations for ``owner`` wait in the outbox."""
        return len(self._outbox(owner))

    def flush_invites(self, owner: str) -> int:
        """Send ``owner``'s pending invitations, oldest first; returns how many still wait.

        A transient failure or a refused login stops the flush (the rest wait for the next
        try); a message the server rejects for good is dropped and logged.
        """
        if self.sender is None:
            return 0
        entries = self._outbox(owner)
        for index, entry in enumerate(entries):
            try:
                self._send(entry)
            except (TransientError, AuthError) as exc:
                log.warning("invite %s %s for %s not sent yet: %s",
                            entry["method"], entry["uid"], owner, exc)  # fmt: skip
                self._set_outbox(owner, entries[index:])
                return len(entries) - index
            except BackendError as exc:
                log.error("invite %s %s for %s dropped: %s",
                          entry["method"], entry["uid"], owner, exc)  # fmt: skip
            else:
                sent_to = ", ".join(entry["recipients"])
                log.info("invite %s %s (sequence %s) sent to %s",
                         entry["method"], entry["uid"], entry["sequence"], sent_to)  # fmt: skip
        self._set_outbox(owner, [])
        return 0

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
        return entries if isinstance(entries, list) else []

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
        self, cal: icalendar.Calendar, owner: str, zone: tzinfo, op: WriteOp, now: datetime
    ) -> tuple[RemoteEvent | None, bool, dict[str, Any] | None]:
        """Apply ``op`` to ``cal`` in memory: (event after it, whether cal changed, invite)."""
        if isinstance(op, Cancel):
            if op.owner.lower() != owner.lower():
                raise BackendError(f"cancel of {op.uid!r} belongs to {op.owner}, not to {owner}")
            current = _owned_events(cal).get(op.uid)
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
        current = _owned_events(cal).get(spec.uid)
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

    def _load(self, path: Path) -> icalendar.Calendar | None:
        """The calendar in ``path``; None when there is no such file."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackendError(f"{path}: cannot read: {exc.strerror}") from None
        return _parse(data, path)

    def _new_calendar(self, owner: str) -> icalendar.Calendar:
        cal = icalendar.Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"cadence: {self._owner_name(owner) or owner}")
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
    ) -> Iterator[tuple[icalendar.Event, datetime, datetime, bool, bool]]:
        """Occurrences of events that are not cadence's, overlapping ``[start, end)``, from the
        owner's file and ``busy_folder``, not cancelled: (event, UTC bounds, all-day, whether
        it is an occurrence of a recurring event).
        """
        paths = [self.path_for(owner)]
        if self.busy_folder is not None:
            paths.append(self.busy_folder / f"{_file_stem(owner)}.ics")
        for path in paths:
            cal = self._load(path)
            if cal is None:
                continue
            try:
                # A day of margin on each side: all-day and floating events are local days.
                query = recurring_ical_events.of(cal, components=["VEVENT"])
                occurrences = list(query.between(start - timedelta(days=1), end + timedelta(1)))
            except Exception as exc:  # the library raises assorted errors on bad RRULEs
                raise BackendError(f"{path}: cannot expand recurring events: {exc}") from None
            # Occurrences all carry a RECURRENCE-ID: which UIDs recur shows in the file only.
            recurring = {
                str(ev.get("UID"))
                for ev in cal.events
                if any(key in ev for key in ("RRULE", "RDATE", "RECURRENCE-ID"))
            }
            for ev in occurrences:
                if _is_owned(ev) or str(ev.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                lo, hi, all_day = _bounds(ev, zone, path)
                if lo < end and hi > start:
                    yield ev, lo, hi, all_day, str(ev.get("UID")) in recurring

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


def _parse(data: bytes, path: Path) -> icalendar.Calendar:
    """Parse a whole calendar file; :class:`BackendError` naming the file when it is broken."""
    hint = "fix or remove it; cadence will not overwrite it"
    try:
        cal = icalendar.Calendar.from_ical(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BackendError(f"{path}: not UTF-8 text, so not an iCalendar file; {hint}") from None
    except Exception as exc:  # icalendar raises ValueError and others on malformed input
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"{path}: not a valid iCalendar file ({first}); {hint}") from None
    if cal.name != "VCALENDAR":
        raise BackendError(f"{path}: holds a {cal.name}, not a VCALENDAR; {hint}")
    for component in cal.walk():
        for prop, message in component.errors:
            uid = component.get("UID")
            where = f"{component.name} {uid}" if uid else component.name
            raise BackendError(f"{path}: {where}: bad {prop}: {message}; {hint}")
    for ev in cal.walk("VEVENT"):
        if "DTSTART" not in ev:
            raise BackendError(f"{path}: VEVENT {ev.get('UID', '')} has no DTSTART; {hint}")
    return cal


def _is_owned(ev: icalendar.Event) -> bool:
    """cadence's own: the marker equals the UID (a copy made in an app has a new UID)."""
    marker = ev.get(OWNED_MARKER)
    return marker is not None and _text(marker) == str(ev.get("UID", ""))


def _owned_events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    owned: dict[str, icalendar.Event] = {}
    for ev in cal.events:
        if not _is_owned(ev) or "RECURRENCE-ID" in ev:
            continue
        uid = str(ev["UID"])
        if uid in owned:
            raise BackendError(f"two events with UID {uid} in the calendar; remove one")
        owned[uid] = ev
    return owned


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


def _bounds(
    ev: icalendar.Event, zone: tzinfo, path: Path | None, *, keep_dates: bool = False
) -> tuple[Any, Any, bool]:
    """(start, end, all_day): datetimes in UTC; all-day dates as dates (``keep_dates``) or as
    the local midnights in ``zone``. Floating times are read in ``zone``.
    """
    try:
        start, end = ev.start, ev.end
    except Exception as exc:  # icalendar raises when DTEND and DURATION disagree with DTSTART
        where = f"{path}: " if path else ""
        raise BackendError(f"{where}event {ev.get('UID', '')}: bad times: {exc}") from None
    if not isinstance(start, datetime):
        end = end if not isinstance(end, datetime) else end.date()
        if keep_dates:
            return start, end, True
        lo, hi = day_bounds(start, end, zone)
        return lo, hi, True
    if not isinstance(end, datetime):
        end = datetime.combine(end, start.timetz())
    return _utc(start, zone), _utc(end, zone), False


def _utc(value: datetime, zone: tzinfo) -> datetime:
    if value.tzinfo is None:  # floating time: the salesperson's wall clock
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


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


def _dt(ev: icalendar.Event, name: str) -> datetime | None:
    value = getattr(ev.get(name), "dt", None)
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
    ev.add("summary", spec.title)
    if spec.description:
        ev.add("description", spec.description)
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
        alarm.add("description", spec.title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        ev.add_component(alarm)
    return ev


def _cal_address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
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
            value = getattr(ev.get(name), "dt", None)
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


def _replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: readers see the old file or the new one."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
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


def _outbox_key(owner: str) -> str:
    return f"ics.outbox:{owner.lower()}"
