""":class:`CalDavBackend`: the backend contract kept on a CalDAV server.

Where each salesperson's calendar is and who to log in as come from ``[calendar.caldav]``
(:mod:`.settings`); the protocol is in :mod:`.webdav`; the iCalendar bodies in :mod:`.ical`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import caldav
import icalendar
import requests
from caldav.lib import error as caldav_error

from cadence.values.schema import Schema
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    BusyInterval,
    CalendarBackend,
    Cancel,
    ConflictError,
    Create,
    EventSpec,
    NotFoundError,
    PastEvent,
    RemoteEvent,
    TransientError,
    Update,
    WriteOp,
    WriteResult,
    past_events_key,
    unseen_past_events,
)
from connectors.caldav.ical import (
    UID_PROPERTY,
    build_calendar,
    is_cadence_event,
    is_free,
    matches_spec,
    moment,
    outbox_form,
    owner_partstat,
    parse_owned,
    resource_name,
)
from connectors.caldav.settings import (
    CONFIG_KEYS,
    DEFAULT_TIMEOUT,
    SCHEMA,
    fill_template,
    local_problems,
)
from connectors.caldav.webdav import (
    Account,
    Collection,
    Resource,
    SyncTokenRefused,
    SyncUnsupported,
    Transport,
)
from connectors.common.codec import event_from_json, event_to_json
from connectors.common.validation import require_owner, require_window, validate_spec
from connectors.email import invite_sender
from connectors.icalpeople import people_met
from connectors.ics.outbox import Outbox, Undo, iso_time
from connectors.localfiles import read_private_file
from connectors.recurrence import Expansion, Occurrence, vevents

log = logging.getLogger(__name__)


class CalDavBackend(CalendarBackend):
    """Salespeople's calendars on a CalDAV server (see the package docstring for the how)."""

    name: ClassVar[str] = "caldav"
    config_schema: ClassVar[Schema] = SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = CONFIG_KEYS
    concurrent: ClassVar[bool] = True  # one HTTP session per thread

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The password file (or, for a per-salesperson template, its folder) and the CA
        bundle of ``verify_tls``; see :func:`connectors.caldav.settings.local_problems`."""
        return local_problems(section, base_dir)

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        verify = self.config.get("verify_tls", SCHEMA.default("verify_tls"))
        if isinstance(verify, str):
            verify = str(self._path(verify))
        self._verify: bool | str = verify
        self._timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        self._http = Transport(timeout=self._timeout, verify=verify)
        self._collections: dict[str, Collection] = {}
        self._zones = {p.email.lower(): p.timezone for p in context.salespeople}
        self._names = {p.email.lower(): p.name for p in context.salespeople}
        # href -> (version of the resource, what was reported about that version)
        self._reported: dict[str, tuple[str, set[str]]] = {}
        # invites = true: cadence mails the attendees itself (iMIP), for servers that do not
        # schedule (RFC 6638); only the attendees, the owner sees the change in their calendar.
        self.sender = invite_sender(self.config, context, "calendar.caldav")
        self.outbox = Outbox(
            context.state, self.sender, self._stamp, prefix="caldav", owner_copy=False
        )

    # -- where and who -----------------------------------------------------------------------

    def _path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.context.base_dir / path

    def _zone(self, owner: str) -> ZoneInfo:
        try:
            return ZoneInfo(self._zones.get(owner.lower(), "UTC") or "UTC")
        except ZoneInfoNotFoundError:
            return ZoneInfo("UTC")

    def _credentials(self, owner: str) -> tuple[str, str] | None:
        username = self.config.get("username")
        if not username:
            return None
        if "password_env" in self.config:
            name = self.config["password_env"]
            password = self.context.env.get(name)
            if password is None:
                raise AuthError(f"caldav: environment variable {name} (password_env) is not set")
        elif "password_file" in self.config:
            path = self._path(fill_template(self.config["password_file"], owner))
            try:
                # Refused when other users can read it (AuthError naming the fix).
                password = read_private_file(path).decode("utf-8").strip("\r\n")
            except AuthError as exc:
                raise AuthError(f"caldav: password_file: {exc}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise AuthError(f"caldav: cannot read password_file {path}: {exc}") from exc
        else:
            password = ""
        return fill_template(username, owner), password

    def _collection(self, owner: str) -> Collection:
        """The owner's calendar and credentials, discovering the calendar when needed."""
        key = owner.lower()
        if key in self._collections:
            return self._collections[key]
        auth = self._credentials(owner)
        calendars = {str(k).lower(): v for k, v in self.config.get("calendars", {}).items()}
        url = self.config.get("url", "")
        if key in calendars:
            calendar_url = calendars[key]
        elif "{" in url:
            calendar_url = fill_template(url, owner)
        else:
            calendar_url = self._discover(owner, auth)
        if not calendar_url.endswith("/"):
            calendar_url += "/"
        collection = Collection(self._http, Account(calendar_url=calendar_url, auth=auth))
        self._collections[key] = collection
        return collection

    def _discover(self, owner: str, auth: tuple[str, str] | None) -> str:
        """The first VEVENT calendar in the owner's calendar-home-set (caldav library)."""
        base = self.config.get("principal_url") or self.config.get("url")
        if not base:
            raise BackendError(f"caldav: no calendar configured for {owner}")
        base = fill_template(base, owner)
        client = caldav.DAVClient(
            url=base,
            auth=requests.auth.HTTPBasicAuth(*auth) if auth else None,
            timeout=int(self._timeout),
            ssl_verify_cert=self._verify,
        )
        try:
            if self.config.get("principal_url"):
                principal = client.principal(url=base)
            else:  # the server names the logged-in user's principal (current-user-principal)
                principal = client.principal()
            for calendar in principal.calendars():
                if "VEVENT" in calendar.get_supported_components():
                    return str(calendar.url)
        except caldav_error.AuthorizationError as exc:
            raise AuthError(f"caldav: {owner}: discovery at {base} refused: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        except OSError as exc:  # not a RequestException: e.g. no CA bundle at verify_tls
            raise BackendError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        except caldav_error.DAVError as exc:
            raise BackendError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        finally:
            client.close()
        raise BackendError(f"caldav: {owner}: no calendar for events under {base}")

    def calendar_url(self, owner: str) -> str:
        """The URL of ``owner``'s calendar collection (discovered and cached on first use)."""
        return self._collection(owner).url

    def _now(self) -> datetime:
        return self.context.now() if self.context.now else datetime.now(UTC)

    def _stamp(self) -> datetime:
        """The time for the outbox: aware UTC, without microseconds."""
        return self._now().astimezone(UTC).replace(microsecond=0)

    # -- reading -----------------------------------------------------------------------------

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in the owner's calendar, read incrementally with sync-collection.

        The state keeps the sync token and the owned events seen so far; a refused token or
        lost state means a full re-read, a server without sync-collection a calendar-query.
        With ``invites = true``, pending invitations are retried first.
        """
        if self.sender is not None:
            self.outbox.flush(owner)
        collection = self._collection(owner)
        zone = self._zone(owner)
        key = self._sync_key(owner, collection)
        saved = json.loads(self.context.state.get(key) or "{}")
        token: str = saved.get("token", "")
        events: dict[str, dict[str, Any]] = saved.get("events", {}) if token else {}
        try:
            try:
                token, changes = collection.sync(token)
            except SyncTokenRefused:
                events = {}
                token, changes = collection.sync("")
        except SyncUnsupported:
            events, token = {}, ""
            changes = collection.query(None, None, marker=UID_PROPERTY)
        for resource in changes:
            event = None
            if resource.data is not None:
                event = parse_owned(
                    resource.data, owner=owner, href=resource.href, etag=resource.etag, zone=zone
                )
            if event is None:
                events.pop(resource.href, None)
            else:
                events[resource.href] = event_to_json(event)
        self.context.state.set(
            key, json.dumps({"token": token, "events": events}) if token else None
        )
        return sorted(
            (event_from_json(owner, data) for data in events.values()), key=lambda e: e.uid
        )

    def forget_sync(self, owner: str) -> None:
        """Forget the sync token and the events seen: the next :meth:`list_owned` reads the
        whole calendar."""
        collection = self._collection(owner)
        self.context.state.set(self._sync_key(owner, collection), None)

    def _sync_key(self, owner: str, collection: Collection) -> str:
        return f"caldav:{owner.lower()}:{collection.url}"

    def _occurrences(
        self,
        owner: str,
        start: datetime,
        end: datetime,
        resources: Sequence[Resource] | None = None,
    ) -> Iterator[Occurrence]:
        """Every event occurrence overlapping ``[start, end)``, not cancelled, recurrences
        expanded within the bounds of :mod:`connectors.recurrence` (one budget for the whole
        query: a person's ``FREQ=SECONDLY`` event is busy for its span, never expanded), of
        ``resources`` (default: a calendar-query of the range).

        What was left out or approximated is logged once per version of the resource.
        """
        require_window(start, end)
        collection = self._collection(owner)
        expansion = Expansion(self._zone(owner), start, end, label=f"caldav {collection.url}")
        if resources is None:
            resources = collection.query(start, end)
        for resource in resources:
            data = resource.data or b""
            cal = icalendar.Calendar.from_ical(data)
            first_note = len(expansion.notes)
            yield from expansion.expand(vevents(cal), cal)
            version = resource.etag or hashlib.sha256(data).hexdigest()
            for key, message in expansion.notes[first_note:]:
                self._report_once(resource.href, version, key, message)

    def _report_once(self, href: str, version: str, key: str, message: str) -> None:
        """Log ``message`` once per version of the resource at ``href`` and ``key``: a dense
        series is not reported on every call, but is again after it changed.
        """
        seen_version, keys = self._reported.get(href, ("", set()))
        if seen_version != version:
            keys = set()
            self._reported[href] = (version, keys)
        if key not in keys:
            keys.add(key)
            log.warning("%s", message)

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """The owner's busy time in ``[start, end)``: opaque, not declined, not cadence's."""
        intervals = []
        for occ in self._occurrences(owner, start, end):
            if is_cadence_event(occ.event) or is_free(occ.event, owner):
                continue
            intervals.append(BusyInterval(occ.start, occ.end, occ.all_day))
        return sorted(intervals, key=lambda b: (b.start, b.end))

    def past_events(
        self,
        owner: str,
        start: datetime,
        end: datetime,
        resources: Sequence[Resource] | None = None,
    ) -> list[PastEvent]:
        """Timed events that are not cadence's, with their attendees, for contact recognition
        (of ``resources`` when given, else of a calendar-query of the range).

        A series too dense to expand gives none: it is busy time, not a record of meetings.
        """
        zone = self._zone(owner)
        found = []
        for occ in self._occurrences(owner, start, end, resources):
            event = occ.event
            if is_cadence_event(event) or occ.all_day or occ.whole_span:
                continue
            remote_id = str(event.get("uid", ""))
            if occ.recurring and "recurrence-id" in event:
                remote_id += "/" + moment(event.decoded("recurrence-id"), zone).isoformat()
            found.append(
                PastEvent(
                    remote_id=remote_id,
                    start=occ.start,
                    end=occ.end,
                    title=str(event.get("summary", "")),
                    attendees=people_met(event, owner),
                    declined=owner_partstat(event, owner) == "DECLINED",
                )
            )
        return sorted(found, key=lambda e: (e.start, e.remote_id))

    def new_past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """Meetings in ``[start, end)`` not reported before.

        The calendar is followed with a sync-collection stream of its own (RFC 6578), or, on a
        server without it, by comparing every resource's etag (one PROPFIND) and fetching only
        the changed ones: an unchanged calendar costs one small request either way, and a
        meeting entered today for last month arrives in it, whatever its date. The resources
        with other people in them are kept in the state (a recurring meeting's occurrences
        pass one by one without the resource changing) and expanded here; which occurrences
        were reported is remembered by digest (:func:`connectors.base.unseen_past_events`).
        """
        collection = self._collection(owner)
        key = f"caldav:met:{owner.lower()}:{collection.url}"
        try:
            saved = json.loads(self.context.state.get(key) or "{}")
        except ValueError:
            saved = {}
        kept: dict[str, list[str]] = dict(saved.get("resources") or {})  # href -> [etag, data]
        token = ""
        if saved.get("mode") != "etags":
            try:
                token = self._read_met_changes(collection, saved.get("token", ""), kept)
            except SyncUnsupported:
                kept.clear()  # etags from here on: read every resource's etag afresh
        if not token:
            self._read_met_etags(collection, kept)
        mode = "sync" if token else "etags"
        state = {"mode": mode, "token": token, "resources": kept}
        self.context.state.set(key, json.dumps(state))
        resources = [
            Resource(href, etag, data.encode()) for href, (etag, data) in kept.items() if data
        ]
        events = self.past_events(owner, start, end, resources)
        return unseen_past_events(self.context.state, past_events_key(owner), events, start)

    def _read_met_changes(
        self, collection: Collection, token: str, kept: dict[str, list[str]]
    ) -> str:
        """sync-collection since ``token`` into ``kept`` (all again when the token is
        refused or empty); the new token."""
        try:
            new_token, changes = collection.sync(token)
        except SyncTokenRefused:
            token = ""
            new_token, changes = collection.sync("")
        if not token:  # a full read: what was kept before is what it shows now
            kept.clear()
        for resource in changes:
            _keep_met(kept, resource, etag_only=False)
        return new_token

    def _read_met_etags(self, collection: Collection, kept: dict[str, list[str]]) -> None:
        """Without sync-collection: every etag, then only the changed resources' bodies."""
        listed = collection.etags()
        for href in set(kept) - set(listed):
            del kept[href]
        changed = [h for h, etag in listed.items() if h not in kept or kept[h][0] != etag]
        for resource in collection.multiget(changed):
            _keep_met(kept, resource, etag_only=True)
        for href in changed:  # listed but not readable as an event: remember the etag only
            kept.setdefault(href, [listed[href], ""])

    # -- writing -----------------------------------------------------------------------------

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` in order with conditional requests; per-op failures go in the results."""
        collection = self._collection(owner)
        results = []
        for op in ops:
            try:
                if isinstance(op, Cancel):
                    require_owner(op, owner)
                else:
                    validate_spec(op.spec, owner)
                if isinstance(op, Create):
                    event = self._create(owner, collection, op.spec)
                elif isinstance(op, Update):
                    event = self._update(owner, collection, op)
                else:
                    self._cancel(owner, collection, op)
                    event = None
            except (AuthError, TransientError):
                raise  # the whole call is in trouble, not just this op
            except BackendError as exc:
                results.append(WriteResult(op, error=exc))
            except ValueError as exc:  # a bad spec (naive datetime, unknown zone...)
                results.append(WriteResult(op, error=BackendError(str(exc))))
            else:
                results.append(WriteResult(op, event=event))
        if self.sender is not None and self.outbox.entries(owner):
            self.outbox.flush(owner)
        return results

    def _get(self, owner: str, collection: Collection, href: str) -> RemoteEvent | None:
        """The event at ``href`` (None when gone); BackendError when it is not cadence's."""
        resource = collection.get(href)
        if resource is None or resource.data is None:
            return None
        event = parse_owned(
            resource.data, owner=owner, href=href, etag=resource.etag, zone=self._zone(owner)
        )
        if event is None:
            raise BackendError(f"{href} exists but is not a cadence event: left alone")
        return event

    def _put(
        self,
        owner: str,
        collection: Collection,
        href: str,
        spec: EventSpec,
        *,
        sequence: int,
        condition: Mapping[str, str],
    ) -> RemoteEvent | None:
        """PUT ``spec`` at ``href`` under ``condition``; None when the precondition failed."""
        body = build_calendar(
            spec,
            sequence=sequence,
            stamp=self._now(),
            owner_name=self._names.get(owner.lower(), ""),
        )
        undo = self._queue_request(owner, spec.uid, body)
        try:
            written, etag = collection.put(href, body, condition)
        except TransientError:
            raise  # a timeout or a 5xx: the PUT may have been applied, the invitation stays
        except Exception:  # an interrupt, like a crash, leaves it queued: outcome unknown
            self._take_back(owner, undo)  # refused: certainly not written
            raise
        if not written:
            self._take_back(owner, undo)
            return None
        if etag is None:
            # No strong etag: the server changed what we sent; read it back to update safely.
            current = self._get(owner, collection, href)
            if current is None:
                raise BackendError(f"{href}: the event vanished right after it was written")
            return current
        event = parse_owned(body, owner=owner, href=href, etag=etag, zone=self._zone(owner))
        assert event is not None  # we just built it with our tags
        return event

    def _create(self, owner: str, collection: Collection, spec: EventSpec) -> RemoteEvent:
        href = collection.href(resource_name(spec.uid))
        for _ in range(3):  # create / find existing / it vanished meanwhile: try again
            created = self._put(
                owner, collection, href, spec, sequence=0, condition={"If-None-Match": "*"}
            )
            if created is not None:
                return created
            # 412: the uid exists already (a retry after a lost response): never a second event.
            existing = self._get(owner, collection, href)
            if existing is None:
                continue
            if matches_spec(existing, spec):
                return existing
            updated = self._put(
                owner,
                collection,
                href,
                spec,
                sequence=existing.sequence + 1,
                condition={"If-Match": existing.etag or "*"},
            )
            if updated is not None:
                return updated
            raise ConflictError(f"{spec.uid}: changed in the calendar while being created")
        raise TransientError(f"{spec.uid}: the event keeps appearing and vanishing")

    def _update(self, owner: str, collection: Collection, op: Update) -> RemoteEvent:
        href = op.remote_id or collection.href(resource_name(op.spec.uid))
        current = self._get(owner, collection, href)
        if current is None:
            raise NotFoundError(f"{op.spec.uid}: not in the calendar (deleted by a person?)")
        if op.etag is not None and current.etag != op.etag:
            raise ConflictError(f"{op.spec.uid}: changed in the calendar since it was read")
        updated = self._put(
            owner,
            collection,
            href,
            op.spec,
            sequence=current.sequence + 1,
            condition={"If-Match": current.etag or "*"},
        )
        if updated is None:
            raise ConflictError(f"{op.spec.uid}: changed in the calendar since it was read")
        return updated

    def _cancel(self, owner: str, collection: Collection, op: Cancel) -> None:
        href = op.remote_id or collection.href(resource_name(op.uid))
        undo = self._queue(owner, self.outbox.attendee_cancel(owner, op.uid))
        try:
            deleted = collection.delete(href, op.etag)
        except TransientError:
            raise  # the DELETE may have been applied: the CANCEL stays queued
        except Exception:  # an interrupt, like a crash, leaves it queued: outcome unknown
            self._take_back(owner, undo)
            raise
        if not deleted:
            self._take_back(owner, undo)
            raise ConflictError(f"{op.uid}: changed in the calendar since it was read")

    # -- invitations (invites = true; the outbox of connectors.ics.outbox) ---------------------

    def _queue_request(self, owner: str, uid: str, body: bytes) -> Undo | None:
        """Queue the ``REQUEST`` of the resource ``body`` about to be written, for its
        attendees; or, when it has none left but they were sent one, their ``CANCEL``."""
        if self.sender is None:
            return None
        event = outbox_form(body)
        invite = self.outbox.attendee_request(event, owner) if event is not None else None
        return self._queue(owner, invite or self.outbox.attendee_cancel(owner, uid))

    def _queue(self, owner: str, invite: dict[str, Any] | None) -> Undo | None:
        """Queue ``invite`` before its write (a crash after it still sends it); None: none."""
        return self.outbox.enqueue(owner, [invite]) if invite is not None else None

    def _take_back(self, owner: str, undo: Undo | None) -> None:
        """Take back what was queued for a write that certainly did not happen (a 412, a
        refusal). After a timeout or a 5xx the write may have been applied with its answer
        lost: the message stays queued, since the next cycle may find the write done and not
        repeat it (a write that was not applied is repeated, and its message replaces this
        one in the outbox)."""
        if undo is not None:
            self.outbox.undo(owner, undo)

    def notify_attendees(self, owner: str, uids: Sequence[str]) -> int:
        """Tell the attendees what the owner did to events ``uids`` in their calendar (see the
        base class), judged against what they were last sent: an event gone, cancelled or
        declined by the owner gets a ``CANCEL``; one at another time a ``REQUEST`` with a higher
        ``SEQUENCE``; anything else nothing. One GET per uid the attendees were sent something
        for. Nothing without ``invites = true``."""
        if self.sender is None or not uids:
            return 0
        collection = self._collection(owner)
        hrefs = self._hrefs(owner, collection)
        invites = []
        for uid in uids:
            last = self.outbox.mailed(owner, uid)
            if last is None or last["method"] == "CANCEL":
                continue  # the attendees were never told of it, or know it is off
            resource = collection.get(hrefs.get(uid) or collection.href(resource_name(uid)))
            data = resource.data if resource is not None else None
            remote = None
            if resource is not None and data is not None:
                remote = parse_owned(
                    data, owner=owner, href=resource.href, etag=None, zone=self._zone(owner)
                )
            if remote is None or remote.status in ("cancelled", "declined"):
                invite = self.outbox.attendee_cancel(owner, uid)
            elif (iso_time(remote.start), iso_time(remote.end)) != (last["start"], last["end"]):
                event = outbox_form(data) if data is not None else None
                invite = self.outbox.attendee_request(event, owner) if event else None
            else:
                invite = None
            if invite is not None:
                invites.append(invite)
        if invites:
            self.outbox.enqueue(owner, invites)
            self.outbox.flush(owner)
        return len(invites)

    def _hrefs(self, owner: str, collection: Collection) -> dict[str, str]:
        """uid -> href of the owner's events as the last read saw them."""
        saved = json.loads(self.context.state.get(self._sync_key(owner, collection)) or "{}")
        return {str(data.get("uid")): href for href, data in (saved.get("events") or {}).items()}

    def pending_invites(self, owner: str) -> int:
        """How many invitations for ``owner`` wait in the outbox (held ones included)."""
        return len(self.outbox.entries(owner))

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines."""
        return self.outbox.set_aside(owner)

    def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        self._http.close()


# --------------------------------------------------------------------------------------------
# The resources kept for past meetings between reads


def _keep_met(kept: dict[str, list[str]], resource: Resource, *, etag_only: bool) -> None:
    """Record ``resource`` in ``kept`` (href -> [etag, iCalendar text]): its text only when it
    holds an event with attendees that is not cadence's (nothing else can be a meeting with a
    customer); ``etag_only``: keep the etag of the others too (the etag comparison needs it)."""
    if resource.data is None:
        kept.pop(resource.href, None)
        return
    text = resource.data.decode("utf-8", "replace")
    try:
        cal = icalendar.Calendar.from_ical(resource.data)
        meeting = any("attendee" in event and not is_cadence_event(event) for event in vevents(cal))
    except ValueError:
        meeting = False
    if meeting:
        kept[resource.href] = [resource.etag or "", text]
    elif etag_only:
        kept[resource.href] = [resource.etag or "", ""]
    else:
        kept.pop(resource.href, None)
