"""Gmail v1 in memory: messages with metadata headers, search, history and profile."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, getaddresses
from typing import Any

from .discovery import ApiError, bad_request

_ids = itertools.count(1)


@dataclass
class Mailbox:
    """One user's mailbox; ``history`` records (history id, message id) of every added message."""

    owner: str
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[int, str]] = field(default_factory=list)
    history_id: int = 1000
    oldest_valid_history: int = 0


class GmailApi:
    """The Gmail v1 methods cadence uses."""

    def __init__(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}

    def mailbox(self, user: str, user_id: str) -> Mailbox:
        """The mailbox of ``userId`` (``me`` or the user's own address)."""
        target = user if user_id == "me" else user_id.lower()
        if target != user or target not in self.mailboxes:
            raise ApiError(403, "forbidden", "Delegation denied")
        return self.mailboxes[target]

    def add_message(
        self,
        owner: str,
        *,
        sender: str,
        to: tuple[str, ...] = (),
        cc: tuple[str, ...] = (),
        bcc: tuple[str, ...] = (),
        at: datetime,
        received: datetime | None = None,
        subject: str = "",
        message_id: str | None = None,
        labels: tuple[str, ...] = ("INBOX",),
    ) -> str:
        """Deliver a message (put ``SENT`` in ``labels`` for one the owner sent); its Gmail id.

        ``at`` is its ``Date``; ``received`` when Gmail got it (``internalDate``; default ``at``).
        """
        box = self.mailboxes[owner]
        gmail_id = f"{next(_ids):016x}"
        box.history_id += 1
        headers = [
            {"name": "From", "value": sender},
            {"name": "To", "value": ", ".join(to)},
            {"name": "Subject", "value": subject},
            {"name": "Date", "value": format_datetime(at)},
            {"name": "Message-ID", "value": message_id or f"<{gmail_id}@mail.example>"},
        ]
        if cc:
            headers.append({"name": "Cc", "value": ", ".join(cc)})
        if bcc:  # kept on the sender's copy only
            headers.append({"name": "Bcc", "value": ", ".join(bcc)})
        box.messages[gmail_id] = {
            "id": gmail_id,
            "threadId": gmail_id,
            "labelIds": list(labels),
            "snippet": subject,
            "historyId": str(box.history_id),
            "internalDate": str(int((received or at).timestamp() * 1000)),
            "sizeEstimate": 1000,
            "payload": {"mimeType": "text/plain", "headers": headers},
        }
        box.history.append((box.history_id, gmail_id))
        return gmail_id

    def profile(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """users.getProfile."""
        box = self.mailbox(user, params["userId"])
        return {
            "emailAddress": box.owner,
            "messagesTotal": len(box.messages),
            "threadsTotal": len(box.messages),
            "historyId": str(box.history_id),
        }

    def list(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """users.messages.list with the subset of the search language cadence writes."""
        box = self.mailbox(user, params["userId"])
        matches = _query(params.get("q", ""))
        found = [
            {"id": m["id"], "threadId": m["threadId"]}
            for m in sorted(box.messages.values(), key=lambda m: -int(m["internalDate"]))
            if matches(m) and not {"SPAM", "TRASH"} & set(m["labelIds"])
        ]
        return _page(found, params, "messages", {"resultSizeEstimate": len(found)})

    def get(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """users.messages.get (``format=metadata`` keeps only ``metadataHeaders``)."""
        box = self.mailbox(user, params["userId"])
        message = box.messages.get(params["id"])
        if message is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        shown = dict(message)
        if params.get("format") == "metadata":
            wanted = {h.lower() for h in params.get("metadataHeaders") or []}
            headers = message["payload"]["headers"]
            shown["payload"] = {
                "mimeType": "text/plain",
                "headers": [h for h in headers if not wanted or h["name"].lower() in wanted],
            }
        return shown

    def history(self, user: str, params: dict[str, Any], body: None) -> dict[str, Any]:
        """users.history.list: messages added after ``startHistoryId``; 404 when it is stale."""
        box = self.mailbox(user, params["userId"])
        start = int(params["startHistoryId"])
        if start < box.oldest_valid_history:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        records = [
            {
                "id": str(hid),
                "messages": [{"id": mid, "threadId": mid}],
                "messagesAdded": [
                    {
                        "message": {
                            "id": mid,
                            "threadId": mid,
                            "labelIds": box.messages[mid]["labelIds"],
                        }
                    }
                ],
            }
            for hid, mid in box.history
            if hid > start
        ]
        return _page(records, params, "history", {"historyId": str(box.history_id)})


def _page(items: list[Any], params: dict[str, Any], name: str, extra: dict[str, Any]) -> dict:
    offset = int(params.get("pageToken") or 0)
    size = int(params.get("maxResults", 100))
    answer = dict(extra)
    answer[name] = items[offset : offset + size]
    if offset + size < len(items):
        answer["nextPageToken"] = str(offset + size)
    return answer


def _query(q: str):
    """A predicate for ``(from:x OR to:x OR cc:x OR bcc:x ...) after:EPOCH`` queries.

    A target is an address (exact), ``@domain`` (exact domain), or a bare domain, which Gmail
    matches as words: the domain itself and its subdomains (``acme.com`` finds
    ``bob@eu.acme.com``, not ``bob@notacme.com``).
    """
    after = re.search(r"\bafter:(\d+)", q)
    terms = re.findall(r"\b(from|to|cc|bcc):([^\s()]+)", q)
    if q and not terms and not after:
        raise bad_request(f"unsupported query in the fake server: {q!r}")

    def matches(message: dict[str, Any]) -> bool:
        if after and int(message["internalDate"]) // 1000 < int(after.group(1)):
            return False
        if not terms:
            return True
        headers = {h["name"].lower(): h["value"] for h in message["payload"]["headers"]}
        for field_name, target in terms:
            people = [a.lower() for _, a in getaddresses([headers.get(field_name, "")])]
            wanted = target.lower()
            for address in people:
                domain = address.rpartition("@")[2]
                if address == wanted or (wanted.startswith("@") and address.endswith(wanted)):
                    return True
                if "@" not in wanted and (domain == wanted or domain.endswith("." + wanted)):
                    return True
        return False

    return matches
