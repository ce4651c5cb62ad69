"""Contacts from Gmail against the fake Google: first search, incremental history, re-reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthError
from connectors.google import GmailSource
from connectors.google.gmail import MAX_QUERY, build_queries
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import Sleeps, context_for, service_account_config

ANA = "ana@example.com"
BOB = "bob@example.com"
SINCE = datetime(2027, 3, 1, tzinfo=UTC)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 4, day, hour, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    server.add_user(ANA)
    server.add_user(BOB)
    yield server
    server.stop()


@pytest.fixture
def source(fake, tmp_path) -> Iterator[GmailSource]:
    config = service_account_config(fake, tmp_path)
    assert GmailSource.validate_config(config) == []
    source = GmailSource(config, context_for(tmp_path, [ANA, BOB], sleeps=Sleeps()))
    yield source
    source.close()


def deliver(fake: FakeGoogle, **kwargs) -> str:
    return fake.gmail.add_message(ANA, **kwargs)


def test_first_read_finds_mail_with_customer_addresses_and_domains(fake, source):
    deliver(
        fake,
        sender="Bob Buyer <Bob@ACME.com>",
        to=(ANA,),
        at=at(2),
        subject="Renewal",
        message_id="<r1@acme.com>",
    )
    deliver(
        fake,
        sender=ANA,
        to=("ceo@globex.org",),
        cc=("Pat <pat@acme.com>",),
        at=at(3),
        labels=("SENT",),
        message_id="<s1@example.com>",
    )
    deliver(fake, sender="news@spam.example", to=(ANA,), at=at(4))  # not a customer
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=datetime(2027, 2, 1, tzinfo=UTC))  # old
    found = source.messages(ANA, ["bob@acme.com"], ["globex.org"], SINCE)
    assert [(m.message_id, m.outgoing, m.addresses, m.at, m.subject) for m in found] == [
        ("<r1@acme.com>", False, ("bob@acme.com",), at(2), "Renewal"),
        ("<s1@example.com>", True, ("ceo@globex.org", "pat@acme.com"), at(3), ""),
    ]
    [(_, listed)] = [(k, p) for k, p in fake.log if k == "gmail.users.messages.list"]
    assert listed["q"] == (
        "(from:bob@acme.com OR to:bob@acme.com OR cc:bob@acme.com OR bcc:bob@acme.com OR "
        "from:globex.org OR to:globex.org OR cc:globex.org OR bcc:globex.org) "
        f"after:{int(SINCE.timestamp())}"
    )
    gets = [p for k, p in fake.log if k == "gmail.users.messages.get"]
    assert {p["format"] for p in gets} == {"metadata"}
    assert fake.requests["batch/gmail/v1"] == 1


def test_second_read_with_nothing_new_fetches_nothing(fake, source):
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2))
    assert len(source.messages(ANA, ["bob@acme.com"], [], SINCE)) == 1
    fake.reset_counts()
    assert source.messages(ANA, ["bob@acme.com"], [], SINCE) == []
    assert fake.requests == {"gmail.users.history.list": 1}


def test_new_mail_is_read_incrementally_through_history(fake, source):
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2))
    source.messages(ANA, ["bob@acme.com"], [], SINCE)
    fake.reset_counts()
    deliver(
        fake,
        sender=ANA,
        to=("bob@acme.com",),
        at=at(5),
        labels=("SENT",),
        message_id="<reply@example.com>",
    )
    deliver(fake, sender="someone@else.org", to=(ANA,), at=at(5))
    found = source.messages(ANA, ["bob@acme.com"], [], SINCE)
    assert [(m.message_id, m.outgoing) for m in found] == [("<reply@example.com>", True)]
    assert "gmail.users.messages.list" not in fake.calls
    assert fake.calls["gmail.users.messages.get"] == 2  # both new ones, filtered locally


def test_stale_history_id_means_a_full_re_read(fake, source):
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2), message_id="<a@acme.com>")
    source.messages(ANA, ["bob@acme.com"], [], SINCE)
    deliver(fake, sender="other@else.org", to=(ANA,), at=at(3))
    box = fake.gmail.mailboxes[ANA]
    box.oldest_valid_history = box.history_id  # the id cadence stored is now too old
    fake.reset_counts()
    found = source.messages(ANA, ["bob@acme.com"], [], SINCE)
    assert [m.message_id for m in found] == ["<a@acme.com>"]
    assert fake.calls["gmail.users.history.list"] == 1
    assert fake.calls["gmail.users.messages.list"] == 1
    # And the fresh history id works again afterwards.
    fake.reset_counts()
    assert source.messages(ANA, ["bob@acme.com"], [], SINCE) == []
    assert fake.requests == {"gmail.users.history.list": 1}


def test_an_address_added_later_is_searched_for_on_its_own(fake, source):
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2))
    deliver(fake, sender="kim@initech.com", to=(ANA,), at=at(3), message_id="<k@initech.com>")
    source.messages(ANA, ["bob@acme.com"], [], SINCE)
    fake.reset_counts()
    found = source.messages(ANA, ["bob@acme.com", "kim@initech.com"], [], SINCE)
    assert [m.message_id for m in found] == ["<k@initech.com>"]
    [query] = [p["q"] for k, p in fake.log if k == "gmail.users.messages.list"]
    assert "bob@acme.com" not in query and "kim@initech.com" in query


def test_long_address_lists_are_split_into_several_queries(fake, source):
    addresses = [f"buyer{n:03d}@customer{n:03d}.com" for n in range(120)]
    deliver(fake, sender=addresses[-1], to=(ANA,), at=at(2), message_id="<last@c.com>")
    queries = build_queries(addresses, [], SINCE)
    assert len(queries) > 1
    assert all(len(q) <= MAX_QUERY for q in queries)
    assert sum(q.count("from:") for q in queries) == 120
    found = source.messages(ANA, addresses, [], SINCE)
    assert [m.message_id for m in found] == ["<last@c.com>"]
    assert fake.calls["gmail.users.messages.list"] == len(queries)


def test_throttled_message_gets_are_retried(fake, source):
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2))
    fake.fail(
        "gmail.users.messages.get", times=1, status=429, reason="rateLimitExceeded", retry_after="2"
    )
    assert len(source.messages(ANA, ["bob@acme.com"], [], SINCE)) == 1
    assert source.context.sleep == [2.0]


def test_revoked_mailbox_fails_for_that_owner_only(fake, source):
    fake.gmail.add_message(BOB, sender="bob@acme.com", to=(BOB,), at=at(2))
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=at(2))
    fake.revoke(ANA)
    with pytest.raises(AuthError):
        source.messages(ANA, ["bob@acme.com"], [], SINCE)
    assert len(source.messages(BOB, ["bob@acme.com"], [], SINCE)) == 1


def test_a_message_delivered_late_is_read_with_its_own_date_whatever_since(fake, source):
    source.messages(ANA, ["bob@acme.com"], [], SINCE)
    written = SINCE - timedelta(days=1)
    deliver(fake, sender="bob@acme.com", to=(ANA,), at=written, received=at(9))
    [late] = source.messages(ANA, ["bob@acme.com"], [], SINCE)
    assert late.at == written
    assert source.messages(ANA, ["bob@acme.com"], [], SINCE) == []
