""":class:`CalDavBackend`: the backend contract kept on a CalDAV server.

Where each salesperson's calendar is and who to log in as come from ``[calendar.caldav]``
(:mod:`.settings`, :mod:`.accounts`); the protocol is in :mod:`.webdav`; the iCalendar bodies in
:mod:`.ical`; cadence's own events are followed in :mod:`.owned`, occurrences expanded in
:mod:`.occurrences`, the meetings followed for contacts in :mod:`.meetings`; the invitations
cadence mails itself are in :mod:`.invites`. Here: the contract, and the conditional writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from connectors.caldav.accounts import Accounts
from connectors.caldav.ical import (
    build_calendar,
    is_cadence_event,
    is_free,
    matches_spec,
    moment,
    parse_owned,
    resource_name,
)
from connectors.caldav.invites import Invitations
from connectors.caldav.meetings import met_resources
from connectors.caldav.occurrences import Occurrences
from connectors.caldav.owned import known_hrefs, read_owned
from connectors.caldav.settings import CONFIG_KEYS, SCHEMA, local_problems
from connectors.caldav.webdav import Collection, Resource
from connectors.common.validation import require_owner, require_window, validate_spec
from connectors.icalpeople import meeting
from connectors.recurrence import Occurrence

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
        self.accounts = Accounts(self.config, context)
        self._expanded = Occurrences()
        # invites = true: cadence mails the attendees itself (iMIP), for servers that do not
        # schedule (RFC 6638); only the attendees, the owner sees the change in their calendar.
        self.invitations = Invitations(self.config, context, self._stamp)

    # -- where and who -----------------------------------------------------------------------

    def _zone(self, owner: str) -> ZoneInfo:
        try:
            person = self.context.salesperson(owner)
            return ZoneInfo((person.timezone if person else "") or "UTC")
        except ZoneInfoNotFoundError:
            return ZoneInfo("UTC")

    def _collection(self, owner: str) -> Collection:
        """The owner's calendar collection (discovered on first use)."""
        return self.accounts.collection(owner)

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

        See :mod:`.owned`: the state keeps the sync token and the owned events seen so far.
        With ``invites = true``, pending invitations are retried first.
        """
        self.invitations.flush(owner)
        collection = self._collection(owner)
        key = self._sync_key(owner, collection)
        return read_owned(self.context.state, key, collection, owner, self._zone(owner))

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
        """Every event occurrence overlapping ``[start, end)`` (see :mod:`.occurrences`) of
        ``resources`` (default: a calendar-query of the range)."""
        require_window(start, end)  # before the query
        collection = self._collection(owner)
        if resources is None:
            resources = collection.query(start, end)
        label = f"caldav {collection.url}"
        return self._expanded.within(resources, self._zone(owner), start, end, label)

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
            found.append(meeting(event, owner, remote_id, occ.start, occ.end))
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
        resources = met_resources(self.context.state, key, collection)
        events = self.past_events(owner, start, end, resources)
        return unseen_past_events(self.context.state, past_events_key(owner), events, start)

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
        self.invitations.flush_queued(owner)
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
        person = self.context.salesperson(owner)
        body = build_calendar(
            spec,
            sequence=sequence,
            stamp=self._now(),
            owner_name=person.name if person else "",
        )
        undo = self.invitations.before_put(owner, spec.uid, body)
        try:
            written, etag = collection.put(href, body, condition)
        except TransientError:
            raise  # a timeout or a 5xx: the PUT may have been applied, the invitation stays
        except Exception:  # an interrupt, like a crash, leaves it queued: outcome unknown
            self.invitations.take_back(owner, undo)  # refused: certainly not written
            raise
        if not written:
            self.invitations.take_back(owner, undo)
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
        undo = self.invitations.before_delete(owner, op.uid)
        try:
            deleted = collection.delete(href, op.etag)
        except TransientError:
            raise  # the DELETE may have been applied: the CANCEL stays queued
        except Exception:  # an interrupt, like a crash, leaves it queued: outcome unknown
            self.invitations.take_back(owner, undo)
            raise
        if not deleted:
            self.invitations.take_back(owner, undo)
            raise ConflictError(f"{op.uid}: changed in the calendar since it was read")

    # -- invitations (invites = true; see .invites) --------------------------------------------

    def notify_attendees(self, owner: str, uids: Sequence[str]) -> int:
        """Tell the attendees what the owner did to events ``uids`` in their calendar (see the
        base class and :meth:`.invites.Invitations.notify`): one GET per uid the attendees were
        sent something for. Nothing without ``invites = true``."""
        if not self.invitations.on or not uids:
            return 0
        collection = self._collection(owner)
        hrefs = known_hrefs(self.context.state, self._sync_key(owner, collection))

        def current(uid: str) -> tuple[RemoteEvent | None, bytes | None]:
            resource = collection.get(hrefs.get(uid) or collection.href(resource_name(uid)))
            data = resource.data if resource is not None else None
            if resource is None or data is None:
                return None, data
            zone = self._zone(owner)
            return parse_owned(data, owner=owner, href=resource.href, etag=None, zone=zone), data

        return self.invitations.notify(owner, uids, current)

    def pending_invites(self, owner: str) -> int:
        """How many invitations for ``owner`` wait in the outbox (held ones included)."""
        return self.invitations.pending(owner)

    def set_aside(self, owner: str) -> list[str]:
        """The held invitations of ``owner`` as report lines."""
        return self.invitations.set_aside(owner)

    def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        self.accounts.close()
