"""What the daemon says about each cycle: the one-line systemd ``STATUS=`` and the JSON health
file (``[daemon] health_file``) that monitoring reads."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cadence.sync.result import CycleResult

log = logging.getLogger("cadence.daemon")


def status_line(now: datetime, result: CycleResult | None, error: str, rejected: str | None) -> str:
    """The ``STATUS=`` text after a cycle at ``now``: its summary or its error, and the problem
    of a rejected reload (while the previous configuration stays in force)."""
    stamp = f"{now.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
    if result is not None:
        status = f"last cycle {stamp}: {result.summary()}"
    else:
        status = f"last cycle {stamp} failed: {clip(error)}"
    if rejected:
        status += f"; reload rejected: {clip(rejected)}"
    return status


def write_health(
    path: Path,
    now: datetime,
    result: CycleResult | None,
    error: str,
    next_cycle: datetime,
    rejected: str | None = None,
) -> None:
    """Replace ``path`` atomically with the JSON state of the last cycle (and the problem of a
    rejected reload, while the previous configuration is in force)."""
    data = {
        "time": now.astimezone(UTC).isoformat(),
        "ok": result is not None,
        "summary": result.summary() if result is not None else error,
        "interrupted": bool(result and result.interrupted),
        "skipped_salespeople": sorted(result.failed_owners) if result else [],
        "skipped_customers": sorted(result.skipped_customers) if result else [],
        "attention": result.attention() if result else [],
        "next_cycle": next_cycle.astimezone(UTC).isoformat(),
        "reload_rejected": rejected,
        "pid": os.getpid(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
        ) as tmp:
            json.dump(data, tmp, indent=2)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("cannot write health file %s: %s", path, exc)


def clip(text: str, limit: int = 300) -> str:
    """A status line stays one readable line (a database error can quote a whole query)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
