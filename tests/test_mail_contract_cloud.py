"""The Gmail and Graph mail sources pass the mail-source contract against the wire-format fakes
(the fake Google's Gmail v1 and the fake Microsoft Graph), mail put there as the provider's own
delivery would."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from email.utils import parseaddr

import pytest

from connectors.google import GmailSource
from tests.contract.mail import MailSourceContract
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import Sleeps, context_for, service_account_config
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER, OWNER

ANA = "ana@example.com"
OTHER_ANA = "other.ana@example.com"
FILED_LABEL = "Label_7"  # a user label ("Kunden/Müller & Söhne") a filter put on the message


class GmailMailbox:
    """Mail delivered into the fake Gmail (``internalDate`` is when it arrived)."""

    def __init__(self, fake: FakeGoogle) -> None:
        self.fake = fake

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
        labels = (FILED_LABEL,) if folder else ("INBOX",)  # filed: the filter skips the inbox
        self.fake.gmail.add_message(
            owner,
            sender=sender,
            to=tuple(to or (owner,)),
            cc=tuple(cc),
            at=at,
            received=arrived,
            message_id=message_id,
            labels=labels,
        )

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
        self.fake.gmail.add_message(
            owner,
            sender=owner,
            to=tuple(to),
            cc=tuple(cc),
            bcc=tuple(bcc),
            at=at,
            received=arrived,
            message_id=message_id,
            labels=("SENT",),
        )


class TestGmailMailContract(MailSourceContract):
    @pytest.fixture
    def owner(self) -> str:
        return ANA

    @pytest.fixture
    def other_owner(self) -> str:
        return OTHER_ANA

    @pytest.fixture
    def fake(self) -> Iterator[FakeGoogle]:
        server = FakeGoogle().start()
        server.add_user(ANA)
        server.add_user(OTHER_ANA)
        yield server
        server.stop()

    @pytest.fixture
    def mailbox(self, fake) -> GmailMailbox:
        return GmailMailbox(fake)

    @pytest.fixture
    def source(self, fake, tmp_path) -> Iterator[GmailSource]:
        config = service_account_config(fake, tmp_path)
        made = GmailSource(config, context_for(tmp_path, [ANA, OTHER_ANA], sleeps=Sleeps()))
        yield made
        made.close()


class GraphMailbox:
    """Mail in the fake Graph mailboxes (``receivedDateTime`` is when it arrived)."""

    def __init__(self, graph) -> None:
        self.graph = graph

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
        # /messages covers every folder, the filed one too. Graph keeps the display name apart.
        self.graph.add_message(
            owner,
            sender=parseaddr(sender)[1],
            to=list(to or (owner,)),
            cc=list(cc),
            received=arrived or at,
            sent=at,
            internet_id=message_id,
        )

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
        self.graph.add_message(
            owner,
            sender=owner,
            to=list(to),
            cc=list(cc),
            bcc=list(bcc),
            received=arrived or at,
            sent=at,
            internet_id=message_id,
        )


class TestGraphMailContract(MailSourceContract):
    @pytest.fixture
    def owner(self) -> str:
        return OWNER

    @pytest.fixture
    def other_owner(self) -> str:
        return OTHER

    @pytest.fixture
    def mailbox(self, graph) -> GraphMailbox:
        return GraphMailbox(graph)

    @pytest.fixture
    def source(self, mail):
        return mail
