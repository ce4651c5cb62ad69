"""Contacts from mail: messages to and from customers in salespeople's Microsoft 365 mailboxes.

``/users/{owner}/messages`` covers every folder, the inbox and Sent Items alike, so one filtered
query per owner (``receivedDateTime ge T``; Exchange stamps sent items too) returns both
directions. A message is outgoing when the owner sent it; its counterparts are then its To, Cc
and Bcc. Addresses and domains are matched here (:mod:`cadence.matching`) rather than in the
``$filter``, since Graph cannot filter on recipient addresses.

Reads are by arrival: ``receivedDateTime`` is when the message reached the mailbox, so the
newest one seen (with the ids seen at that very second) is kept per owner in the state store and
the next call asks only for what arrived after it, whatever the messages' own dates (a message
relayed late, a Sent item uploaded by an offline client). A message counts with its own date
(``sentDateTime``). The mark remembers for which customer addresses and domains it was read: when
they change (a new customer, a new address), the mailbox is read again from ``since``, so older
mail with the new addresses is found; what was returned before comes back and the store keeps
it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cadence.matching import CustomerMatcher, normalize_address
from connectors.base import BackendContext, MailMessage, MailSource
from connectors.mailtext import clean_message_id
from connectors.outlook.calendar import PAGE_SIZE, GraphUser, aware, user_path
from connectors.outlook.client import PREFER_UTC
from connectors.outlook.wire import utc_text

log = logging.getLogger(__name__)

MESSAGE_FIELDS = (
    "id,internetMessageId,receivedDateTime,sentDateTime,subject,from,sender,"
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
        """Messages to or from ``addresses`` / ``domains`` that arrived after the last call for
        ``owner`` (from ``since`` on the first call and when the addresses changed). A naive
        ``since`` raises BackendError."""
        aware(since, "since")
        matcher = CustomerMatcher.for_lists(addresses, domains)
        fingerprint = json.dumps(matcher.fingerprint())
        key = f"outlook:{owner.lower()}:mail"
        last, seen, read_for = _load_mark(self.context.state.get(key))
        if read_for != fingerprint:  # new customer addresses: read the older mail again
            start, seen = since.astimezone(UTC), set()
        else:
            start = max(since.astimezone(UTC), last) if last else since.astimezone(UTC)
        params = {
            "$filter": f"receivedDateTime ge {utc_text(start)}",
            "$orderby": "receivedDateTime asc",
            "$select": MESSAGE_FIELDS,
            "$top": str(PAGE_SIZE),
        }
        headers = {"Prefer": f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"}
        newest, newest_ids = last, set(seen)
        out = []
        for page in self.graph.pages(f"{user_path(owner)}/messages", params, headers=headers):
            for item in page.get("value") or ():
                at = _instant(item.get("receivedDateTime"))
                if at is None or item.get("isDraft") or str(item.get("id")) in seen:
                    continue
                if newest is None or at > newest:
                    newest, newest_ids = at, set()
                if at == newest:
                    newest_ids.add(str(item.get("id")))
                message = _message(owner, item, at, matcher)
                if message is not None:
                    out.append(message)
        if newest is not None:
            self.context.state.set(key, _dump_mark(newest, newest_ids, fingerprint))
        return sorted(out, key=lambda m: (m.at, m.message_id))


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


def _load_mark(text: str | None) -> tuple[datetime | None, set[str], str | None]:
    """The arrival mark: newest time, the ids at it, and the addresses it was read for."""
    if not text:
        return None, set(), None
    try:
        data = json.loads(text)
        return datetime.fromisoformat(data["at"]), set(data["ids"]), data.get("for")
    except (ValueError, KeyError, TypeError):
        log.warning("Outlook mail state unreadable: reading from the requested date")
        return None, set(), None


def _dump_mark(at: datetime, ids: set[str], read_for: str) -> str:
    return json.dumps({"at": at.isoformat(), "ids": sorted(ids), "for": read_for})
