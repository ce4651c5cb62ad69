"""Contacts recognised by a whole cycle: late arrivals move bookings, one rule decides which
customer an address belongs to, and one message seen by two mail sources is one contact.

Calendars are the memory backend (or .ics files); mail comes from a real Dovecot over IMAP and
from the fake Gmail, both configured in cadence.toml as an operator would.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from cadence.sync.workspace import Workspace
from cadence.values.model import ContactKind
from connectors.memory import MemoryBackend, MemoryPerson
from tests.dovecot import Dovecot, dovecot_server
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import service_account_config
from tests.test_backend_ics import IcsPerson
from tests.workspace_kit import ANA, NOW, customer_row, write_workspace

PASSWORD = "ana-imap-secret"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with dovecot_server({ANA: PASSWORD}) as server:
        yield server


@pytest.fixture
def imap(dovecot: Dovecot) -> Iterator[imaplib.IMAP4]:
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    conn.login(ANA, PASSWORD)
    for folder in ("INBOX", "Sent"):
        _, count = conn.select(folder)
        if int(count[0]):
            conn.store("1:*", "+FLAGS", "\\Deleted")
            conn.expunge()
        conn.close()
    yield conn
    conn.logout()


def append(
    conn: imaplib.IMAP4, folder: str, *, sender: str, to: str, at: datetime, message_id: str
) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Date"] = sender, to, format_datetime(at)
    message["Message-ID"] = message_id
    message.set_content("Body")
    assert conn.append(folder, None, at, message.as_bytes())[0] == "OK"


def imap_section(server: Dovecot, folder: Path) -> list[str]:
    (folder / "imap.secret").write_text(PASSWORD)
    (folder / "imap.secret").chmod(0o600)
    return [
        "[mail.imap]",
        f'host = "{server.host}"',
        f"port = {server.port}",
        'security = "none"',
        'username = "{email}"',
        'password_file = "imap.secret"',
    ]


def open_workspace(folder: Path, rows: list[dict[str, str]], *sections: list[str], **kw: Any):
    config = write_workspace(folder, rows, horizon="30 days", **kw)
    extra = "\n".join("\n".join(s) + "\n" for s in sections)
    config.write_text(config.read_text() + "\n" + extra)
    return Workspace.open(config)


def day(ws: Workspace, customer: str) -> date:
    [record] = [r for r in ws.store.bookings() if r.customer_id == customer]
    assert isinstance(record.start, datetime)
    return record.start.date()


@pytest.mark.parametrize("backend", ["memory", "ics"])
def test_a_meeting_entered_late_moves_the_booked_check_in(tmp_path, backend) -> None:
    ws = open_workspace(tmp_path, [customer_row("C1")], backend=backend)
    try:
        ws.run_cycle(NOW)
        assert day(ws, "C1") == date(2026, 11, 30)  # 4 weeks after 2 Nov
        calendar = ws.backend(backend)
        person: Any = (
            MemoryPerson(calendar)
            if isinstance(calendar, MemoryBackend)
            else IcsPerson(tmp_path / "calendars")
        )
        # Entered an hour after the cycle, for last Friday: the window of that cycle is past.
        friday = datetime(2026, 11, 20, 14, tzinfo=UTC)
        person.add_event(ANA, friday, friday + timedelta(hours=1), attendees=("ceo@eu.c1.example",))

        result = ws.run_cycle(NOW + timedelta(hours=1))

        assert result.contacts_added == 1
        assert (result.created, result.moved) == (0, 1)
        meetings = [c for c in ws.store.contacts("C1") if c.kind is ContactKind.MEETING]
        assert [c.at for c in meetings] == [friday]
        assert day(ws, "C1") == date(2026, 12, 18)  # 4 weeks after the 20th
        assert ws.run_cycle(NOW + timedelta(hours=2)).contacts_added == 0
    finally:
        ws.close()


def test_mail_sent_late_with_an_old_date_moves_the_check_in(tmp_path, dovecot, imap) -> None:
    rows = [customer_row("C1", emails="buyer@müller-söhne.de", domains="")]
    ws = open_workspace(tmp_path, rows, imap_section(dovecot, tmp_path))
    try:
        ws.run_cycle(NOW)
        assert day(ws, "C1") == date(2026, 11, 30)
        written = datetime(2026, 11, 20, 9, tzinfo=UTC)  # uploaded by an offline laptop now
        append(
            imap,
            "Sent",
            sender=ANA,
            to="Hans <buyer+orders@xn--mller-shne-kcb9d.de>",
            at=written,
            message_id="<late@example.com>",
        )

        result = ws.run_cycle(NOW + timedelta(hours=1))

        assert result.failed_owners == {}
        assert [(c.kind, c.at) for c in ws.store.contacts("C1") if c.source == "mail"] == [
            (ContactKind.EMAIL_OUT, written)
        ]
        assert result.moved == 1
        assert day(ws, "C1") == date(2026, 12, 18)
    finally:
        ws.close()


def test_one_message_in_gmail_and_over_imap_is_one_contact(tmp_path, dovecot, imap) -> None:
    fake = FakeGoogle().start()
    try:
        fake.add_user(ANA)
        google = service_account_config(fake, tmp_path)
        section = ["[mail.google]", *(f'{k} = "{v}"' for k, v in google.items())]
        rows = [customer_row("C1"), customer_row("C2")]
        ws = open_workspace(tmp_path, rows, imap_section(dovecot, tmp_path), section)
        sent = datetime(2026, 11, 20, 9, tzinfo=UTC)
        # One message to two customers, seen in Gmail and in the IMAP sent folder.
        to = "buyer@c1.example, ops@sales.c2.example"
        append(imap, "Sent", sender=ANA, to=to, at=sent, message_id="<one@example.com>")
        fake.gmail.add_message(
            ANA,
            sender=ANA,
            to=("buyer@c1.example", "ops@sales.c2.example"),
            at=sent,
            message_id="<one@example.com>",
            labels=("SENT",),
        )
        try:
            result = ws.run_cycle(NOW)
            assert result.failed_owners == {}
            for customer in ("C1", "C2"):
                mail = [c for c in ws.store.contacts(customer) if c.source == "mail"]
                assert [(c.kind, c.at, c.source_id) for c in mail] == [
                    (ContactKind.EMAIL_OUT, sent, "<one@example.com>")
                ]
        finally:
            ws.close()
    finally:
        fake.stop()
