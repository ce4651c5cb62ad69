"""Measuring what a block of code costs: CPU time and the peak of the Python heap."""

from __future__ import annotations

import resource
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bounded(cpu_seconds: float, megabytes: float) -> Iterator[None]:
    """Fail unless the block uses less CPU time and a smaller Python heap peak than given."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < cpu_seconds, f"took {cpu:.2f} s of CPU"
    assert peak < megabytes * 2**20, f"peaked at {peak / 2**20:.0f} MB"
