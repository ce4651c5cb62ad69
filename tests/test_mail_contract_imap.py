"""The imap mail source passes the mail-source contract against a real Dovecot server.

Mail is put in the mailboxes with IMAP APPEND (with its arrival as the INTERNALDATE), as a
delivery agent or a mail client uploading a sent copy would.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime
from pathlib import Path

import pytest

from connectors.base import BackendContext, MemoryState
from connectors.imap import ImapSource, encode_mailbox, quote_mailbox
from tests.contract.mail import FILED, MailSourceContract
from tests.dovecot import dovecot_server

OWNER = "ana@example.com"
OTHER = "other.ana@example.com"
PASSWORDS = {OWNER: "ana-secret", OTHER: "other-secret"}


class ImapMailbox:
    """The test's own IMAP client per owner: APPENDs messages, empties the folders."""

    def __init__(self, host: str, port: int, passwords: dict[str, str], sent: str) -> None:
        self.host, self.port, self.passwords, self.sent = host, port, passwords, sent
        self.conns: dict[str, imaplib.IMAP4] = {}

    def conn(self, owner: str) -> imaplib.IMAP4:
        if owner not in self.conns:
            conn = imaplib.IMAP4(self.host, self.port)
            conn.login(owner, self.passwords[owner])
            self.conns[owner] = conn
        return self.conns[owner]

    def _append(self, owner: str, folder: str, message: EmailMessage, arrived: datetime) -> None:
        conn = self.conn(owner)
        wire = quote_mailbox(encode_mailbox(folder))
        if conn.select(wire)[0] != "OK":
            assert conn.create(wire)[0] == "OK"
        else:
            conn.close()
        status, data = conn.append(wire, None, arrived, message.as_bytes(policy=SMTPUTF8))
        assert status == "OK", data

    @staticmethod
    def _message(sender: str, to, cc, bcc, at: datetime, message_id: str) -> EmailMessage:
        message = EmailMessage(policy=SMTPUTF8)
        message["From"] = sender
        message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        if bcc:
            message["Bcc"] = ", ".join(bcc)
        message["Date"] = format_datetime(at)
        message["Subject"] = "Hello"
        message["Message-ID"] = message_id
        message.set_content("A body cadence never fetches.")
        return message

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
        message = self._message(sender, to or (owner,), cc, (), at, message_id)
        self._append(owner, folder or "INBOX", message, arrived or at)

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
        message = self._message(owner, to, cc, bcc, at, message_id)
        self._append(owner, self.sent, message, arrived or at)

    def empty(self) -> None:
        for owner in self.passwords:
            conn = self.conn(owner)
            for folder in ("INBOX", self.sent, FILED):
                wire = quote_mailbox(encode_mailbox(folder))
                status, count = conn.select(wire)
                if status != "OK":  # the filed folder: made by the owner's mail rule
                    assert conn.create(wire)[0] == "OK"
                    continue
                if int(count[0]):
                    conn.store("1:*", "+FLAGS", "\\Deleted")
                    conn.expunge()
                conn.close()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.logout()


def imap_source(host: str, port: int, tmp_path: Path, **extra) -> ImapSource:
    config = {
        "host": host,
        "port": port,
        "security": "none",
        "username": "{email}",
        "password_file": "secrets/{email}",
        **extra,
    }
    assert ImapSource.validate_config(config) == []
    (tmp_path / "secrets").mkdir(exist_ok=True)
    for owner, password in PASSWORDS.items():
        secret = tmp_path / "secrets" / owner
        secret.write_text(password)
        secret.chmod(0o600)
    return ImapSource(config, BackendContext(base_dir=tmp_path, state=MemoryState()))


@pytest.fixture(scope="module")
def dovecot() -> Iterator[ImapMailbox]:
    with dovecot_server(PASSWORDS) as server:
        box = ImapMailbox(server.host, server.port, PASSWORDS, "Sent")
        yield box
        box.close()


class TestDovecotMailContract(MailSourceContract):
    """Dovecot as Debian ships it: Maildir, the sent folder flagged ``\\Sent`` (RFC 6154)."""

    @pytest.fixture
    def owner(self) -> str:
        return OWNER

    @pytest.fixture
    def other_owner(self) -> str:
        return OTHER

    @pytest.fixture
    def mailbox(self, dovecot: ImapMailbox) -> ImapMailbox:
        dovecot.empty()
        return dovecot

    @pytest.fixture
    def source(self, mailbox: ImapMailbox, tmp_path: Path) -> ImapSource:
        # The filed folder is read as well as the defaults (INBOX and the \Sent folder).
        return imap_source(mailbox.host, mailbox.port, tmp_path, folders=["INBOX", "Sent", FILED])
