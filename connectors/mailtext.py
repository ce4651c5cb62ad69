"""Header values every mail source reads the same way, so one message read by two sources (the
same Message-ID in Gmail and over IMAP) is one contact, with one date."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_message_id(raw: str) -> str:
    """A Message-ID as every mail source reports it: control characters removed (NUL cannot be
    stored in PostgreSQL), outer space stripped, and the angle brackets of RFC 5322 around it
    (some servers give it bare). ``""`` when nothing is left.

    >>> clean_message_id(" abc@x.example ")
    '<abc@x.example>'
    """
    text = _CONTROL.sub("", raw).strip().strip("<>").strip()
    return f"<{text}>" if text else ""


def message_date(header: str | None, internal: datetime | None) -> datetime | None:
    """The message's aware time: its Date header, else the server's INTERNALDATE.

    A Date without a usable zone (``-0000``, or none) is read as UTC (RFC 5322 3.3).
    """
    if header:
        try:
            parsed = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return internal
