"""What the salesperson does to an invited booking in their calendar reaches the customer:
a move as a REQUEST with a higher SEQUENCE, a delete or a decline as a CANCEL, each once.
Delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import icalendar
import pytest

from connectors.base import Create, Update
from connectors.ics import IcsBackend
from tests.contract.suite import at, only, spec_for
from tests.test_email_invites import (
    OWNER,
    Server,
    calendar_part,
    context_for,
    free_port,
    invite_backend,
    start_server,
)

GUEST = "bob@customer.com"


@pytest.fixture
def smtp() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port)
    yield Server(port, mailbox)
    controller.stop()


def booked(tmp_path, smtp) -> tuple[IcsBackend, str]:
    backend = invite_backend(tmp_path, smtp.port)
    spec = spec_for(OWNER, attendees=(GUEST,), description="Why now: every 6 weeks")
    only(backend.write(OWNER, [Create(spec)]))
    smtp.mailbox.delivered.clear()
    return backend, spec.uid


def edit_file(backend: IcsBackend, change) -> None:
    """Change the owner's file as a calendar application would (not through cadence)."""
    path = backend.path_for(OWNER)
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    change(cal)
    path.write_bytes(cal.to_ical())


def move_to(start: datetime):
    def change(cal):
        [event] = cal.events
        length = event["DTEND"].dt - event["DTSTART"].dt
        for name, value in (("DTSTART", start), ("DTEND", start + length)):
            event.pop(name)
            event.add(name.lower(), value)

    return change


def delete(cal) -> None:
    cal.subcomponents[:] = [c for c in cal.subcomponents if c.name != "VEVENT"]


def decline(cal) -> None:
    [event] = cal.events
    for attendee in event["ATTENDEE"]:
        if str(attendee).lower() == f"mailto:{OWNER}":
            attendee.params["PARTSTAT"] = "DECLINED"


def only_mail(smtp):
    [mail] = smtp.mailbox.delivered
    assert mail.recipients == [GUEST]  # the owner made the change: only the customer is told
    method, cal = calendar_part(mail.message)
    [event] = cal.events
    return method, event


def test_a_move_by_the_owner_mails_the_customer_a_request_with_a_higher_sequence(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    edit_file(backend, move_to(at(6, 14)))
    assert backend.notify_attendees(OWNER, [uid]) == 1
    method, event = only_mail(smtp)
    assert method == "REQUEST"
    assert (event["DTSTART"].dt, int(event["SEQUENCE"])) == (at(6, 14), 1)
    assert "DESCRIPTION" not in event  # the owner's notes stay theirs


def test_a_delete_by_the_owner_mails_the_customer_a_cancel(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    edit_file(backend, delete)
    assert backend.notify_attendees(OWNER, [uid]) == 1
    method, event = only_mail(smtp)
    assert (method, str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCEL", "CANCELLED", 1)
    assert event["DTSTART"].dt == at(4, 10)


def test_a_decline_by_the_owner_mails_the_customer_a_cancel(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    edit_file(backend, decline)
    assert backend.notify_attendees(OWNER, [uid]) == 1
    method, event = only_mail(smtp)
    assert (method, int(event["SEQUENCE"])) == ("CANCEL", 1)


def test_each_change_is_told_once_however_often_it_is_seen(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    edit_file(backend, move_to(at(6, 14)))
    assert backend.notify_attendees(OWNER, [uid]) == 1
    assert backend.notify_attendees(OWNER, [uid]) == 0  # a crash, a repeat: nothing more
    edit_file(backend, delete)
    assert backend.notify_attendees(OWNER, [uid]) == 1
    assert backend.notify_attendees(OWNER, [uid]) == 0
    sent = [(calendar_part(m.message)[0], int(calendar_part(m.message)[1].events[0]["SEQUENCE"]))
            for m in smtp.mailbox.delivered]  # fmt: skip
    assert sent == [("REQUEST", 1), ("CANCEL", 2)]


def test_an_event_at_the_time_the_customer_knows_mails_nothing(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    assert backend.notify_attendees(OWNER, [uid]) == 0
    assert smtp.mailbox.delivered == []


def test_a_past_meeting_deleted_long_after_is_not_cancelled(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    later = at(4, 10) + timedelta(days=2)
    backend.context.now = lambda: later
    backend.write(OWNER, [Create(spec_for(OWNER, uid="cadence-other", start=at(8, 10),
                                          end=at(8, 11), attendees=(GUEST,)))])  # fmt: skip
    smtp.mailbox.delivered.clear()
    edit_file(backend, lambda cal: cal.subcomponents.remove(
        next(e for e in cal.events if str(e["UID"]) == uid)))  # fmt: skip
    assert backend.notify_attendees(OWNER, [uid]) == 0
    assert smtp.mailbox.delivered == []


def test_without_invitations_nothing_is_sent(tmp_path):
    backend = IcsBackend({}, context_for(tmp_path, 1))
    assert backend.notify_attendees(OWNER, ["cadence-anything"]) == 0


def test_cadence_s_own_move_is_not_announced_twice(tmp_path, smtp):
    backend, uid = booked(tmp_path, smtp)
    moved = spec_for(OWNER, attendees=(GUEST,), start=at(6, 14), end=at(6, 14, 30))
    only(backend.write(OWNER, [Update(moved)]))
    assert len(smtp.mailbox.delivered) == 2  # the owner's PUBLISH, the customer's REQUEST
    assert backend.notify_attendees(OWNER, [uid]) == 0


# -- what the customer reads ----------------------------------------------------------------


def test_the_customer_reads_the_customer_text_and_the_owner_keeps_the_notes(tmp_path, smtp):
    backend = invite_backend(tmp_path, smtp.port)
    notes = "Customer: ACME Ltd (C-1, segment gold)\nWhy now: every 6 weeks\nAgenda:\nListen more"
    spec = spec_for(OWNER, attendees=(GUEST,), description=notes,
                    customer_description="A short catch-up with Ana Silva.",
                    attendee_names={GUEST: "Bob Stone"})  # fmt: skip
    only(backend.write(OWNER, [Create(spec)]))
    mine, theirs = smtp.mailbox.delivered
    [own] = calendar_part(mine.message)[1].events
    assert str(own["DESCRIPTION"]) == notes
    [event] = calendar_part(theirs.message)[1].events
    assert str(event["DESCRIPTION"]) == "A short catch-up with Ana Silva."
    # The customer is named, in the invitation and on the envelope.
    [guest] = [a for a in event["ATTENDEE"] if str(a).lower() == f"mailto:{GUEST}"]
    assert guest.params["CN"] == "Bob Stone"
    assert theirs.message["To"] == f"Bob Stone <{GUEST}>"
    text = theirs.message.as_string()
    for secret in ("C-1", "segment", "Why now", "Listen more", "X-CADENCE"):
        assert secret not in text
    # The owner's file keeps both.
    cal = icalendar.Calendar.from_ical(backend.path_for(OWNER).read_bytes())
    [stored] = cal.events
    assert str(stored["DESCRIPTION"]) == notes
    assert str(stored["X-CADENCE-CUSTOMER-DESCRIPTION"]) == "A short catch-up with Ana Silva."
