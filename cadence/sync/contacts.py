"""Contacts that already happened, recognised in past calendar events and in mail.

For one salesperson: every past event and message the sources have not reported before, whatever
its date (a meeting entered late, a message delivered late), becomes a contact of the customers
it involves (:class:`cadence.values.matching.CustomerMatcher`: case, subdomains, IDN,
plus-addressing), with its own date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from cadence.sync.calls import Failed
from cadence.values.matching import CustomerMatcher
from cadence.values.model import Contact, ContactKind, Salesperson
from connectors.base import CalendarBackend, MailSource, StagedState

if TYPE_CHECKING:
    from cadence.sync.workspace import Workspace

FIRST_LOOKBACK = timedelta(days=365)  # how far back the first contact sync reads

S = TypeVar("S", CalendarBackend, MailSource)
T = TypeVar("T")
Marks = list[tuple[StagedState, dict[str, str | None]]]


def read_contacts(
    ws: Workspace,
    owner: str,
    people: Mapping[str, Salesperson],
    matcher: CustomerMatcher,
    now: datetime,
    added: list[int],
    failed: dict[str, str],
) -> None:
    """Store the contacts of ``owner``'s customers found since the sources last looked
    (``FIRST_LOOKBACK`` bounds how far back a source looks when it reads in full); how many
    were new joins ``added``, and a source that failed puts ``owner`` in ``failed``.

    The sources' read marks are held back while they read (:class:`StagedState`) and
    committed in the transaction that stores the contacts they returned: a crash before it
    ends makes the next cycle read them again (the store keeps each once), never loses them.
    """
    floor = now - FIRST_LOOKBACK
    name = ws.backend_name(people[owner])
    found: list[Contact] = []
    marks: Marks = []
    calendar = ws.backend(name)
    events = _read_new(
        ws,
        calendar,
        marks,
        name,
        owner,
        now,
        "new_past_events",
        lambda b: b.new_past_events(owner, floor, now),
    )
    if isinstance(events, Failed):
        failed[owner] = events.why
        return
    for ev in events:
        if ev.declined:
            continue
        for who in matcher.customers_of(ev.attendees, besides=owner):
            source_id = f"{name}:{ev.remote_id}"
            found.append(Contact(who, ContactKind.MEETING, ev.start, "calendar", source_id))
    addresses, domains = matcher.addresses, matcher.domains
    for source_name, source in ws.mail_sources().items():
        messages = _read_new(
            ws,
            source,
            marks,
            f"mail.{source_name}",
            owner,
            now,
            "messages",
            lambda s: s.messages(owner, addresses, domains, floor),
        )
        if isinstance(messages, Failed):
            # Booking without knowing the latest mail could land a check-in the day after a
            # contact: this salesperson's calendar work waits until the mailbox answers.
            failed[owner] = f"mail.{source_name}: {messages.why}"
            continue
        for m in messages:
            kind = ContactKind.EMAIL_OUT if m.outgoing else ContactKind.EMAIL_IN
            for who in matcher.customers_of(m.addresses, besides=owner):
                found.append(Contact(who, kind, m.at, "mail", m.message_id))
    # One transaction: the contacts, then the marks that stand for them (never the marks
    # alone); a crash before its end makes the next cycle read them again.
    with ws.store.batch():
        added.append(ws.store.add_contacts(found) if found else 0)
        for state, held in marks:
            state.commit(held)


def _read_new(
    ws: Workspace,
    source: S,
    marks: Marks,
    name: str,
    owner: str,
    now: datetime,
    what: str,
    fn: Callable[[S], T],
) -> T | Failed:
    """A contact read with the source's state writes held back; what a successful call wrote
    joins ``marks`` (a failed call's writes are dropped)."""
    state = source.context.state
    if not isinstance(state, StagedState):  # a source made outside this workspace
        return ws.calls.source(name, owner, now, what, source, fn)
    state.hold()
    try:
        value = ws.calls.source(name, owner, now, what, source, fn)
    finally:
        held = state.release()
    if not isinstance(value, Failed):
        marks.append((state, held))
    return value
