"""``python -m tests.daemons.slow_daemon CONFIG LOG``: the real daemon on a slow .ics backend.

Reading a salesperson's events and busy time takes ``SLOW_READ`` seconds each, and every
write ``SLOW_WRITE`` seconds, so a cycle lasts longer than a short lease. Each write appends
one JSON line to LOG: which daemon wrote, to whose calendar, when, and who held that
salesperson's lease in the database just before and just after the write. Used by
tests/test_leases.py; not a test itself.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cadence.app.daemon import Daemon
from cadence.store.leases import OWNER
from cadence.store.repository import Store
from connectors.ics.backend import IcsBackend

SLOW_READ = 0.6
SLOW_WRITE = 0.1


def main(config: str, log_path: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    daemon = Daemon(Path(config), clock=lambda: datetime.now(UTC))
    holder = daemon.holder
    read, busy, write = IcsBackend.list_owned, IcsBackend.busy, IcsBackend.write
    store: list[Store] = []

    def holder_of(owner: str) -> str | None:
        if not store:
            assert daemon.workspace is not None
            store.append(Store(daemon.workspace.config.database))
        return store[0].lease_holder(OWNER + owner, datetime.now(UTC))

    def slow_read(self: IcsBackend, owner: str) -> Any:
        time.sleep(SLOW_READ)
        return read(self, owner)

    def slow_busy(self: IcsBackend, owner: str, *window: Any) -> Any:
        time.sleep(SLOW_READ)
        return busy(self, owner, *window)

    def logged_write(self: IcsBackend, owner: str, ops: Any) -> Any:
        before, started = holder_of(owner), time.time()
        time.sleep(SLOW_WRITE)
        results = write(self, owner, ops)
        entry = {
            "writer": holder,
            "owner": owner,
            "ops": len(ops),
            "start": started,
            "end": time.time(),
            "holder_before": before,
            "holder_after": holder_of(owner),
        }
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        return results

    IcsBackend.list_owned = slow_read  # type: ignore[method-assign]
    IcsBackend.busy = slow_busy  # type: ignore[method-assign]
    IcsBackend.write = logged_write  # type: ignore[method-assign]
    print(f"holder {holder} pid {os.getpid()}", flush=True)
    return daemon.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
