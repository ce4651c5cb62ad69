"""Availability of many mailboxes at once through ``calendar/getSchedule``.

One ``getSchedule`` call answers for up to 20 mailboxes over less than 62 days (Graph refuses a
window of 62 days or more with 400 ``ErrorTimeIntervalTooBig``), so a window is cut into pieces
of :data:`MAX_SPAN` (61 days): a team's availability over the cycle's 120 days costs two
requests per 20 salespeople instead of one ``calendarView`` read each. Schedule items do not say
which events are cadence's, so our own bookings are taken out by matching: an item with the
same start, end and free/busy status as one of our (non-free) events is ours. Identical items
are matched one for one, so a salesperson's event at exactly the time of a booking still counts
once. ``getSchedule`` has no all-day flag: an item running from local midnight to local
midnight in the salesperson's zone is all-day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cadence.values.model import BusyInterval
from connectors.base import AuthError, BackendError
from connectors.common.days import whole_local_days
from connectors.outlook.client import GraphClient
from connectors.outlook.wire import parse_graph_time

MAX_SCHEDULES = 20  # mailboxes per getSchedule call
# Graph takes windows shorter than 62 days; a whole day less keeps clear of the edge.
MAX_SPAN = timedelta(days=61)
NOT_BUSY = frozenset({"free", "workingElsewhere"})

# (start, end, status) of one of our events, to subtract from a schedule
OwnInterval = tuple[datetime, datetime, str]


def schedule_busy(
    graph: GraphClient,
    path: str,
    owners: Sequence[str],
    start: datetime,
    end: datetime,
    zones: Mapping[str, str],
    own: Mapping[str, list[OwnInterval]],
) -> dict[str, list[BusyInterval] | BackendError]:
    """Busy intervals per owner in ``[start, end)``, or the error getSchedule gave for that
    mailbox. ``path`` is the ``/users/{someone}/calendar/getSchedule`` to post to; ``own`` holds
    each owner's cadence events to leave out. Whole-call failures raise."""
    chunks: dict[str, list[list[dict]]] = {owner: [] for owner in owners}
    errors: dict[str, BackendError] = {}
    for first in range(0, len(owners), MAX_SCHEDULES):
        group = list(owners[first : first + MAX_SCHEDULES])
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + MAX_SPAN)
            body = {
                "schedules": group,
                "startTime": {"dateTime": _naive_utc(chunk_start), "timeZone": "UTC"},
                "endTime": {"dateTime": _naive_utc(chunk_end), "timeZone": "UTC"},
                "availabilityViewInterval": 60,
            }
            answer = graph.json("POST", path, body=body) or {}
            by_id = {str(s.get("scheduleId", "")).lower(): s for s in answer.get("value") or ()}
            for owner in group:
                schedule = by_id.get(owner.lower())
                if schedule is None or schedule.get("error"):
                    errors.setdefault(owner, _schedule_error(owner, schedule))
                else:
                    chunks[owner].append(list(schedule.get("scheduleItems") or ()))
            chunk_start = chunk_end
    out: dict[str, list[BusyInterval] | BackendError] = dict(errors)
    for owner in owners:
        if owner not in errors:
            out[owner] = _busy(chunks[owner], own.get(owner, []), zones.get(owner, "UTC"))
    return out


def _busy(chunks: list[list[dict]], own: list[OwnInterval], zone: str) -> list[BusyInterval]:
    # An event crossing a chunk boundary is listed in both chunks: per (start, end, status)
    # take the largest count any one chunk has, then take our events out one for one.
    counts: Counter[OwnInterval] = Counter()
    for items in chunks:
        here: Counter[OwnInterval] = Counter()
        for item in items:
            status = str(item.get("status") or "busy")
            if status not in NOT_BUSY:
                first = parse_graph_time(item["start"]).astimezone(UTC)
                last = parse_graph_time(item["end"]).astimezone(UTC)
                here[(first, last, status)] += 1
        counts |= here  # the maximum of each count
    counts -= Counter(own)
    out = [
        BusyInterval(first, last, all_day=whole_local_days(first, last, ZoneInfo(zone)))
        for (first, last, _), n in counts.items()
        for _ in range(n)
    ]
    return sorted(out, key=lambda b: (b.start, b.end))


def _schedule_error(owner: str, schedule: Mapping | None) -> BackendError:
    if schedule is None:
        return BackendError(f"getSchedule gave no answer for {owner}")
    error = schedule.get("error") or {}
    code = str(error.get("responseCode") or "")
    text = f"getSchedule for {owner}: {code} {error.get('message') or ''}".rstrip()
    return AuthError(text) if "AccessDenied" in code else BackendError(text)


def _naive_utc(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()
