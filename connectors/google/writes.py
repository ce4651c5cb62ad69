"""Writing cadence's events in batch requests, and settling answers that were lost.

Writes (:meth:`GoogleBackend.write`) go in batch requests with deterministic event ids, so a
create whose response was lost answers ``409`` the second time; the existing event is then read
and, if it differs (or was deleted, which keeps its id as a ``cancelled`` event), updated to the
spec. An update whose answer was lost and which was sent again meets ``412`` (its ``If-Match``
etag went stale when the first copy applied): the event is read back, and when it already is what
the update asked for, the update counts as done; otherwise someone changed it meanwhile and the
412 stands (the next cycle reads it back). A delete sent again meets ``404``/``410``: done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from connectors.base import AuthError, BackendError, Cancel, Create, Update, WriteOp, WriteResult
from connectors.google import events as ev
from connectors.google.batch import Outcome
from connectors.google.core import conference_param, http_status, load_json, op_owner, op_uid
from connectors.google.ids import event_id
from connectors.google.owned import OwnedEvents
from connectors.google.retry import to_backend_error

log = logging.getLogger(__name__)


class Writes(OwnedEvents):
    """Writes in batch requests with deterministic ids; lost answers settled by reading back."""

    def write(self, owner: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply ``ops`` in batch requests; one :class:`WriteResult` per op, in order."""
        if not ops:
            return []
        results: dict[int, WriteResult] = {}
        written: list[dict[str, Any]] = []  # event resources Google answered with
        calls: list[tuple[int, Callable[[], Any]]] = []
        links = self._known_links(owner, ops)
        with self.client.guard(owner, "writing events"):
            events_api = self.client.resource(owner, "calendar.events")
            for index, op in enumerate(ops):
                if op_owner(op).lower() != owner.lower():
                    error = BackendError(f"{op_uid(op)}: belongs to {op_owner(op)}, not {owner}")
                    results[index] = WriteResult(op, error=error)
                    continue
                try:
                    calls.append((index, self._request_factory(events_api, op, links)))
                except (ValueError, KeyError) as error:
                    results[index] = WriteResult(op, error=BackendError(f"{op_uid(op)}: {error}"))
            outcomes = self._run(calls, "writing events")
            duplicates, stale = [], []
            for index, outcome in outcomes.items():
                op = ops[index]
                if isinstance(op, Create) and http_status(outcome.error) == 409:
                    duplicates.append(index)
                elif isinstance(op, Update) and http_status(outcome.error) == 412:
                    stale.append(index)
                else:
                    results[index] = self._result(op, outcome, owner, written)
            if duplicates:
                results.update(
                    self._resolve_duplicates(owner, events_api, ops, duplicates, written)
                )
            if stale:
                results.update(
                    self._resolve_stale(owner, events_api, ops, stale, outcomes, written)
                )
            self._show_links(owner, events_api, results, written)
            self._remember(owner, written, [r.op for r in results.values() if r.ok])
            # A part refused for its credentials means the whole owner is unusable: raise
            # inside the guard, so the session is dropped like any other auth failure.
            for result in results.values():
                if isinstance(result.error, AuthError):
                    raise result.error
        return [results[index] for index in range(len(ops))]

    def _request_factory(
        self, events_api: Any, op: WriteOp, links: Mapping[str, str]
    ) -> Callable[[], Any]:
        calendar, send = self.calendar_id, self.send_updates
        if isinstance(op, Create):
            body = ev.event_body(op.spec)
            return partial(
                events_api.insert,
                calendarId=calendar,
                body=body,
                sendUpdates=send,
                **conference_param(body),
            )
        if isinstance(op, Update):
            target = op.remote_id or event_id(op.spec.uid)
            body = ev.event_body(op.spec, links.get(target, ""))
            etag = op.etag

            def update() -> Any:
                request = events_api.update(
                    calendarId=calendar,
                    eventId=target,
                    body=body,
                    sendUpdates=send,
                    **conference_param(body),
                )
                if etag:
                    request.headers["If-Match"] = etag
                return request

            return update
        target = op.remote_id or event_id(op.uid)
        return partial(events_api.delete, calendarId=calendar, eventId=target, sendUpdates=send)

    def _result(
        self, op: WriteOp, outcome: Outcome, owner: str, written: list[dict[str, Any]]
    ) -> WriteResult:
        if outcome.error is None:
            if isinstance(op, Cancel):
                return WriteResult(op)
            written.append(outcome.response)
            return WriteResult(op, event=ev.remote_event(outcome.response, owner))
        if isinstance(op, Cancel) and http_status(outcome.error) in (404, 410):
            return WriteResult(op)  # already gone: cancelling succeeded
        return WriteResult(op, error=to_backend_error(outcome.error, f"{op_uid(op)}"))

    def _resolve_duplicates(
        self,
        owner: str,
        events_api: Any,
        ops: Sequence[WriteOp],
        indexes: list[int],
        written: list[dict[str, Any]],
    ) -> dict[int, WriteResult]:
        """Creates that met an existing event of the same id: read it, update it if needed."""
        calendar, send = self.calendar_id, self.send_updates
        bodies = {i: ev.event_body(ops[i].spec) for i in indexes}  # type: ignore[union-attr]
        reads = self._run(
            [
                (i, partial(events_api.get, calendarId=calendar, eventId=bodies[i]["id"]))
                for i in indexes
            ],
            "reading duplicate events",
        )
        results: dict[int, WriteResult] = {}
        stale = []
        for index, outcome in reads.items():
            if outcome.error is None and ev.meet_link(outcome.response):
                spec = ops[index].spec  # type: ignore[union-attr]
                bodies[index] = ev.event_body(spec, ev.meet_link(outcome.response))
            if outcome.error is not None or ev.matches_spec(outcome.response, bodies[index]):
                results[index] = self._result(ops[index], outcome, owner, written)
            else:
                stale.append(index)
        updates = self._run(
            [
                (
                    i,
                    partial(
                        events_api.update,
                        calendarId=calendar,
                        eventId=bodies[i]["id"],
                        body=bodies[i],
                        sendUpdates=send,
                        **conference_param(bodies[i]),
                    ),
                )
                for i in stale
            ],
            "updating duplicate events",
        )
        for index, outcome in updates.items():
            results[index] = self._result(ops[index], outcome, owner, written)
        return results

    def _resolve_stale(
        self,
        owner: str,
        events_api: Any,
        ops: Sequence[WriteOp],
        indexes: list[int],
        outcomes: Mapping[int, Outcome],
        written: list[dict[str, Any]],
    ) -> dict[int, WriteResult]:
        """Updates refused with 412 (the etag sent is stale): read each event back. When it
        already is what the update asked for, the update applied and its answer was lost (the
        connection dropped after Google applied it, and httplib2 or the retrier sent it again
        with the old etag): that is a success, never a person's change. Otherwise someone
        changed the event meanwhile, and the 412 stands (the next cycle reads it back)."""
        calendar = self.calendar_id
        bodies = {i: ev.event_body(ops[i].spec) for i in indexes}  # type: ignore[union-attr]
        targets = {i: ops[i].remote_id or bodies[i]["id"] for i in indexes}  # type: ignore[union-attr]
        reads = self._run(
            [
                (i, partial(events_api.get, calendarId=calendar, eventId=targets[i]))
                for i in indexes
            ],
            "reading events back after 412",
        )
        results: dict[int, WriteResult] = {}
        for index, read in reads.items():
            if read.error is None and ev.meet_link(read.response):  # shown: not a difference
                spec = ops[index].spec  # type: ignore[union-attr]
                bodies[index] = ev.event_body(spec, ev.meet_link(read.response))
            if read.error is None and ev.matches_spec(read.response, bodies[index]):
                results[index] = self._result(ops[index], read, owner, written)
            else:
                results[index] = self._result(ops[index], outcomes[index], owner, written)
        return results

    def _known_links(self, owner: str, ops: Sequence[WriteOp]) -> dict[str, str]:
        """The Meet links of the events in the cache, by event id (read only when an update
        of a Meet event is among ``ops``), so that rewriting one keeps its link shown."""
        if not any(isinstance(op, Update) and op.spec.video == "meet" for op in ops):
            return {}
        owned = load_json(self.context.state.get(self._state_keys(owner)[1]))
        return {gid: str(item["link"]) for gid, item in owned.items() if item.get("link")}

    def _show_links(
        self,
        owner: str,
        events_api: Any,
        results: dict[int, WriteResult],
        written: list[dict[str, Any]],
    ) -> None:
        """Put the Meet link Google made into the location and both descriptions of the
        events written with ``video = "meet"`` that do not show it yet: one events.patch each
        (a conference still pending is read once first). Other events cost nothing. A patch
        that fails leaves the event as written (logged); the next write of it tries again."""
        answers = {item["id"]: item for item in written}
        meet = {
            index: answers[result.event.remote_id]
            for index, result in results.items()
            if isinstance(result.op, Create | Update) and result.op.spec.video == "meet"
            and result.event is not None and result.event.remote_id in answers
        }  # fmt: skip
        if not meet:
            return
        calendar, send = self.calendar_id, self.send_updates
        pending = [i for i, item in meet.items() if ev.conference_pending(item)]
        reads = self._run(
            [(i, partial(events_api.get, calendarId=calendar, eventId=meet[i]["id"]))
             for i in pending],
            "reading pending conferences",
        )  # fmt: skip
        for index, outcome in reads.items():
            if outcome.error is None:
                meet[index] = outcome.response
        patches = {}
        for index, item in meet.items():
            link = ev.meet_link(item)
            spec = results[index].op.spec  # type: ignore[union-attr]
            if link and not ev.shows_link(item, link):
                patches[index] = ev.link_patch(spec, link)
        outcomes = self._run(
            [(i, partial(events_api.patch, calendarId=calendar, eventId=meet[i]["id"],
                         body=body, sendUpdates=send)) for i, body in patches.items()],
            "showing Meet links",
        )  # fmt: skip
        for index, outcome in outcomes.items():
            op = results[index].op
            if outcome.error is not None:
                log.warning("Google event %s of %s keeps its Meet link out of its text: %s",
                            op_uid(op), owner, outcome.error)  # fmt: skip
                continue
            written.append(outcome.response)
            results[index] = WriteResult(op, event=ev.remote_event(outcome.response, owner))
