"""An invited booking as the cycle builds it, and what must never reach its customer.

Every backend that invites writes :func:`invited_spec`; its tests then assert that what an
attendee is sent (the description the provider mails, the attendee's copy) passes
:func:`assert_customer_safe`, and that the owner's notes are still kept for the owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cadence.inputs.policy import SegmentPolicy
from cadence.sync.event_text import event_spec
from cadence.values.model import BookingKind, Customer, PlannedContact, Salesperson
from connectors.base import EventSpec

START = datetime(2027, 5, 4, 10, tzinfo=UTC)  # a Tuesday
CUSTOMER_ID = "C-7731"
SEGMENT = "gold-accounts"
PLAYBOOK = "Listen more than you talk: aim to speak no more than about 30% of the time."
GUEST_NAME = "Bob Stone"  # the customer file's "Bob Stone <bob@acme.com>"
REASON = "every 6 weeks -> ideal 2027-05-03"
# What only the salesperson may read: the internal id, the segment, the reasons, the playbook.
INTERNAL = (CUSTOMER_ID, SEGMENT, "Why now", REASON, PLAYBOOK, "X-CADENCE")


def invited_spec(
    owner: str, *, timezone: str = "Europe/Lisbon", agenda: str = PLAYBOOK
) -> EventSpec:
    """The check-in the cycle writes for a customer the policy invites, owned by ``owner``."""
    day = START.date()
    planned = PlannedContact(
        key=f"{CUSTOMER_ID}:check_in:1", customer_id=CUSTOMER_ID, customer_name="ACME Ltd",
        owner=owner, kind=BookingKind.CHECK_IN, seq=1, title="Check-in: ACME Ltd", start=START,
        end=START.replace(minute=30), all_day=False, day=day, ideal=day, window_start=day,
        window_end=day, reasons=(REASON,),
    )  # fmt: skip
    customer = Customer(id=CUSTOMER_ID, name="ACME Ltd", owner=owner, emails=("bob@acme.com",),
                        email_names=(("bob@acme.com", GUEST_NAME),))  # fmt: skip
    person = Salesperson(owner, name="Ana Silva", timezone=timezone)
    policy = replace(SegmentPolicy(name=SEGMENT, invite_customer=True), agenda=agenda)
    spec = event_spec(planned, customer, person, policy, None)
    assert spec.attendees == ("bob@acme.com",)
    assert spec.attendee_names == {"bob@acme.com": GUEST_NAME}
    for internal in INTERNAL[:-1]:
        assert internal in spec.description  # the owner's notes have it all
    return spec


def assert_customer_safe(text: str) -> None:
    """``text`` (what an attendee receives) holds none of cadence's internal notes."""
    for internal in INTERNAL:
        assert internal.lower() not in text.lower(), f"{internal!r} reaches the customer"
