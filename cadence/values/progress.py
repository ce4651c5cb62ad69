"""How far long work has got (SPEC 8: progress on a terminal, nothing in the daemon).

Work that can take minutes on a big book (reading the customer file, reading calendars,
planning, building the report, writing to calendars) takes an optional :data:`Tick` and calls it
as it goes: ``tick(stage, done, total)``, ``total`` None when it is not known in advance. The CLI
turns ticks into rich progress bars on a terminal; everything else passes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Tick = Callable[[str, int, "int | None"], None]


def every(tick: Tick | None, stage: str, total: int | None, step: int) -> Callable[[int], None]:
    """A counter for ``stage`` that ticks every ``step`` items and at ``total``."""

    def count(done: int) -> None:
        if tick is not None and (done % step == 0 or done == total):
            tick(stage, done, total)

    return count
