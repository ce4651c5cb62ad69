"""What cadence keeps about each booking it made: :class:`BookingRecord`, and
:class:`Confirmed`, the booking as last confirmed while a write that changes it is in flight.

Plain values (the store persists them, the reconciler and the cycle reason about them), so the
pure layers need not import the store to speak of a booking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from cadence.values.model import Booking, BookingKind, BookingState, require_aware


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmed:
    """A booking as its calendar was last confirmed to hold it, kept while a write that changes
    it is in flight: when the calendar does not show the change, this is what stands."""

    key: str
    kind: BookingKind
    start: datetime | date
    end: datetime | date
    all_day: bool
    state: BookingState
    spec_hash: str
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, r: BookingRecord) -> Confirmed:
        """What ``r`` holds now, kept while a write that changes it is in flight."""
        return cls(
            key=r.key,
            kind=r.kind,
            start=r.start,
            end=r.end,
            all_day=r.all_day,
            state=r.state,
            spec_hash=r.spec_hash,
            reasons=r.reasons,
        )

    def restore(self, r: BookingRecord) -> BookingRecord:
        """``r`` as it was confirmed (the change in flight not applied), no longer in flight."""
        return replace(
            r,
            key=self.key,
            kind=self.kind,
            start=self.start,
            end=self.end,
            all_day=self.all_day,
            state=self.state,
            spec_hash=self.spec_hash,
            reasons=self.reasons,
            confirmed=None,
        )

    def as_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "kind": BookingKind(self.kind).value,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "all_day": self.all_day,
                "state": BookingState(self.state).value,
                "spec_hash": self.spec_hash,
                "reasons": list(self.reasons),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Confirmed:
        data = json.loads(text)
        parse = date.fromisoformat if data["all_day"] else datetime.fromisoformat
        return cls(
            key=data["key"],
            kind=BookingKind(data["kind"]),
            start=parse(data["start"]),
            end=parse(data["end"]),
            all_day=data["all_day"],
            state=BookingState(data["state"]),
            spec_hash=data["spec_hash"],
            reasons=tuple(data.get("reasons", ())),  # not kept by schema version 2's writes
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingRecord:
    """Everything the reconciler keeps about one booking it made.

    ``start``/``end`` are aware datetimes, or dates (``end`` exclusive) when ``all_day``.
    ``seen_at`` is when ``state`` was first observed; ``remote_id``/``etag``/``sequence`` are what
    the backend needs to change the event safely; ``spec_hash`` fingerprints the last spec
    written, so an unchanged booking causes no write.

    A write in flight is recorded *before* it is sent: the record holds what is intended
    (``state`` PENDING for a create or an update, CANCELLED for a cancel) and, for a change to
    an existing event, ``confirmed`` holds the booking as last confirmed. Only the backend's
    answer, or the calendar read back by :func:`cadence.sync.reconcile.observe`, settles it.
    ``reasons`` say why it was placed where it is (the planner's reasons at the write).
    """

    key: str
    uid: str
    customer_id: str
    owner: str
    kind: BookingKind
    backend: str
    start: datetime | date
    end: datetime | date
    all_day: bool = False
    state: BookingState = BookingState.BOOKED
    seen_at: datetime | None = None
    remote_id: str | None = None
    etag: str | None = None
    sequence: int = 0
    spec_hash: str = ""
    created_at: datetime
    updated_at: datetime
    confirmed: Confirmed | None = None
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Every record read from the store is checked: the common case (UTC) costs little.
        if not _in_utc(self.start, self.end, self.all_day):
            check_span(self.start, self.end, self.all_day, f"booking {self.key}")
        if self.created_at.tzinfo is not UTC:
            require_aware(self.created_at, "BookingRecord.created_at")
        if self.updated_at.tzinfo is not UTC:
            require_aware(self.updated_at, "BookingRecord.updated_at")
        if self.seen_at is not None and self.seen_at.tzinfo is not UTC:
            require_aware(self.seen_at, "BookingRecord.seen_at")

    def as_booking(self) -> Booking:
        """The planner's view of this booking (:class:`cadence.values.model.Booking`)."""
        return Booking(
            key=self.key,
            customer_id=self.customer_id,
            owner=self.owner,
            kind=self.kind,
            start=self.start,
            end=self.end,
            all_day=self.all_day,
            state=self.state,
            seen_at=self.seen_at,
        )


def _in_utc(start: datetime | date, end: datetime | date, all_day: bool) -> bool:
    """Whether the span is plainly valid: two dates all day, two datetimes in UTC timed (a
    shortcut of :func:`check_span` for what the store reads back)."""
    if all_day:
        return start.__class__ is date and end.__class__ is date
    return (
        start.__class__ is datetime
        and end.__class__ is datetime
        and start.tzinfo is UTC
        and end.tzinfo is UTC
    )


def check_span(start: datetime | date, end: datetime | date, all_day: bool, what: str) -> None:
    """Refuse a span of the wrong kind: datetimes all day, dates or naive datetimes timed."""
    for value in (start, end):
        if all_day and isinstance(value, datetime):
            raise ValueError(f"{what}: an all-day span takes dates, got {value!r}")
        if not all_day:
            if not isinstance(value, datetime):
                raise ValueError(f"{what}: a timed span takes datetimes, got {value!r}")
            require_aware(value, what)


__all__ = ["BookingRecord", "Confirmed", "check_span"]
