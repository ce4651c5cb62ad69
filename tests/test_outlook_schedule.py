"""Availability of many salespeople at once through getSchedule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cadence.values.model import BusyInterval, Salesperson
from connectors.base import BackendContext, BackendError, Create
from connectors.outlook import OutlookBackend
from connectors.outlook.schedule import MAX_SPAN
from tests.contract.suite import at, spec_for
from tests.graph_fake import SECRET, SECRET_ENV
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER

TEAM = [f"sales{i:02d}@contoso.example" for i in range(25)]


@pytest.fixture
def team(graph):
    for owner in TEAM:
        graph.add_mailbox(owner)
    return TEAM


def test_twenty_five_mailboxes_over_ninety_days_take_four_requests(backend, graph, team):
    for i, owner in enumerate(team):
        graph.add_event(owner, at(4, 9), at(4, 9, 30 + i))
    start = at(1, 0)
    before = graph.requests["POST getSchedule"]
    result = backend.busy_many(team, start, start + timedelta(days=90))
    assert graph.requests["POST getSchedule"] - before == 4  # 20 + 5 mailboxes, 61 + 29 days
    assert list(result) == team
    for i, owner in enumerate(team):
        assert result[owner] == [BusyInterval(at(4, 9), at(4, 9, 30 + i))]


def test_own_bookings_are_left_out_but_an_identical_own_meeting_is_not(backend, graph, owner):
    backend.write(owner, [Create(spec_for(owner, start=at(4, 11), end=at(4, 12)))])
    backend.list_owned(owner)
    graph.add_event(owner, at(4, 11), at(4, 12), title="Same hour, the person's own")
    graph.add_event(owner, at(4, 14), at(4, 15), show_as="free")
    graph.add_event(owner, at(4, 16), at(4, 17), show_as="tentative")
    result = backend.busy_many([owner], at(4, 0), at(5, 0))
    assert result[owner] == [
        BusyInterval(at(4, 11), at(4, 12)),
        BusyInterval(at(4, 16), at(4, 17)),
    ]


def test_an_event_across_two_windows_counts_once(backend, graph, owner):
    start = at(1, 0)
    boundary = start + MAX_SPAN  # where the first window ends
    graph.add_event(owner, boundary - timedelta(hours=1), boundary + timedelta(hours=1))
    result = backend.busy_many([owner], start, start + timedelta(days=90))
    assert result[owner] == [
        BusyInterval(boundary - timedelta(hours=1), boundary + timedelta(hours=1))
    ]


def test_all_day_out_of_office_is_recognised_in_the_owners_zone(config, graph, tmp_path, owner):
    context = BackendContext(
        base_dir=tmp_path,
        env={SECRET_ENV: SECRET},
        salespeople=[Salesperson(email=owner, timezone="Europe/Lisbon")],
    )
    backend = OutlookBackend(config, context)
    graph.add_event(
        owner, date(2027, 5, 10), date(2027, 5, 11), all_day=True, show_as="oof",
        zone="Europe/Lisbon",
    )  # fmt: skip
    result = backend.busy_many([owner], at(9, 0), at(13, 0))
    assert result[owner] == [BusyInterval(at(9, 23), at(10, 23), all_day=True)]
    assert backend.busy(owner, at(9, 0), at(13, 0)) == result[owner]


def test_a_mailbox_getschedule_cannot_see_fails_alone(backend, graph, owner):
    graph.add_event(owner, at(4, 9), at(4, 10))
    result = backend.busy_many([owner, "gone@contoso.example"], at(4, 0), at(5, 0))
    assert result[owner] == [BusyInterval(at(4, 9), at(4, 10))]
    assert isinstance(result["gone@contoso.example"], BackendError)


def test_busy_many_agrees_with_busy(backend, graph, owner, person):
    backend.write(owner, [Create(spec_for(owner, start=at(5, 10), end=at(5, 11)))])
    backend.list_owned(owner)
    person.add_event(owner, at(4, 9), at(4, 10))
    person.add_event(owner, at(6, 13), at(6, 15), attendees=("bob@customer.example",))
    person.add_event(OTHER, at(6, 13), at(6, 15))
    many = backend.busy_many([owner, OTHER], at(1, 0), at(20, 0))
    assert many[owner] == backend.busy(owner, at(1, 0), at(20, 0))
    assert many[OTHER] == backend.busy(OTHER, at(1, 0), at(20, 0))
    assert len(many[owner]) == 2


def test_windows_stay_below_graphs_62_days(backend, graph, owner):
    """Graph refuses a getSchedule window of 62 days or more (the fake too): 120 days are read
    in two windows of at most 61 days, and a 62-day one in two."""
    graph.add_event(owner, at(4, 9), at(4, 10))
    assert timedelta(days=62) > MAX_SPAN
    for days, requests in ((120, 2), (62, 2), (61, 1)):
        before = graph.requests["POST getSchedule"]
        result = backend.busy_many([owner], at(1, 0), at(1, 0) + timedelta(days=days))
        assert result[owner] == [BusyInterval(at(4, 9), at(4, 10))]
        assert graph.requests["POST getSchedule"] - before == requests
