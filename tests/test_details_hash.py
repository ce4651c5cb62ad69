"""The decision's fingerprint of a kept booking (:func:`details_hash`) is the event's own
(``spec_hash(event_spec(...))``), for every kind, status, invitation and video setting: the
decision compares it for every booking kept without building the event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cadence.inputs.policy import SegmentPolicy
from cadence.sync.event_text import details_hash, event_spec, spec_hash
from cadence.values.model import (
    BookingKind,
    Customer,
    CustomerStatus,
    PlannedContact,
    Salesperson,
)

START = datetime(2027, 5, 4, 10, tzinfo=UTC)
texts = st.text(max_size=12)
addresses = st.lists(st.emails(), max_size=3, unique=True).map(tuple)


@st.composite
def cases(draw: st.DrawFn) -> tuple[PlannedContact, Customer, Salesperson, SegmentPolicy]:
    kind = draw(st.sampled_from(BookingKind))
    all_day = draw(st.booleans())
    day = START.date()
    start: datetime | date = day if all_day else START
    end: datetime | date = day + timedelta(days=1) if all_day else START + timedelta(hours=1)
    planned = PlannedContact(
        key=f"C-1:{kind.value}:{draw(st.integers(0, 9))}", customer_id="C-1",
        customer_name="ACME", owner="ana@example.com", kind=kind, seq=1, title=draw(texts),
        start=start, end=end, all_day=all_day, day=day, ideal=day, window_start=day,
        window_end=day, reasons=tuple(draw(st.lists(texts, max_size=2))),
    )  # fmt: skip
    customer = Customer(
        id="C-1", name=draw(texts), owner="ana@example.com", emails=draw(addresses),
        status=draw(st.sampled_from(CustomerStatus)),
    )  # fmt: skip
    person = Salesperson(draw(st.sampled_from(["ana@example.com", "a.b+c@example.com"])))
    policy = replace(
        SegmentPolicy(name="gold"),
        invite_customer=draw(st.booleans()),
        video=draw(st.sampled_from(["", "meet", "teams", "url"])),
        video_url=draw(st.sampled_from(["", "https://v.example/{booking}/{salesperson}"])),
    )
    return planned, customer, person, policy


@given(cases())
def test_the_kept_bookings_fingerprint_is_the_events_own(
    case: tuple[PlannedContact, Customer, Salesperson, SegmentPolicy],
) -> None:
    planned, customer, person, policy = case
    spec = event_spec(planned, customer, person, policy, None)
    assert details_hash(planned, customer, person, policy) == spec_hash(spec)
    assert spec.tags["spec"] == spec_hash(spec)
