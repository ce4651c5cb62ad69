"""Rows <-> the values of :mod:`cadence.values.model` and :mod:`cadence.values.bookings`:
rows never leave the store package.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from cadence.values.bookings import BookingRecord, Confirmed, check_span
from cadence.values.durations import Duration
from cadence.values.model import (
    BookingKind,
    BookingState,
    Contact,
    ContactKind,
    Customer,
    CustomerStatus,
    PlannedContact,
    PlanStatus,
    Salesperson,
)
from cadence.values.workweek import WorkingHours

# Rows per IN (...) list: far below SQLite's limit on bound parameters.
CHUNK = 500


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """``items`` in lists short enough for one IN (...)."""
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def split_span(
    start: datetime | date, end: datetime | date, all_day: bool
) -> dict[str, datetime | date | None]:
    if all_day:
        return {"start_at": None, "end_at": None, "start_day": start, "end_day": end}
    return {"start_at": start, "end_at": end, "start_day": None, "end_day": None}


def customer_row(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "owner": c.owner,
        "segment": c.segment,
        "emails": list(c.emails),
        "domains": list(c.domains),
        "industry": c.industry,
        "country": c.country,
        "timezone": c.timezone,
        "customer_since": c.customer_since,
        "status": c.status.value,
        "cancelled_on": c.cancelled_on,
        "busy_seasons": list(c.busy_seasons),
        "last_contact": c.last_contact,
        "tags": {**c.tags, **_rhythm_tags(c), **{_NAME_TAG + a: n for a, n in c.email_names}},
    }


# The customer's own rhythm (CSV every / min_gap / max_gap) travels in the tags JSON under
# these keys (no CSV header is written so), which keeps the schema as it is.
_RHYTHM_TAG = "cadence.rhythm."


def _rhythm_tags(c: Customer) -> dict[str, str]:
    own = {"every": c.every, "min_gap": c.min_gap, "max_gap": c.max_gap}
    return {_RHYTHM_TAG + k: str(v) for k, v in own.items() if v is not None}


def _take(tags: dict[str, str], prefix: str) -> dict[str, str]:
    """The tags under ``prefix`` (reserved keys), taken out of ``tags``, without the prefix."""
    return {key[len(prefix) :]: tags.pop(key) for key in [k for k in tags if k.startswith(prefix)]}


def _rhythm_of(tags: dict[str, str]) -> dict[str, Duration]:
    """The customer's own rhythm, taken out of ``tags``."""
    return {key: Duration.parse(value) for key, value in _take(tags, _RHYTHM_TAG).items()}


# The display names of a customer's addresses (CSV "Jane Doe <jane@acme.com>") likewise.
_NAME_TAG = "cadence.name."


def _names_of(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The (address, display name) pairs, taken out of ``tags``."""
    return tuple(_take(tags, _NAME_TAG).items())


# Both kinds of reserved tags start so: a customer without any (most) skips looking for each.
_RESERVED = "cadence."
_STATUSES = {s.value: s for s in CustomerStatus}
_CONTACT_KINDS = {k.value: k for k in ContactKind}


def customer_of(row: Any) -> Customer:
    tags = dict(row.tags)
    rhythm: dict[str, Duration] = {}
    names: list[tuple[str, str]] = []
    if any(key.startswith(_RESERVED) for key in tags):
        rhythm = _rhythm_of(tags)
        names = [pair for pair in _names_of(tags) if pair[0] in row.emails]
        names.sort(key=lambda pair: row.emails.index(pair[0]))
    return Customer(
        id=row.id,
        name=row.name,
        owner=row.owner,
        segment=row.segment,
        emails=tuple(row.emails),
        email_names=tuple(names),
        domains=tuple(row.domains),
        industry=row.industry,
        country=row.country,
        timezone=row.timezone,
        customer_since=row.customer_since,
        status=_STATUSES.get(row.status) or CustomerStatus(row.status),
        cancelled_on=row.cancelled_on,
        busy_seasons=tuple(row.busy_seasons),
        last_contact=row.last_contact,
        tags=tags,
        **rhythm,
    )


def salesperson_row(p: Salesperson) -> dict[str, Any]:
    return {
        "email": p.email,
        "name": p.name,
        "timezone": p.timezone,
        "work_start_minute": p.working_hours.start_minute,
        "work_end_minute": p.working_hours.end_minute,
        "working_days": sorted(p.working_days),
        "country": p.country,
        "calendar": p.calendar,
        "per_day": p.per_day,
        "per_week": p.per_week,
    }


def salesperson_of(row: Any) -> Salesperson:
    return Salesperson(
        email=row.email,
        name=row.name,
        timezone=row.timezone,
        working_hours=WorkingHours(row.work_start_minute, row.work_end_minute),
        working_days=frozenset(row.working_days),
        country=row.country,
        calendar=row.calendar,
        per_day=row.per_day,
        per_week=row.per_week,
    )


def contact_of(row: Any) -> Contact:
    return Contact(
        customer_id=row.customer_id,
        kind=_CONTACT_KINDS.get(row.kind) or ContactKind(row.kind),
        at=row.at,
        source=row.source,
        source_id=row.source_id,
        note=row.note,
    )


# The enums by stored value: a dict lookup, where calling the enum is slower (an unknown
# value still raises the enum's own ValueError).
_KINDS = {k.value: k for k in BookingKind}
_STATES = {s.value: s for s in BookingState}


def _kind(value: str) -> BookingKind:
    return _KINDS.get(value) or BookingKind(value)


def _state(value: str) -> BookingState:
    return _STATES.get(value) or BookingState(value)


@lru_cache(maxsize=4096)
def _reasons(text: str) -> tuple[str, ...]:
    """A booking's stored reasons (JSON): bookings placed alike share the same few texts."""
    return tuple(json.loads(text))


def _reasons_text(reasons: tuple[str, ...]) -> str | None:
    if not reasons:
        return None
    if reasons.__class__ is tuple:
        return _reasons_json(reasons)
    return json.dumps(list(reasons))


@lru_cache(maxsize=4096)
def _reasons_json(reasons: tuple[str, ...]) -> str:
    return json.dumps(list(reasons))


# The stored text of an enum member (or of its text): a dict lookup, likewise.
_KIND_TEXT = {k.value: k.value for k in BookingKind}
_STATE_TEXT = {s.value: s.value for s in BookingState}


def booking_row(r: BookingRecord) -> dict[str, Any]:
    return {
        "key": r.key,
        "uid": r.uid,
        "customer_id": r.customer_id,
        "owner": r.owner,
        "kind": _KIND_TEXT.get(r.kind) or BookingKind(r.kind).value,
        "backend": r.backend,
        **split_span(r.start, r.end, r.all_day),
        "all_day": r.all_day,
        "state": _STATE_TEXT.get(r.state) or BookingState(r.state).value,
        "seen_at": r.seen_at,
        "remote_id": r.remote_id,
        "etag": r.etag,
        "sequence": r.sequence,
        "spec_hash": r.spec_hash,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "confirmed": r.confirmed.as_json() if r.confirmed is not None else None,
        "reasons": _reasons_text(r.reasons),
    }


def booking_of(row: Any) -> BookingRecord:
    return BookingRecord(
        key=row.key,
        uid=row.uid,
        customer_id=row.customer_id,
        owner=row.owner,
        kind=_kind(row.kind),
        backend=row.backend,
        start=row.start_day if row.all_day else row.start_at,
        end=row.end_day if row.all_day else row.end_at,
        all_day=row.all_day,
        state=_state(row.state),
        seen_at=row.seen_at,
        remote_id=row.remote_id,
        etag=row.etag,
        sequence=row.sequence,
        spec_hash=row.spec_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        confirmed=Confirmed.from_json(row.confirmed) if row.confirmed else None,
        reasons=_reasons(row.reasons) if row.reasons else (),
    )


def planned_row(position: int, p: PlannedContact) -> dict[str, Any]:
    check_span(p.start, p.end, p.all_day, f"planned contact {p.key}")
    return {
        "position": position,
        "key": p.key,
        "customer_id": p.customer_id,
        "customer_name": p.customer_name,
        "owner": p.owner,
        "kind": BookingKind(p.kind).value,
        "seq": p.seq,
        "title": p.title,
        **split_span(p.start, p.end, p.all_day),
        "all_day": p.all_day,
        "day": p.day,
        "ideal": p.ideal,
        "window_start": p.window_start,
        "window_end": p.window_end,
        "status": PlanStatus(p.status).value,
        "reasons": list(p.reasons),
        "forced": p.forced,
        "over_capacity": p.over_capacity,
        "within_horizon": p.within_horizon,
    }


def planned_of(row: Any) -> PlannedContact:
    return PlannedContact(
        key=row.key,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        owner=row.owner,
        kind=BookingKind(row.kind),
        seq=row.seq,
        title=row.title,
        start=row.start_day if row.all_day else row.start_at,
        end=row.end_day if row.all_day else row.end_at,
        all_day=row.all_day,
        day=row.day,
        ideal=row.ideal,
        window_start=row.window_start,
        window_end=row.window_end,
        status=PlanStatus(row.status),
        reasons=tuple(row.reasons),
        forced=row.forced,
        over_capacity=row.over_capacity,
        within_horizon=row.within_horizon,
    )
