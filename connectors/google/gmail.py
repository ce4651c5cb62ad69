"""Contacts from Gmail: messages exchanged with customers' addresses and domains.

The first read searches with ``users.messages.list`` (``(from:a OR to:a OR cc:a OR bcc:a ...)
after:EPOCH``, split into several queries when the list is long, whose first pages go in one
batch request) after noting the mailbox's current ``historyId``; later reads ask
``users.history.list`` only for messages added since that id, whatever their dates, and match
them locally (:mod:`cadence.values.matching`). Addresses or domains added since the last read
are searched for once, on their own. A stale history id (``404``) means a full re-read. Messages
are fetched in batch requests with ``format=metadata`` and only the headers needed. A message's
date is its ``Date`` header (Gmail's ``internalDate`` when it has none): a message delivered
late counts with the date it was written.

The first request of each salesperson's next read (``history.list`` or ``getProfile``) can be
sent ahead for the whole team in one batch request (:meth:`GmailSource.read_ahead`).
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import idna
from googleapiclient.errors import HttpError

from cadence.values.matching import CustomerMatcher
from cadence.values.schema import Schema
from connectors.base import BackendContext, MailMessage, MailSource
from connectors.common.validation import require_aware
from connectors.google import auth as google_auth
from connectors.google import config as google_config
from connectors.google.batch import Outcome, batch_uri, run_batch
from connectors.google.client import GoogleClient, Read
from connectors.google.retry import to_backend_error
from connectors.mailtext import clean_message_id, message_date

HEADERS = ("From", "To", "Cc", "Bcc", "Date", "Message-ID", "Subject")
MAX_QUERY = 1500  # characters per search query; Gmail's own limit is not documented
PAGE_SIZE = 500  # largest maxResults of messages.list and history.list
SKIPPED_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})


def build_queries(addresses: Iterable[str], domains: Iterable[str], since: datetime) -> list[str]:
    """Gmail search queries covering every address and domain, each at most ``MAX_QUERY`` long.

    Domains are searched for as words (``from:acme.com`` also finds ``eu.acme.com``), an
    internationalised one in both spellings (Unicode and punycode); the matcher decides.

    >>> build_queries(["a@x.com"], ["y.org"], datetime(2027, 1, 1, tzinfo=UTC))[0][:56]
    '(from:a@x.com OR to:a@x.com OR cc:a@x.com OR bcc:a@x.com'
    """
    after = f" after:{int(since.timestamp())}"
    targets = [*addresses, *(spelling for d in domains for spelling in _spellings(d))]
    terms = [f"from:{t} OR to:{t} OR cc:{t} OR bcc:{t}" for t in targets]
    queries: list[str] = []
    current: list[str] = []
    for term in terms:
        if current and len(" OR ".join([*current, term])) + len(after) + 2 > MAX_QUERY:
            queries.append(f"({' OR '.join(current)}){after}")
            current = []
        current.append(term)
    if current:
        queries.append(f"({' OR '.join(current)}){after}")
    return queries


def _spellings(domain: str) -> list[str]:
    """``domain`` (punycode) and, for an internationalised one, its Unicode spelling."""
    if "xn--" not in domain:
        return [domain]
    try:
        return [domain, idna.decode(domain)]
    except (idna.IDNAError, UnicodeError):
        return [domain]


def parse_message(message: Mapping[str, Any], matcher: CustomerMatcher) -> MailMessage | None:
    """The :class:`MailMessage` for a ``format=metadata`` message, or None when it is not with
    a customer (or is a draft, spam or trash)."""
    labels = set(message.get("labelIds") or [])
    if labels & SKIPPED_LABELS:
        return None
    headers: dict[str, str] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        headers.setdefault(str(header.get("name", "")).lower(), str(header.get("value", "")))

    def people(*names: str) -> list[str]:
        pairs = email.utils.getaddresses([headers.get(n, "") for n in names])
        return [address.lower() for _, address in pairs if "@" in address]

    outgoing = "SENT" in labels
    counterparts = people("to", "cc", "bcc") if outgoing else people("from")
    if not matcher.any_match(counterparts):
        return None
    internal = datetime.fromtimestamp(int(message["internalDate"]) / 1000, UTC)
    return MailMessage(
        message_id=clean_message_id(headers.get("message-id", "")) or str(message["id"]),
        at=(message_date(headers.get("date"), internal) or internal).astimezone(UTC),
        outgoing=outgoing,
        addresses=tuple(dict.fromkeys(counterparts)),
        subject=headers.get("subject", ""),
    )


class GmailSource(MailSource):
    """Gmail mailboxes of salespeople, read incrementally (see the module docs)."""

    name: ClassVar[str] = "google"
    config_schema: ClassVar[Schema] = google_config.SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = google_config.CONFIG_KEYS
    concurrent: ClassVar[bool] = True  # one session (HTTP connection) per owner

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self.client = GoogleClient(config, context)

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The key file, token folder and client secrets of ``[mail.google]`` (the same keys
        as ``[calendar.google]``); see :func:`connectors.google.auth.check_local_files`."""
        return google_auth.check_local_files(section, base_dir, env)

    def messages(
        self, owner: str, addresses: Iterable[str], domains: Iterable[str], since: datetime
    ) -> list[MailMessage]:
        """Messages with the given addresses/domains newer than ``since``, new since last call."""
        require_aware(since, "google: since")
        matcher = CustomerMatcher.for_lists(addresses, domains)
        wanted, wanted_domains = set(matcher.addresses), set(matcher.domains)
        history_key, watched_key = self._state_keys(owner)
        state = self.context.state
        with self.client.guard(owner, "reading Gmail"):
            users = self.client.resource(owner, "gmail.users")
            history_id = state.get(history_key)
            watched = json.loads(state.get(watched_key) or "null")
            ids: set[str] = set()
            search, search_domains = wanted, wanted_domains
            if history_id and watched is not None:
                try:
                    added, history_id = self._history(owner, history_id)
                    ids |= added
                    search = wanted - set(watched["addresses"])
                    search_domains = wanted_domains - set(watched["domains"])
                except HttpError as error:
                    if error.status_code != 404:
                        raise
                    history_id = None  # too old: Gmail keeps about a week of history
            if not history_id:
                # Noted before searching, so a message arriving meanwhile is seen next time.
                profile = self.client.execute(owner, users.getProfile, "getProfile", userId="me")
                history_id = str(profile["historyId"])
            if search or search_domains:
                ids |= self._search(owner, sorted(search), sorted(search_domains), since)
            found = self._fetch(owner, sorted(ids), matcher)
        state.set(history_key, history_id)
        state.set(
            watched_key,
            json.dumps({"addresses": sorted(wanted), "domains": sorted(wanted_domains)}),
        )
        return sorted(found, key=lambda m: (m.at, m.message_id))

    def close(self) -> None:
        """Drop every session."""
        self.client.close()

    def _state_keys(self, owner: str) -> tuple[str, str]:
        prefix = f"google:gmail:{owner.lower()}"
        return f"{prefix}:history_id", f"{prefix}:watched"

    def read_ahead(self, owners: Sequence[str], since: datetime) -> None:
        """The first request of each owner's next :meth:`messages` (``history.list`` since
        the kept history id, or ``getProfile`` before a first read), in batch requests of 50
        calls; each read then takes its answer as its first attempt. Never raises."""
        reads: list[Read] = []
        for owner in owners:
            history_key, watched_key = self._state_keys(owner)
            history_id = self.context.state.get(history_key)
            if history_id and self.context.state.get(watched_key) is not None:
                query = _history_query(history_id)
                reads.append((owner, "history.list", "gmail.users.history.list", query))
            else:
                reads.append((owner, "getProfile", "gmail.users.getProfile", {"userId": "me"}))
        self.client.read_ahead("gmail", reads)

    def _history(self, owner: str, start: str) -> tuple[set[str], str]:
        ids: set[str] = set()
        latest = start
        page_token = None
        while True:
            query = _history_query(start)
            if page_token:
                query["pageToken"] = page_token
            history = self.client.method(owner, "gmail.users.history.list")
            page = self.client.execute(owner, history, "history.list", **query)
            for record in page.get("history", []):
                for added in record.get("messagesAdded", []):
                    ids.add(added["message"]["id"])
            latest = str(page.get("historyId", latest))
            page_token = page.get("nextPageToken")
            if not page_token:
                return ids, latest

    def _search(
        self, owner: str, addresses: list[str], domains: list[str], since: datetime
    ) -> set[str]:
        """The ids of the messages the search queries find: the first pages of several
        queries in batch requests, every other page on its own."""
        queries = build_queries(addresses, domains, since)
        search = self.client.method(owner, "gmail.users.messages.list")
        firsts: dict[int, Outcome] = {}
        if len(queries) > 1:
            calls: list[tuple[int, Callable[[], Any]]] = [
                (n, partial(search, userId="me", q=q, maxResults=PAGE_SIZE))
                for n, q in enumerate(queries)
            ]
            uri = batch_uri(self.client.endpoint, "gmail/v1")
            size = self.client.batch_size
            firsts = run_batch(uri, calls, self.client.retrier, size, "messages.list")
        ids: set[str] = set()
        for n, q in enumerate(queries):
            query: dict[str, Any] = {"userId": "me", "q": q, "maxResults": PAGE_SIZE}
            if n in firsts:
                error, page = firsts[n].error, firsts[n].response
                if error is not None:
                    raise error  # translated by the caller's guard, as a direct call's
            else:
                page = self.client.retrier.execute(search, "messages.list", **query)
            ids.update(m["id"] for m in page.get("messages", []))
            while page.get("nextPageToken"):
                query["pageToken"] = page["nextPageToken"]
                page = self.client.retrier.execute(search, "messages.list", **query)
                ids.update(m["id"] for m in page.get("messages", []))
        return ids

    def _fetch(self, owner: str, ids: list[str], matcher: CustomerMatcher) -> list[MailMessage]:
        calls: list[tuple[str, Callable[[], Any]]] = [
            (
                message_id,
                partial(
                    self.client.method(owner, "gmail.users.messages.get"),
                    userId="me",
                    id=message_id,
                    format="metadata",
                    metadataHeaders=list(HEADERS),
                ),
            )
            for message_id in ids
        ]
        uri = batch_uri(self.client.endpoint, "gmail/v1")
        outcomes = run_batch(
            uri, calls, self.client.retrier, self.client.batch_size, "messages.get"
        )
        found = []
        for key, outcome in outcomes.items():
            if outcome.error is not None:
                if isinstance(outcome.error, HttpError) and outcome.error.status_code == 404:
                    continue  # deleted since it was listed
                raise to_backend_error(outcome.error, f"google messages.get {key} for {owner}")
            message = parse_message(outcome.response, matcher)
            if message is not None:
                found.append(message)
        return found


def _history_query(start: str) -> dict[str, Any]:
    """The parameters of the first ``history.list`` page of messages added since ``start``."""
    return {
        "userId": "me",
        "startHistoryId": start,
        "historyTypes": "messageAdded",
        "maxResults": PAGE_SIZE,
    }
