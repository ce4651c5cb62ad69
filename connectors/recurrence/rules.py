"""What an RRULE costs to expand, told without expanding it.

:func:`per_day` bounds how often a rule repeats; :func:`probe` tells cheaply whether its date
filters name any day that exists at all (``BYMONTH=2;BYMONTHDAY=30`` does not, and makes
dateutil walk every period up to the year 9999). ``rule`` arguments are the
:class:`icalendar.vRecur` of an ``RRULE`` (a mapping of upper-case parts to lists).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr

_FREQ_PER_DAY = {"SECONDLY": 86400.0, "MINUTELY": 1440.0, "HOURLY": 24.0}
#: The step of a frequency whose periods all have the same length.
FIXED_STEP = {
    "SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1),
}  # fmt: skip
#: The parts that keep only some dates of a period (a rule without them yields every period).
DATE_FILTERS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYSETPOS")
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
#: Every BY part: a rule with none of them is evenly spaced.
ALL_BY = (*DATE_FILTERS, *_TIME_PARTS)
# The Gregorian calendar repeats every 400 years (146097 days, a whole number of weeks).
_CYCLE_YEARS = 400


def per_day(rule: Any) -> float:
    """An upper bound on a rule's occurrences per day, on average: its frequency, times the
    hours, minutes and seconds a coarser frequency expands to.
    """
    freq = str(rule["FREQ"][0]).upper()
    step = interval(rule)
    if freq in _FREQ_PER_DAY:
        times = _FREQ_PER_DAY[freq] / step
    else:  # a day at most once per period, whatever the date lists (and DAILY: 1/INTERVAL)
        times = 1.0 / step if freq == "DAILY" else 1.0
    return times * per_period(rule)


def interval(rule: Any) -> int:
    """The rule's INTERVAL (1 when missing or unreadable)."""
    try:
        return max(int((rule.get("INTERVAL") or [1])[0]), 1)
    except (TypeError, ValueError):
        return 1


def per_period(rule: Any) -> int:
    """How many times one period of a rule without date filters yields (its time lists)."""
    freq = str(rule["FREQ"][0]).upper()
    finer = {"SECONDLY": (), "MINUTELY": ("BYSECOND",), "HOURLY": ("BYMINUTE", "BYSECOND")}
    count = 1
    for part in finer.get(freq, _TIME_PARTS):
        count *= max(len(rule.get(part) or ()), 1)
    return count


_PROBES: dict[tuple[str, datetime], bool | None] = {}
_PROBES_LOCK = threading.Lock()


def probe(rule: str, start: datetime, *, may_walk: bool) -> tuple[bool | None, bool]:
    """(whether the RRULE ``rule`` from naive ``start`` yields any date at all, or None when
    that cannot be told within bounds; whether a full cycle was walked to find out).

    A rule whose filters name no real day (``BYMONTH=2;BYMONTHDAY=30``) makes dateutil walk
    every period up to the year 9999, seconds of CPU, and UNTIL does not stop it (it is checked
    only on dates found). Answers are kept for the process; ``may_walk=False`` (the calendar
    has spent its budget of such walks) runs no new probe: the answer is then None.
    """
    key = (rule, start)
    with _PROBES_LOCK:
        if key in _PROBES:
            return _PROBES[key], False
    if not may_walk:
        return None, False
    verdict = _probe_uncached(rule, start)
    with _PROBES_LOCK:
        if len(_PROBES) >= 1024:
            _PROBES.clear()
        _PROBES[key] = verdict
    return verdict, verdict is not True


def _probe_uncached(rule: str, start: datetime) -> bool | None:
    fields: dict[str, str] = {}
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        fields[name.strip().upper()] = value.strip()
    freq = fields.get("FREQ", "").upper()
    step = int(fields["INTERVAL"]) if fields.get("INTERVAL", "").isdigit() else 1
    step = max(step, 1)
    ordinal = any(c.isdigit() for c in fields.get("BYDAY", ""))
    if "BYSETPOS" in fields:
        # Which dates BYSETPOS keeps depends on the period: probe the rule itself, but only
        # where a period is long (a week or more), so that a cycle has few of them.
        if freq not in ("WEEKLY", "MONTHLY", "YEARLY"):
            return None
        keep = {k: v for k, v in fields.items() if k not in ("COUNT", "UNTIL")}
        cycle = _CYCLE_YEARS * step
    elif ordinal and freq not in ("MONTHLY", "YEARLY"):
        return None  # "2MO" in a DAILY or WEEKLY rule: not RFC 5545; not guessed at
    else:
        # The dates a rule's filters let through are the same whatever the frequency (dateutil
        # filters every period's days alike): ask the cheapest one, YEARLY, about them.
        keep = {k: v for k, v in fields.items() if k in (*DATE_FILTERS, "WKST")}
        keep["FREQ"] = "YEARLY"
        if freq == "MONTHLY" and ordinal and "BYMONTH" not in keep:
            keep["BYMONTH"] = ",".join(str(m) for m in range(1, 13))  # "2MO" of each month
        cycle = _CYCLE_YEARS
    # Moved by whole cycles (400 years, times INTERVAL) the rule names the same dates, in step
    # with INTERVAL; starting late enough, dateutil walks at most two cycles before 9999.
    last_year = datetime.max.year + 1
    if start.year + cycle > last_year:
        return None
    moved = start.replace(year=start.year + ((last_year - cycle - start.year) // cycle) * cycle)
    text = ";".join(f"{k}={v}" for k, v in keep.items())
    try:
        found = next(iter(rrulestr(text, dtstart=moved)), None)
    except (ValueError, TypeError, OverflowError):
        return None  # dateutil refuses the rule: the expansion reports it
    return found is not None
