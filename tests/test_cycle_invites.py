"""A whole cycle with invited customers: what the salesperson does to a booking in their .ics
calendar reaches the customer by e-mail (a real SMTP server on 127.0.0.1), once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cadence.sync.workspace import Workspace
from connectors.base import RemoteEvent
from tests.test_backend_ics import IcsPerson
from tests.test_email_invites import Server, calendar_part, free_port, start_server
from tests.workspace_kit import ANA, NOW, POLICIES, customer_row, write_workspace

CUSTOMER = "buyer@c1.example"


@pytest.fixture
def smtp() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port)
    yield Server(port, mailbox)
    controller.stop()


@pytest.fixture
def world(tmp_path: Path, smtp: Server) -> Iterator[tuple[Workspace, IcsPerson]]:
    policies = dict(POLICIES)
    policies["defaults.toml"] += "invite_customer = true\n"
    config = write_workspace(tmp_path, [customer_row("C1")], backend="ics", policies=policies)
    text = config.read_text(encoding="utf-8").replace("invites = false", "invites = true")
    text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsender = "cadence@example.com"\n'
    config.write_text(text, encoding="utf-8")
    ws = Workspace.open(config)
    ws.backend("ics").context.now = lambda: NOW  # the backend's clock is the cycle's
    yield ws, IcsPerson(tmp_path / "calendars")
    ws.close()


def to_customer(smtp: Server) -> list[tuple[str, int, str]]:
    """(method, SEQUENCE, uid) of each message the customer received, in order."""
    found = []
    for mail in smtp.mailbox.delivered:
        if mail.recipients == [CUSTOMER]:
            method, cal = calendar_part(mail.message)
            [event] = cal.events
            found.append((method, int(event["SEQUENCE"]), str(event["UID"])))
    return found


def first_booking(ws: Workspace) -> RemoteEvent:
    return min(ws.backend("ics").list_owned(ANA), key=lambda e: e.start)


def about(uid: str, sent: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    return [(method, sequence) for method, sequence, u in sent if u == uid]


@pytest.mark.parametrize("refusal", ["delete", "decline"])
def test_a_refused_booking_is_cancelled_for_the_customer_once(world, smtp, refusal) -> None:
    ws, person = world
    ws.run_cycle(NOW)
    booked = {u for _, _, u in to_customer(smtp)}
    uid = first_booking(ws).uid
    assert about(uid, to_customer(smtp)) == [("REQUEST", 0)]
    getattr(person, refusal)(ANA, uid)
    ws.run_cycle(NOW + timedelta(hours=1))
    ws.run_cycle(NOW + timedelta(hours=2))
    sent = to_customer(smtp)
    assert about(uid, sent) == [("REQUEST", 0), ("CANCEL", 1)]
    # The replacement cadence booked is a new invitation under a new uid.
    new = {u for _, _, u in sent} - booked
    assert len(new) == 1 and about(new.pop(), sent) == [("REQUEST", 0)]


def test_a_booking_moved_by_the_salesperson_is_sent_again_at_its_new_time(world, smtp) -> None:
    ws, person = world
    ws.run_cycle(NOW)
    event = first_booking(ws)
    assert isinstance(event.start, datetime)
    new_start = event.start + timedelta(days=1, hours=2)
    person.move(ANA, event.uid, new_start, new_start + timedelta(minutes=30))
    ws.run_cycle(NOW + timedelta(hours=1))
    ws.run_cycle(NOW + timedelta(hours=2))
    assert about(event.uid, to_customer(smtp)) == [("REQUEST", 0), ("REQUEST", 1)]
    [mail] = [
        m.message
        for m in smtp.mailbox.delivered
        if m.recipients == [CUSTOMER]
        and calendar_part(m.message)[1].events[0]["SEQUENCE"] == 1
        and str(calendar_part(m.message)[1].events[0]["UID"]) == event.uid
    ]
    [sent] = calendar_part(mail)[1].events
    assert sent["DTSTART"].dt == new_start
    text = mail.as_string()
    for internal in ("(C1", "segment", "Why now", "Agenda", "X-CADENCE"):
        assert internal not in text


def test_invitations_waiting_for_the_mail_server_go_out_once_it_is_back(tmp_path, smtp) -> None:
    # The mail server is down for three cycles (the last ones find nothing to change, so the
    # salesperson could be left alone from then on); when it is back, the next cycle sends.
    policies = dict(POLICIES)
    policies["defaults.toml"] += "invite_customer = true\n"
    config = write_workspace(tmp_path, [customer_row("C1")], backend="ics", policies=policies)
    port = free_port()  # nothing listens there yet
    text = config.read_text(encoding="utf-8").replace("invites = false", "invites = true")
    text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsender = "cadence@example.com"\n'
    config.write_text(text, encoding="utf-8")
    ws = Workspace.open(config)
    try:
        for minutes in (0, 15, 30):
            ws.run_cycle(NOW + timedelta(minutes=minutes))
        assert ws.backend("ics").pending_invites(ANA) > 0
        controller, mailbox = start_server(port)
        try:
            ws.run_cycle(NOW + timedelta(minutes=45))
        finally:
            controller.stop()
        assert ws.backend("ics").pending_invites(ANA) == 0
        assert {m.recipients[0] for m in mailbox.delivered} == {ANA, CUSTOMER}
    finally:
        ws.close()
