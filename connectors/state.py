"""What a backend is given besides its config section: persistent state and the context.

:class:`StateStore` is where a backend keeps sync tokens and read marks between runs;
:class:`StagedState` lets the cycle hold a source's writes back until the contacts they stand
for are stored; :class:`BackendContext` carries the folder, the salespeople, the state and the
hooks a backend may use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cadence.values.model import Salesperson

# --------------------------------------------------------------------------------------------
# What a backend is given


class StateStore(Protocol):
    """Small persistent key/value state for a backend (sync tokens, delta links, caches)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...


class MemoryState:
    """A :class:`StateStore` in a dict (tests, dry runs)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value


class StagedState:
    """A :class:`StateStore` whose writes can be held back and committed later.

    Between :meth:`hold` and :meth:`release`, :meth:`set` only records the value (:meth:`get`
    sees it, so a source reads back what it wrote); :meth:`release` returns what was recorded,
    and :meth:`commit` writes it through. The cycle holds a source's writes while it reads
    contacts, stores the contacts, then commits: a source's read marks never get ahead of
    what is stored. Outside a hold, writes go straight through.

    A hold belongs to the thread that made it (the cycle serves salespeople side by side, each
    on a thread of its own): another thread's writes meanwhile go straight through.
    """

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self._local = threading.local()

    @property
    def _held(self) -> dict[str, str | None] | None:
        held: dict[str, str | None] | None = getattr(self._local, "held", None)
        return held

    def get(self, key: str) -> str | None:
        held = self._held
        if held is not None and key in held:
            return held[key]
        return self.inner.get(key)

    def set(self, key: str, value: str | None) -> None:
        held = self._held
        if held is None:
            self.inner.set(key, value)
        else:
            held[key] = value

    def hold(self) -> None:
        """Record this thread's writes from now on instead of making them."""
        self._local.held = {}

    def release(self) -> dict[str, str | None]:
        """Stop holding; the writes recorded since :meth:`hold` (key -> value, None: removed)."""
        held, self._local.held = self._held or {}, None
        return held

    def commit(self, held: Mapping[str, str | None]) -> None:
        """Make the writes :meth:`release` returned."""
        for key, value in held.items():
            self.inner.set(key, value)


@dataclass
class BackendContext:
    """Everything a backend may use besides its own config section.

    ``base_dir`` resolves relative paths (the folder holding cadence.toml); ``salespeople`` are
    the owners it serves; ``smtp`` is the ``[smtp]`` section (for iMIP invites); ``sleep`` is
    injectable so retry tests do not wait; ``env`` is where secrets named in the config are read.
    """

    base_dir: Path
    salespeople: Sequence[Salesperson] = ()
    state: StateStore = field(default_factory=MemoryState)
    smtp: Mapping[str, Any] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] | None = None
    now: Callable[[], datetime] | None = None
    # ``salespeople`` by lower-case address, made by the first lookup (see salesperson)
    _by_address: tuple[Sequence[Salesperson], int, dict[str, Salesperson]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def salesperson(self, owner: str) -> Salesperson | None:
        """The salesperson ``owner`` (the first listed, addresses compared case-blind), or
        None: one lookup, where backends scanned the list for every file, zone and name they
        asked about (a quadratic share of a cycle: 500 salespeople, 2,500 scans)."""
        index = self._by_address
        people = self.salespeople
        if index is None or index[0] is not people or index[1] != len(people):
            first = {p.email.lower(): p for p in reversed(people)}
            index = self._by_address = (people, len(people), first)
        return index[2].get(owner.lower())
