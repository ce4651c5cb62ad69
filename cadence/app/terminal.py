"""What the command line does for a person at a terminal: progress bars for long work, and
Ctrl-C that lets a cycle finish the write in flight so what was done can be said."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich's progress bars are imported when a terminal shows them
    from rich.console import Console
    from rich.progress import ProgressColumn, TaskID

    from cadence.values.progress import Tick


def _rate() -> ProgressColumn:
    """A column of items per second, once there is a rate to show."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    return Rate()


@contextmanager
def progress_bars(console: Console, enabled: bool = True) -> Iterator[Tick | None]:
    """A :data:`cadence.values.progress.Tick` drawing one bar per stage on ``console`` when it is a
    terminal (never in a pipe, a log or under --json); None otherwise."""
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield tick


def rows_in(path: Path) -> int | None:
    """Data rows in a CSV file (lines less the header), for a progress total; cheap."""
    try:
        with path.open("rb") as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return None


@contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C asks the cycle to stop after the write in flight (so what was done can
    be printed); a second one stops at once."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def first(_signum: int, _frame: Any) -> None:
        stopped.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, previous)
