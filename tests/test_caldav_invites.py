"""``invites = true`` on CalDAV: cadence mails the attendees itself (iMIP), for servers that do
not schedule (Radicale here, started on 127.0.0.1), through a real SMTP server (aiosmtpd).

Every message is read back from the SMTP server and asserted: the method, the SEQUENCE, the
time, the recipients (the customer only: the owner sees every change in their calendar), and
that the customer gets the customer's text, never the owner's notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from cadence.values.errors import UserError
from cadence.values.model import Salesperson
from connectors.base import (
    BackendContext,
    BackendError,
    Cancel,
    Create,
    EventSpec,
    MemoryState,
    TransientError,
    Update,
)
from connectors.caldav import CalDavBackend
from connectors.caldav.webdav import Collection
from connectors.ics.outbox import mailed_key, outbox_key
from tests import caldav_kit
from tests.caldav_kit import PASSWORD_ENV, SERVICE_PASSWORD, SERVICE_USER
from tests.customer_view import GUEST_NAME, START, assert_customer_safe, invited_spec
from tests.test_email_invites import Server, calendar_part, free_port, start_server
from tests.test_imip_clients import assert_client_ready

# The Radicale server (one per module), a fresh salesperson and their calendar client.
radicale, owner, person = caldav_kit.radicale, caldav_kit.owner, caldav_kit.person

GUEST = "bob@acme.com"
NOW = datetime(2027, 4, 1, 12, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port)
    yield Server(port, mailbox)
    controller.stop()


def inviting_backend(server, tmp_path: Path, seller: str, smtp_port: int | None) -> CalDavBackend:
    config = {
        "url": server.url + SERVICE_USER + "/{user}/",
        "username": SERVICE_USER,
        "password_env": PASSWORD_ENV,
        "invites": True,
    }
    assert CalDavBackend.validate_config(config) == []
    smtp = {"host": "127.0.0.1", "port": smtp_port, "sender": "cadence@example.com",
            "timeout": 5} if smtp_port else {}  # fmt: skip
    context = BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(seller, name="Ana Silva", timezone="Europe/Lisbon")],
        state=MemoryState(),
        env={PASSWORD_ENV: SERVICE_PASSWORD},
        smtp=smtp,
        now=lambda: NOW,
    )
    return CalDavBackend(config, context)


@pytest.fixture
def backend(radicale, tmp_path, owner, person, smtp) -> Iterator[CalDavBackend]:
    backend = inviting_backend(radicale, tmp_path, owner, smtp.port)
    yield backend
    backend.close()


def mails(smtp: Server) -> list[tuple[str, icalendar.Event, str]]:
    """Each message delivered since the last call: (method, its VEVENT, the whole text), every
    one to the customer alone."""
    found = []
    for mail in smtp.mailbox.delivered:
        assert mail.recipients == [GUEST]
        method, cal = calendar_part(mail.message)
        assert str(cal["METHOD"]) == method
        [event] = cal.events
        found.append((method, event, mail.message.as_string()))
    smtp.mailbox.delivered.clear()
    return found


def one_mail(smtp: Server) -> tuple[str, icalendar.Event]:
    [(method, event, text)] = mails(smtp)
    assert_customer_safe(text)
    return method, event


def start_of(event: icalendar.Event) -> datetime:
    return event["DTSTART"].dt.astimezone(UTC)


def created(backend: CalDavBackend, owner: str, smtp: Server) -> EventSpec:
    spec = invited_spec(owner)
    [result] = backend.write(owner, [Create(spec)])
    assert result.ok, result.error
    return spec


def test_a_create_requests_the_customer_with_the_customer_text(backend, owner, smtp):
    spec = created(backend, owner, smtp)
    method, event = one_mail(smtp)
    assert (method, int(event["SEQUENCE"]), start_of(event)) == ("REQUEST", 0, START)
    assert str(event["DESCRIPTION"]) == spec.customer_description
    assert event["ORGANIZER"].params["CN"] == "Ana Silva"
    [guest] = [a for a in event["ATTENDEE"] if str(a).lower() == f"mailto:{GUEST}"]
    assert (guest.params["CN"], guest.params["RSVP"]) == (GUEST_NAME, "TRUE")
    assert backend.pending_invites(owner) == 0
    [again] = backend.write(owner, [Create(spec)])  # repeated: nothing new written or sent
    assert again.ok and mails(smtp) == []


def test_cadences_move_requests_again_with_a_higher_sequence_and_its_cancel_cancels(
    backend, owner, smtp
):
    spec = created(backend, owner, smtp)
    one_mail(smtp)
    moved = replace(
        spec, start=START + timedelta(days=1), end=START + timedelta(days=1, minutes=30)
    )
    [result] = backend.write(owner, [Update(moved)])
    assert result.ok and result.event is not None
    method, event = one_mail(smtp)
    assert (method, int(event["SEQUENCE"]), start_of(event)) == ("REQUEST", 1, moved.start)
    [gone] = backend.write(owner, [Cancel(owner, spec.uid, result.event.etag)])
    assert gone.ok
    method, event = one_mail(smtp)
    assert (method, int(event["SEQUENCE"]), str(event["STATUS"])) == ("CANCEL", 2, "CANCELLED")
    assert str(event["UID"]) == spec.uid


def test_the_owners_move_reaches_the_customer_once(backend, owner, person, smtp):
    spec = created(backend, owner, smtp)
    one_mail(smtp)
    later = START + timedelta(hours=3)
    person.move(owner, spec.uid, later, later + timedelta(minutes=30))
    backend.list_owned(owner)
    assert backend.notify_attendees(owner, [spec.uid]) == 1
    method, event = one_mail(smtp)
    assert (method, int(event["SEQUENCE"]), start_of(event)) == ("REQUEST", 1, later)
    assert str(event["DESCRIPTION"]) == spec.customer_description
    assert backend.notify_attendees(owner, [spec.uid]) == 0  # told already
    assert mails(smtp) == []


@pytest.mark.parametrize("change", ["delete", "decline"])
def test_the_owners_delete_or_decline_cancels_it_for_the_customer_once(
    backend, owner, person, smtp, change
):
    spec = created(backend, owner, smtp)
    one_mail(smtp)
    getattr(person, change)(owner, spec.uid)
    backend.list_owned(owner)
    assert backend.notify_attendees(owner, [spec.uid]) == 1
    method, event = one_mail(smtp)
    assert (method, int(event["SEQUENCE"]), start_of(event)) == ("CANCEL", 1, START)
    assert backend.notify_attendees(owner, [spec.uid]) == 0
    assert mails(smtp) == []


def test_an_invitation_whose_write_is_refused_is_taken_back(backend, owner, smtp, monkeypatch):
    def refused(*args, **kwargs):
        raise BackendError("PUT: 403 Forbidden")

    monkeypatch.setattr(Collection, "put", refused)
    [result] = backend.write(owner, [Create(invited_spec(owner))])
    assert isinstance(result.error, BackendError)
    state = backend.context.state
    assert state.get(outbox_key(owner, "caldav")) is None
    assert state.get(mailed_key(owner, "caldav")) is None
    assert mails(smtp) == []


def test_a_write_whose_answer_is_lost_still_invites_once(backend, owner, smtp, monkeypatch):
    put = Collection.put

    def applied_then_lost(self, *args, **kwargs):
        put(self, *args, **kwargs)
        raise TransientError("PUT: timed out")

    monkeypatch.setattr(Collection, "put", applied_then_lost)
    spec = invited_spec(owner)
    with pytest.raises(TransientError):
        backend.write(owner, [Create(spec)])
    monkeypatch.undo()
    assert mails(smtp) == []
    backend.list_owned(owner)  # the next cycle: the queued invitation goes out
    [result] = backend.write(owner, [Create(spec)])  # found written: no second message
    assert result.ok
    method, event = one_mail(smtp)
    assert (method, str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", spec.uid, 0)


def test_the_mail_server_down_keeps_the_invitation_queued_until_the_next_read(
    radicale, tmp_path, owner, person, smtp
):
    down = inviting_backend(radicale, tmp_path, owner, free_port())  # nothing listens there
    spec = invited_spec(owner)
    [result] = down.write(owner, [Create(spec)])
    assert result.ok  # the calendar write does not wait for the mail
    assert down.pending_invites(owner) == 1
    state = down.context.state
    up = inviting_backend(radicale, tmp_path, owner, smtp.port)
    up.context.state.set(outbox_key(owner, "caldav"), state.get(outbox_key(owner, "caldav")))
    up.list_owned(owner)
    method, event = one_mail(smtp)
    assert (method, str(event["UID"])) == ("REQUEST", spec.uid)
    assert up.pending_invites(owner) == 0


def test_without_invites_nothing_is_mailed_and_invites_need_smtp(radicale, tmp_path, owner, person):
    with pytest.raises(UserError, match="invites"):
        inviting_backend(radicale, tmp_path, owner, None)
    problems = CalDavBackend.validate_config({"url": radicale.url, "invites": "yes"})
    assert problems == [("invites", "expected true or false, got 'yes'")]


def test_events_without_attendees_are_not_mailed(backend, owner, smtp):
    alone = replace(invited_spec(owner), attendees=(), attendee_names={})
    assert backend.write(owner, [Create(alone)])[0].ok
    assert mails(smtp) == []
    assert json.loads(backend.context.state.get(mailed_key(owner, "caldav")) or "{}") == {}


def test_every_message_reads_as_an_invitation_in_outlook_gmail_and_thunderbird(
    backend, owner, person, smtp
):
    spec = created(backend, owner, smtp)  # cadence's create
    later = START + timedelta(days=1)
    moved = replace(spec, start=later, end=later + timedelta(minutes=30))
    assert backend.write(owner, [Update(moved)])[0].ok  # cadence's move
    person.move(owner, spec.uid, later + timedelta(hours=2), later + timedelta(hours=3))
    backend.list_owned(owner)
    assert backend.notify_attendees(owner, [spec.uid]) == 1  # the owner's move
    person.delete(owner, spec.uid)
    backend.list_owned(owner)
    assert backend.notify_attendees(owner, [spec.uid]) == 1  # the owner's delete
    other = replace(invited_spec(owner), uid="cadence-other")
    assert backend.write(owner, [Create(other)])[0].ok
    assert backend.write(owner, [Cancel(owner, other.uid)])[0].ok  # cadence's cancel
    sent = smtp.mailbox.delivered
    assert [calendar_part(m.message)[0] for m in sent] == [
        "REQUEST", "REQUEST", "REQUEST", "CANCEL", "REQUEST", "CANCEL"
    ]  # fmt: skip
    for mail in sent:
        assert_client_ready(mail, owner)
