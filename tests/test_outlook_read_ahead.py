"""Reading ahead on Graph: everyone's first reads in $batch calls (at most 4 parts a mailbox),
each read taking its answer as its first attempt (connectors.outlook.client.GraphClient)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from connectors.base import Create, MemoryState, TransientError
from connectors.outlook import OutlookBackend
from tests.contract.suite import at, spec_for
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import NOW, OTHER, OWNER

FLOOR = NOW - timedelta(days=90)


def book(backend: OutlookBackend, owner: str) -> None:
    made = [Create(spec_for(owner, uid=f"cadence-{owner[:5]}-{n}", start=at(4 + n, 9),
                            end=at(4 + n, 10))) for n in range(2)]  # fmt: skip
    assert all(r.ok for r in backend.write(owner, made))


def reads(backend: OutlookBackend) -> dict[str, tuple[list[str], list[str]]]:
    return {
        owner: (
            sorted(e.uid for e in backend.list_owned(owner)),
            [e.remote_id for e in backend.new_past_events(owner, FLOOR, NOW)],
        )
        for owner in (OWNER, OTHER)
    }


def test_everyones_first_reads_go_in_one_batch_and_return_what_they_would_alone(
    backend, config, context, graph, person
):
    for owner in (OWNER, OTHER):
        book(backend, owner)
        met = NOW - timedelta(days=2)
        person.add_event(owner, met, met + timedelta(hours=1), attendees=(f"buyer@{owner}",))
        backend.forget_sync(owner)  # their next reads are full reads
    alone = OutlookBackend(config, replace(context, state=MemoryState()))  # no reading ahead
    graph.requests.clear()
    expected = reads(alone)
    assert graph.requests["POST $batch"] == 2  # each full read is a $batch of its own
    assert graph.requests["GET delta"] == 2  # each meetings stream
    graph.requests.clear()
    graph.batch_parts.clear()

    backend.read_ahead([OWNER, OTHER], FLOOR, NOW)
    assert dict(graph.requests) == {"POST $batch": 1}
    assert dict(graph.batch_parts) == {"GET events": 2, "GET delta": 4}
    assert reads(backend) == expected
    assert expected[OWNER][0] == [f"cadence-{OWNER[:5]}-0", f"cadence-{OWNER[:5]}-1"]
    assert len(expected[OWNER][1]) == 1
    assert dict(graph.requests) == {"POST $batch": 1}  # the reads asked nothing themselves

    # Later reads (delta links) are sent ahead the same way.
    graph.requests.clear()
    backend.read_ahead([OWNER, OTHER], FLOOR, NOW)
    assert reads(backend) == {owner: (expected[owner][0], []) for owner in expected}
    assert dict(graph.requests) == {"POST $batch": 1}
    alone.close()


def test_an_answer_read_ahead_is_used_once(backend, graph, owner):
    backend.list_owned(owner)
    backend.read_ahead([owner], FLOOR, NOW)
    graph.requests.clear()
    backend.list_owned(owner)
    assert dict(graph.requests) == {}
    backend.list_owned(owner)  # a second read asks for itself
    assert dict(graph.requests) == {"GET delta": 1}


def test_a_throttled_answer_read_ahead_is_that_mailboxs_own_first(backend, graph, owner, sleeps):
    backend.list_owned(owner)
    graph.throttle_parts(1, retry_after="3600", match=owner.split("@")[0])
    backend.read_ahead([owner], FLOOR, NOW)
    graph.requests.clear()
    with pytest.raises(TransientError) as deferred:
        backend.list_owned(owner)
    assert deferred.value.retry_after == 3600
    assert sleeps == []  # handed back, not slept through
    assert dict(graph.requests) == {}  # and not asked again


def test_mail_reads_are_sent_ahead_too_and_changed_addresses_ask_for_themselves(graph, mail):
    since = NOW - timedelta(days=365)
    for owner in (OWNER, OTHER):
        graph.add_message(owner, sender="bob@customer.example", to=(owner,), received=NOW)
    mail.read_ahead([OWNER, OTHER], since)
    assert dict(graph.requests) == {"POST $batch": 1}
    graph.requests.clear()
    for owner in (OWNER, OTHER):  # the first reads, from ``since``
        [found] = mail.messages(owner, ["bob@customer.example"], [], since)
        assert found.addresses == ("bob@customer.example",)
    assert dict(graph.requests) == {}

    graph.add_message(OWNER, sender="bob@customer.example", to=(OWNER,), received=NOW)
    mail.read_ahead([OWNER, OTHER], since)
    graph.requests.clear()
    assert len(mail.messages(OWNER, ["bob@customer.example"], [], since)) == 1  # from the mark
    assert dict(graph.requests) == {}
    # Other addresses than last time: read from ``since`` again, not what was read ahead.
    mail.messages(OTHER, ["bob@customer.example", "eve@customer.example"], [], since)
    assert dict(graph.requests) == {"GET messages": 1}
