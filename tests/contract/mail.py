"""The contract every mail source must pass (the terms are on :meth:`MailSource.messages`).

A connector's test module subclasses :class:`MailSourceContract` as a ``Test...`` class and
provides the fixtures:

* ``source``: a fresh :class:`MailSource` (empty state) serving ``owner`` and ``other_owner``,
  reading the folder :data:`FILED` too where folders matter (IMAP);
* ``owner`` and ``other_owner``: two mailboxes the source serves;
* ``mailbox``: a :class:`Mailbox` putting mail in those mailboxes through the mail system's
  own means (IMAP APPEND, the fake Gmail's or Graph's store), never through the source.

Mail is written in March 2026 (in the past: servers keep no arrival date in the future);
``SINCE`` is the floor of a full read. "Arrived" is when the mailbox got the message (IMAP
INTERNALDATE, Gmail ``internalDate``, Graph ``receivedDateTime``); "at" is the message's own
date, the date the contact gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from connectors.base import MailMessage, MailSource

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
FILED = "Kunden/Müller & Söhne"  # a folder a rule files customer mail into
BOB = "bob@acme.com"
DOMAINS = ("acme.com",)


def t(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in March 2026, UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Mailbox(Protocol):
    """Mail arriving in, or sent from, an owner's mailbox."""

    def receive(
        self,
        owner: str,
        *,
        sender: str,
        to: Sequence[str] = (),
        cc: Sequence[str] = (),
        at: datetime,
        arrived: datetime | None = None,
        message_id: str,
        folder: str | None = None,
    ) -> None:
        """A message from ``sender`` delivered to ``owner`` (in ``folder`` when given, else
        the inbox); ``to`` defaults to the owner."""

    def send(
        self,
        owner: str,
        *,
        to: Sequence[str] = (),
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        at: datetime,
        arrived: datetime | None = None,
        message_id: str,
    ) -> None:
        """The owner's copy of a message they sent (their sent folder keeps its Bcc)."""


def read(
    source: MailSource,
    owner: str,
    addresses: Sequence[str] = (BOB,),
    domains: Sequence[str] = (),
) -> list[tuple[str, bool, tuple[str, ...], datetime]]:
    """``(message id, outgoing, counterparts, date)`` of what the source returns now."""
    return [_seen(m) for m in source.messages(owner, addresses, domains, SINCE)]


def _seen(m: MailMessage) -> tuple[str, bool, tuple[str, ...], datetime]:
    return (m.message_id, m.outgoing, tuple(sorted(m.addresses)), m.at)


class MailSourceContract:
    """Behaviour every :class:`MailSource` shares. Subclass it in a ``Test...`` class."""

    def test_mail_from_and_to_a_customer_has_its_direction(self, source, owner, mailbox):
        mailbox.receive(owner, sender="Bob <Bob@ACME.com>", at=t(2), message_id="<in@acme.com>")
        mailbox.send(owner, to=(BOB,), at=t(3), message_id="<out@x.example>")
        mailbox.receive(owner, sender="news@shop.example", at=t(4), message_id="<n@shop>")

        assert read(source, owner) == [
            ("<in@acme.com>", False, ("bob@acme.com",), t(2)),
            ("<out@x.example>", True, ("bob@acme.com",), t(3)),
        ]

    def test_cc_and_bcc_of_sent_mail_are_counterparts(self, source, owner, mailbox):
        mailbox.send(
            owner,
            to=("someone@elsewhere.example",),
            cc=("carol@acme.com",),
            bcc=("dave@globex.org",),
            at=t(2),
            message_id="<cc-bcc@x.example>",
        )
        mailbox.send(owner, to=("x@elsewhere.example",), bcc=(BOB,), at=t(3), message_id="<b@x>")

        found = read(source, owner, ["dave@globex.org", BOB], DOMAINS)
        assert found == [
            (
                "<cc-bcc@x.example>",
                True,
                ("carol@acme.com", "dave@globex.org", "someone@elsewhere.example"),
                t(2),
            ),
            ("<b@x>", True, ("bob@acme.com", "x@elsewhere.example"), t(3)),
        ]

    def test_the_cc_of_received_mail_is_not_the_senders_contact(self, source, owner, mailbox):
        mailbox.receive(
            owner, sender="news@shop.example", cc=(BOB,), at=t(2), message_id="<cc@shop>"
        )

        assert read(source, owner) == []

    def test_nothing_is_returned_twice(self, source, owner, mailbox):
        mailbox.receive(owner, sender=BOB, at=t(2), message_id="<once@acme.com>")

        assert [m[0] for m in read(source, owner)] == ["<once@acme.com>"]
        assert read(source, owner) == []
        mailbox.receive(owner, sender=BOB, at=t(5), message_id="<next@acme.com>")
        assert [m[0] for m in read(source, owner)] == ["<next@acme.com>"]

    def test_mail_arriving_late_counts_once_with_its_own_date(self, source, owner, mailbox):
        assert read(source, owner) == []
        # Written on the 2nd (an offline laptop, a slow relay), in the mailbox on the 9th.
        mailbox.send(owner, to=(BOB,), at=t(2), arrived=t(9), message_id="<late-out@x>")
        mailbox.receive(owner, sender=BOB, at=t(1), arrived=t(9, 11), message_id="<late-in@a>")

        assert read(source, owner) == [
            ("<late-in@a>", False, ("bob@acme.com",), t(1)),
            ("<late-out@x>", True, ("bob@acme.com",), t(2)),
        ]
        assert read(source, owner) == []

    def test_mail_arriving_late_counts_even_when_older_than_since(self, source, owner, mailbox):
        assert read(source, owner) == []
        written = datetime(2025, 11, 3, 9, tzinfo=UTC)
        mailbox.receive(owner, sender=BOB, at=written, arrived=t(9), message_id="<old@acme>")

        assert read(source, owner) == [("<old@acme>", False, ("bob@acme.com",), written)]

    def test_a_new_customer_address_reads_the_older_mail_again(self, source, owner, mailbox):
        mailbox.receive(owner, sender="ann@initech.example", at=t(2), message_id="<ann@i>")
        mailbox.receive(owner, sender=BOB, at=t(3), message_id="<bob@a>")

        assert [m[0] for m in read(source, owner)] == ["<bob@a>"]
        found = read(source, owner, [BOB, "ann@initech.example"])
        assert ("<ann@i>", False, ("ann@initech.example",), t(2)) in found
        assert [m[0] for m in read(source, owner, [BOB, "ann@initech.example"])] == []

    def test_a_new_customer_domain_reads_the_older_mail_again(self, source, owner, mailbox):
        mailbox.receive(owner, sender="ann@initech.example", at=t(2), message_id="<ann@i>")
        assert read(source, owner) == []

        found = read(source, owner, [BOB], ["initech.example"])
        assert [m[0] for m in found] == ["<ann@i>"]

    def test_subdomains_are_in_the_customers_domain_lookalikes_are_not(
        self, source, owner, mailbox
    ):
        mailbox.receive(owner, sender="x@eu.acme.com", at=t(2), message_id="<eu@acme>")
        mailbox.receive(owner, sender="x@notacme.com", at=t(3), message_id="<not@acme>")
        mailbox.receive(owner, sender="x@acme.com.evil.org", at=t(4), message_id="<evil@x>")

        assert read(source, owner, [], DOMAINS) == [("<eu@acme>", False, ("x@eu.acme.com",), t(2))]

    def test_internationalised_domains_match_in_either_spelling(self, source, owner, mailbox):
        mailbox.receive(
            owner, sender="hans@xn--mller-shne-kcb9d.de", at=t(2), message_id="<puny@m>"
        )
        mailbox.receive(owner, sender="grete@müller-söhne.de", at=t(3), message_id="<utf8@m>")

        found = read(source, owner, [], ["Müller-Söhne.de"])
        assert [(m[0], m[3]) for m in found] == [("<puny@m>", t(2)), ("<utf8@m>", t(3))]

    def test_plus_addressing_is_the_same_person(self, source, owner, mailbox):
        assert read(source, owner) == []
        mailbox.receive(owner, sender="bob+orders@acme.com", at=t(2), message_id="<plus@a>")

        assert [m[0] for m in read(source, owner)] == ["<plus@a>"]

    def test_mail_filed_in_a_folder_with_a_non_ascii_name_is_read(self, source, owner, mailbox):
        mailbox.receive(owner, sender=BOB, at=t(2), message_id="<filed@acme>", folder=FILED)

        assert [m[0] for m in read(source, owner)] == ["<filed@acme>"]

    def test_the_message_id_is_given_in_its_standard_form(self, source, owner, mailbox):
        # The same message read by two sources (Gmail and IMAP) is one contact by this id.
        mailbox.receive(owner, sender=BOB, at=t(2), message_id="<Case.Kept-1@Mail.Acme.com>")

        assert [m[0] for m in read(source, owner)] == ["<Case.Kept-1@Mail.Acme.com>"]

    def test_owners_are_isolated(self, source, owner, other_owner, mailbox):
        mailbox.receive(owner, sender=BOB, at=t(2), message_id="<mine@acme>")
        mailbox.receive(other_owner, sender=BOB, to=(other_owner,), at=t(3), message_id="<t@a>")

        assert [m[0] for m in read(source, other_owner)] == ["<t@a>"]
        assert [m[0] for m in read(source, owner)] == ["<mine@acme>"]
        assert read(source, other_owner) == []

    def test_a_naive_since_is_refused(self, source, owner):
        import pytest

        from connectors.base import BackendError

        with pytest.raises(BackendError):
            source.messages(owner, [BOB], [], datetime(2026, 1, 1))


__all__ = ["BOB", "FILED", "SINCE", "MailSourceContract", "Mailbox", "read", "t"]
