"""The imap mail source against a real IMAP server (pymap) started on 127.0.0.1 by these tests.

Messages are put in the mailbox with IMAP APPEND, as a mail client or delivery agent would.
"""

from __future__ import annotations

import imaplib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from connectors import load_mail_source
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    MailMessage,
    MemoryState,
    TransientError,
)
from connectors.imap import (
    Folder,
    ImapSource,
    addresses_of,
    find_sent,
    parse_list,
)
from connectors.imap import headers as imap_headers
from tests.local_servers import Imap, free_port, imap_server, self_signed_certificate

OWNER = "ana@example.com"
PASSWORD_ENV = "CADENCE_IMAP_PASSWORD"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SINCE = T0 - timedelta(days=30)
CUSTOMERS = ("buyer@acme.com",)
DOMAINS = ("globex.com",)


@pytest.fixture(scope="module")
def server() -> Iterator[Imap]:
    with imap_server(user=OWNER) as running:
        yield running


class Mailbox:
    """The test's own IMAP client: puts messages in folders, empties them, renumbers them."""

    def __init__(self, server: Imap) -> None:
        self.conn = imaplib.IMAP4(server.host, server.port)
        self.conn.login(server.user, server.password)

    def append(
        self,
        folder: str,
        *,
        sender: str,
        to: str,
        cc: str = "",
        at: datetime = T0,
        subject: str = "Hello",
        message_id: str | None = None,
    ) -> str:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        if cc:
            message["Cc"] = cc
        message["Date"] = format_datetime(at)
        message["Subject"] = subject
        message["Message-ID"] = message_id or f"<{subject.replace(' ', '.')}.{at:%s}@test>"
        message.set_content("Body text that must not be fetched.")
        status, _ = self.conn.append(folder, None, at, message.as_bytes())
        assert status == "OK"
        return message["Message-ID"]

    def empty(self, folder: str) -> None:
        self.conn.select(folder)
        self.conn.store("1:*", "+FLAGS", "\\Deleted")
        self.conn.expunge()
        self.conn.close()

    def recreate(self, folder: str) -> None:
        """Delete and create ``folder``: the server gives it a new UIDVALIDITY."""
        assert self.conn.delete(folder)[0] == "OK"
        assert self.conn.create(folder)[0] == "OK"

    def flags(self, folder: str) -> list[bytes]:
        self.conn.select(folder, readonly=True)
        _, data = self.conn.fetch("1:*", "(FLAGS)")
        self.conn.close()
        return [d for d in data if d]


@pytest.fixture
def mailbox(server: Imap) -> Iterator[Mailbox]:
    box = Mailbox(server)
    for folder in ("INBOX", "Sent"):
        box.empty(folder)
    yield box
    box.conn.logout()


def make_source(server: Imap, tmp_path: Path, **extra) -> ImapSource:
    config = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": "{email}",
        "password_env": PASSWORD_ENV,
        **extra,
    }
    assert ImapSource.validate_config(config) == []
    context = BackendContext(
        base_dir=tmp_path, state=MemoryState(), env={PASSWORD_ENV: server.password}
    )
    return ImapSource(config, context)


@pytest.fixture
def source(server: Imap, tmp_path: Path, mailbox: Mailbox) -> ImapSource:
    return make_source(server, tmp_path)


def read(source: ImapSource) -> list[MailMessage]:
    return source.messages(OWNER, CUSTOMERS, DOMAINS, SINCE)


# --------------------------------------------------------------------------------------------
# Against the server


def test_registry_loads_the_imap_source() -> None:
    assert load_mail_source("imap") is ImapSource


def test_mail_to_and_from_customers_is_recognised_in_and_out(source, mailbox) -> None:
    received = mailbox.append(
        "INBOX", sender="Bo Buyer <Buyer@ACME.com>", to=OWNER, subject="Question"
    )
    mailbox.append("INBOX", sender="news@shop.example", to=OWNER, subject="Newsletter")
    sent = mailbox.append(
        "Sent",
        sender=OWNER,
        to="Hank <hank@eu.globex.com>",
        cc="boss@example.com",
        at=T0 + timedelta(hours=1),
        subject="Offer",
    )
    # Sent from another device and filed in INBOX: outgoing because the owner wrote it.
    from_owner = mailbox.append(
        "INBOX", sender=OWNER, to="buyer@acme.com", at=T0 + timedelta(hours=2), subject="Re"
    )

    found = read(source)

    assert found == [
        MailMessage(received, T0, False, ("buyer@acme.com",), "Question"),
        MailMessage(
            sent, T0 + timedelta(hours=1), True, ("hank@eu.globex.com", "boss@example.com"), "Offer"
        ),
        MailMessage(from_owner, T0 + timedelta(hours=2), True, ("buyer@acme.com",), "Re"),
    ]


def test_a_second_read_fetches_nothing_new_and_a_third_only_the_new_message(
    source, mailbox
) -> None:
    mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER, subject="First")
    mailbox.append("Sent", sender=OWNER, to="buyer@acme.com", subject="Answer")
    assert len(read(source)) == 2

    assert read(source) == []

    newer = mailbox.append(
        "INBOX", sender="buyer@acme.com", to=OWNER, at=T0 + timedelta(days=1), subject="Again"
    )
    assert [m.message_id for m in read(source)] == [newer]


def test_a_changed_uidvalidity_means_the_folder_is_read_again(source, mailbox) -> None:
    mailbox.append("Sent", sender=OWNER, to="buyer@acme.com", subject="Offer")
    read(source)
    key = f"imap:{OWNER}:Sent"
    before = json.loads(source.context.state.get(key))

    mailbox.recreate("Sent")  # a server migration renumbers the folder
    copied = mailbox.append("Sent", sender=OWNER, to="buyer@acme.com", subject="Offer")
    found = read(source)

    assert [m.message_id for m in found] == [copied]
    after = json.loads(source.context.state.get(key))
    assert after["uidvalidity"] != before["uidvalidity"]


def test_a_new_customer_address_rereads_older_mail(source, mailbox) -> None:
    old = mailbox.append("INBOX", sender="carol@initech.com", to=OWNER, subject="Hi")
    assert read(source) == []

    found = source.messages(OWNER, (*CUSTOMERS, "carol@initech.com"), DOMAINS, SINCE)

    assert [m.message_id for m in found] == [old]


def test_messages_older_than_since_are_left_out(source, mailbox) -> None:
    mailbox.append(
        "INBOX", sender="buyer@acme.com", to=OWNER, at=SINCE - timedelta(hours=1), subject="Old"
    )
    recent = mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER, subject="New")

    assert [m.message_id for m in read(source)] == [recent]


def test_a_message_that_cannot_be_read_is_skipped_and_reported_once(
    source, mailbox, monkeypatch, caplog
) -> None:
    mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER, subject="Poison")
    good = mailbox.append(
        "INBOX", sender="buyer@acme.com", to=OWNER, at=T0 + timedelta(hours=1), subject="Fine"
    )
    real = imap_headers._read_message

    def trips_on_poison(*args):
        if b"Poison" in args[5]:  # the header bytes
            raise LookupError("unknown encoding: x-unknown")
        return real(*args)

    monkeypatch.setattr(imap_headers, "_read_message", trips_on_poison)
    with caplog.at_level(logging.WARNING, logger="connectors.imap"):
        assert [m.message_id for m in read(source)] == [good]
        assert read(source) == []

    [warning] = [r.getMessage() for r in caplog.records]
    assert "in 'INBOX' cannot be read: LookupError: unknown encoding" in warning
    assert OWNER in warning


def test_reading_leaves_messages_unread(source, mailbox) -> None:
    mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER)

    read(source)

    assert all(b"\\Seen" not in line for line in mailbox.flags("INBOX"))


def test_configured_folders_replace_the_defaults(server, tmp_path, mailbox) -> None:
    mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER, subject="In")
    sent = mailbox.append("Sent", sender=OWNER, to="buyer@acme.com", subject="Out")
    source = make_source(server, tmp_path, folders=["Sent"], sent_folder="Sent")

    assert [(m.message_id, m.outgoing) for m in read(source)] == [(sent, True)]


def test_wrong_password_is_an_auth_error(server, tmp_path) -> None:
    source = make_source(server, tmp_path)
    source.context.env = {PASSWORD_ENV: "wrong"}

    with pytest.raises(AuthError, match=r"login as ana@example\.com refused"):
        read(source)


def test_password_from_a_templated_file(server, tmp_path, mailbox) -> None:
    (tmp_path / "ana.secret").write_text(server.password + "\n", encoding="utf-8")
    (tmp_path / "ana.secret").chmod(0o600)
    config = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": "{email}",
        "password_file": "{user}.secret",
    }
    source = ImapSource(config, BackendContext(base_dir=tmp_path))
    mailbox.append("INBOX", sender="buyer@acme.com", to=OWNER)

    assert len(read(source)) == 1


def test_a_password_file_others_can_read_is_refused(server, tmp_path) -> None:
    secret = tmp_path / "ana.secret"
    secret.write_text(server.password + "\n", encoding="utf-8")
    secret.chmod(0o644)
    config = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": "{email}",
        "password_file": "{user}.secret",
    }
    source = ImapSource(config, BackendContext(base_dir=tmp_path))

    with pytest.raises(AuthError, match="can be read by other users") as caught:
        read(source)
    assert server.password not in str(caught.value)


FRENCH_SENT = "Éléments envoyés"
FRENCH_WIRE = '"&AMk-l&AOk-ments envoy&AOk-s"'  # as a client must send it (RFC 3501 5.1.3)


@pytest.fixture
def french_sent(mailbox: Mailbox) -> str:
    mailbox.conn.create(FRENCH_WIRE)  # the server outlives one test: it may exist already
    mailbox.empty(FRENCH_WIRE)
    return mailbox.append(FRENCH_WIRE, sender=OWNER, to="buyer@acme.com", subject="Offre")


def test_a_sent_folder_with_a_unicode_name_is_read(server, tmp_path, french_sent) -> None:
    source = make_source(server, tmp_path, sent_folder=FRENCH_SENT)

    assert [(m.message_id, m.outgoing, m.addresses) for m in read(source)] == [
        (french_sent, True, ("buyer@acme.com",))
    ]
    # State is kept under the name the server knows (the key it had when written by hand).
    assert source.context.state.get(f"imap:{OWNER}:&AMk-l&AOk-ments envoy&AOk-s") is not None
    assert read(source) == []


def test_a_unicode_folder_found_by_list_and_a_hand_encoded_name_both_work(
    server, tmp_path, french_sent
) -> None:
    by_name = make_source(server, tmp_path, folders=[FRENCH_SENT])
    assert [m.message_id for m in read(by_name)] == [french_sent]
    by_hand = make_source(server, tmp_path, sent_folder="&AMk-l&AOk-ments envoy&AOk-s")
    assert [(m.message_id, m.outgoing) for m in read(by_hand)] == [(french_sent, True)]


def test_a_missing_unicode_folder_is_named_in_unicode(server, tmp_path, mailbox) -> None:
    source = make_source(server, tmp_path, folders=["Entwürfe"])

    with pytest.raises(BackendError, match="cannot open folder 'Entwürfe'"):
        read(source)


def test_check_local_reports_password_files_and_ca_bundles(tmp_path) -> None:
    good, open_ = tmp_path / "good.secret", tmp_path / "open.secret"
    for path, mode in ((good, 0o600), (open_, 0o644)):
        path.write_text("x\n", encoding="utf-8")
        path.chmod(mode)
    (tmp_path / "people").mkdir()

    def problems(**section: object) -> list[tuple[str, str]]:
        return ImapSource.check_local({"host": "h", **section}, tmp_path, {})

    assert problems(password_file="good.secret") == []
    [(key, message)] = problems(password_file="open.secret")
    assert key == "password_file" and f"{open_} can be read by other users" in message
    [(key, message)] = problems(password_file="none.secret")
    assert key == "password_file" and "cannot read" in message
    # A template names one file per salesperson: only its folder can be checked here.
    assert problems(password_file="people/{user}.secret") == []
    assert problems(password_file="{user}.secret") == []
    [(key, message)] = problems(password_file="nobody/{user}.secret")
    assert key == "password_file" and f"{tmp_path / 'nobody'}" in message
    [(key, message)] = problems(verify_tls="ca.pem")
    assert key == "verify_tls" and f"CA bundle {tmp_path / 'ca.pem'} does not exist" == message
    assert problems(verify_tls=True, password_env="X") == []


def test_unreachable_server_is_transient(tmp_path) -> None:
    config = {
        "host": "127.0.0.1",
        "port": free_port(),
        "security": "none",
        "username": "x",
        "password_env": PASSWORD_ENV,
    }
    source = ImapSource(config, BackendContext(base_dir=tmp_path, env={PASSWORD_ENV: "x"}))

    with pytest.raises(TransientError, match="cannot connect"):
        read(source)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Imap, Path]]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with imap_server(user=OWNER, tls=(cert, key)) as running:
        yield running, cert


def test_starttls_with_the_servers_ca_reads_the_mailbox(tls_server, tmp_path) -> None:
    server, cert = tls_server
    box = Mailbox(server)
    sent = box.append("Sent", sender=OWNER, to="buyer@acme.com", subject="Over TLS")
    box.conn.logout()
    source = make_source(server, tmp_path, security="starttls", verify_tls=str(cert))

    assert [m.message_id for m in read(source)] == [sent]


def test_starttls_with_an_untrusted_certificate_fails_before_login(tls_server, tmp_path) -> None:
    server, _ = tls_server
    source = make_source(server, tmp_path, security="starttls")  # system CAs only

    with pytest.raises(BackendError, match="TLS failed"):
        read(source)


def test_naive_since_is_rejected(source) -> None:
    with pytest.raises(BackendError, match="timezone-aware"):
        source.messages(OWNER, CUSTOMERS, DOMAINS, datetime(2027, 1, 1))


# --------------------------------------------------------------------------------------------
# Pure parts


def test_list_parsing_reads_quoted_atom_and_literal_names() -> None:
    lines = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Sent) "." "Sent Items"',
        (b'(\\Drafts) "/" {6}', b"Drafts"),
        b'(\\Noselect \\HasChildren) NIL "[Gmail]"',
    ]

    assert parse_list(lines) == [
        Folder("INBOX", frozenset({"\\hasnochildren"})),
        Folder("Sent Items", frozenset({"\\hasnochildren", "\\sent"})),
        Folder("Drafts", frozenset({"\\drafts"})),
        Folder("[Gmail]", frozenset({"\\noselect", "\\haschildren"})),
    ]


def test_the_special_use_sent_flag_wins_over_a_folder_called_sent() -> None:
    folders = [Folder("Sent", frozenset()), Folder("[Gmail]/Sent Mail", frozenset({"\\sent"}))]

    assert find_sent(folders) == "[Gmail]/Sent Mail"
    assert find_sent([Folder("INBOX", frozenset()), Folder("Sent Items", frozenset())]) == (
        "Sent Items"
    )
    assert find_sent([Folder("INBOX", frozenset())]) is None


def test_addresses_are_lowercased_and_deduplicated() -> None:
    assert addresses_of(['"Buyer, Bo" <Bo@Acme.COM>, eve@x.org', "bo@acme.com", None]) == (
        "bo@acme.com",
        "eve@x.org",
    )


def test_validate_config_reports_every_problem() -> None:
    problems = ImapSource.validate_config(
        {"security": "tls", "port": 0, "folders": "INBOX", "timeout": 0, "colour": "red"}
    )

    assert problems == [
        (
            "colour",
            "unknown key (allowed: folders, host, password_env, password_file, port, security, "
            "sent_folder, timeout, username, verify_tls)",
        ),
        ("host", "must name the IMAP server"),
        ("security", "must be one of ssl, starttls, none; got 'tls'"),
        ("port", "must be a port number, got 0"),
        ("username", 'required (template allowed, e.g. "{email}")'),
        ("password_env", "set password_env or password_file"),
        ("folders", 'must be a list of folder names, e.g. ["INBOX", "Sent"]'),
        ("timeout", "must be a positive number of seconds, got 0"),
    ]
