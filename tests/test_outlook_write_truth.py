"""cadence's own write whose answer is lost is never taken for the salesperson's (issue 11,
point 1, Graph).

Every write is recorded before it is sent (pending creates, and the events updates and cancels
go to); an answer lost in any way is settled by reading the event back and comparing it with
what was asked: a dropped connection (the client sends the $batch again: a create is then
deduplicated by its transactionId or refused 409, an update or a cancel carrying If-Match
answers 412 because the first copy applied), or a 5xx after the part applied. The fake drops
the answer once and twice; when every answer is lost, the next read reads the events back
whole (a delta answer would carry their old tags). At the cycle level: a cycle whose moves and
renames lose their answers ends with every booking booked where cadence put it, none taken for
the salesperson's move, and the next cycle writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState, Contact, ContactKind
from connectors.base import Cancel, ConflictError, Create, TransientError, Update
from tests.contract.suite import at, spec_for
from tests.graph_fake import CLIENT_ID, SECRET, SECRET_ENV, TENANT, FakeAuthority, FakeGraph
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.test_local_dates import FIRST, LOS_ANGELES, POLICY_FILES, ROWS, SALESPEOPLE, TOKYO
from tests.workspace_kit import write_customers, write_workspace

UID = "cadence-acme-check_in-1"


def booked(backend, owner):
    [result] = backend.write(owner, [Create(spec_for(owner))])
    assert result.ok and result.event is not None
    return result.event


def moved_spec(owner):
    """The booking a day later, renamed (its tags, the spec fingerprint among them, change)."""
    spec = spec_for(owner, start=at(5, 14), end=at(5, 14, 30), title="Check-in: ACME Holdings")
    return replace(spec, tags={**spec.tags, "spec": "renamed"})


def read_back(backend, owner):
    [event] = backend.list_owned(owner)
    return event


@pytest.mark.parametrize("drops", [1, 2])
def test_a_create_whose_answer_is_lost_makes_one_event(backend, graph, owner, drops):
    backend.list_owned(owner)
    graph.requests.clear()
    graph.drop_after_apply(drops)
    [result] = backend.write(owner, [Create(spec_for(owner))])
    assert result.ok and result.event is not None and result.event.uid == UID
    assert len(graph.find(owner, UID)) == 1
    assert graph.requests["POST $batch"] == drops + 1


@pytest.mark.parametrize("drops", [1, 2])
def test_a_create_refused_409_after_it_applied_is_read_back_done(backend, graph, owner, drops):
    backend.list_owned(owner)
    graph.duplicate_transaction = 409
    graph.drop_after_apply(drops)
    [result] = backend.write(owner, [Create(spec_for(owner))])
    assert result.ok, result.error
    assert result.event is not None and result.event.start == at(4, 10)
    assert len(graph.find(owner, UID)) == 1


@pytest.mark.parametrize("drops", [1, 2])
def test_an_update_answered_412_after_it_applied_is_read_back_done(backend, graph, owner, drops):
    first = booked(backend, owner)
    graph.drop_after_apply(drops)  # applied; the copy sent again meets a new etag: 412
    [result] = backend.write(owner, [Update(moved_spec(owner), first.etag, first.remote_id)])
    assert result.ok, result.error
    assert result.event is not None
    assert (result.event.start, result.event.tags["spec"]) == (at(5, 14), "renamed")
    [event] = graph.find(owner, UID)
    assert event["subject"] == "Check-in: ACME Holdings"
    shown = read_back(backend, owner)
    assert (shown.start, shown.tags["spec"]) == (at(5, 14), "renamed")


@pytest.mark.parametrize("drops", [1, 2])
def test_a_cancel_whose_answer_is_lost_is_done(backend, graph, owner, drops):
    first = booked(backend, owner)
    graph.drop_after_apply(drops)
    [result] = backend.write(owner, [Cancel(owner, UID, first.etag, first.remote_id)])
    assert result.ok, result.error
    assert graph.find(owner, UID) == []
    assert backend.list_owned(owner) == []


def test_an_update_answered_5xx_after_it_applied_is_read_back_done(backend, graph, owner):
    first = booked(backend, owner)
    graph.fail_parts_after_apply(1, status=500)
    [result] = backend.write(owner, [Update(moved_spec(owner), first.etag, first.remote_id)])
    assert result.ok, result.error
    assert result.event is not None and result.event.start == at(5, 14)


def test_an_update_the_salesperson_overtook_stays_a_conflict(backend, graph, owner, person):
    first = booked(backend, owner)
    person.move(owner, UID, at(6, 9), at(6, 9, 30))  # the etag cadence holds is stale
    [result] = backend.write(owner, [Update(moved_spec(owner), first.etag, first.remote_id)])
    assert isinstance(result.error, ConflictError)  # read back: not what was asked
    assert read_back(backend, owner).start == at(6, 9)


def test_when_every_answer_is_lost_the_next_read_reads_the_event_back_whole(backend, graph, owner):
    first = booked(backend, owner)
    backend.list_owned(owner)
    graph.drop_after_apply(10)  # more than the retries: the write fails, its outcome unknown
    with pytest.raises(TransientError):
        backend.write(owner, [Update(moved_spec(owner), first.etag, first.remote_id)])
    graph.drop_after_apply(0)
    shown = read_back(backend, owner)  # a delta answer alone would keep the old tags
    assert (shown.start, shown.title, shown.tags["spec"]) == (
        at(5, 14),
        "Check-in: ACME Holdings",
        "renamed",
    )
    assert read_back(backend, owner) == shown  # read back once; then as before


# -- the cycle --------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Workspace, FakeGraph]]:
    with ExitStack() as stack:
        folder = tmp_path / "server"
        folder.mkdir()
        authority = FakeAuthority(folder, tenant=TENANT, client_id=CLIENT_ID, secret=SECRET)
        stack.callback(authority.close)
        graph = FakeGraph(authority.issued)
        stack.callback(graph.close)
        for person in SALESPEOPLE:
            graph.add_mailbox(str(person["email"]))
        section = {
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret_env": SECRET_ENV,
            "authority": authority.authority,
            "graph_endpoint": graph.endpoint,
            "token_cache_file": "outlook-tokens.json",
            "ca_bundle": str(authority.ca_file),
        }
        config = write_workspace(
            tmp_path / "ws", ROWS, backend="outlook", salespeople=SALESPEOPLE, policies=POLICY_FILES
        )
        lines = ["\n[calendar.outlook]"] + [f'{k} = "{v}"' for k, v in section.items()]
        config.write_text(config.read_text() + "\n".join(lines) + "\n", encoding="utf-8")
        ws = Workspace.open(config)
        stack.callback(ws.close)
        ws.env = {**ws.env, SECRET_ENV: SECRET}
        yield ws, graph


def writes(result: Any) -> int:
    return result.created + result.moved + result.cancelled


@pytest.mark.parametrize("drops", [1, 2, 10])
def test_a_cycle_whose_moves_lose_their_answers_never_takes_them_for_the_owners(world, drops):
    ws, graph = world
    assert ws.run_cycle(FIRST).complete
    ws.backend("outlook").graph.sleep = lambda seconds: None  # retries without waiting
    # Customers are renamed and a new contact moves a check-in (as in test_write_truth).
    write_customers(
        ws.config.base_dir / "customers.csv", [{**r, "name": r["name"] + " Holdings"} for r in ROWS]
    )
    ws.store.add_contacts(
        [Contact("T-1", ContactKind.CALL, FIRST - timedelta(hours=1), "log", "log:t1")]
    )
    graph.drop_after_apply(drops, kind="POST $batch")
    applied = ws.run_cycle(FIRST + timedelta(hours=1))
    graph.drop_after_apply(0)
    if drops < 5:  # 10: every write and its 4 retries lost (both salespeople): unknown
        assert applied.complete, applied.attention()  # settled at once by reading back
        assert applied.moved > 0
    later = ws.run_cycle(FIRST + timedelta(hours=3))
    assert later.complete, later.attention()
    assert writes(ws.run_cycle(FIRST + timedelta(hours=4))) == 0
    records = ws.store.bookings()
    assert {r.state for r in records} == {BookingState.BOOKED}  # none taken for the owner's
    assert all(r.confirmed is None for r in records)
    calendar = ws.backend("outlook")
    shown = {e.uid: e for owner in (TOKYO, LOS_ANGELES) for e in calendar.list_owned(owner)}
    assert set(shown) == {r.uid for r in records}
    for r in records:
        assert "Holdings" in shown[r.uid].title
        assert shown[r.uid].start == r.start
