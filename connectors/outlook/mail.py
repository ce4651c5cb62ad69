"""Contacts from mail: messages to and from customers in salespeople's Microsoft 365 mailboxes.

``/users/{owner}/messages`` covers every folder, the inbox and Sent Items alike, so one filtered
query per owner (``receivedDateTime ge T``; Exchange stamps sent items too) returns both
directions. A message is outgoing when the owner sent it. Addresses and domains are matched here
rather than in the ``$filter``, since Graph cannot filter on recipient addresses.

Reads are incremental: the newest ``receivedDateTime`` seen and the ids seen at that very second
are kept per owner in the state store, so the next call starts there and returns only new mail.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import BackendContext, MailMessage, MailSource
from connectors.outlook.calendar import PAGE_SIZE, GraphUser, aware, user_path
from connectors.outlook.client import PREFER_UTC
from connectors.outlook.wire import utc_text

log = logging.getLogger(__name__)
# Control characters have no place in a Message-ID, and NUL cannot be stored in PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

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
        """Messages to or from ``addresses`` / ``domains`` newer than ``since`` and than the
        last call for ``owner``. A naive ``since`` raises BackendError."""
        aware(since, "since")
        wanted = {a.strip().lower() for a in addresses if a.strip()}
        wanted_domains = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
        key = f"outlook:{owner.lower()}:mail"
        last, seen = _load_mark(self.context.state.get(key))
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
                message = _message(owner, item, at, wanted, wanted_domains)
                if message is not None:
                    out.append(message)
        if newest is not None:
            self.context.state.set(key, _dump_mark(newest, newest_ids))
        return out


def _message(
    owner: str, item: Mapping[str, Any], at: datetime, wanted: set[str], domains: set[str]
) -> MailMessage | None:
    sender = _address(item.get("from")) or _address(item.get("sender"))
    outgoing = sender == owner.lower()
    if outgoing:
        fields = ("toRecipients", "ccRecipients", "bccRecipients")
        counterparts = {a for f in fields for a in map(_address, _listed(item.get(f))) if a}
        counterparts.discard(owner.lower())  # a copy to oneself is nobody else's contact
    else:
        counterparts = {sender} if sender else set()
    if not any(a in wanted or a.rpartition("@")[2] in domains for a in counterparts):
        return None
    when = _instant(item.get("sentDateTime")) if outgoing else None
    return MailMessage(
        message_id=_CONTROL.sub("", str(item.get("internetMessageId") or "")).strip()
        or str(item.get("id")),
        at=when or at,
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


def _load_mark(text: str | None) -> tuple[datetime | None, set[str]]:
    if not text:
        return None, set()
    try:
        data = json.loads(text)
        return datetime.fromisoformat(data["at"]), set(data["ids"])
    except (ValueError, KeyError, TypeError):
        log.warning("Outlook mail state unreadable: reading from the requested date")
        return None, set()


def _dump_mark(at: datetime, ids: set[str]) -> str:
    return json.dumps({"at": at.isoformat(), "ids": sorted(ids)})
