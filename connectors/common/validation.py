"""The checks of what a backend is handed, one way for every connector.

Every backend refuses the same things the same way, with :class:`InvalidValue` (a
:class:`~connectors.base.BackendError`, and a :class:`ValueError`): a naive datetime anywhere
(a query window, a mail source's ``since``, an event's bounds), a datetime where an all-day
event needs a date, an event whose end is not after its start, an unknown time zone, an event
or an operation sent to another owner's calendar. In a :meth:`write` it fails that operation
alone; in a read, the call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cadence.values import model
from connectors.state import BackendContext
from connectors.values import Cancel, EventSpec, InvalidValue, WriteOp


def require_aware(value: datetime, what: str) -> datetime:
    """``value`` when it is timezone-aware; :class:`InvalidValue` naming ``what`` when naive
    (the model's rule, :func:`cadence.values.model.require_aware`, with the backends' error)."""
    try:
        return model.require_aware(value, what)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def require_window(start: datetime, end: datetime) -> None:
    """Refuse a query window ``[start, end)`` with a naive bound."""
    require_aware(start, "window start")
    require_aware(end, "window end")


def timed_bound(value: datetime | date, what: str) -> datetime:
    """A timed event's start or end: an aware datetime (a date or a naive one is refused)."""
    if not isinstance(value, datetime):
        raise InvalidValue(f"{what} of a timed event must be a datetime, got {value!r}")
    return require_aware(value, what)


def day_bound(value: datetime | date, what: str) -> date:
    """An all-day event's start or end: a date (a datetime is refused)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(f"{what} of an all-day event must be a date, got {value!r}")
    return value


def zone_of(name: str, *, what: str = "time zone") -> ZoneInfo:
    """The :class:`ZoneInfo` called ``name``; :class:`InvalidValue` when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"{what}: unknown time zone {name!r}") from None


def owner_zone(context: BackendContext, owner: str) -> tzinfo:
    """The salesperson's zone (from the context), UTC for owners the context does not list.

    All-day events are days in this zone: an out-of-office day blocks its local midnights.
    """
    person = context.salesperson(owner)
    if person is None:
        return UTC
    return zone_of(person.timezone, what=f"salesperson {owner}")


def require_owner(op: WriteOp, owner: str) -> None:
    """Refuse an operation for another owner than the ``owner`` whose calendar it was sent to."""
    op_owner = op.owner if isinstance(op, Cancel) else op.spec.owner
    if op_owner.lower() != owner.lower():
        uid = op.uid if isinstance(op, Cancel) else op.spec.uid
        raise InvalidValue(f"event {uid!r} belongs to {op_owner}, not to {owner}")


def validate_spec(spec: EventSpec, owner: str) -> None:
    """Raise :class:`InvalidValue` when ``spec`` cannot be written to ``owner``'s calendar.

    All-day events need :class:`date` bounds, timed events aware :class:`datetime` bounds (naive
    ones are refused, never guessed); the end is after the start; the zone is a known IANA name;
    reminders are whole minutes before the start.
    """
    what = f"event {spec.uid!r}"
    if not spec.uid:
        raise InvalidValue("event without a uid")
    if spec.owner.lower() != owner.lower():
        raise InvalidValue(f"{what} belongs to {spec.owner}, not to {owner}")
    bound = day_bound if spec.all_day else timed_bound
    start, end = bound(spec.start, f"{what}: start"), bound(spec.end, f"{what}: end")
    if not end > start:
        raise InvalidValue(f"{what}: end {spec.end} is not after start {spec.start}")
    zone_of(spec.timezone, what=what)
    if any(not isinstance(m, int) or m < 0 for m in spec.reminder_minutes):
        raise InvalidValue(f"{what}: reminder minutes must be whole minutes >= 0")
