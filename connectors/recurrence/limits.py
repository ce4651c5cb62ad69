"""The bounds on expanding recurring events (see :mod:`connectors.recurrence`).

"Calendar" here is one :class:`~connectors.recurrence.Expansion`: one ``.ics`` file read, or
one CalDAV query for a window. :class:`~connectors.recurrence.Expansion` reads these values
when it is created, so a test may lower them with ``monkeypatch.setattr(limits, ...)``.
"""

from __future__ import annotations

#: A series that can repeat more often than this per day, on average, is never expanded: it
#: is busy for its whole span in the window (more often than hourly).
MAX_PER_DAY = 24.0
#: Rule steps from DTSTART to the end of the window above which a series counts whole.
MAX_STEPS_PER_SERIES = 50_000
#: Rule steps all the series of one calendar may take together.
MAX_STEPS_PER_CALENDAR = 300_000
#: Occurrences in the window one calendar may give; past it, the other series count whole.
MAX_OCCURRENCES_PER_CALENDAR = 20_000
#: Rules walked through a whole 400-year cycle in vain (see :func:`~.rules.probe`).
MAX_FAILED_PROBES_PER_CALENDAR = 4
#: A backstop: past this much CPU time, the calendar's remaining series count whole.
CPU_SECONDS_PER_CALENDAR = 2.0
