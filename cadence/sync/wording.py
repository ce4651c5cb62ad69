"""How an action is said, the same way in `run`, `plan --changes`, the daemon's log and
`explain`: the event's title, the owner's local time with its zone, "from -> to" for a move."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from cadence.planner.titles import title
from cadence.sync.reconcile import Action, ActionKind
from cadence.values.text import count

__all__ = ["action_line", "action_title", "count", "when", "zone_named"]


@cache
def zone_named(name: str) -> ZoneInfo:
    """``ZoneInfo(name)``, kept: ZoneInfo's own cache holds only the last eight zones strongly,
    so printing 25,000 lines for 500 salespeople loaded zone files again and again."""
    return ZoneInfo(name)


def when(value: datetime | date, zone: str) -> str:
    """``Tue 2027-03-02 09:45 Europe/Lisbon``; an all-day date as ``Tue 2027-03-02 (all day)``."""
    if isinstance(value, datetime):
        return f"{value.astimezone(zone_named(zone)):%a %Y-%m-%d %H:%M} {zone}"
    return f"{value:%a %Y-%m-%d} (all day)"


def action_title(a: Action, names: Mapping[str, str] | None = None) -> str:
    """The event's title; for a cancel (no planned contact), made from the kind and the
    customer's name (their id when the name is not known)."""
    if a.planned is not None:
        return a.planned.title
    assert a.record is not None
    return title(a.record.kind, (names or {}).get(a.record.customer_id, a.record.customer_id))


def action_line(a: Action, zone: str, names: Mapping[str, str] | None = None) -> str:
    """``move   ana@example.com  Check-in: ACME  Tue ... -> Thu ...  (why)``."""
    if a.kind is ActionKind.CANCEL:
        assert a.record is not None
        span = when(a.record.start, zone)
    elif a.kind is ActionKind.MOVE and a.record is not None and a.planned is not None:
        before, after = when(a.record.start, zone), when(a.planned.start, zone)
        span = f"{before} -> {after}" if before != after else f"at {after}"
    else:
        assert a.planned is not None
        span = when(a.planned.start, zone)
    reason = f"  ({a.reason})" if a.reason else ""
    return f"{a.kind.value:<6} {a.owner}  {action_title(a, names)}  {span}{reason}"
