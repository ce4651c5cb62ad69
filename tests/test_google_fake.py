"""The fake Google itself checks requests the way Google does, so connector tests mean something."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from googleapiclient.errors import HttpError

from connectors.google.client import GoogleClient
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import context_for, service_account_config

ANA = "ana@example.com"
WHEN = {"dateTime": "2027-05-04T10:00:00Z"}
LATER = {"dateTime": "2027-05-04T11:00:00Z"}


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    server.add_user(ANA)
    yield server
    server.stop()


@pytest.fixture
def events(fake, tmp_path):
    client = GoogleClient(service_account_config(fake, tmp_path), context_for(tmp_path, [ANA]))
    return client.service(ANA, "calendar").events()


def error_of(request) -> tuple[int, str, str]:
    with pytest.raises(HttpError) as caught:
        request.execute()
    body = json.loads(caught.value.content)["error"]
    return caught.value.status_code, body["errors"][0]["reason"], body["message"]


def test_unknown_event_property_is_rejected(events):
    body = {"start": WHEN, "end": LATER, "colour": "red"}
    assert error_of(events.insert(calendarId="primary", body=body)) == (
        400,
        "invalid",
        "Invalid JSON payload: unknown name 'colour'",
    )


def test_missing_required_end_is_rejected(events):
    assert error_of(events.insert(calendarId="primary", body={"start": WHEN}))[:2] == (
        400,
        "required",
    )


def test_wrongly_typed_nested_field_is_rejected(events):
    body = {"start": WHEN, "end": LATER, "reminders": {"overrides": [{"minutes": "15"}]}}
    status, reason, message = error_of(events.insert(calendarId="primary", body=body))
    assert (status, reason) == (400, "invalid")
    assert "reminders.overrides[0].minutes" in message


def test_duplicate_id_is_409_even_after_delete(events):
    body = {"id": "abcde12345", "start": WHEN, "end": LATER}
    events.insert(calendarId="primary", body=body).execute()
    events.delete(calendarId="primary", eventId="abcde12345").execute()
    assert error_of(events.insert(calendarId="primary", body=body))[:2] == (409, "duplicate")
    assert error_of(events.delete(calendarId="primary", eventId="abcde12345"))[:2] == (
        410,
        "deleted",
    )


def test_sync_token_cannot_be_combined_with_a_time_window(events):
    request = events.list(calendarId="primary", syncToken="sync-0", timeMin="2027-01-01T00:00:00Z")
    assert error_of(request)[0] == 400


def test_requests_without_a_valid_token_are_unauthorised(fake):
    request = urllib.request.Request(fake.url + "calendar/v3/calendars/primary/events")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["error"]["errors"][0]["reason"] == "authError"
