"""Reads never lose which events are cadence's (issue 11, point 0, the Graph half).

The fake honours ``$select`` strictly (a field it does not name is left out, expanded extended
properties included), and can leave the extended properties out of lists of events
(``hide_ownership = "lists"``) or out of every read (``"all"``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cadence.values.model import BusyInterval
from connectors.base import BackendError, Create
from connectors.outlook.wire import EVENT_FIELDS
from tests.contract.suite import at, spec_for
from tests.graph_fake.fixtures import *  # noqa: F403


def creates(owner: str, count: int) -> list[Create]:
    base = at(4, 8)
    return [
        Create(
            spec_for(
                owner,
                uid=f"cadence-c{i}",
                start=base + timedelta(hours=i),
                end=base + timedelta(hours=i, minutes=30),
            )
        )
        for i in range(count)
    ]


UIDS = {f"cadence-c{i}" for i in range(3)}


def test_every_read_of_events_names_the_extended_properties_in_select():
    assert "singleValueExtendedProperties" in EVENT_FIELDS.split(",")


def test_a_full_read_after_the_sync_state_is_gone_keeps_every_event_ours(backend, graph, owner):
    ops = creates(owner, 3)
    backend.write(owner, ops)
    backend.list_owned(owner)
    graph.expire_sync_state(owner)  # 410 SyncStateNotFound: the next read is a full one
    listed = backend.list_owned(owner)
    assert {e.uid: e.tags for e in listed} == {op.spec.uid: dict(op.spec.tags) for op in ops}
    assert all(e.tags for e in listed)


def test_a_full_read_without_the_properties_in_lists_uses_what_was_known(backend, graph, owner):
    backend.write(owner, creates(owner, 3))
    backend.list_owned(owner)
    graph.expire_sync_state(owner)
    graph.hide_ownership = "lists"  # the $filter finds them; the answer does not say whose
    before = graph.requests.copy()
    assert {e.uid for e in backend.list_owned(owner)} == UIDS
    # The full read (one $batch); known by Graph id, nothing is read again.
    assert (graph.requests - before)["POST $batch"] == 1


def test_unknown_events_without_the_properties_are_read_again_one_by_one(
    backend, graph, owner, state
):
    backend.write(owner, creates(owner, 3))
    state.set(f"outlook:{owner}:calendar", None)  # what was known is lost too
    graph.hide_ownership = "lists"
    before = graph.requests.copy()
    assert {e.uid for e in backend.list_owned(owner)} == UIDS
    assert (graph.requests - before)["POST $batch"] == 2  # the full read; the 3 GETs in one


def test_events_no_read_identifies_stop_the_read_instead_of_vanishing(
    backend, graph, owner, state, monkeypatch
):
    backend.write(owner, creates(owner, 2))
    state.set(f"outlook:{owner}:calendar", None)
    graph.hide_ownership = "lists"
    real_show = graph._show
    monkeypatch.setattr(graph, "_show", lambda e, utc, q, listed=True: real_show(e, utc, q))
    with pytest.raises(BackendError, match=r"2 of cadence.s events .* without their extended"):
        backend.list_owned(owner)


def test_the_calendar_view_busy_read_leaves_out_cadences_events(backend, graph, owner):
    backend.write(owner, creates(owner, 2))
    backend.list_owned(owner)
    graph.add_event(owner, at(5, 9), at(5, 10), title="The person's own")
    assert backend.busy(owner, at(4, 0), at(6, 0)) == [BusyInterval(at(5, 9), at(5, 10))]
    graph.hide_ownership = "lists"  # not recognisable by property: by the Graph ids known
    assert backend.busy(owner, at(4, 0), at(6, 0)) == [BusyInterval(at(5, 9), at(5, 10))]
