"""Recurring events expanded within bounds, for every backend that reads iCalendar itself.

Expanding someone's recurring event costs time and memory in proportion to its occurrences
from its first one (the expander walks from ``DTSTART``): a person's ``FREQ=SECONDLY`` event
would cost minutes of CPU and gigabytes. So, with the caps of :mod:`.limits`:

* a series that can repeat more often than once an hour on average (``FREQ=SECONDLY`` or
  ``MINUTELY``, or ``BYMINUTE``/``BYSECOND`` lists that multiply it) is never expanded: it
  counts as busy for its whole span in the window, from its first start to the end of its
  last occurrence (its ``UNTIL``; ``COUNT`` steps when evenly spaced; else the window's end),
  plus its exceptions and its ``RDATE`` dates, and gives no contacts. Conservative: cadence never
  books over time that might be taken;
* so is a series with more than ``MAX_STEPS_PER_SERIES`` steps up to the window's end, and any
  series once the calendar has used ``MAX_STEPS_PER_CALENDAR`` steps, reached
  ``MAX_OCCURRENCES_PER_CALENDAR`` occurrences or ``CPU_SECONDS_PER_CALENDAR`` of CPU;
* a rule with date filters is first tried, shifted by whole 400-year cycles, to see that it
  names a day that exists at all (``BYMONTH=2;BYMONTHDAY=30`` does not, and would make the
  expander walk to the year 9999): if not, only its first occurrence counts.

Use::

    expansion = Expansion(zone, start, end, label="calendars/ana@example.com.ics")
    for occurrence in expansion.expand(vevents(calendar), calendar):
        ...  # Occurrence: event, start, end (UTC), all_day, recurring, whole_span
    for key, message in expansion.notes:
        ...  # log each once per version of the calendar

Occurrences overlap ``[start, end)``; cancelled ones are left out; an occurrence with
``whole_span`` stands for a whole series that was not expanded (busy time, not a meeting).
Modules: :mod:`.expansion` (:class:`Expansion`), :mod:`.rules` (what a rule costs, told without
expanding it), :mod:`.times` (an event's bounds in UTC) and :mod:`.limits` (the caps).
"""

from connectors.recurrence import limits
from connectors.recurrence.expansion import Expansion, Occurrence
from connectors.recurrence.times import utc_bounds, vevents

__all__ = ["Expansion", "Occurrence", "limits", "utc_bounds", "vevents"]
