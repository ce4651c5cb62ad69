"""Contacts from mail: messages to and from customers in salespeople's Microsoft 365 mailboxes.

``/users/{owner}/messages`` covers every folder, the inbox and Sent Items alike, so one filtered
query per owner (``receivedDateTime ge T``; Exchange stamps sent items too) returns both
directions. A message is outgoing when the owner sent it; its counterparts are then its To, Cc
and Bcc. Addresses and domains are matched here (:mod:`cadence.values.matching`) rather than in the
``$filter``, since Graph cannot filter on recipient addresses.

Reads are by change in the mailbox: ``lastModifiedDateTime`` is when the item last changed in
*this* mailbox, so it is at least when the message arrived there, by delivery, by an offline
client's upload of a Sent item, by a move between folders, or by a PST import (which keeps the
messages' old ``receivedDateTime``; an arrival mark on ``receivedDateTime`` never sees them).
The newest change seen (with the ids seen at that very second) is kept per owner in the state
store and the next call asks only for what changed after it. A message counts with its own
date (``sentDateTime``). Messages changed again later (read, flagged, moved) come back in that
query; digests of the Message-IDs already returned keep them from being returned twice. The
mark remembers for which customer addresses and domains it was read: when they change (a new
customer, a new address), the mailbox is read again from ``since``, so older mail with the new
addresses is found; what was returned before comes back and the store keeps it once.

Why not Graph's delta query: it is per folder (``/mailFolders/{id}/messages/delta``; "there is
no single delta link for all messages in a mailbox"), so an unchanged cycle would cost one
request per folder plus one ``mailFolders/delta`` for folders created later, instead of one; a
delta round with ``$filter`` stops at 5,000 messages, and without it the first round reads every
folder's whole history. ``/messages`` with ``lastModifiedDateTime`` spans every folder, present
and future, in one query and sees the same arrivals. See docs/outlook.md.

The first page of every salesperson's next read can be sent ahead for the whole team in ``$batch``
calls (:meth:`GraphMailSource.read_ahead`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from cadence.values.matching import CustomerMatcher, normalize_address
from connectors.base import BackendContext, MailMessage, MailSource
from connectors.common.validation import require_aware
from connectors.mailtext import clean_message_id
from connectors.outlook.client import PREFER_UTC, BatchRequest
from connectors.outlook.core import PAGE_SIZE, GraphUser, user_path
from connectors.outlook.wire import utc_text

log = logging.getLogger(__name__)

PAGED_MAIL = {"Prefer": f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"}
MESSAGE_FIELDS = (
    "id,internetMessageId,receivedDateTime,lastModifiedDateTime,sentDateTime,subject,from,sender,"
    "toRecipients,ccRecipients,bccRecipients,isDraft"
)


class GraphMailSource(GraphUser, MailSource):
    """Messages of salespeople's mailboxes through Microsoft Graph (``Mail.Read``)."""

    name = "outlook"

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        """``config`` is the ``[calendar.outlook]`` section: mail uses the same app."""
        super().__init__(config, context)
        self._setup_graph(config, context)

    def messages(
        self, owner: str, addresses: Iterable[str], domains: Iterable[str], since: datetime
    ) -> list[MailMessage]:
        """Messages to or from ``addresses`` / ``domains`` that arrived in (or were moved or
        imported into) ``owner``'s mailbox after the last call, not returned before (from
        ``since`` on the first call and when the addresses changed). A naive ``since`` raises
        BackendError."""
        require_aware(since, "since")
        matcher = CustomerMatcher.for_lists(addresses, domains)
        fingerprint = json.dumps(matcher.fingerprint())
        key = f"outlook:{owner.lower()}:mail"
        floor = since.astimezone(UTC)
        mark = _load_mark(self.context.state.get(key))
        if mark.read_for != fingerprint:  # new customer addresses: read the older mail again
            mark = Mark(read_for=fingerprint)
        start = max(floor, mark.at) if mark.at else floor
        out = []
        path, params = _changed_since(owner, start)
        for page in self.graph.pages(path, params, headers=PAGED_MAIL):
            for item in page.get("value") or ():
                changed = _instant(item.get("lastModifiedDateTime"))
                if changed is None or item.get("isDraft") or not mark.advance(item, changed):
                    continue
                arrived = _instant(item.get("receivedDateTime")) or changed
                message = _message(owner, item, arrived, matcher)
                if message is not None and mark.first_time(message):
                    out.append(message)
        mark.forget_before(floor)
        if mark.at is not None:
            self.context.state.set(key, mark.dumps())
        return sorted(out, key=lambda m: (m.at, m.message_id))

    def read_ahead(self, owners: Sequence[str], since: datetime) -> None:
        """The first page of each owner's next :meth:`messages` (``since``), in ``$batch``
        calls of 20 parts; each read then takes its answer as its first attempt. A mailbox
        read before is asked from its mark as when the customers' addresses are unchanged
        (changed addresses make the read ask from ``since`` itself). Never raises."""
        floor = require_aware(since, "since").astimezone(UTC)
        requests_ = []
        for owner in owners:
            mark = _load_mark(self.context.state.get(f"outlook:{owner.lower()}:mail"))
            path, params = _changed_since(owner, max(floor, mark.at) if mark.at else floor)
            url = f"{path}?{urlencode(params, quote_via=quote)}"
            requests_.append(BatchRequest("GET", url, headers=PAGED_MAIL))
        self.graph.read_ahead(requests_)


def _changed_since(owner: str, start: datetime) -> tuple[str, dict[str, str]]:
    """The path and parameters of the first page of ``owner``'s messages changed since
    ``start``, oldest change first."""
    params = {
        "$filter": f"lastModifiedDateTime ge {utc_text(start)}",
        "$orderby": "lastModifiedDateTime asc",
        "$select": MESSAGE_FIELDS,
        "$top": str(PAGE_SIZE),
    }
    return f"{user_path(owner)}/messages", params


def _message(
    owner: str, item: Mapping[str, Any], at: datetime, matcher: CustomerMatcher
) -> MailMessage | None:
    own = normalize_address(owner)
    sender = _address(item.get("from")) or _address(item.get("sender"))
    outgoing = bool(sender) and normalize_address(sender) == own
    if outgoing:
        fields = ("toRecipients", "ccRecipients", "bccRecipients")
        counterparts = {a for f in fields for a in map(_address, _listed(item.get(f))) if a}
        # a copy to oneself is nobody else's contact
        counterparts = {a for a in counterparts if normalize_address(a) != own}
    else:
        counterparts = {sender} if sender else set()
    if not matcher.any_match(counterparts):
        return None
    return MailMessage(
        message_id=clean_message_id(str(item.get("internetMessageId") or ""))
        or str(item.get("id")),
        at=_instant(item.get("sentDateTime")) or at,
        outgoing=outgoing,
        addresses=tuple(sorted(counterparts)),
        subject=str(item.get("subject") or ""),
    )


def _address(recipient: Any) -> str:
    # Graph's shape is {"emailAddress": {"address": ...}}; anything else has no address (one
    # odd message must not stop the mailbox).
    if not isinstance(recipient, Mapping):
        return ""
    email_address = recipient.get("emailAddress")
    if not isinstance(email_address, Mapping):
        return ""
    address = str(email_address.get("address") or "").strip().lower()
    return address if "@" in address else ""


def _listed(value: Any) -> list[Any]:
    """A recipients field as a list (Graph sends a list; anything else holds no one)."""
    return value if isinstance(value, list) else []


def _instant(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Mark:
    """How far an owner's mailbox was read: the newest change seen and the ids changed at that
    very second, digests of the messages returned (with their dates, to forget old ones), and
    the customer addresses and domains it was read for."""

    at: datetime | None = None
    ids: set[str] = field(default_factory=set)
    returned: dict[str, str] = field(default_factory=dict)  # digest -> the message's date
    read_for: str | None = None

    def advance(self, item: Mapping[str, Any], changed: datetime) -> bool:
        """Move the mark to ``item`` (changed at ``changed``); False when already read."""
        gid = str(item.get("id"))
        if self.at is not None and (changed < self.at or (changed == self.at and gid in self.ids)):
            return False
        if self.at is None or changed > self.at:
            self.at, self.ids = changed, set()
        self.ids.add(gid)
        return True

    def first_time(self, message: MailMessage) -> bool:
        """Whether ``message`` was not returned before (and remember that it now is)."""
        digest = hashlib.sha256(message.message_id.encode()).hexdigest()[:16]
        if digest in self.returned:
            return False
        self.returned[digest] = message.at.astimezone(UTC).isoformat()
        return True

    def forget_before(self, floor: datetime) -> None:
        """Drop digests of messages dated before ``floor`` (no later read goes back there)."""
        text = floor.isoformat()
        self.returned = {d: at for d, at in self.returned.items() if at >= text}

    def dumps(self) -> str:
        assert self.at is not None
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "ids": sorted(self.ids),
                "returned": self.returned,
                "for": self.read_for,
            }
        )


def _load_mark(text: str | None) -> Mark:
    """The mark kept in the state (an empty one when there is none or it is unreadable)."""
    if not text:
        return Mark()
    try:
        data = json.loads(text)
        return Mark(
            at=datetime.fromisoformat(data["at"]),
            ids=set(data["ids"]),
            returned=dict(data.get("returned") or {}),
            read_for=data.get("for"),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("Outlook mail state unreadable: reading from the requested date")
        return Mark()
