"""The files the daemon watches: cadence.toml and the policies (a change means a reload) and the
customer file (a change means a cycle now), stamped by modification time and size, with a wait
until an edit holds still (editors write in steps)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cadence.inputs.config import Config

SETTLE_SECONDS = 0.3  # a changed file must hold still this long (editors write in steps)

FileStamp = tuple[int, int] | None  # (mtime_ns, size), None when the file is missing


def watched_files(config: Config) -> tuple[set[Path], Path | None]:
    """The files whose change means a reload (cadence.toml, policies), and the customer file."""
    reload = {config.path, *config.policies.glob("*.toml")}
    return reload, config.customers


def snapshot(paths: Iterable[Path]) -> dict[Path, FileStamp]:
    """Modification time and size of each path."""
    stamps: dict[Path, FileStamp] = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            stamps[path] = None
        else:
            stamps[path] = (st.st_mtime_ns, st.st_size)
    return stamps


@dataclass
class Watch:
    """What the files looked like when the configuration in force was read."""

    reload_paths: set[Path]
    policy_folder: Path
    customers: Path | None
    stamps: dict[Path, FileStamp] = field(default_factory=dict)

    @classmethod
    def of(cls, config: Config) -> Watch:
        reload_paths, customers = watched_files(config)
        return cls(reload_paths, config.policies, customers)

    def current(self) -> dict[Path, FileStamp]:
        # New policy files count too: glob the folder again rather than trusting the old list.
        paths = set(self.reload_paths) | set(self.policy_folder.glob("*.toml"))
        if self.customers is not None:
            paths.add(self.customers)
        return snapshot(paths)

    def changed(self, now: dict[Path, FileStamp]) -> set[Path]:
        keys = set(self.stamps) | set(now)
        return {p for p in keys if self.stamps.get(p) != now.get(p)}

    def settled(
        self, stamps: dict[Path, FileStamp], wake: threading.Event
    ) -> dict[Path, FileStamp]:
        """Wait until the watched files hold still (an editor may write in several steps); a
        set ``wake`` (a signal) stops the wait."""
        for _ in range(10):
            if wake.wait(SETTLE_SECONDS):  # a signal: stop waiting for the editor
                break
            again = self.current()
            if again == stamps:
                break
            stamps = again
        return stamps
