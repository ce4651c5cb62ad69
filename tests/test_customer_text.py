"""The text an invited customer reads: the policy's, per kind, and nothing internal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cadence.inputs.policy import SegmentPolicy
from cadence.sync.event_text import event_spec
from cadence.values.model import BookingKind, Customer, PlannedContact, Salesperson
from tests import planning

START = datetime(2027, 5, 4, 10, tzinfo=UTC)


def planned(kind: BookingKind) -> PlannedContact:
    day = START.date()
    return PlannedContact(
        key=f"C-1:{kind.value}:1", customer_id="C-1", customer_name="ACME Ltd",
        owner="ana@example.com", kind=kind, seq=1, title="Check-in: ACME Ltd", start=START,
        end=START.replace(hour=11), all_day=False, day=day, ideal=day, window_start=day,
        window_end=day, reasons=("every 6 weeks -> ideal 2027-05-03",),
    )  # fmt: skip


def test_an_invited_customer_reads_the_policy_text_for_the_kind_with_names_filled_in():
    customer = Customer(id="C-1", name="ACME Ltd", owner="ana@example.com",
                        emails=("bob@acme.com",))  # fmt: skip
    person = Salesperson("ana@example.com", name="Ana Silva")
    policy = replace(SegmentPolicy(name="gold", invite_customer=True),
                     onboarding_customer_description="Getting started with {salesperson}, "
                     "{customer}.")  # fmt: skip
    check_in = event_spec(planned(BookingKind.CHECK_IN), customer, person, policy, None)
    assert check_in.customer_description == (
        "A short catch-up with Ana Silva: how things are going at ACME Ltd, and anything we "
        "can help with."
    )
    for internal in ("C-1", "gold", "ideal", policy.agenda):
        assert internal not in check_in.customer_description
        assert internal in check_in.description or internal == "ideal"
    onboarding = event_spec(planned(BookingKind.ONBOARDING), customer, person, policy, None)
    assert onboarding.customer_description == "Getting started with Ana Silva, ACME Ltd."
    # The invitation names the attendee: the customer file gives no person, so the company.
    assert check_in.attendee_names == {"bob@acme.com": "ACME Ltd"}


def test_no_customer_text_without_an_invitation():
    customer = Customer(id="C-1", name="ACME Ltd", owner="ana@example.com",
                        emails=("bob@acme.com",))  # fmt: skip
    spec = event_spec(planned(BookingKind.CHECK_IN), customer,
                      Salesperson("ana@example.com"), SegmentPolicy(), None)  # fmt: skip
    assert spec.attendees == () and spec.customer_description == ""


def test_a_later_check_in_of_a_chain_counts_from_the_booking_before_it_in_words_too():
    acme = planning.customer()
    contacts = [planning.contact("c1", "2026-11-02T10:00")]
    result = planning.run([acme], contacts=contacts, horizon_days=90)
    first, second, *_ = planning.of(result, kind="check_in")
    assert first.reasons[0].startswith("last contact 2026-11-02;")
    assert second.reasons[0].startswith(f"previous booking {first.day};")
    note = result.notes["c1"]
    text = event_spec(second, acme, planning.ANA, planning.segment(), note).description
    assert "Last contact: 2026-11-02" in text
    assert f"Why now: previous booking {first.day};" in text


def test_a_video_url_fills_in_the_booking_and_shows_in_location_and_both_texts():
    customer = Customer(id="C-1", name="ACME Ltd", owner="ana@example.com",
                        emails=("bob@acme.com",))  # fmt: skip
    person = Salesperson("ana.silva@example.com", name="Ana Silva")
    policy = SegmentPolicy(name="gold", invite_customer=True, video="url",
                           video_url="https://v.example.com/{salesperson}/{booking}")  # fmt: skip
    spec = event_spec(planned(BookingKind.CHECK_IN), customer, person, policy, None)
    link = f"https://v.example.com/ana.silva/{spec.uid}"
    assert (spec.location, spec.video) == (link, "")
    assert spec.description.startswith(f"Video: {link}\n\nCustomer: ACME Ltd")
    assert spec.customer_description.startswith(f"Video: {link}\n\nA short catch-up")
    plain = event_spec(planned(BookingKind.CHECK_IN), customer, person,
                       replace(policy, video=""), None)  # fmt: skip
    assert plain.tags["spec"] != spec.tags["spec"]  # adding a link rewrites the event


def test_meet_and_teams_are_left_to_the_provider_and_reminders_get_no_video():
    customer = Customer(id="C-1", name="ACME Ltd", owner="ana@example.com")
    person = Salesperson("ana@example.com")
    for video in ("meet", "teams"):
        spec = event_spec(planned(BookingKind.CHECK_IN), customer, person,
                          SegmentPolicy(video=video), None)  # fmt: skip
        assert (spec.video, spec.location) == (video, "")
        assert "Video" not in spec.description
    reminder = event_spec(planned(BookingKind.ANNIVERSARY_REMINDER), customer, person,
                          SegmentPolicy(video="meet"), None)  # fmt: skip
    assert (reminder.video, reminder.location) == ("", "")
