"""iMIP invitations, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1 and read back."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.inputs.config import load_config
from cadence.values.errors import UserError
from cadence.values.model import Salesperson
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    Cancel,
    Create,
    TransientError,
    Update,
)
from connectors.email import build_invite, invite_calendar
from connectors.ics import IcsBackend
from connectors.ics.outbox import outbox_key
from connectors.smtp import SmtpSender, SmtpSettings, check_smtp_local, validate_smtp_config
from tests.contract.suite import at, only, spec_for

OWNER = "ana@example.com"
SENDER = "cadence@example.com"
SECRET = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what arrived; ``reply`` overrides the answer to DATA."""

    delivered: list[Delivered] = field(default_factory=list)
    reply: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def accept_only_the_secret(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == SECRET.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    port: int
    mailbox: Mailbox


def start_server(port: int, *, auth: bool = False) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    kwargs = {"authenticator": accept_only_the_secret, "auth_require_tls": False} if auth else {}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, mailbox


@pytest.fixture
def smtp() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port)
    yield Server(port, mailbox)
    controller.stop()


@pytest.fixture
def smtp_with_login() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port, auth=True)
    yield Server(port, mailbox)
    controller.stop()


def context_for(tmp_path: Path, port: int, **smtp: object) -> BackendContext:
    return BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(OWNER, name="Ana Silva", timezone="Europe/Lisbon")],
        smtp={"host": "127.0.0.1", "port": port, "sender": SENDER, "timeout": 5, **smtp},
        env={"CADENCE_SMTP_PASSWORD": SECRET},
        now=lambda: datetime(2027, 4, 1, 12, tzinfo=UTC),
    )


def invite_backend(tmp_path: Path, port: int) -> IcsBackend:
    return IcsBackend({"invites": True}, context_for(tmp_path, port))


def calendar_part(message: EmailMessage) -> tuple[str, icalendar.Calendar]:
    """The ``method`` parameter of the text/calendar part, and the part parsed."""
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_param("method"), icalendar.Calendar.from_ical(part.get_content())


# -- invitations from the ics backend ------------------------------------------------------


def test_create_publishes_the_owners_copy_and_requests_the_attendees(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER, attendees=("bob@customer.com",))
    only(backend.write(OWNER, [Create(spec)]))
    mine, theirs = smtp.mailbox.delivered
    assert (mine.recipients, theirs.recipients) == ([OWNER], ["bob@customer.com"])
    for mail in (mine, theirs):
        assert mail.sender == SENDER  # the envelope: the address the relay accepts
        assert mail.message["From"] == f"Ana Silva <{OWNER}>"  # the organizer (RFC 6047)
        assert mail.message["Sender"] == SENDER
        assert mail.message["Subject"].startswith("Invitation: Check-in: ACME Ltd")
        plain = mail.message.get_body(("plain",)).get_content()
        assert "Check-in: ACME Ltd" in plain and "Tue 04 May 2027 11:00" in plain
    # The owner's copy: PUBLISH, full notes, no attendees to answer for.
    method, cal = calendar_part(mine.message)
    assert (method, str(cal["METHOD"])) == ("PUBLISH", "PUBLISH")
    [event] = cal.events
    assert "ATTENDEE" not in event and str(event["DESCRIPTION"]) == spec.description
    # The customer's: REQUEST, RSVP, none of cadence's notes or properties.
    method, cal = calendar_part(theirs.message)
    assert (method, str(cal["METHOD"])) == ("REQUEST", "REQUEST")
    [event] = cal.events
    assert str(event["UID"]) == spec.uid
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].dt == spec.start and event["DTEND"].dt == spec.end
    assert str(event["ORGANIZER"]) == f"mailto:{OWNER}"
    assert event["ORGANIZER"].params["CN"] == "Ana Silva"
    guest = [a for a in event["ATTENDEE"] if str(a) == "mailto:bob@customer.com"]
    assert [a.params["RSVP"] for a in guest] == ["TRUE"]
    assert "DESCRIPTION" not in event  # the spec gave no customer text
    assert not [name for name in event if name.startswith("X-")]
    assert not event.subcomponents  # no alarms
    assert [tz["TZID"] for tz in cal.timezones] == ["Europe/Lisbon"]
    assert event["DTSTAMP"].dt == datetime(2027, 4, 1, 12, tzinfo=UTC)  # the time of sending
    assert backend.pending_invites(OWNER) == 0


def test_an_owner_only_booking_is_published_never_requested(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    [mail] = smtp.mailbox.delivered
    assert mail.recipients == [OWNER]
    method, cal = calendar_part(mail.message)
    assert method == "PUBLISH" and "ATTENDEE" not in cal.events[0]


def test_a_move_mails_a_request_with_the_next_sequence(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    created = only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    moved = spec_for(OWNER, start=at(6, 14), end=at(6, 15))
    only(backend.write(OWNER, [Update(moved, etag=created.etag)]))
    first, second = (calendar_part(m.message)[1].events[0] for m in smtp.mailbox.delivered)
    assert (int(first["SEQUENCE"]), int(second["SEQUENCE"])) == (0, 1)
    assert second["DTSTART"].dt == at(6, 14)


def test_a_cancel_mails_a_cancel_with_a_higher_sequence(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER, attendees=("bob@customer.com",))
    backend.write(OWNER, [Create(spec)])
    later = datetime(2027, 4, 2, 9, tzinfo=UTC)
    backend.context.now = lambda: later
    assert backend.write(OWNER, [Cancel(OWNER, spec.uid)])[0].ok
    mine, theirs = smtp.mailbox.delivered[-2:]
    assert (mine.recipients, theirs.recipients) == ([OWNER], ["bob@customer.com"])
    for mail in (mine, theirs):
        assert mail.message["Subject"] == "Cancelled: Check-in: ACME Ltd"
        method, cal = calendar_part(mail.message)
        assert (method, str(cal["METHOD"])) == ("CANCEL", "CANCEL")
        [event] = cal.events
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (spec.uid, 1)
        assert str(event["STATUS"]) == "CANCELLED"
        assert event["DTSTART"].dt == spec.start
        assert event["DTSTAMP"].dt == later  # a fresh stamp, not the invitation's


def test_an_unchanged_retry_mails_nothing(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    backend.write(OWNER, [Create(spec), Cancel(OWNER, "cadence-never-made")])
    assert len(smtp.mailbox.delivered) == 1


def test_invites_wait_in_the_outbox_while_the_server_is_down(tmp_path, caplog):
    port = free_port()  # nobody listens here yet
    backend = invite_backend(tmp_path, port)
    spec = spec_for(OWNER)
    with caplog.at_level(logging.WARNING, logger="connectors.ics"):
        result = only(backend.write(OWNER, [Create(spec)]))
    assert result.uid == spec.uid  # the calendar write itself succeeded
    assert backend.pending_invites(OWNER) == 1
    assert "not sent yet" in caplog.text
    controller, mailbox = start_server(port)
    try:
        assert [e.uid for e in backend.list_owned(OWNER)] == [spec.uid]  # flushes the outbox
    finally:
        controller.stop()
    assert backend.pending_invites(OWNER) == 0
    [mail] = mailbox.delivered
    assert str(calendar_part(mail.message)[1].events[0]["UID"]) == spec.uid


def test_invites_need_an_smtp_section(tmp_path):
    with pytest.raises(UserError, match="mail server") as caught:
        IcsBackend({"invites": True}, BackendContext(base_dir=tmp_path))
    assert "invites = true needs an [smtp] section" in str(caught.value)


# -- the sender ----------------------------------------------------------------------------


def sample_message() -> EmailMessage:
    event = icalendar.Event()
    event.add("uid", "cadence-x")
    event.add("dtstamp", datetime(2027, 4, 1, tzinfo=UTC))
    event.add("dtstart", at(4, 10))
    event.add("summary", "Check-in")
    return build_invite(invite_calendar(event, "REQUEST"), sender=SENDER, recipients=[OWNER])


def sender(port: int, **settings: object) -> SmtpSender:
    values = {"host": "127.0.0.1", "port": port, "sender": SENDER, "timeout": 5, **settings}
    return SmtpSender(
        SmtpSettings.from_mapping(values, Path(".")), {"CADENCE_SMTP_PASSWORD": SECRET}
    )


def test_a_server_that_is_down_is_a_transient_error():
    port = free_port()
    with pytest.raises(TransientError, match=f"SMTP 127.0.0.1:{port}"):
        sender(port).send(sample_message(), [OWNER])


def test_a_4xx_reply_is_a_transient_error(smtp):
    smtp.mailbox.reply = "451 4.3.0 Mailbox busy, try later"
    with pytest.raises(TransientError, match="451"):
        sender(smtp.port).send(sample_message(), [OWNER])


def test_a_5xx_reply_is_a_backend_error_not_transient(smtp):
    smtp.mailbox.reply = "554 5.6.0 Message rejected"
    with pytest.raises(BackendError) as caught:
        sender(smtp.port).send(sample_message(), [OWNER])
    assert type(caught.value) is BackendError  # not TransientError: retrying will not help
    assert "554" in str(caught.value)


def test_login_with_the_password_from_the_environment(smtp_with_login):
    client = sender(smtp_with_login.port, username="cadence", password_env="CADENCE_SMTP_PASSWORD")
    client.send(sample_message(), [OWNER])
    assert [m.recipients for m in smtp_with_login.mailbox.delivered] == [[OWNER]]


def secret_file(path: Path, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRET + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_login_with_the_password_from_a_file(tmp_path, smtp_with_login):
    secret_file(tmp_path / "smtp-password")
    settings = SmtpSettings.from_mapping(
        {"host": "127.0.0.1", "port": smtp_with_login.port, "sender": SENDER,
         "username": "cadence", "password_file": "smtp-password"},
        tmp_path,
    )  # fmt: skip
    SmtpSender(settings, {}).send(sample_message(), [OWNER])
    assert len(smtp_with_login.mailbox.delivered) == 1


def test_a_refused_login_is_an_auth_error_that_does_not_show_the_password(smtp_with_login, caplog):
    wrong = "Wr0ng-Secret-Value"
    client = SmtpSender(
        SmtpSettings.from_mapping(
            {"host": "127.0.0.1", "port": smtp_with_login.port, "sender": SENDER,
             "username": "cadence", "password_env": "PW"},
            Path("."),
        ),
        {"PW": wrong},
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError, match="535") as caught:
        client.send(sample_message(), [OWNER])
    assert wrong not in str(caught.value) and wrong not in caplog.text
    assert smtp_with_login.mailbox.delivered == []


def test_a_missing_password_variable_is_an_auth_error_naming_it():
    client = SmtpSender(
        SmtpSettings.from_mapping(
            {"sender": SENDER, "username": "u", "password_env": "NOT_SET_ANYWHERE"}, Path(".")
        ),
        {},
    )
    with pytest.raises(AuthError, match="NOT_SET_ANYWHERE is not set"):
        client.send(sample_message(), [OWNER])


def test_smtp_settings_problems_are_all_reported():
    problems = validate_smtp_config(
        {"host": 25, "port": 70000, "starttls": True, "ssl": True, "username": "u", "colour": 1}
    )
    # The one [smtp] schema's words (connectors.smtp), as `cadence check` says them.
    assert problems == [
        (
            "colour",
            "unknown key (allowed: host, password_env, password_file, port, sender, ssl, "
            "starttls, timeout, username)",
        ),
        ("host", "expected a string, got integer 25"),
        ("port", "port 70000 is above 65535"),
        ("starttls", "use either ssl (implicit TLS) or starttls, not both"),
        ("username", "a login needs password_env or password_file"),
        ("", "sender is required: the From address"),
    ]
    with pytest.raises(UserError) as caught:
        SmtpSettings.from_mapping({"port": "25"}, Path("."))
    assert "[smtp] port: expected a whole number, got string '25'" in str(caught.value)


def test_ssl_defaults_to_port_465():
    assert SmtpSettings.from_mapping({"sender": SENDER, "ssl": True}, Path(".")).port == 465


def test_a_uid_booked_again_after_a_cancel_outranks_the_cancel(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER)
    backend.write(OWNER, [Create(spec)])
    backend.write(OWNER, [Cancel(OWNER, spec.uid)])
    again = only(backend.write(OWNER, [Create(spec)]))
    sequences = [
        (calendar_part(m.message)[0], int(calendar_part(m.message)[1].events[0]["SEQUENCE"]))
        for m in smtp.mailbox.delivered
    ]
    assert sequences == [("PUBLISH", 0), ("CANCEL", 1), ("PUBLISH", 2)]
    assert again.sequence == 2


# -- [smtp] password_file, from cadence.toml to a login ------------------------------------


def test_password_file_named_in_cadence_toml_logs_in(
    tmp_path, smtp_with_login, caplog, monkeypatch
):
    """cadence.inputs.config resolves password_file to a Path against cadence.toml's folder; the
    sender must take it as it comes (it expected a str, so every send failed).
    """
    etc = tmp_path / "etc"
    secret_file(etc / "secrets" / "smtp-password")
    etc.joinpath("cadence.toml").write_text(
        "[smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp_with_login.port}\n"
        'username = "cadence"\n'
        'password_file = "secrets/smtp-password"\n'
        f'sender = "{SENDER}"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # not the folder of cadence.toml: the path must not rely on it
    config = load_config(etc / "cadence.toml")
    assert check_smtp_local(config.smtp, config.base_dir, {}) == []

    settings = SmtpSettings.from_mapping(config.smtp, config.base_dir)
    with caplog.at_level(logging.DEBUG):
        SmtpSender(settings, {}).send(sample_message(), [OWNER])

    assert settings.password_file == etc / "secrets" / "smtp-password"
    assert [m.recipients for m in smtp_with_login.mailbox.delivered] == [[OWNER]]
    assert SECRET not in caplog.text


def test_a_password_file_others_can_read_is_refused_at_send_time(tmp_path, smtp_with_login):
    path = secret_file(tmp_path / "smtp-password", mode=0o640)
    settings = SmtpSettings.from_mapping(
        {"host": "127.0.0.1", "port": smtp_with_login.port, "sender": SENDER,
         "username": "cadence", "password_file": path},
        tmp_path,
    )  # fmt: skip
    with pytest.raises(AuthError, match="can be read by other users") as caught:
        SmtpSender(settings, {}).send(sample_message(), [OWNER])
    assert str(path) in str(caught.value) and SECRET not in str(caught.value)
    assert smtp_with_login.mailbox.delivered == []


@pytest.mark.parametrize("as_path", [False, True])
def test_check_smtp_local_names_a_missing_or_open_password_file(tmp_path, as_path):
    def section(value: str) -> dict[str, object]:
        return {"sender": SENDER, "username": "u",
                "password_file": tmp_path / value if as_path else value}  # fmt: skip

    secret_file(tmp_path / "good")
    secret_file(tmp_path / "open", mode=0o644)
    assert check_smtp_local(section("good"), tmp_path, {}) == []
    [(key, message)] = check_smtp_local(section("open"), tmp_path, {})
    assert key == "password_file" and "can be read by other users" in message
    assert "chmod 600" in message and SECRET not in message
    [(key, message)] = check_smtp_local(section("missing"), tmp_path, {})
    assert key == "password_file" and f"cannot read {tmp_path / 'missing'}" in message
    assert check_smtp_local({"sender": SENDER, "password_env": "X"}, tmp_path, {}) == []


def test_password_file_may_be_a_path_or_a_str_but_not_a_number():
    assert validate_smtp_config({"sender": SENDER, "password_file": Path("/x")}) == []
    assert validate_smtp_config({"sender": SENDER, "password_file": "x"}) == []
    assert validate_smtp_config({"sender": SENDER, "password_file": 3}) == [
        ("password_file", "expected a path, got integer 3")
    ]


# -- control characters in names -----------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NASTY_NAMES = [
    "ACME\r\nBcc: evil@example.org",
    "ACME\nLtd",
    "\x00\x1b[2J\x07",
    "A\u2028B\u2029C\x85D",
    "Tab\tand\x0bvertical\x0cfeed\x1c\x1d\x1e",
    "Ünïcødé 名字 \u200b",
    "",
]


def invite_for(name: str) -> tuple[bytes, icalendar.Calendar]:
    """Book a check-in for customer ``name`` (also the salesperson's name) in a fresh ics
    folder and build its invitation: (the message as sent, the calendar file parsed).
    """
    with tempfile.TemporaryDirectory() as folder:
        context = BackendContext(
            base_dir=Path(folder),
            salespeople=[Salesperson(OWNER, name=name, timezone="Europe/Lisbon")],
            now=lambda: datetime(2027, 4, 1, 12, tzinfo=UTC),
        )
        backend = IcsBackend({}, context)
        spec = spec_for(OWNER, title=f"Check-in: {name}", description=f"Customer {name}\nok")
        assert only(backend.write(OWNER, [Create(spec)])).uid == spec.uid
        [event] = backend.list_owned(OWNER)
        assert event.status == "confirmed"
        cal = icalendar.Calendar.from_ical(backend.path_for(OWNER).read_bytes())
    [vevent] = cal.events
    message = build_invite(invite_calendar(vevent, "REQUEST"), sender=SENDER, recipients=[OWNER])
    return message.as_bytes(), cal


def assert_clean(raw: bytes, cal: icalendar.Calendar) -> None:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert len(parsed.get_all("Subject")) == 1
    head = raw.split(b"\n\n", 1)[0]
    assert len([line for line in head.split(b"\n") if line.startswith(b"Subject:")]) == 1
    # A long Subject may be folded right after "Subject:"; the parser keeps that fold's space.
    subject = str(parsed["Subject"]).lstrip(" ")
    assert subject.startswith("Invitation: Check-in:")
    assert not CONTROL.search(subject)
    for header in ("From", "To"):
        assert not CONTROL.search(str(parsed[header]))
    [event] = cal.events
    assert not CONTROL.search(str(cal["X-WR-CALNAME"]))
    assert not CONTROL.search(str(event["SUMMARY"]))
    assert not CONTROL.search(str(event["ORGANIZER"].params.get("CN", "")))
    # A description keeps its line breaks and tabs (TEXT escapes them); nothing else.
    assert not CONTROL.search(re.sub("[\t\n]", " ", str(event["DESCRIPTION"])))
    [part] = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    [sent] = icalendar.Calendar.from_ical(part.get_content()).events
    assert str(sent["SUMMARY"]) == str(event["SUMMARY"])


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_a_name_with_control_characters_gives_a_clean_invitation(name):
    assert_clean(*invite_for(name))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=40) | st.sampled_from(NASTY_NAMES))
def test_any_name_gives_exactly_one_clean_subject(name):
    assert_clean(*invite_for(name))


def test_a_customer_name_with_a_line_break_is_delivered(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER, title="Check-in: ACME\r\nLtd")
    only(backend.write(OWNER, [Create(spec)]))
    [mail] = smtp.mailbox.delivered
    assert mail.message["Subject"].startswith("Invitation: Check-in: ACME Ltd (")
    assert backend.pending_invites(OWNER) == 0


# -- a poisoned outbox entry ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 4, 1, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def poison(context: BackendContext, uid: str) -> None:
    """Break the outbox entry of ``uid`` so that building its message fails (a bug, or an
    entry an older version stored): its calendar has no METHOD.
    """
    entries = json.loads(context.state.get(outbox_key(OWNER)))
    [entry] = [e for e in entries if e["uid"] == uid]
    entry["ical"] = entry["ical"].replace("METHOD:PUBLISH\r\n", "")
    context.state.set(outbox_key(OWNER), json.dumps(entries))


def delivered_uids(mailbox: Mailbox) -> list[str]:
    return [str(calendar_part(m.message)[1].events[0]["UID"]) for m in mailbox.delivered]


def test_a_poisoned_invite_is_set_aside_and_never_blocks_the_others(tmp_path, caplog):
    port = free_port()  # the server is down while the three bookings are made
    clock = Clock()
    context = context_for(tmp_path, port)
    context.now = clock
    backend = IcsBackend({"invites": True}, context)
    uids = ["cadence-first", "cadence-poisoned", "cadence-third"]
    for day, uid in enumerate(uids, start=4):
        backend.write(OWNER, [Create(spec_for(OWNER, uid=uid, start=at(day, 10), end=at(day, 11)))])
    assert backend.pending_invites(OWNER) == 3
    poison(context, "cadence-poisoned")
    controller, mailbox = start_server(port)
    try:
        with caplog.at_level(logging.DEBUG, logger="connectors.ics"):
            assert backend.flush_invites(OWNER) == 1
            assert delivered_uids(mailbox) == ["cadence-first", "cadence-third"]
            first_try = clock.now
            assert backend.held_invites(OWNER) == [
                {
                    "uid": "cadence-poisoned",
                    "method": "PUBLISH",
                    "attempts": 1,
                    "last_error": "KeyError: 'METHOD'",
                    "next_attempt": first_try + timedelta(minutes=1),
                }
            ]
            # Not before its time: no new attempt.
            clock.now += timedelta(seconds=59)
            assert [e.uid for e in backend.list_owned(OWNER)] == sorted(uids)  # flushes too
            assert backend.held_invites(OWNER)[0]["attempts"] == 1
            # Then tried again, failing again: twice the wait.
            clock.now += timedelta(seconds=1)
            assert backend.flush_invites(OWNER) == 1
            [held] = backend.held_invites(OWNER)
            assert (held["attempts"], held["next_attempt"]) == (2, clock.now + timedelta(minutes=2))
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1  # logged once, when first set aside
        for part in (OWNER, "cadence-poisoned", "PUBLISH", "KeyError"):
            assert part in errors[0]

        # The booking is changed (say the customer's name was fixed): the new invitation
        # replaces the held one and goes out at once.
        fixed = spec_for(OWNER, uid="cadence-poisoned", start=at(5, 14), end=at(5, 15))
        only(backend.write(OWNER, [Update(fixed)]))
    finally:
        controller.stop()
    assert backend.held_invites(OWNER) == [] and backend.pending_invites(OWNER) == 0
    assert delivered_uids(mailbox) == uids[:1] + uids[2:] + ["cadence-poisoned"]
    event = calendar_part(mailbox.delivered[-1].message)[1].events[0]
    assert (event["DTSTART"].dt, int(event["SEQUENCE"])) == (at(5, 14), 1)


def test_a_held_invite_waits_at_most_a_day(tmp_path, smtp):
    context = context_for(tmp_path, smtp.port)
    backend = IcsBackend({"invites": True}, context)
    smtp.mailbox.reply = "554 5.6.0 Message rejected"  # rejected for good, every time
    backend.write(OWNER, [Create(spec_for(OWNER))])
    entries = json.loads(context.state.get(outbox_key(OWNER)))
    entries[0].update(attempts=20, next_attempt="2027-04-01T11:00:00+00:00")
    context.state.set(outbox_key(OWNER), json.dumps(entries))
    assert backend.flush_invites(OWNER) == 1
    [held] = backend.held_invites(OWNER)
    assert held["attempts"] == 21 and "554" in held["last_error"]
    assert held["next_attempt"] == datetime(2027, 4, 2, 12, tzinfo=UTC)
