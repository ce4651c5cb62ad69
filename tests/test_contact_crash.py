"""A cycle killed between reading contacts and storing them loses none and doubles none.

Sources move their read marks (IMAP UIDs, the ``.ics`` content, calendar digests) as they read;
the cycle holds those writes back and commits them in the transaction that stores the contacts
(:class:`connectors.base.StagedState`, :meth:`cadence.store.engine.Database.batch`). Here a
forked child runs a cycle over a real Dovecot and ``.ics`` calendars and is killed with SIGKILL
(no ``finally`` runs) just before storing, inside the transaction once the contacts are written
(not committed), or just after the transaction that saves the contacts a late meeting and a
late message gave. The next clean cycle must store each of them exactly once, with its own date.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cadence.store.repository import Store
from cadence.sync.workspace import Workspace
from cadence.values.model import Contact, ContactKind
from tests.test_backend_ics import IcsPerson
from tests.test_contact_sync import append, dovecot, imap, imap_section, open_workspace
from tests.workspace_kit import ANA, NOW, customer_row

__all__ = ["dovecot", "imap"]  # fixtures used here

MET = datetime(2026, 11, 19, 14, tzinfo=UTC)  # entered after the first cycle
WRITTEN = datetime(2026, 11, 20, 9, tzinfo=UTC)  # uploaded after the first cycle


def killing(add_contacts: Callable[..., int], when: str) -> Callable[..., int]:
    """``Store.add_contacts`` that kills the process around the first call storing contacts
    read from a calendar or a mailbox: before it runs, after it returned (inside its
    transaction), or (``committed``) once the transaction around it has ended."""

    def wrapped(store: Store, contacts: Iterable[Contact]) -> int:
        contacts = list(contacts)
        read = any(c.source in ("calendar", "mail") for c in contacts)
        if read and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        count = add_contacts(store, contacts)
        if read and when == "inside":
            os.kill(os.getpid(), signal.SIGKILL)
        if read and when == "committed":
            store.kill_after_batch = True  # type: ignore[attr-defined]
        return count

    return wrapped


def killing_after(batch: Callable[[Store], Any]) -> Callable[[Store], Any]:
    """``Store.batch`` that kills the process once a batch marked by :func:`killing` ended."""

    @contextmanager
    def wrapped(store: Store) -> Iterator[None]:
        with batch(store):
            yield
        if getattr(store, "kill_after_batch", False):
            os.kill(os.getpid(), signal.SIGKILL)

    return wrapped


def killed_cycle(config: Path, now: datetime, when: str) -> bool:
    """One cycle in a forked child, killed around storing contacts; True when it was."""
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            Store.add_contacts = killing(Store.add_contacts, when)  # type: ignore[method-assign]
            Store.batch = killing_after(Store.batch)  # type: ignore[method-assign]
            ws = Workspace.open(config)
            ws.run_cycle(now)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def read_contacts(ws: Workspace) -> list[tuple[Any, ...]]:
    return [
        (c.kind, c.at, c.source, c.source_id)
        for c in ws.store.contacts("C1")
        if c.source in ("calendar", "mail")
    ]


@pytest.mark.parametrize(
    "when",
    ["before", "inside", "committed"],
    ids=["before-storing", "stored-not-committed", "after-storing"],
)
def test_a_cycle_killed_around_storing_contacts_loses_none_and_doubles_none(
    tmp_path: Path, dovecot: Any, imap: Any, when: str
) -> None:
    ws = open_workspace(
        tmp_path, [customer_row("C1")], imap_section(dovecot, tmp_path), backend="ics"
    )
    config = tmp_path / "cadence.toml"
    try:
        first = ws.run_cycle(NOW)
        assert first.failed_owners == {} and first.created == 1
    finally:
        ws.close()
    IcsPerson(tmp_path / "calendars").add_event(
        ANA, MET, MET + timedelta(hours=1), attendees=("ceo@c1.example",)
    )
    append(imap, "Sent", sender=ANA, to="buyer@c1.example", at=WRITTEN, message_id="<l@x.org>")

    assert killed_cycle(config, NOW + timedelta(hours=1), when)
    after = when == "committed"

    ws = Workspace.open(config)
    try:
        if after:  # stored before the kill: nothing new, the marks are simply caught up
            assert len(read_contacts(ws)) == 2
        else:
            assert read_contacts(ws) == []
        result = ws.run_cycle(NOW + timedelta(hours=2))
        assert result.failed_owners == {}
        assert result.contacts_added == (0 if after else 2)
        meeting, message = sorted(read_contacts(ws), key=lambda c: c[2])
        assert meeting[:3] == (ContactKind.MEETING, MET, "calendar")
        assert message == (ContactKind.EMAIL_OUT, WRITTEN, "mail", "<l@x.org>")
        assert ws.run_cycle(NOW + timedelta(hours=3)).contacts_added == 0
        assert len(read_contacts(ws)) == 2
    finally:
        ws.close()
