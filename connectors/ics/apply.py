"""One batch of write operations applied to a calendar in memory.

Creates, updates and cancels of cadence's events, each failing alone (a :class:`BackendError`
in its result): an event that cannot be read is never rewritten, deleted or duplicated; an
update or cancel with a stale etag is a :class:`ConflictError`; an event already exactly as
wanted is left untouched. A uid cancelled before comes back with a higher ``SEQUENCE`` than its
CANCEL had (remembered in the state store), or calendar clients would ignore it as outdated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import icalendar

from connectors.base import (
    BackendError,
    Cancel,
    ConflictError,
    NotFoundError,
    RemoteEvent,
    StateStore,
    Update,
    WriteOp,
    WriteResult,
)
from connectors.common.validation import validate_spec
from connectors.ics.build import normalized, stamp_args, tag_property
from connectors.ics.draft import Draft, Part
from connectors.ics.events import by_uid, dt, etag, readable_owned, remote_event
from connectors.ics.lines import component_bytes
from connectors.ics.outbox import Outbox
from connectors.ics.parse import Problem
from connectors.ics.render import BuiltEvent, render_event


@dataclass(slots=True)
class Batch:
    """The calendar of ``owner`` being changed, and what applying operations to it needs.

    The events it builds go into the draft as bytes (:class:`BuiltEvent`); one that a later
    operation of the batch reads again is built as an icalendar object first (:meth:`_current`).
    """

    draft: Draft
    problems: Mapping[int, Problem]  # the file's unreadable components, by id
    owner: str
    zone: tzinfo  # the owner's
    owner_name: str
    now: datetime
    state: StateStore
    outbox: Outbox  # builds the invitations (None from it: invitations are off)
    # the owner's cancelled uids and their SEQUENCE, read once per batch (see _remember_sequence)
    _cancelled: dict[str, int] | None = None
    _sequences_changed: bool = False
    # the events this batch built, by uid (the last one of each uid is in the calendar)
    built: dict[str, Part] = field(default_factory=dict)
    # the ids of the events the results report for those builds (see written.as_written)
    fresh: set[int] = field(default_factory=set)
    # the calendar's events by uid, kept as the batch changes it (read once per batch)
    _carrying: dict[str, list[Part]] | None = None

    def apply_all(
        self, ops: Sequence[WriteOp]
    ) -> tuple[list[WriteResult], list[dict[str, Any]], bool]:
        """Apply ``ops`` to the calendar: (results, invitations to send, whether it changed)."""
        results: list[WriteResult] = []
        invites: list[dict[str, Any]] = []
        changed = False
        for op in ops:
            try:
                event, did_change, invitations = self.apply(op)
            except BackendError as exc:
                results.append(WriteResult(op, error=exc))
                continue
            changed = changed or did_change
            invites += invitations
            results.append(WriteResult(op, event=event))
        self._save_sequences()
        return results, invites, changed

    def apply(self, op: WriteOp) -> tuple[RemoteEvent | None, bool, list[dict[str, Any]]]:
        """Apply ``op`` to the calendar: (event after it, whether it changed, invitations)."""
        draft, owner, zone, now = self.draft, self.owner, self.zone, self.now
        if isinstance(op, Cancel):
            if op.owner.lower() != owner.lower():
                raise BackendError(f"cancel of {op.uid!r} belongs to {op.owner}, not to {owner}")
            current = self._current(op.uid)
            if current is None:
                return None, False, []  # already gone
            if op.etag is not None and op.etag != etag(current):
                raise ConflictError(f"event {op.uid!r} changed in {owner}'s calendar")
            draft.remove(current)
            self._carrying_uid(op.uid).remove(current)
            self._remember_sequence(op.uid, int(current.get("SEQUENCE", 0)) + 1)
            return None, True, self.outbox.invitations(current, owner, "CANCEL")

        spec = op.spec
        validate_spec(spec, owner)
        for key in spec.tags:
            tag_property(key)  # rejects tag names the file cannot carry
        current = self._current(spec.uid)
        if isinstance(op, Update):
            if current is None:
                raise NotFoundError(f"event {spec.uid!r} is not in {owner}'s calendar")
            if op.etag is not None and op.etag != etag(current):
                raise ConflictError(f"event {spec.uid!r} changed in {owner}'s calendar")
        name = self.owner_name
        if current is not None:
            sequence = int(current.get("SEQUENCE", 0))
            stamps = {k: dt(current, k) for k in ("DTSTAMP", "CREATED", "LAST-MODIFIED")}
            if None not in stamps.values():
                same = render_event(spec, name, sequence, **stamp_args(stamps), owner=owner)
                if self._unchanged(same, current):  # already exactly as wanted
                    return remote_event(current, owner, zone), False, []
            created = stamps["CREATED"] or now
            new = render_event(spec, name, sequence + 1, now, created, now, owner)
            draft.replace(current, new)
            carrying = self._carrying_uid(spec.uid)
            carrying[carrying.index(current)] = new
        else:
            # A uid cancelled before comes back with a higher SEQUENCE than its CANCEL had, or
            # calendar clients would ignore it as outdated.
            sequence = self._remember_sequence(spec.uid, None)
            new = render_event(spec, name, sequence, now, now, now, owner)
            draft.add(new)
            self._carrying_uid(spec.uid).append(new)
        self.built[spec.uid] = new
        invitations = (
            self.outbox.invitations(new.event(), owner, "REQUEST")
            if self.outbox.sender is not None
            else []
        )
        # Its etag is the hash of its bytes in the file: the backend settles it once the file
        # is serialised (IcsBackend.write), from the last event the batch built for the uid.
        self.fresh.add(id(new.remote))
        return new.remote, True, invitations

    @staticmethod
    def _unchanged(same: BuiltEvent, current: icalendar.Event) -> bool:
        """Whether ``current`` is already the event ``same`` would write: its bytes, or (what
        icalendar reads back of ``same``) those of the event built and read back."""
        now = component_bytes(current)
        return same.data == now or normalized(same.event()).to_ical() == now

    def _current(self, uid: str) -> icalendar.Event | None:
        """cadence's event ``uid`` as the calendar holds it now (see :func:`readable_owned`).
        An event this batch built is turned into its icalendar object first."""
        carrying = self._carrying_uid(uid)
        for i, part in enumerate(carrying):
            if isinstance(part, BuiltEvent):
                event = part.event()
                self.draft.replace(part, event)
                carrying[i] = event
                if self.built.get(uid) is part:
                    self.built[uid] = event
        events: list[icalendar.Event] = carrying  # type: ignore[assignment]
        return readable_owned(self.draft.cal, self.problems, self.owner, self.zone, uid, events)

    def _carrying_uid(self, uid: str) -> list[Part]:
        if self._carrying is None:  # read by the first operation, before any change
            self._carrying = dict(by_uid(self.draft.cal))  # type: ignore[arg-type]
        return self._carrying.setdefault(uid, [])

    def _remember_sequence(self, uid: str, sequence: int | None) -> int:
        """Note the SEQUENCE a cancelled ``uid`` reached (``sequence``), or take it back
        (None): returns the sequence a new event with that uid starts at.

        The owner's map is read from the state store once per batch and written back once,
        when it changed, by :meth:`apply_all` (a batch of a thousand creates is one read).
        """
        if self._cancelled is None:
            try:
                self._cancelled = json.loads(self.state.get(self._sequence_key) or "{}")
            except ValueError:
                self._cancelled = {}
        cancelled = self._cancelled
        assert cancelled is not None
        if sequence is not None:
            cancelled[uid] = sequence
            self._sequences_changed = True
            return sequence
        if uid not in cancelled:
            return 0
        self._sequences_changed = True
        return int(cancelled.pop(uid)) + 1

    @property
    def _sequence_key(self) -> str:
        return f"ics.cancelled:{self.owner.lower()}"

    def _save_sequences(self) -> None:
        if self._sequences_changed and self._cancelled is not None:
            cancelled = self._cancelled
            self.state.set(self._sequence_key, json.dumps(cancelled) if cancelled else None)
            self._sequences_changed = False
