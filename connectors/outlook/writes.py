"""Writing cadence's events through Graph ``$batch``: idempotent on uid, each write recorded
before it is sent, and an answer that leaves the outcome unknown settled by reading back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from connectors.base import (
    BackendError,
    Cancel,
    Create,
    EventSpec,
    NotFoundError,
    RemoteEvent,
    Update,
    WriteOp,
    WriteResult,
)
from connectors.outlook.client import BatchRequest, Reply
from connectors.outlook.core import READ_FIELDS, OwnerCalendar, read_event, user_path
from connectors.outlook.owned import OwnedEvents
from connectors.outlook.wire import (
    EVENT_FIELDS,
    EXPAND_PROPS,
    UID_PROP,
    event_body,
    event_uid,
    join_url,
    link_body,
    property_filter,
    remote_event,
    shows_link,
    transaction_id,
)

log = logging.getLogger(__name__)


class Writes(OwnedEvents):
    """Creates, updates and cancels through ``$batch``, recorded before they are sent and read
    back when their answer leaves the outcome unknown."""

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` through ``$batch``; idempotent on uid (see the module docs)."""
        if not ops:
            return []
        calendar = self._load(owner)
        if calendar is None:
            calendar = self._sync(owner)  # a full read: every uid of ours is then known
        self._look_up(owner, calendar, ops)
        results: dict[int, WriteResult] = {}
        sent: list[tuple[int, BatchRequest]] = []
        by_uid = calendar.by_uid()
        for index, op in enumerate(ops):
            try:
                request = self._request(owner, calendar, by_uid, op)
            except ValueError as exc:  # a spec Graph cannot take (naive time, bad zone...)
                request = WriteResult(op, error=BackendError(f"invalid event: {exc}"))
            if isinstance(request, WriteResult):
                results[index] = request
            else:
                sent.append((index, request))
        # Record what is sent before sending: pending creates, and the events an update or a
        # cancel goes to, so that a crash or a lost answer leaves them known to be unsure.
        calendar.unsure.update(
            _event_id(r.url) for _, r in sent if r.method != "POST" or "/cancel" in r.url
        )
        self._save(owner, calendar)
        try:
            replies = self.graph.batch([request for _, request in sent])
            retry: list[tuple[int, BatchRequest]] = []
            unclear: set[int] = set()  # answered in a way that leaves the outcome unknown
            links: dict[int, str] = {}  # Teams links the event has but does not show yet
            for (index, request), reply in zip(sent, replies, strict=True):
                op = ops[index]
                if reply.status in UNCLEAR:
                    unclear.add(index)
                if isinstance(op, Create) and request.method == "PATCH" and reply.status == 404:
                    # Ours once, deleted in Outlook since: the create makes it anew, under a
                    # transactionId of its own (the first one belongs to the deleted event).
                    gone = _event_id(request.url)
                    calendar.events.pop(gone, None)
                    retry.append((index, self._create_request(calendar, op.spec, gone)))
                    continue
                results[index] = self._result(owner, calendar, op, request, reply)
                links[index] = _unshown_link(op, reply)
            if retry:
                replies = self.graph.batch([request for _, request in retry])
                for (index, request), reply in zip(retry, replies, strict=True):
                    if reply.status in UNCLEAR:
                        unclear.add(index)
                    results[index] = self._result(owner, calendar, ops[index], request, reply)
                    links[index] = _unshown_link(ops[index], reply)
            self._read_back(owner, calendar, results, unclear)
            self._show_links(owner, calendar, results, links)
        finally:
            self._save(owner, calendar)
        return [results[i] for i in range(len(ops))]

    def _show_links(
        self,
        owner: str,
        calendar: OwnerCalendar,
        results: dict[int, WriteResult],
        links: dict[int, str],
    ) -> None:
        """Put the Teams link Exchange made (``links``: by op index, from the write's answer)
        into the location and both descriptions of the events that do not show it yet: one
        PATCH each, in one more ``$batch``. Events without Teams, or already showing their link
        (cadence's later writes include it), cost nothing. A PATCH that fails leaves the event
        as written, without its link shown until cadence next writes it, and is logged."""
        wanted = {
            index: link
            for index, link in links.items()
            if link and results[index].ok and results[index].event is not None
        }
        if not wanted:
            return
        requests_: dict[int, BatchRequest] = {}
        for index, link in wanted.items():
            op, event = results[index].op, results[index].event
            assert isinstance(op, Create | Update) and event is not None
            path = f"{user_path(owner)}/events/{event.remote_id}"
            requests_[index] = BatchRequest("PATCH", path, link_body(op.spec, link))
        replies = self.graph.batch(list(requests_.values()))
        for index, reply in zip(requests_, replies, strict=True):
            op, event = results[index].op, results[index].event
            assert isinstance(op, Create | Update) and event is not None
            if not (reply.ok and isinstance(reply.body, dict)):
                log.warning(
                    "Outlook event %s of %s keeps its Teams link out of its text: %s",
                    op.spec.uid, owner, reply.error("PATCH event"),
                )  # fmt: skip
                continue
            shown = self._remember(
                owner, calendar, reply.body, event, bool(op.spec.attendees), event.sequence
            )
            results[index] = WriteResult(op, event=shown)

    def _read_back(
        self,
        owner: str,
        calendar: OwnerCalendar,
        results: dict[int, WriteResult],
        unclear: set[int],
    ) -> None:
        """Settle the writes whose answer leaves their outcome unknown (``unclear``) by
        reading the event back and comparing it with what was asked: a create answered 409, an
        update or cancel answered 412 (its If-Match etag is stale when an earlier copy of the
        same request applied, its answer lost), a 5xx left after the retries (a 429 was not
        applied: nothing to read). A create is done when its uid is there; an update when the
        event shows the spec's times and tags; a cancel when the event is gone. Otherwise the
        error stands and the cycle decides again."""
        doubtful = {
            index: result for index, result in results.items() if index in unclear and not result.ok
        }
        if not doubtful:
            return
        requests_: dict[int, BatchRequest] = {}
        by_uid = calendar.by_uid()
        for index, result in doubtful.items():
            op = result.op
            if isinstance(op, Create):
                query = {"$filter": property_filter(UID_PROP, op.spec.uid), **READ_FIELDS}
                url = f"{user_path(owner)}/events?" + urlencode(query, quote_via=quote)
                requests_[index] = BatchRequest("GET", url)
            elif gid := op.remote_id or by_uid.get(
                op.uid if isinstance(op, Cancel) else op.spec.uid
            ):
                requests_[index] = read_event(owner, gid)
        replies = self.graph.batch(list(requests_.values()))
        for index, reply in zip(requests_, replies, strict=True):
            result = doubtful[index]
            settled = self._compare(owner, calendar, result.op, reply)
            if settled is not None:
                log.info(
                    "Outlook %s of %s in %s: the answer was %s, the calendar shows it done",
                    type(result.op).__name__.lower(),
                    result.op.uid if isinstance(result.op, Cancel) else result.op.spec.uid,
                    owner,
                    result.error,
                )
                results[index] = settled

    def _compare(
        self, owner: str, calendar: OwnerCalendar, op: WriteOp, reply: Reply
    ) -> WriteResult | None:
        """``op``'s result when the event read back (``reply``) shows it done, else None."""
        if isinstance(op, Cancel):
            body = reply.body if isinstance(reply.body, dict) else {}
            if reply.status == 404 or (reply.ok and body.get("isCancelled")):
                gid = op.remote_id or calendar.by_uid().get(op.uid) or ""
                calendar.events.pop(gid, None)
                calendar.unsure.discard(gid)
                return WriteResult(op)
            return None
        if not reply.ok or not isinstance(reply.body, dict):
            return None
        spec = op.spec
        items = reply.body.get("value") if isinstance(op, Create) else [reply.body]
        for item in items or ():
            if event_uid(item) != spec.uid:
                continue
            seen = remote_event(owner, item, None)
            asked = (spec.start, spec.end, dict(spec.tags))
            if isinstance(op, Update) and (seen.start, seen.end, seen.tags) != asked:
                return None  # not (or not only) what was asked: the next cycle decides
            gid = str(item["id"])
            before = calendar.events.get(gid, {})
            sequence = int(before.get("sequence", -1)) + 1 if isinstance(op, Update) else 0
            event = self._remember(
                owner, calendar, item, None, bool(spec.attendees), max(sequence, 0)
            )
            calendar.unsure.discard(gid)
            return WriteResult(op, event=event)
        return None

    def _look_up(self, owner: str, calendar: OwnerCalendar, ops: Sequence[WriteOp]) -> None:
        """Find by uid the events we may have but do not know: creates whose answer was lost,
        and updates or cancels of uids we have not seen (with no remote id to go by)."""
        known = calendar.by_uid()
        wanted = []
        for op in ops:
            uid = op.uid if isinstance(op, Cancel) else op.spec.uid
            given_id = None if isinstance(op, Create) else op.remote_id
            if uid in known or given_id or uid in wanted:
                continue
            if isinstance(op, Create) and uid not in calendar.pending:
                continue
            wanted.append(uid)
        if not wanted:
            return
        query = {"$select": EVENT_FIELDS, "$expand": EXPAND_PROPS}
        requests_ = [
            BatchRequest(
                "GET",
                f"{user_path(owner)}/events?"
                + urlencode({"$filter": property_filter(UID_PROP, uid), **query}, quote_via=quote),
            )
            for uid in wanted
        ]
        for uid, reply in zip(wanted, self.graph.batch(requests_), strict=True):
            if not reply.ok:
                raise reply.error("GET events by uid")
            for item in (reply.body or {}).get("value") or ():
                self._remember(owner, calendar, item, None)
            calendar.pending.discard(uid)  # looked up: now we know whether it exists

    def _request(
        self, owner: str, calendar: OwnerCalendar, by_uid: dict[str, str], op: WriteOp
    ) -> BatchRequest | WriteResult:
        """The Graph request for ``op``, or its result when nothing needs sending."""
        if isinstance(op, Cancel):
            gid = op.remote_id or by_uid.get(op.uid)
            if op.owner.lower() != owner.lower():
                return WriteResult(op, error=BackendError(f"cancel for {op.owner} sent to {owner}"))
            if gid is None:
                return WriteResult(op)  # already gone
            headers = {"If-Match": op.etag} if op.etag else {}
            path = f"{user_path(owner)}/events/{gid}"
            if calendar.events.get(gid, {}).get("attendees"):
                # The organizer's cancel: Exchange notifies the attendees and removes the event.
                return BatchRequest(
                    "POST", f"{path}/cancel", {"comment": "Cancelled by cadence."}, headers
                )
            return BatchRequest("DELETE", path, None, headers)
        spec = op.spec
        if spec.owner.lower() != owner.lower():
            return WriteResult(op, error=BackendError(f"event for {spec.owner} sent to {owner}"))
        gid = (op.remote_id if isinstance(op, Update) else None) or by_uid.get(spec.uid)
        if gid is not None:
            etag = op.etag if isinstance(op, Update) else None
            link = str(calendar.events.get(gid, {}).get("join_url") or "")
            return BatchRequest(
                "PATCH",
                f"{user_path(owner)}/events/{gid}",
                event_body(spec, create=False, join_url=link),
                {"If-Match": etag} if etag else {},
            )
        if isinstance(op, Update):
            return WriteResult(op, error=NotFoundError(f"no event with uid {spec.uid}"))
        return self._create_request(calendar, spec)

    def _create_request(
        self, calendar: OwnerCalendar, spec: EventSpec, replacing: str = ""
    ) -> BatchRequest:
        body = event_body(spec, create=True)  # a spec Graph cannot take raises before pending
        if replacing:
            body["transactionId"] = transaction_id(f"{spec.uid}/{replacing}")
        calendar.pending.add(spec.uid)
        return BatchRequest("POST", f"{user_path(spec.owner)}/events", body)

    def _result(
        self,
        owner: str,
        calendar: OwnerCalendar,
        op: WriteOp,
        request: BatchRequest,
        reply: Reply,
    ) -> WriteResult:
        if reply.status in (401, 403):
            raise reply.error(f"{request.method} event")  # the whole mailbox is out of reach
        gid = _event_id(request.url)
        if reply.ok or reply.status == 404:
            calendar.unsure.discard(gid)  # its outcome is known
        if isinstance(op, Cancel):
            if reply.ok or reply.status == 404:
                calendar.events.pop(gid, None)
                return WriteResult(op)
            return WriteResult(op, error=reply.error(f"{request.method} event"))
        spec = op.spec
        if reply.ok and isinstance(reply.body, dict):
            # Answers to POST/PATCH do not repeat the extended properties: take uid/tags from
            # the spec we sent.
            known = RemoteEvent(
                uid=spec.uid, owner=owner, start=spec.start, end=spec.end, tags=dict(spec.tags)
            )
            before = calendar.events.get(str(reply.body.get("id")), {})
            sequence = int(before.get("sequence", -1)) + 1 if request.method == "PATCH" else 0
            event = self._remember(
                owner, calendar, reply.body, known, bool(spec.attendees), max(sequence, 0)
            )
            return WriteResult(op, event=event)
        if reply.status == 404:
            calendar.events.pop(gid, None)
        elif 400 <= reply.status < 500 and reply.status != 429:
            calendar.pending.discard(spec.uid)  # refused: certainly not created
        return WriteResult(op, error=reply.error(f"{request.method} event"))


def _unshown_link(op: WriteOp, reply: Reply) -> str:
    """The Teams link the answer to the write ``op`` shows its event has, when the event does
    not show it yet (in its location and description); else ``""``."""
    if isinstance(op, Cancel) or op.spec.video != "teams" or not reply.ok:
        return ""
    item = reply.body if isinstance(reply.body, dict) else {}
    link = join_url(item)
    return "" if not link or shows_link(item, link) else link


# Answers to a write that leave its outcome unknown: a conflict with an earlier copy of the same
# request that applied (409, 412), a server error after the retries (it may have applied).
UNCLEAR = frozenset({409, 412, 500, 502, 503, 504})


def _event_id(url: str) -> str:
    """The Graph id in ``/users/{owner}/events/{id}`` (or ``.../{id}/cancel``)."""
    parts = url.split("?", 1)[0].split("/")
    return parts[parts.index("events") + 1] if "events" in parts[:-1] else ""
