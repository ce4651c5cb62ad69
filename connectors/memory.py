"""The in-memory calendar backend: a real implementation of the contract, kept in dicts.

It is the reference the contract suite is written against and the backend the reconciler and
daemon tests run on: :class:`MemoryPerson` acts in it as a salesperson would (moves, deletes,
declines, adds their own meetings), and fault-injection hooks on :class:`MemoryBackend`
(:meth:`~MemoryBackend.fail_next`, :meth:`~MemoryBackend.drop_response_after_write`,
:attr:`~MemoryBackend.calls`) reproduce the failures the reconciler must survive.

It checks what it is handed with :mod:`connectors.common.validation`, as every backend does.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Any, ClassVar

from cadence.values.model import BusyInterval
from cadence.values.schema import Schema
from connectors.base import (
    BackendContext,
    BackendError,
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
)
from connectors.common.days import day_bounds
from connectors.common.validation import (
    owner_zone,
    require_owner,
    require_window,
    validate_spec,
)

# --------------------------------------------------------------------------------------------
# Helpers


def _utc_bounds(spec: EventSpec) -> tuple[datetime | date, datetime | date]:
    """``spec``'s bounds as they are stored: dates as dates, datetimes in UTC."""
    if spec.all_day:
        return spec.start, spec.end
    return spec.start.astimezone(UTC), spec.end.astimezone(UTC)  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------
# The backend


@dataclass
class _Owned:
    """One of cadence's events: what the calendar shows, and the spec it was written from."""

    event: RemoteEvent
    spec: EventSpec


@dataclass
class _Foreign:
    """An event the salesperson made themselves."""

    id: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    transparent: bool
    attendees: tuple[str, ...]
    title: str
    organizer: str
    declined_by: tuple[str, ...] = ()  # attendees who declined
    cancelled: bool = False


@dataclass
class _Calendar:
    owned: dict[str, _Owned] = field(default_factory=dict)
    foreign: dict[str, _Foreign] = field(default_factory=dict)


@dataclass
class _Failure:
    error: BackendError
    method: str | None


class MemoryBackend(CalendarBackend):
    """A calendar system in a dict per owner, with etags and sequences like a real one.

    Serves any owner. Fault injection for the reconciler's tests:

    * :meth:`fail_next` makes the next call for an owner raise a given error;
    * :meth:`drop_response_after_write` applies a write and then raises :class:`TransientError`,
      as if the response had been lost on the way back;
    * :attr:`calls` counts calls by method name (``busy``, ``list_owned``, ``write``,
      ``past_events``) and :attr:`ops` counts the operations written (``create``, ``update``,
      ``cancel``), so "an unchanged world makes zero writes" can be asserted.
    """

    name: ClassVar[str] = "memory"
    config_schema: ClassVar[Schema] = Schema(
        {}, about="the reference backend, in memory (tests, demos)"
    )
    config_keys: ClassVar[Mapping[str, str]] = {}

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.calendars: dict[str, _Calendar] = {}
        self.calls: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self._failures: dict[str | None, deque[_Failure]] = {}
        self._drops: deque[int | None] = deque()
        self._etags = itertools.count(1)
        self._lock = threading.RLock()

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self, owner: str | None, error: BackendError, *, method: str | None = None
    ) -> None:
        """Raise ``error`` on the next call concerning ``owner`` (any owner when None).

        ``method`` restricts it to one method (``"write"``, ``"busy"``...). Several queued
        failures are raised one per call, in order.
        """
        key = owner.lower() if owner else None
        self._failures.setdefault(key, deque()).append(_Failure(error, method))

    def drop_response_after_write(self, n: int = 1, *, after_ops: int | None = None) -> None:
        """The next ``n`` calls to :meth:`write` apply their operations (all of them, or only
        the first ``after_ops``, like a crash in mid-batch) and then raise
        :class:`TransientError` instead of returning, as if the response were lost.
        """
        self._drops.extend([after_ops] * n)

    # -- the contract ------------------------------------------------------------------------

    def busy(self, owner: str, start: datetime, end: datetime) -> list[BusyInterval]:
        """Opaque events the salesperson made, overlapping ``[start, end)``."""
        self._enter("busy", owner)
        require_window(start, end)
        zone = owner_zone(self.context, owner)
        out = []
        for ev in self._calendar(owner).foreign.values():
            if ev.transparent or ev.cancelled:
                continue
            lo, hi = self._instants(ev, zone)
            if lo < end and hi > start:
                out.append(BusyInterval(lo, hi, all_day=ev.all_day))
        return sorted(out, key=lambda b: (b.start, b.end))

    def list_owned(self, owner: str) -> list[RemoteEvent]:
        """cadence's events in ``owner``'s calendar, sorted by uid."""
        self._enter("list_owned", owner)
        owned = self._calendar(owner).owned
        return [owned[uid].event for uid in sorted(owned)]

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` in order; one result per op."""
        self._enter("write", owner)
        drop = self._drops.popleft() if self._drops else False
        limit = len(ops) if drop is None or drop is False else drop
        results = []
        with self._lock:
            for op in ops[:limit]:
                results.append(self._apply(owner, op))
        if drop is not False:
            raise TransientError(f"memory: response to a write for {owner} lost (injected)")
        return results

    def past_events(self, owner: str, start: datetime, end: datetime) -> list[PastEvent]:
        """The salesperson's own timed events overlapping ``[start, end)``, with attendees."""
        self._enter("past_events", owner)
        require_window(start, end)
        out = []
        for ev in self._calendar(owner).foreign.values():
            if ev.all_day or ev.cancelled:
                continue
            lo, hi = self._instants(ev, UTC)
            if lo < end and hi > start:
                people = {a.lower() for a in (*ev.attendees, ev.organizer)} - {owner.lower()}
                people -= {a.lower() for a in ev.declined_by}
                out.append(PastEvent(ev.id, lo, hi, ev.title, tuple(sorted(people))))
        return sorted(out, key=lambda p: (p.start, p.remote_id))

    # -- internals ---------------------------------------------------------------------------

    def _enter(self, method: str, owner: str) -> None:
        self.calls[method] += 1
        for key in (owner.lower(), None):
            queue = self._failures.get(key)
            if not queue:
                continue
            failure = queue[0]
            if failure.method in (None, method):
                queue.popleft()
                raise failure.error

    def _calendar(self, owner: str) -> _Calendar:
        return self.calendars.setdefault(owner.lower(), _Calendar())

    def _etag(self) -> str:
        return f'"{next(self._etags)}"'

    @staticmethod
    def _instants(ev: _Foreign, zone: tzinfo) -> tuple[datetime, datetime]:
        if ev.all_day:
            return day_bounds(ev.start, ev.end, zone)
        return ev.start, ev.end  # type: ignore[return-value]

    def _apply(self, owner: str, op: WriteOp) -> WriteResult:
        try:
            if isinstance(op, Cancel):
                self._cancel(owner, op)
                return WriteResult(op)
            return WriteResult(op, event=self._put(owner, op))
        except BackendError as exc:
            return WriteResult(op, error=exc)

    def _put(self, owner: str, op: Create | Update) -> RemoteEvent:
        spec = op.spec
        validate_spec(spec, owner)
        start, end = _utc_bounds(spec)
        spec = replace(spec, start=start, end=end, tags=dict(spec.tags))
        owned = self._calendar(owner).owned
        current = owned.get(spec.uid)
        if isinstance(op, Update):
            if current is None:
                raise NotFoundError(f"event {spec.uid!r} is not in {owner}'s calendar")
            if op.etag is not None and op.etag != current.event.etag:
                raise ConflictError(f"event {spec.uid!r} changed in {owner}'s calendar")
        if (
            current is not None
            and current.spec == spec
            and current.event.status == "confirmed"
            and (current.event.start, current.event.end) == (start, end)
        ):
            return current.event  # already as wanted (a retried create): no change
        self.ops["create" if current is None else "update"] += 1
        event = RemoteEvent(
            uid=spec.uid,
            owner=owner,
            start=start,
            end=end,
            all_day=spec.all_day,
            title=spec.title,
            etag=self._etag(),
            remote_id=spec.uid,
            sequence=0 if current is None else current.event.sequence + 1,
            tags=dict(spec.tags),
        )
        owned[spec.uid] = _Owned(event, spec)
        return event

    def _cancel(self, owner: str, op: Cancel) -> None:
        require_owner(op, owner)
        owned = self._calendar(owner).owned
        current = owned.get(op.uid)
        if current is None:
            return  # already gone: cancelling it again succeeds
        if op.etag is not None and op.etag != current.event.etag:
            raise ConflictError(f"event {op.uid!r} changed in {owner}'s calendar")
        self.ops["cancel"] += 1
        del owned[op.uid]

    def _person_edit(self, owner: str, uid: str, **changes: Any) -> None:
        with self._lock:
            owned = self._calendar(owner).owned
            if uid not in owned:
                raise KeyError(f"no cadence event {uid!r} in {owner}'s calendar")
            entry = owned[uid]
            entry.event = replace(entry.event, etag=self._etag(), **changes)


class MemoryPerson:
    """The salesperson acting in a :class:`MemoryBackend` calendar (the contract's ``person``)."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        """Drag cadence's event ``uid`` to ``[start, end)``."""
        if isinstance(start, datetime):
            start, end = start.astimezone(UTC), end.astimezone(UTC)  # type: ignore[union-attr]
        self.backend._person_edit(owner, uid, start=start, end=end)

    def delete(self, owner: str, uid: str) -> None:
        """Delete cadence's event ``uid`` without a trace."""
        with self.backend._lock:
            del self.backend._calendar(owner).owned[uid]

    def decline(self, owner: str, uid: str) -> None:
        """Decline cadence's event ``uid``."""
        self.backend._person_edit(owner, uid, status="declined")

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        attendees: Sequence[str] = (),
        title: str = "",
        declined_by: Sequence[str] = (),
        cancelled: bool = False,
    ) -> str:
        """Add a meeting of the salesperson's own; returns its id. ``declined_by``: attendees
        who declined it; ``cancelled``: the organizer cancelled it."""
        if not all_day:
            start, end = start.astimezone(UTC), end.astimezone(UTC)  # type: ignore[union-attr]
        event_id = uuid.uuid4().hex
        ev = _Foreign(
            event_id,
            start,
            end,
            all_day,
            transparent,
            tuple(attendees),
            title,
            owner,
            tuple(declined_by),
            cancelled,
        )
        with self.backend._lock:
            self.backend._calendar(owner).foreign[event_id] = ev
        return event_id

    def events(self, owner: str) -> list[RemoteEvent]:
        """cadence's events as the salesperson sees them (not counted in ``backend.calls``)."""
        return [entry.event for entry in self.backend._calendar(owner).owned.values()]
