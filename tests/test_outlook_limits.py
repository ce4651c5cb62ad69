"""Graph's limits: 4 requests at once per mailbox inside a $batch, and the token's audience
(issue 11, point 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import AuthError, BackendContext, Create, NotFoundError, Update
from connectors.outlook import OutlookBackend
from connectors.outlook.replies import BatchRequest, batch_part
from connectors.outlook.settings import OutlookSettings, validate
from tests.contract.suite import at, spec_for
from tests.graph_fake import SECRET, SECRET_ENV
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER


def creates(owner: str, count: int) -> list[Create]:
    base = at(4, 8)
    return [
        Create(
            spec_for(
                owner,
                uid=f"cadence-c{i}",
                start=base + timedelta(minutes=30 * i),
                end=base + timedelta(minutes=30 * i + 30),
            )
        )
        for i in range(count)
    ]


# -- at most 4 at once per mailbox -------------------------------------------------------------


def test_twenty_writes_to_one_mailbox_go_in_one_batch_four_at_a_time(backend, graph, owner):
    backend.list_owned(owner)
    before = graph.requests["POST $batch"]
    results = backend.write(owner, creates(owner, 20))
    assert all(r.ok for r in results)
    assert graph.requests["POST $batch"] - before == 1
    assert graph.concurrency_refused == 0  # never more than 4 at once for the mailbox
    assert len(graph.live_events(owner)) == 20


def test_the_fake_refuses_a_fifth_part_at_once_for_one_mailbox(backend, graph, owner):
    """What the chaining avoids: 20 unchained parts for one mailbox, 16 of them refused."""
    parts = [BatchRequest("GET", f"/users/{owner}/events?$top=1") for _ in range(20)]
    unchained = [batch_part(str(i), part) for i, part in enumerate(parts)]
    reply = backend.graph.call("POST", "/$batch", body={"requests": unchained})
    statuses = [answer["status"] for answer in reply.body["responses"]]
    assert statuses.count(429) == 16
    assert graph.concurrency_refused == 16


def test_parts_for_several_mailboxes_are_chained_per_mailbox(backend, graph, owner):
    parts = [
        BatchRequest("GET", f"/users/{who}/events?$top=1")
        for _ in range(8)
        for who in (owner, OTHER)
    ]
    replies = backend.graph.batch(parts)
    assert [r.status for r in replies] == [200] * 16
    assert graph.concurrency_refused == 0
    assert graph.requests["POST $batch"] == 1


def test_a_failed_part_holds_only_its_chain_and_the_rest_is_sent_again(backend, graph, owner):
    backend.list_owned(owner)
    graph.requests.clear()
    ops = creates(owner, 8)
    ops[0] = Update(ops[0].spec, None, "AAMkEvNoSuchEvent")  # 404: the 5th part depends on it
    results = backend.write(owner, ops)
    assert isinstance(results[0].error, NotFoundError)
    assert [r.ok for r in results[1:]] == [True] * 7
    assert graph.requests["POST $batch"] == 2  # the 5th, not run (424), went again
    assert graph.batch_parts["POST events"] == 8  # and only once created
    assert len(graph.live_events(owner)) == 7


# -- the token's scope -------------------------------------------------------------------------


def test_the_scope_defaults_to_the_graph_hosts_and_can_be_set(config, tmp_path):
    def scope(**keys) -> str:
        return OutlookSettings.from_config({**config, **keys}, tmp_path, {}).scope

    assert scope(graph_endpoint="https://graph.microsoft.us/v1.0") == (
        "https://graph.microsoft.us/.default"
    )
    assert scope(graph_endpoint="https://graph.microsoft.com/v1.0") == (
        "https://graph.microsoft.com/.default"
    )
    assert scope(scope="https://graph.microsoft.com/.default") == (
        "https://graph.microsoft.com/.default"
    )
    assert validate({**config, "scope": "https://graph.microsoft.com/.default"}) == []
    assert [k for k, _ in validate({**config, "scope": "Calendars.ReadWrite"})] == ["scope"]


def outlook(config, tmp_path, **keys) -> OutlookBackend:
    context = BackendContext(base_dir=tmp_path, env={SECRET_ENV: SECRET}, sleep=lambda s: None)
    return OutlookBackend({**config, **keys}, context)


def test_a_token_for_the_wrong_audience_is_said_so(config, graph, authority, tmp_path, owner):
    # Graph behind a local address accepts tokens for the real Graph only.
    graph.audience = "https://graph.microsoft.com/.default"
    graph.scopes = authority.scopes
    wrong = outlook(config, tmp_path / "wrong")
    with pytest.raises(AuthError) as raised:
        wrong.list_owned(owner)
    text = str(raised.value)
    assert "Invalid audience" in text
    assert f"issued for the scope {graph.endpoint.rsplit('/v1.0', 1)[0]}/.default" in text
    assert "not a wrong secret" in text and "set `scope` in [calendar.outlook]" in text
    right = outlook(config, tmp_path / "right", scope="https://graph.microsoft.com/.default")
    assert right.list_owned(owner) == []


def test_a_long_retry_after_is_handed_back_for_the_whole_chain(backend, graph, owner, sleeps):
    backend.list_owned(owner)
    graph.requests.clear()
    graph.throttle_parts(1, retry_after="3600", match="cadence-c0")
    results = backend.write(owner, creates(owner, 5))  # the 5th is chained after the 1st
    assert sleeps == []  # never slept through
    assert [r.ok for r in results] == [False, True, True, True, False]
    assert [r.error.retry_after for r in (results[0], results[4])] == [3600.0, 3600.0]
    assert graph.requests["POST $batch"] == 1  # a 429 was not applied: nothing read back
    assert len(graph.live_events(owner)) == 3
