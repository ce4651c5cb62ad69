"""Which contacts count, and collapsing the same real-world contact seen by two sources.

Rules:

* A contact counts when its kind is in the policy's ``counts``; the CSV ``last_contact`` column
  (source ``csv``) always counts: it records that *some* contact happened.
* Two contacts are the same real-world contact when they share a non-empty ``source_id`` (a
  Message-ID seen by both Gmail and IMAP, an event id), or when both are meetings/calls of the
  same customer starting within :data:`SAME_MEETING_WINDOW` of each other (a calendar meeting and
  the cadence booking that became it, or a call also logged by hand). The earliest-seen copy is
  kept; a hand-written note wins over an automatic one for the note text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from operator import attrgetter

from cadence.values.model import Contact, ContactKind

SAME_MEETING_WINDOW = timedelta(minutes=60)
_SPOKEN = frozenset({ContactKind.MEETING, ContactKind.CALL})
# The order contacts are seen in (the earliest copy is kept): a key made in C, not by a lambda.
_SEEN_ORDER = attrgetter("at", "source", "source_id")


def counts(contact: Contact, kinds: frozenset[ContactKind]) -> bool:
    """Does this contact reset the rhythm under a policy counting ``kinds``?"""
    return contact.source == "csv" or contact.kind in kinds


def collapse(contacts: Iterable[Contact]) -> list[Contact]:
    """The contacts with duplicates of one real-world contact removed, sorted by time."""
    ordered = sorted(contacts, key=_SEEN_ORDER)
    if len(ordered) < 2:  # nothing to be a duplicate of (a quarter of customers have one contact)
        return ordered
    kept: list[Contact] = []
    seen_ids: set[tuple[str, str]] = set()
    last_spoken: dict[str, Contact] = {}
    for c in ordered:
        seen = (c.customer_id, c.source_id) if c.source_id else None
        if seen is not None and seen in seen_ids:
            continue
        if c.kind in _SPOKEN:
            prev = last_spoken.get(c.customer_id)
            if prev is not None and c.at - prev.at <= SAME_MEETING_WINDOW:
                if seen is not None:
                    seen_ids.add(seen)
                continue
            last_spoken[c.customer_id] = c
        if seen is not None:
            seen_ids.add(seen)
        kept.append(c)
    return kept
