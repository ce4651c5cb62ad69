"""The events of a file that are not cadence's: the occurrences busy time and past meetings are
read from.

Recurring events are expanded within the bounds of :mod:`connectors.recurrence`. Someone
else's event whose times cannot be read is left out (with a note); one with another broken
property still counts as busy (with a note: cadence will not rewrite the file until it is
fixed).
"""

from __future__ import annotations

from collections.abc import Iterator

import icalendar

from connectors.ics.events import is_owned, text
from connectors.ics.parse import Loaded, Problem
from connectors.recurrence import Expansion, Occurrence, vevents


def foreign_occurrences(loaded: Loaded, expansion: Expansion) -> Iterator[Occurrence]:
    """Occurrences in ``expansion``'s window of the events in ``loaded`` that are not
    cadence's, series by series; what was left out or approximated goes to its ``notes``.
    """
    path = loaded.path
    groups: dict[str, list[icalendar.Event]] = {}
    broken: dict[str, Problem] = {}
    for ev in vevents(loaded.cal):
        if is_owned(ev):
            continue
        uid = text(ev["UID"]) if "UID" in ev and not isinstance(ev["UID"], list) else ""
        key = uid or f"#{id(ev)}"
        problem = loaded.problems.get(id(ev))
        if problem is not None and not problem.times_ok:
            broken.setdefault(key, problem)
        elif problem is not None:
            expansion.note(
                f"odd:{key}",
                f"{path}: {problem.where}: {problem.reason}; its time still counts as "
                "busy, but cadence will not rewrite this file until it is fixed",
            )
        groups.setdefault(key, []).append(ev)
    for key, group in groups.items():
        if key in broken:
            problem = broken[key]
            expansion.note(
                f"broken:{key}",
                f"{path}: {problem.where}: {problem.reason}; this event is left out "
                "of busy time and contacts until it is fixed (the rest of the file counts)",
            )
            continue
        yield from expansion.series(key, group, loaded.cal)
