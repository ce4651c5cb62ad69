"""Contacts from Graph mail: matching, direction, Message-ID, incremental reads, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthError, BackendError, TransientError
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER, OWNER

SINCE = datetime(2027, 1, 1, tzinfo=UTC)


def t(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=UTC)


def test_messages_to_and_from_customers_are_found_in_both_directions(graph, mail):
    graph.add_message(
        OWNER, sender="Bob@Customer.example", to=[OWNER], received=t(1), internet_id="<in@x>"
    )
    graph.add_message(
        OWNER,
        sender=OWNER,
        to=["someone@elsewhere.example"],
        cc=["carol@acme.example"],
        received=t(2),
        subject="Proposal",
        internet_id="<out@x>",
    )
    graph.add_message(OWNER, sender="news@shop.example", to=[OWNER], received=t(3))
    graph.add_message(OWNER, sender=OWNER, to=["bob@customer.example"], received=t(4), draft=True)
    found = mail.messages(OWNER, ["bob@customer.example"], ["acme.example"], SINCE)
    assert [(m.message_id, m.at, m.outgoing, m.addresses, m.subject) for m in found] == [
        ("<in@x>", t(1), False, ("bob@customer.example",), ""),
        ("<out@x>", t(2), True, ("carol@acme.example", "someone@elsewhere.example"), "Proposal"),
    ]


def test_a_second_read_fetches_nothing_new(graph, mail):
    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(1))
    graph.add_message(OWNER, sender="ann@customer.example", to=[OWNER], received=t(1))
    assert len(mail.messages(OWNER, [], ["customer.example"], SINCE)) == 2
    before = graph.requests["GET messages"]
    assert mail.messages(OWNER, [], ["customer.example"], SINCE) == []
    assert graph.requests["GET messages"] - before == 1

    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(5))
    [new] = mail.messages(OWNER, [], ["customer.example"], SINCE)
    assert new.at == t(5)


def test_mail_older_than_since_is_not_returned(graph, mail):
    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(1))
    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(9))
    found = mail.messages(OWNER, ["bob@customer.example"], [], t(5))
    assert [m.at for m in found] == [t(9)]


def test_pages_are_followed(graph, mail):
    for i in range(450):
        graph.add_message(
            OWNER, sender="bob@customer.example", to=[OWNER], received=t(1) + timedelta(minutes=i)
        )
    assert len(mail.messages(OWNER, ["bob@customer.example"], [], SINCE)) == 450
    assert graph.requests["GET messages"] == 3  # 200 + 200 + 50


def test_mailboxes_keep_their_own_read_marks(graph, mail):
    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(1))
    graph.add_message(OTHER, sender="bob@customer.example", to=[OTHER], received=t(1))
    assert len(mail.messages(OWNER, ["bob@customer.example"], [], SINCE)) == 1
    assert len(mail.messages(OTHER, ["bob@customer.example"], [], SINCE)) == 1


def test_one_mailboxs_trouble_leaves_the_others_readable(graph, mail):
    graph.add_message(OTHER, sender="bob@customer.example", to=[OTHER], received=t(1))
    graph.forbid(OWNER)
    with pytest.raises(AuthError):
        mail.messages(OWNER, ["bob@customer.example"], [], SINCE)
    graph.fail(4, status=503, kind="GET messages")
    with pytest.raises(TransientError):
        mail.messages(OTHER, ["bob@customer.example"], [], SINCE)
    assert len(mail.messages(OTHER, ["bob@customer.example"], [], SINCE)) == 1


def test_naive_since_is_rejected(mail):
    with pytest.raises(BackendError, match="aware"):
        mail.messages(OWNER, [], [], datetime(2027, 1, 1))


def test_an_imported_pst_with_old_arrival_dates_is_read_once(graph, mail):
    graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(5))
    assert len(mail.messages(OWNER, ["bob@customer.example"], [], SINCE)) == 1
    # A PST imported now keeps February's receivedDateTime; the mailbox changed at the import.
    imported = datetime(2027, 2, 10, 9, tzinfo=UTC)
    graph.add_message(
        OWNER,
        sender=OWNER,
        to=["bob@customer.example"],
        received=imported,
        modified=t(6),
        internet_id="<pst@x>",
    )
    [found] = mail.messages(OWNER, ["bob@customer.example"], [], SINCE)
    assert (found.message_id, found.at, found.outgoing) == ("<pst@x>", imported, True)
    assert mail.messages(OWNER, ["bob@customer.example"], [], SINCE) == []


def test_a_message_read_or_moved_later_is_not_returned_again(graph, mail):
    gid = graph.add_message(OWNER, sender="bob@customer.example", to=[OWNER], received=t(1))
    assert len(mail.messages(OWNER, ["bob@customer.example"], [], SINCE)) == 1
    graph.touch_message(OWNER, gid, t(7))  # read, flagged or moved to another folder
    before = graph.requests["GET messages"]
    assert mail.messages(OWNER, ["bob@customer.example"], [], SINCE) == []
    assert graph.requests["GET messages"] - before == 1
