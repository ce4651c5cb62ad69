"""What goes into a calendar for a planned contact: the event's title, description, tags and
alarms (:func:`event_spec`), and the fingerprint of what makes an event need rewriting
(:func:`spec_hash`; :func:`details_hash` is the same fingerprint without the event, for every
booking the decision keeps). Pure: used by the cycle to write and by ``cadence check`` to try."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from cadence.inputs.policy import agenda_of, customer_description_of
from cadence.sync.reconcile import SPEC_TAG, uid_for
from cadence.values.model import BookingKind, Customer, CustomerStatus, PlannedContact, Salesperson
from connectors.base import EventSpec, with_video_link


def event_spec(
    p: PlannedContact, customer: Customer, person: Salesperson, policy: Any, note: Any
) -> EventSpec:
    """The calendar event for a planned contact: title, description, tags, alarms."""
    reminder = p.kind is BookingKind.ANNIVERSARY_REMINDER
    attendees = _attendees(p, customer, policy)
    uid = uid_for(p.key)
    link = "" if reminder else video_link(policy, uid, person)
    description = describe(p, customer, policy, note)
    customer_text = for_customer(p, customer, person, policy) if attendees else ""
    if link:
        description = with_link(description, link)
        customer_text = with_link(customer_text, link) if attendees else ""
    video = _video(p, policy)
    # The fingerprint travels with the event, so a rewrite can be confirmed by reading it back:
    # spec_hash of the event below, from the same values (no second event built to add it).
    fingerprint = _fingerprint(p.title, p.all_day, reminder, attendees, link, video)
    return EventSpec(
        uid=uid,
        owner=p.owner,
        title=p.title,
        description=description,
        start=p.start,
        end=p.end,
        all_day=p.all_day,
        transparent=reminder,
        timezone=person.timezone,
        attendees=attendees,
        attendee_names={a: customer.display_name(a) for a in attendees},
        reminder_minutes=() if reminder else policy.reminder_minutes,
        tags={"customer": customer.id, "kind": p.kind.value, "key": p.key, SPEC_TAG: fingerprint},
        customer_description=customer_text,
        location=link,
        video=video,
    )


def _attendees(p: PlannedContact, customer: Customer, policy: Any) -> tuple[str, ...]:
    """Who is invited: the customer's addresses when the policy invites an active customer
    (never to an anniversary reminder)."""
    reminder = p.kind is BookingKind.ANNIVERSARY_REMINDER
    if policy.invite_customer and not reminder and customer.status is CustomerStatus.ACTIVE:
        return customer.emails
    return ()


def _video(p: PlannedContact, policy: Any) -> str:
    """The video meeting the provider makes ("meet", "teams"), or ``""``."""
    if p.kind is BookingKind.ANNIVERSARY_REMINDER or policy.video == "url":
        return ""
    video: str = policy.video
    return video


def describe(p: PlannedContact, customer: Customer, policy: Any, note: Any) -> str:
    """The event description: who, the last contact, why now, and the agenda."""
    last = getattr(note, "last_day", None)
    lines = [
        f"Customer: {customer.name} ({customer.id}, segment {policy.name})",
        f"Last contact: {last}" if last else "Last contact: none on record",
        "Why now: " + "; ".join(p.reasons),
    ]
    if customer.emails:
        lines.append("Contact: " + ", ".join(customer.emails))
    if p.kind is not BookingKind.ANNIVERSARY_REMINDER:
        lines += ["", "Agenda:", agenda_of(policy, p.kind)]
    lines += [
        "",
        "Booked by cadence. Move, decline or delete it like any meeting: cadence "
        "keeps your changes.",
    ]
    return "\n".join(lines)


def for_customer(p: PlannedContact, customer: Customer, person: Salesperson, policy: Any) -> str:
    """What an invited customer reads: the policy's ``customer_description`` for the kind,
    with ``{customer}`` and ``{salesperson}`` filled in. No ids, segment, reasons or agenda."""
    text = customer_description_of(policy, p.kind)
    name = person.name or person.email
    return text.replace("{customer}", customer.name).replace("{salesperson}", name)


def video_link(policy: Any, uid: str, person: Salesperson) -> str:
    """The link of ``video = "url"``: ``video_url`` with ``{booking}`` (the booking's uid) and
    ``{salesperson}`` (the local part of their address) filled in, URL-quoted; else ``""``
    (Meet and Teams links are made by the provider when the event is written)."""
    if policy.video != "url" or not policy.video_url:
        return ""
    local = person.email.partition("@")[0]
    return policy.video_url.replace("{booking}", quote(uid, safe="")).replace(
        "{salesperson}", quote(local, safe="")
    )


def with_link(text: str, link: str) -> str:
    """``text`` with the video link on a line of its own at the top."""
    return with_video_link(text, link)


def spec_hash(spec: EventSpec) -> str:
    """What, besides its time, makes an event need rewriting: title, attendees, free/busy
    (not the description's prose, and not the time, which the diff compares itself)."""
    return _fingerprint(
        spec.title, spec.all_day, spec.transparent, spec.attendees, spec.location, spec.video
    )


def details_hash(p: PlannedContact, customer: Customer, person: Salesperson, policy: Any) -> str:
    """``spec_hash(event_spec(p, customer, person, policy, note))`` without building the event
    (its description and texts, which the fingerprint leaves out): the decision compares it
    for every booking kept, tens of thousands a cycle."""
    reminder = p.kind is BookingKind.ANNIVERSARY_REMINDER
    link = "" if reminder else video_link(policy, uid_for(p.key), person)
    attendees = _attendees(p, customer, policy)
    return _fingerprint(p.title, p.all_day, reminder, attendees, link, _video(p, policy))


def _fingerprint(
    title: str,
    all_day: bool,
    transparent: bool,
    attendees: tuple[str, ...],
    location: str,
    video: str,
) -> str:
    text = repr((title, all_day, transparent, attendees))
    if location or video:  # unchanged for bookings without video
        text += repr((location, video))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
