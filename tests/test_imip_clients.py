"""Every iMIP message the .ics backend sends, read the way real clients read it (the CalDAV
backend's, with ``invites = true``, go through :func:`assert_client_ready` in
``tests/test_caldav_invites.py``, next to its Radicale server).

A day of bookings and changes goes through a real SMTP server (aiosmtpd) on 127.0.0.1; each
message delivered is parsed by Python's ``email`` package, by ``icalendar`` (any property it
could not read is an error here) and by ``vobject`` (a second, independent parser, validating),
and must have the structure Outlook, Gmail and Thunderbird need to show it as an invitation:
the text/calendar part's ``method`` equals the calendar's METHOD, an ORGANIZER, every customer
an ATTENDEE with ``RSVP=TRUE`` on a REQUEST, exactly one VEVENT and the VTIMEZONEs its TZIDs
name (no more, no fewer).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import date

import icalendar
import pytest
import vobject

from connectors.base import Cancel, Create, Update
from tests.contract.suite import at, only, spec_for
from tests.test_email_invites import (
    OWNER,
    Delivered,
    Server,
    free_port,
    invite_backend,
    start_server,
)
from tests.test_invites_follow_owner import GUEST, booked, decline, delete, edit_file, move_to

TIMED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "DUE")


@pytest.fixture
def smtp() -> Iterator[Server]:
    port = free_port()
    controller, mailbox = start_server(port)
    yield Server(port, mailbox)
    controller.stop()


def every_kind_of_message(tmp_path, smtp) -> list[Delivered]:
    """What the backend mails over a day: new bookings (invited, owner-only, all-day), cadence's
    move and cancel, and the owner's move, delete and decline told to the customer."""
    backend, uid = booked(tmp_path / "a", smtp)  # an invited booking, its mails cleared
    sent: list[Delivered] = []
    only(backend.write(OWNER, [Update(spec_for(OWNER, attendees=(GUEST,), start=at(5, 9),
                                               end=at(5, 9, 30)))]))  # fmt: skip
    edit_file(backend, move_to(at(6, 14)))
    assert backend.notify_attendees(OWNER, [uid]) == 1
    edit_file(backend, delete)
    assert backend.notify_attendees(OWNER, [uid]) == 1
    sent += smtp.mailbox.delivered
    smtp.mailbox.delivered.clear()

    other, declined = booked(tmp_path / "b", smtp)
    edit_file(other, decline)
    assert other.notify_attendees(OWNER, [declined]) == 1
    alone = spec_for(OWNER, uid="cadence-alone", start=at(7, 9), end=at(7, 9, 30))
    all_day = spec_for(OWNER, uid="cadence-day", all_day=True, start=date(2027, 5, 10),
                       end=date(2027, 5, 11), attendees=(GUEST,))  # fmt: skip
    invited = spec_for(OWNER, uid="cadence-invited", attendees=(GUEST,))
    for spec in (alone, all_day, invited):
        only(other.write(OWNER, [Create(spec)]))
    [cancelled] = other.write(OWNER, [Cancel(OWNER, "cadence-invited")])
    assert cancelled.ok
    return sent + smtp.mailbox.delivered


def methods_and_recipients(sent: list[Delivered]) -> set[tuple[str, str]]:
    return {(calendar_of(m)[0].get_param("method"), m.recipients[0]) for m in sent}


def calendar_of(mail: Delivered) -> tuple[email.message.EmailMessage, bytes]:
    [part] = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
    return part, part.get_payload(decode=True)


def test_the_day_covers_every_kind_of_imip_message(tmp_path, smtp):
    sent = every_kind_of_message(tmp_path, smtp)
    assert methods_and_recipients(sent) == {
        ("PUBLISH", OWNER),
        ("REQUEST", GUEST),
        ("CANCEL", GUEST),
        ("CANCEL", OWNER),  # cadence's own cancel takes the owner's published copy away too
    }
    assert len(sent) >= 10


def test_every_imip_message_reads_as_an_invitation_in_outlook_gmail_and_thunderbird(tmp_path, smtp):
    for mail in every_kind_of_message(tmp_path, smtp):
        assert_client_ready(mail)


def assert_client_ready(mail: Delivered, owner: str = OWNER) -> None:
    """``mail`` (an iMIP message ``owner`` organizes) reads as an invitation in real clients."""
    # The e-mail: parsed again from its bytes, without defects, a text/plain alternative.
    raw = mail.message.as_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/calendar"]
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_charset() == "utf-8"
    data = part.get_payload(decode=True)

    # icalendar: nothing it could not read.
    cal = icalendar.Calendar.from_ical(data)
    for component in cal.walk():
        assert not component.errors, (component.name, component.errors)
    method = str(cal["METHOD"])
    assert part.get_param("method") == method  # Outlook and Gmail compare the two
    assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
    [event] = cal.walk("VEVENT")  # exactly one
    for name in ("UID", "DTSTAMP", "DTSTART", "SEQUENCE", "ORGANIZER"):
        assert name in event, f"{method} without {name}"
    organizer = event["ORGANIZER"]
    assert str(organizer).lower() == f"mailto:{owner}" and organizer.params.get("CN")
    attendees = event.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    customers = [a for a in attendees if str(a).lower() != f"mailto:{owner}"]
    if method == "REQUEST":
        assert customers and mail.recipients == [str(customers[0])[len("mailto:") :]]
        for attendee in customers:
            assert attendee.params.get("RSVP") == "TRUE"
            assert attendee.params.get("PARTSTAT") == "NEEDS-ACTION"
    if method == "CANCEL":
        assert str(event["STATUS"]) == "CANCELLED"
        assert customers or mail.recipients == [owner]
    if method == "PUBLISH":
        assert mail.recipients == [owner]
        assert all(a.params.get("RSVP") != "TRUE" for a in attendees)  # no reply to oneself
    # The VTIMEZONEs are exactly those the event's times name.
    named = {
        str(value.params["TZID"])
        for key in TIMED
        for value in (event.get(key) if isinstance(event.get(key), list) else [event.get(key)])
        if value is not None and "TZID" in value.params
    }
    given = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert sorted(given) == sorted(named), (method, given, named)

    # vobject: an independent parser, validating what it knows of RFC 5545.
    parsed = vobject.readOne(data.decode("utf-8"), validate=True)
    assert parsed.method.value == method
    assert len(parsed.contents["vevent"]) == 1
    assert len(parsed.contents.get("vtimezone", [])) == len(named)
    vevent = parsed.vevent
    assert vevent.uid.value == str(event["UID"])
    assert vevent.dtstart.value == event["DTSTART"].dt


def test_a_video_link_reaches_the_customer_in_location_and_description(tmp_path, smtp):
    link = "https://video.example.com/ana/acme"
    backend = invite_backend(tmp_path, smtp.port)
    meeting = spec_for(OWNER, attendees=(GUEST,), location=link,
                       description=f"Video: {link}\n\nWhy now: every 6 weeks",
                       customer_description=f"Video: {link}\n\nA short catch-up.")  # fmt: skip
    only(backend.write(OWNER, [Create(meeting)]))
    mine, theirs = smtp.mailbox.delivered
    for mail in (mine, theirs):
        assert_client_ready(mail)
    [event] = icalendar.Calendar.from_ical(calendar_of(theirs)[1]).walk("VEVENT")
    assert str(event["LOCATION"]) == link
    assert str(event["DESCRIPTION"]) == f"Video: {link}\n\nA short catch-up."
    assert link in theirs.message.get_body(("plain",)).get_content()
