""":class:`Expansion`: the occurrences of a calendar's events in a window, within bounds.

The bounds are described in :mod:`connectors.recurrence`; their values are in :mod:`.limits`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import icalendar

from connectors.common.days import day_bounds
from connectors.recurrence import limits
from connectors.recurrence.rules import (
    ALL_BY,
    DATE_FILTERS,
    FIXED_STEP,
    interval,
    per_day,
    per_period,
    probe,
)
from connectors.recurrence.times import as_datetime, as_list, ical_text, rdates, to_utc, utc_bounds


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence (or, for a series too dense to expand, its whole span in the window)."""

    event: icalendar.Event  # where its properties are read (TRANSP, attendees...)
    start: datetime  # UTC
    end: datetime  # UTC
    all_day: bool
    recurring: bool
    whole_span: bool = False


class Expansion:
    """The occurrences of one calendar's events overlapping ``[start, end)``, within bounds.

    One instance is one budget (:mod:`.limits`): give it every series of a calendar (a file,
    or what one query returned), through :meth:`expand` or :meth:`series`. Cancelled events
    and occurrences give nothing. ``notes`` collects ``(key, message)`` for what was skipped
    or approximated, each message naming ``label`` (the file or calendar) and the UID, for the
    caller to log once per version of the calendar.
    """

    def __init__(self, zone: tzinfo, start: datetime, end: datetime, *, label: str) -> None:
        """``zone``: the owner's, for floating times and all-day days; ``start``, ``end``: the
        window, aware."""
        self.label = label
        self.zone = zone
        self.start = start
        self.end = end
        # A day of margin on each side: all-day and floating events are local days.
        self.query = (start - timedelta(days=1), end + timedelta(days=1))
        self.max_steps_per_series = limits.MAX_STEPS_PER_SERIES
        self.max_occurrences = limits.MAX_OCCURRENCES_PER_CALENDAR
        self.steps_left = limits.MAX_STEPS_PER_CALENDAR
        self.occurrences_left = limits.MAX_OCCURRENCES_PER_CALENDAR
        self.probes_left = limits.MAX_FAILED_PROBES_PER_CALENDAR
        self.max_per_day = limits.MAX_PER_DAY
        self.deadline = time.thread_time() + limits.CPU_SECONDS_PER_CALENDAR
        self.notes: list[tuple[str, str]] = []

    def note(self, key: str, message: str) -> None:
        """Record ``message`` under ``key`` (say ``"dense:<uid>"``) for the caller to log."""
        self.notes.append((key, message))

    def expand(
        self, events: Iterable[icalendar.Event], calendar: icalendar.Calendar | None = None
    ) -> Iterator[Occurrence]:
        """The occurrences of ``events`` in the window, series by series (events grouped by
        UID: a master and its exceptions). ``calendar`` holds their VTIMEZONEs.
        """
        groups: dict[str, list[icalendar.Event]] = {}
        for ev in events:
            uid = ev.get("UID")
            key = str(uid) if uid is not None and not isinstance(uid, list) else ""
            groups.setdefault(key or f"#{id(ev)}", []).append(ev)
        for key, group in groups.items():
            yield from self.series(key, group, calendar)

    def series(
        self,
        uid: str,
        group: list[icalendar.Event],
        calendar: icalendar.Calendar | None = None,
    ) -> Iterator[Occurrence]:
        """The occurrences in the window of one series: the events of ``group`` share the UID
        ``uid`` (a master, its exceptions; or one single event). ``calendar`` holds their
        VTIMEZONEs (and X-WR-TIMEZONE). A series that cannot be read gives nothing, and a note.
        """
        try:
            for occ in self._group(uid, group, calendar or icalendar.Calendar()):
                if occ.start < self.end and occ.end > self.start:
                    yield occ
        except Exception as exc:  # anything about this series cadence did not foresee
            self.note(
                f"expand:{uid}",
                f"{self.label}: event {uid} cannot be read ({type(exc).__name__}: {exc}); it "
                "is left out of busy time and contacts (the rest of the calendar counts)",
            )

    def _group(
        self, uid: str, group: list[icalendar.Event], calendar: icalendar.Calendar
    ) -> Iterator[Occurrence]:
        masters = [ev for ev in group if "RECURRENCE-ID" not in ev]
        recurring = any(k in ev for ev in group for k in ("RRULE", "RDATE", "RECURRENCE-ID"))
        if not any(k in ev for ev in masters for k in ("RRULE", "RDATE")):
            for ev in group:  # single events, or exceptions whose series is not among them
                yield from self._single(ev, recurring)
            return
        rules = [r for ev in masters for r in as_list(ev.get("RRULE"))]
        master = masters[0]
        decision = self._plan(uid, master, rules)
        if decision == "expand":
            yield from self._expand(uid, group, master, rules, calendar)
        elif decision == "once":
            # The rule names no real day (say 30 February): only DTSTART and RDATEs happen.
            once = [_without_rrule(ev) if ev is master else ev for ev in group]
            yield from self._expand(uid, once, master, rules, calendar)
        else:
            yield from self._whole_span(uid, master, rules, group)

    def _single(self, ev: icalendar.Event, recurring: bool) -> Iterator[Occurrence]:
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            return
        lo, hi, all_day = utc_bounds(ev, self.zone, self.label)
        yield Occurrence(ev, lo, hi, all_day, recurring)

    def _plan(self, uid: str, master: icalendar.Event, rules: list[Any]) -> str:
        """``"expand"``, ``"once"`` or ``"span"`` (busy for the series' whole span)."""
        label = f"{self.label}: recurring event {uid}"
        most = max((per_day(r) for r in rules), default=0.0)
        if most > self.max_per_day:
            freq = "/".join(sorted({str(r["FREQ"][0]).upper() for r in rules}))
            self.note(
                f"dense:{uid}",
                f"{label} repeats more than once an hour ({freq}); it is not expanded: its "
                "whole span counts as busy and it gives no contacts",
            )
            return "span"
        lo, _, _ = utc_bounds(master, self.zone, self.label)
        ends = [self._until(r) or self.query[1] for r in rules]
        last = min(max(ends, default=self.query[1]), self.query[1])
        days = max((last - lo).total_seconds() / 86400, 0.0) + 1
        steps = int(most * days) + 1
        if all(r.get("COUNT") and not any(k in r for k in DATE_FILTERS) for r in rules):
            # Every period yields: the expander stops after COUNT of them.
            steps = min(steps, sum(int(r["COUNT"][0]) * per_period(r) for r in rules))
        if steps > self.max_steps_per_series or steps > self.steps_left:
            self.note(
                f"long:{uid}",
                f"{label} has too many occurrences up to the end of the window to expand "
                f"(about {steps}); its whole span counts as busy and it gives no contacts",
            )
            return "span"
        if self.occurrences_left <= 0:
            self._note_many(uid)
            return "span"
        if time.thread_time() > self.deadline:
            self.note(
                f"slow:{uid}",
                f"{label}: expanding this calendar's recurring events took too long; its whole "
                "span counts as busy and it gives no contacts",
            )
            return "span"
        self.steps_left -= steps
        first = as_datetime(master.start).replace(tzinfo=None)
        for rule in rules:
            if not any(k in rule for k in DATE_FILTERS):
                continue  # every period has an occurrence: nothing to probe
            text = ical_text(rule)
            verdict, walked = probe(text, first, may_walk=self.probes_left > 0)
            self.probes_left -= walked
            if verdict is None:
                self.note(
                    f"probe:{uid}",
                    f"{label}: cadence cannot tell within bounds whether its RRULE {text!r} "
                    "ever repeats; its whole span counts as busy and it gives no contacts",
                )
                return "span"
            if not verdict:
                self.note(
                    f"never:{uid}",
                    f"{label}: its RRULE {text!r} names no day that exists; only its first "
                    "occurrence (and RDATEs) count",
                )
                return "once"
        return "expand"

    def _note_many(self, uid: str) -> None:
        self.note(
            f"many:{uid}",
            f"{self.label}: more than {self.max_occurrences} occurrences in the window; "
            f"recurring event {uid} counts as busy for its whole span",
        )

    def _until(self, rule: Any) -> datetime | None:
        until = rule.get("UNTIL")
        if not until:
            return None
        value = until[0]
        if not isinstance(value, datetime):
            return day_bounds(value, value + timedelta(days=1), self.zone)[1]
        return to_utc(value, self.zone)

    def _expand(
        self,
        uid: str,
        group: list[icalendar.Event],
        master: icalendar.Event,
        rules: list[Any],
        calendar: icalendar.Calendar,
    ) -> Iterator[Occurrence]:
        """Occurrences through recurring_ical_events, for one series (its own small calendar:
        one bad series cannot stop the others), taken lazily up to the per-calendar cap.
        """
        # Imported here: it imports x_wr_timezone and click (about 0.1 s), which a command that
        # expands no recurring series (explain, an unchanged run) need not pay for.
        import recurring_ical_events

        mini = icalendar.Calendar()
        if "X-WR-TIMEZONE" in calendar:
            mini["X-WR-TIMEZONE"] = calendar["X-WR-TIMEZONE"]
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE":
                mini.add_component(component)
        for ev in group:
            mini.add_component(ev)
        try:
            query = recurring_ical_events.of(mini, components=["VEVENT"])
            for ev in _occurrence_components(query, *self.query):
                if self.occurrences_left <= 0:
                    self._note_many(uid)
                    yield from self._whole_span(uid, master, rules, group)
                    return
                self.occurrences_left -= 1
                if str(ev.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                lo, hi, all_day = utc_bounds(ev, self.zone, self.label)
                yield Occurrence(ev, lo, hi, all_day, True)
        except Exception as exc:  # the library raises assorted errors on bad RRULEs
            self.note(
                f"expand:{uid}",
                f"{self.label}: recurring event {uid} cannot be expanded ({exc}); it is left "
                "out of busy time and contacts until it is fixed (the rest of the calendar counts)",
            )

    def _whole_span(
        self, uid: str, master: icalendar.Event, rules: list[Any], group: list[icalendar.Event]
    ) -> Iterator[Occurrence]:
        """Busy from the series' first start to its last end (UNTIL, or COUNT steps when they
        are evenly spaced; else the end of the window), clipped to the window; exceptions and
        RDATEs count on their own too. Never less busy than the real series.
        """
        if str(master.get("STATUS", "")).upper() == "CANCELLED":
            return
        lo, hi, all_day = utc_bounds(master, self.zone, self.label)
        duration = max(hi - lo, timedelta(0))
        ends = []
        for rule in rules:
            until = self._until(rule)
            count = rule.get("COUNT")
            freq = str(rule["FREQ"][0]).upper()
            if until is not None:
                ends.append(until + duration)
            elif count and freq in FIXED_STEP and not any(k in rule for k in ALL_BY):
                steps = interval(rule) * (int(count[0]) - 1)
                ends.append(lo + FIXED_STEP[freq] * steps + duration)
            else:
                ends.append(self.end)
        span_lo, span_hi = max(lo, self.start), min(max(ends, default=hi), self.end)
        if span_lo < span_hi:
            yield Occurrence(master, span_lo, span_hi, all_day, True, whole_span=True)
        for rdate in rdates(master):
            if isinstance(rdate, datetime):
                start = to_utc(rdate, self.zone)
            else:
                start = day_bounds(rdate, rdate + timedelta(days=1), self.zone)[0]
            yield Occurrence(master, start, start + duration, all_day, True, whole_span=True)
        for ev in group:
            if ev is not master and "RECURRENCE-ID" in ev:
                for occ in self._single(ev, True):
                    yield Occurrence(occ.event, occ.start, occ.end, occ.all_day, True, True)


def _occurrence_components(query: Any, start: datetime, end: datetime) -> Iterator[icalendar.Event]:
    """The occurrences of ``query`` (one series) in ``[start, end]``, one at a time:
    recurring_ical_events' ``between()`` makes a list of copies, its series do not.
    """
    series = getattr(query, "series", None)
    if series is None:  # a version without Series: a list, bounded by the step caps anyway
        yield from query.between(start, end)
        return
    for one in series:
        for occurrence in one.between(start, end):
            yield occurrence.as_component(False)


def _without_rrule(ev: icalendar.Event) -> icalendar.Event:
    copy = icalendar.Event.from_ical(ev.to_ical())
    assert isinstance(copy, icalendar.Event)
    copy.pop("RRULE", None)
    return copy
