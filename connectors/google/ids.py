"""Deterministic Google Calendar event ids.

Google lets the client choose an event's ``id`` when it creates the event: 5 to 1024 characters
of the base32hex alphabet (``a-v`` and ``0-9``), unique per calendar, kept even after the event
is deleted. Deriving the id from the booking's stable ``uid`` makes a create idempotent: a retry
after a lost response hits ``409 duplicate`` instead of making a second event.
"""

from __future__ import annotations

import base64
import hashlib
import re

# "cadence" is spelled entirely with base32hex letters, so it can prefix the id and make our
# events recognisable in API logs.
_PREFIX = "cadence"
_VALID = re.compile(r"[a-v0-9]{5,1024}")


def event_id(uid: str) -> str:
    """The Google event id of the cadence booking ``uid`` (always the same for the same uid)."""
    if not uid:
        raise ValueError("an event uid must not be empty")
    digest = hashlib.sha256(uid.encode("utf-8")).digest()
    encoded = base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()
    return _PREFIX + encoded


def is_valid_event_id(value: str) -> bool:
    """Whether ``value`` is an id Google accepts for a client-chosen event id."""
    return _VALID.fullmatch(value) is not None
