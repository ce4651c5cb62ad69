"""Reading ahead on Google: everyone's first read in one batch request, each read taking its
answer as its first attempt (connectors.google.client.GoogleClient.read_ahead)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import AuthError, Create, EventSpec, TransientError
from connectors.google import GoogleBackend
from tests.google_fake import FakeGoogle, Person
from tests.google_fake.harness import Sleeps, context_for, service_account_config

ANA = "ana@example.com"
BOB = "bob@example.com"
NOW = datetime(2027, 5, 3, 8, tzinfo=UTC)
FLOOR = NOW - timedelta(days=90)


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    for user in (ANA, BOB):
        server.add_user(user)
    yield server
    server.stop()


def make_backend(fake: FakeGoogle, folder: Path) -> GoogleBackend:
    folder.mkdir(parents=True, exist_ok=True)
    config = service_account_config(fake, folder, max_retries=3)
    return GoogleBackend(config, context_for(folder, [ANA, BOB], sleeps=Sleeps()))


@pytest.fixture
def backend(fake: FakeGoogle, tmp_path: Path) -> Iterator[GoogleBackend]:
    made = make_backend(fake, tmp_path / "ahead")
    yield made
    made.close()


def booking(owner: str, day: int) -> Create:
    start = NOW + timedelta(days=day, hours=2)
    return Create(
        EventSpec(
            uid=f"{owner.split('@')[0]}:check_in:{day}",
            owner=owner,
            title="Check-in",
            description="",
            start=start,
            end=start + timedelta(minutes=30),
            tags={"customer": owner.split("@")[0]},
        )
    )


def calendars_with_bookings_and_meetings(fake: FakeGoogle, backend: GoogleBackend) -> None:
    person = Person(fake)
    for owner in (ANA, BOB):
        assert all(r.ok for r in backend.write(owner, [booking(owner, 3), booking(owner, 5)]))
        met = NOW - timedelta(days=2)
        person.add_event(owner, met, met + timedelta(hours=1), attendees=[f"buyer@{owner}.test"])
    backend.forget_sync(ANA)
    backend.forget_sync(BOB)  # their first reads are full reads again


def reads(backend: GoogleBackend) -> dict[str, tuple[list[str], list[str]]]:
    """What each salesperson's two reads return: their bookings, their past meetings."""
    return {
        owner: (
            sorted(e.uid for e in backend.list_owned(owner)),
            [e.remote_id for e in backend.new_past_events(owner, FLOOR, NOW)],
        )
        for owner in (ANA, BOB)
    }


def test_everyones_first_reads_go_in_one_batch_and_return_what_they_would_alone(
    fake: FakeGoogle, backend: GoogleBackend, tmp_path: Path
) -> None:
    calendars_with_bookings_and_meetings(fake, backend)
    alone = make_backend(fake, tmp_path / "alone")  # the same calendars, no reading ahead
    fake.reset_counts()
    expected = reads(alone)
    assert fake.requests["calendar.events.list"] == 4
    fake.reset_counts()

    backend.read_ahead([ANA, BOB], FLOOR, NOW)
    assert fake.requests == {"batch/calendar/v3": 1}
    assert fake.calls["calendar.events.list"] == 4
    assert reads(backend) == expected
    assert expected[ANA] == (["ana:check_in:3", "ana:check_in:5"], [expected[ANA][1][0]])
    assert fake.requests == {"batch/calendar/v3": 1}  # the reads asked nothing themselves

    # Later reads (sync tokens) are sent ahead the same way.
    person = Person(fake)
    person.delete(ANA, "ana:check_in:3")
    fake.reset_counts()
    backend.read_ahead([ANA, BOB], FLOOR, NOW)
    after = reads(backend)
    assert fake.requests == {"batch/calendar/v3": 1}
    assert after[ANA][0] == ["ana:check_in:3", "ana:check_in:5"]  # seen as cancelled
    assert [e.status for e in backend.list_owned(ANA) if e.uid.endswith(":3")] == ["cancelled"]
    alone.close()


def test_an_answer_read_ahead_is_used_once(fake: FakeGoogle, backend: GoogleBackend) -> None:
    backend.read_ahead([ANA], FLOOR, NOW)
    fake.reset_counts()
    backend.list_owned(ANA)
    assert fake.requests == {}
    backend.list_owned(ANA)  # a second read asks for itself
    assert fake.requests == {"calendar.events.list": 1}


def test_an_error_read_ahead_is_that_salespersons_own_first_answer(
    fake: FakeGoogle, backend: GoogleBackend
) -> None:
    fake.fail(
        "calendar.events.list", times=1, status=429, reason="rateLimitExceeded", retry_after="3600"
    )
    fake.faults[-1].user = ANA
    backend.read_ahead([ANA, BOB], FLOOR, NOW)
    assert fake.faults[-1].times == 0  # Ana's first part was throttled
    fake.reset_counts()
    with pytest.raises(TransientError) as deferred:
        backend.list_owned(ANA)
    assert deferred.value.retry_after == 3600  # handed back, not slept through
    assert fake.requests == {}  # and not asked again
    assert backend.list_owned(BOB) == []
    assert fake.requests == {}


def test_a_refused_token_is_asked_for_once(fake: FakeGoogle, backend: GoogleBackend) -> None:
    fake.revoke(ANA)
    backend.read_ahead([ANA, BOB], FLOOR, NOW)
    assert fake.requests["token"] == 2  # Ana's refused, Bob's granted
    assert fake.requests["batch/calendar/v3"] == 1  # Bob's reads only
    fake.reset_counts()
    with pytest.raises(AuthError):
        backend.list_owned(ANA)
    with pytest.raises(AuthError):  # her second read meets the same refusal
        backend.new_past_events(ANA, FLOOR, NOW)
    assert fake.requests == {}
    assert backend.list_owned(BOB) == []


def test_gmail_reads_are_sent_ahead_too(fake: FakeGoogle, tmp_path: Path) -> None:
    from connectors.google import GmailSource

    folder = tmp_path / "mail"
    folder.mkdir()
    config = service_account_config(fake, folder, max_retries=3)
    gmail = GmailSource(config, context_for(folder, [ANA, BOB], sleeps=Sleeps()))
    since = NOW - timedelta(days=365)
    for owner in (ANA, BOB):
        fake.gmail.add_message(owner, sender="buyer@acme.test", to=(owner,), at=NOW)
    gmail.read_ahead([ANA, BOB], since)
    assert fake.requests["batch/gmail/v1"] == 1
    assert fake.calls["gmail.users.getProfile"] == 2
    fake.reset_counts()
    for owner in (ANA, BOB):  # first reads: getProfile was read ahead, then the search
        assert len(gmail.messages(owner, ["buyer@acme.test"], [], since)) == 1
    assert "gmail.users.getProfile" not in fake.calls
    fake.gmail.add_message(ANA, sender="buyer@acme.test", to=(ANA,), at=NOW)
    gmail.read_ahead([ANA, BOB], since)
    fake.reset_counts()
    assert len(gmail.messages(ANA, ["buyer@acme.test"], [], since)) == 1
    assert gmail.messages(BOB, ["buyer@acme.test"], [], since) == []
    assert "gmail.users.history.list" not in fake.requests  # both answered ahead
    assert fake.requests == {"batch/gmail/v1": 1}  # Ana's new message, fetched
    gmail.close()


def test_a_batch_sent_ahead_that_hangs_is_given_up_and_keeps_nothing(
    fake: FakeGoogle, backend: GoogleBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every read of Ana's calendar hangs: the batch read ahead for both salespeople is given
    # up after its timeout (here shortened from 20 s), and each read then asks for itself.
    from connectors.google import client

    monkeypatch.setattr(client, "AHEAD_TIMEOUT", 0.5)
    hang = fake.stall("calendar.events.list", ANA)
    try:
        backend.read_ahead([ANA, BOB], FLOOR, NOW)  # returns: the test would hang otherwise
        assert hang.reached.is_set()
        assert len(backend.client.ahead) == 0
    finally:
        hang.release.set()
    fake.reset_counts()
    assert backend.list_owned(BOB) == []
    assert fake.requests == {"calendar.events.list": 1}
