"""Reading the header fields of a message fetched over IMAP into a :class:`MailMessage`.

Only ``From``, ``To``, ``Cc``, ``Bcc``, ``Date``, ``Message-ID`` and ``Subject`` are fetched. A
message in the sent folder, or written by the salesperson, is outgoing and its counterparts
are its To, Cc and Bcc (a sent copy keeps its Bcc); anything else is incoming from its sender.
The message's date is its ``Date`` (the server's INTERNALDATE when it has none).
"""

from __future__ import annotations

import email.errors
import email.header
import email.policy
import email.utils
import imaplib
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from email.parser import HeaderParser
from typing import Any

from cadence.values.matching import normalize_address
from connectors.base import BackendError, MailMessage
from connectors.imap.names import decode_mailbox
from connectors.mailtext import clean_message_id, message_date

HEADER_FIELDS = "FROM TO CC BCC DATE MESSAGE-ID SUBJECT"
_FETCH_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def addresses_of(values: Iterable[str | None]) -> tuple[str, ...]:
    """Lower-case e-mail addresses in address header values, in order, without repeats."""
    found: dict[str, None] = {}
    for _, address in email.utils.getaddresses([v for v in values if v]):
        address = address.strip().lower()
        if "@" in address:
            found.setdefault(address, None)
    return tuple(found)


def fetched(data: Sequence[Any]) -> Iterator[tuple[int, datetime | None, bytes]]:
    """``(uid, internal date, header bytes)`` from a UID FETCH answer."""
    for item in data:
        if not isinstance(item, tuple):
            continue  # the closing b')' of each message
        head, body = item
        uid = _FETCH_UID.search(head)
        if uid is None:
            continue
        internal = None
        found = _INTERNALDATE.search(head)
        if found:
            parsed = imaplib.Internaldate2tuple(b'INTERNALDATE "' + found.group(1) + b'"')
            if parsed is not None:
                internal = datetime(*parsed[:6], tzinfo=UTC)  # Internaldate2tuple gives UTC
        yield int(uid.group(1)), internal, body


def read_message(
    owner: str,
    folder: str,
    validity: int,
    uid: int,
    internal: datetime | None,
    header: bytes,
    is_sent: bool,
) -> MailMessage | None:
    """The message with these header fields, None when it has no usable date;
    :class:`BackendError` naming it when its headers cannot be read at all.
    """
    try:
        return _read_message(owner, folder, validity, uid, internal, header, is_sent)
    except Exception as exc:  # whatever the mail library trips on: this message only
        raise BackendError(
            f"imap: message UID {uid} in {decode_mailbox(folder)!r} cannot be read: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _read_message(
    owner: str,
    folder: str,
    validity: int,
    uid: int,
    internal: datetime | None,
    header: bytes,
    is_sent: bool,
) -> MailMessage | None:
    # Header fields are UTF-8 when they are not ASCII (RFC 6532: internationalised addresses
    # such as grete@müller-söhne.de); bytes that are not UTF-8 read as U+FFFD.
    headers = HeaderParser(policy=email.policy.compat32).parsestr(header.decode("utf-8", "replace"))
    at = message_date(_field(headers, "Date"), internal)
    if at is None:
        return None
    own = normalize_address(owner)
    senders = addresses_of(_fields(headers, "From"))
    outgoing = is_sent or any(normalize_address(a) == own for a in senders)
    if outgoing:
        fields = [*_fields(headers, "To"), *_fields(headers, "Cc"), *_fields(headers, "Bcc")]
        counterparts = addresses_of(fields)
    else:
        counterparts = senders
    counterparts = tuple(a for a in counterparts if normalize_address(a) != own)
    message_id = clean_message_id(_field(headers, "Message-ID") or "")
    return MailMessage(
        message_id=message_id or f"imap:{folder}:{validity}:{uid}",
        at=at.astimezone(UTC),
        outgoing=outgoing,
        addresses=counterparts,
        subject=_subject(_field(headers, "Subject") or ""),
    )


def _text_of(value: Any) -> str:
    """A header value as text (a ``Header`` when compat32 made one)."""
    text = str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _field(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else _text_of(value)


def _fields(headers: Any, name: str) -> list[str]:
    return [_text_of(v) for v in headers.get_all(name, [])]


def _subject(raw: str) -> str:
    """The Subject with its RFC 2047 encoded words decoded; as it is when they are broken
    (bad base64, an unknown charset, bytes that are not in the charset).
    """
    try:
        return _text_of(email.header.make_header(email.header.decode_header(raw)))
    except (email.errors.HeaderParseError, UnicodeError, LookupError, ValueError):
        return raw
