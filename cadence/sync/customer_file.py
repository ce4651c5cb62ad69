"""The configured customer file and the store: imported when its bytes change, never half-read.

A file that cannot be read as a whole (gone, not UTF-8, a required column missing) keeps the last
good customers in force; its problem is logged once per file version and reported on every cycle
until it is fixed. Rejected rows likewise: logged once per version, reported every cycle.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadence.inputs.customers import read_customers
from cadence.sync.calls import REPORTED
from cadence.values.errors import Problem, UserError
from cadence.values.model import Customer

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

log = logging.getLogger("cadence")


def import_customers(
    ws: Workspace,
    path: Path,
    *,
    prune: bool = False,
    today: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Any, list[Problem]]:
    """Read ``path`` and upsert; returns (counts, rejections as problems)."""
    result = read_customers(
        path,
        ws.reader,
        default_timezone=ws.policies.defaults.timezone,
        progress=progress,
        today=(today or datetime.now(UTC)).date(),
        seasons=ws.season,
    )
    counts = ws.store.upsert_customers(result.customers, prune=prune)
    return counts, [r.as_problem(str(path)) for r in result.rejected]


def refresh(ws: Workspace, now: datetime, problems: list[str] | None = None) -> str:
    """Re-import the configured customer file when its content changed; what was imported, in
    one line ("" when nothing was)."""
    path = ws.config.customers
    if path is None:
        return ""
    state = ws.store.state("customers")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        digest = f"unreadable:{exc.strerror or exc}"
    if state.get(str(path)) == digest:
        if problems is not None:
            problems.extend(json.loads(state.get(f"{path}:problems") or "[]"))
        return ""
    try:
        if digest.startswith("unreadable:"):
            raise UserError(f"cannot read customer file {path}: {digest[11:]}")
        counts, rejected = import_customers(ws, path, today=now)
    except Exception as exc:  # UserError, or a bug a strange file reaches: keep the last good
        text = str(exc) if isinstance(exc, UserError) else f"cannot import {path}: {exc!r}"
        text = text.replace("\n", "; ")
        text = f"{text} (the last good customer list stays in force)"
        log.error("%s", text, extra=REPORTED)
        state.set(str(path), digest)
        state.set(f"{path}:problems", json.dumps([text]))
        if problems is not None:
            problems.append(text)
        return ""
    for problem in rejected:
        log.warning("%s", problem, extra=REPORTED)
    # Rejected rows are logged once per version of the file, and reported every cycle.
    texts = [f"{problem} (row not imported)" for problem in rejected]
    state.set(str(path), digest)
    state.set(f"{path}:problems", json.dumps(texts) if texts else None)
    if problems is not None:
        problems.extend(texts)
    text = (
        f"imported {path.name}: {counts.new} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {len(rejected)} rejected"
    )
    log.info("%s", text)
    return text


def reported_problems(ws: Workspace, problems: list[str]) -> None:
    """Add what is wrong with the customer file as last imported (by another daemon)."""
    assert ws.config.customers is not None
    state = ws.store.state("customers")
    problems.extend(json.loads(state.get(f"{ws.config.customers}:problems") or "[]"))


def as_run_sees_them(
    ws: Workspace, now: datetime, owners: Collection[str] | None = None
) -> list[Customer]:
    """The customers the next cycle will plan (of ``owners`` when given), without importing
    anything: the stored ones, updated and added to from the customer file when it changed
    since the last import (a file that cannot be read leaves the stored list, as the cycle
    does)."""
    if changed(ws):
        everyone = _from_file(ws, now)
        return [c for c in everyone if owners is None or c.owner in owners]
    return ws.store.customers(owners)


def changed(ws: Workspace) -> bool:
    """Does the customer file hold other bytes than at its last import?"""
    path = ws.config.customers
    if path is None:
        return False
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return False  # the cycle keeps the last good list
    return ws.store.state("customers").get(str(path)) != digest


def _from_file(ws: Workspace, now: datetime) -> list[Customer]:
    stored = ws.store.customers()
    path = ws.config.customers
    assert path is not None
    try:
        fresh = read_customers(
            path,
            ws.reader,
            default_timezone=ws.policies.defaults.timezone,
            today=now.date(),
            seasons=ws.season,
        ).customers
    except Exception:  # the cycle keeps the last good list too
        return stored
    merged = {c.id: c for c in stored}
    merged.update((c.id, c) for c in fresh)
    return [merged[cid] for cid in sorted(merged)]
