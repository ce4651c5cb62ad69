"""Google credentials: stored OAuth tokens (permissions, refresh written back, revocation),
the OAuth flow's storage step, configuration checks and the backoff schedule."""

from __future__ import annotations

import json
import os
import random
import stat
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from google.oauth2.credentials import Credentials

from connectors.base import AuthError
from connectors.google import GoogleBackend, run_oauth_flow
from connectors.google.auth import load_user_token, save_user_token, token_path
from connectors.google.retry import Retrier
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import Sleeps, context_for
from tests.google_fake.keys import CLIENT_ID, CLIENT_SECRET, write_user_token

ANA = "ana@example.com"
BOB = "bob@example.com"


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    server.add_user(ANA)
    server.add_user(BOB)
    yield server
    server.stop()


def token_config(fake: FakeGoogle) -> dict:
    return {"token_folder": "tokens", "api_endpoint": fake.url, "token_uri": fake.token_uri}


def test_stored_token_is_refreshed_and_written_back_owner_only(fake, tmp_path):
    path = write_user_token(fake, tmp_path / "tokens", ANA)
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA]))
    assert backend.list_owned(ANA) == []
    saved = json.loads(path.read_text())
    assert saved["token"].startswith("ya29.fake-")
    assert saved["refresh_token"] == f"refresh-{ANA}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.requests["token"] == 1
    # A restarted cadence uses the saved access token instead of refreshing again.
    again = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA]))
    assert again.list_owned(ANA) == []
    assert fake.requests["token"] == 1


def test_revoked_refresh_token_stops_only_that_salesperson(fake, tmp_path):
    write_user_token(fake, tmp_path / "tokens", ANA)
    write_user_token(fake, tmp_path / "tokens", BOB)
    fake.revoke(ANA)
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA, BOB]))
    with pytest.raises(AuthError, match=r"invalid_grant.*cadence auth google ana@example\.com"):
        backend.list_owned(ANA)
    assert backend.list_owned(BOB) == []


def test_token_file_readable_by_others_is_refused(fake, tmp_path):
    path = write_user_token(fake, tmp_path / "tokens", ANA)
    path.chmod(0o644)
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA]))
    with pytest.raises(AuthError, match="chmod 600"):
        backend.list_owned(ANA)
    assert fake.http_requests == 0


def test_missing_token_says_how_to_get_one(fake, tmp_path):
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA]))
    with pytest.raises(AuthError, match="cadence auth google EMAIL"):
        backend.list_owned(ANA)


def test_saved_token_is_private_even_with_a_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        _save_and_check(tmp_path)
    finally:
        os.umask(previous)


def _save_and_check(tmp_path):
    creds = Credentials(
        token="t",
        refresh_token="r",
        client_id="c",
        client_secret="s",
        token_uri="https://oauth2.googleapis.com/token",
    )
    path = tmp_path / "tokens" / "ana@example.com.json"
    save_user_token(path, creds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = load_user_token(path, "http://127.0.0.1:1/token")
    assert (loaded.refresh_token, loaded.token_uri) == ("r", "http://127.0.0.1:1/token")


def test_token_paths_are_per_address_and_refuse_path_tricks(tmp_path):
    context = context_for(tmp_path, [ANA])
    config = {"token_folder": "tokens"}
    assert (
        token_path(config, context, "Ana@Example.com") == tmp_path / "tokens/ana@example.com.json"
    )
    for bad in ("../etc/passwd", "", ".hidden"):
        with pytest.raises(AuthError):
            token_path(config, context, bad)


def test_oauth_flow_stores_the_granted_token(tmp_path, monkeypatch):
    from google_auth_oauthlib.flow import InstalledAppFlow

    secrets = tmp_path / "client.json"
    secrets.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    asked = {}

    def consent(flow, **kwargs):  # the browser step is the only part replaced
        asked.update(kwargs)
        return Credentials(
            token="t",
            refresh_token="granted",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            token_uri=flow.client_config["token_uri"],
        )

    monkeypatch.setattr(InstalledAppFlow, "run_local_server", consent)
    config = {"token_folder": "tokens", "client_secrets_file": "client.json"}
    path = run_oauth_flow(config, context_for(tmp_path, [ANA]), ANA)
    assert path == tmp_path / "tokens" / "ana@example.com.json"
    assert json.loads(path.read_text())["refresh_token"] == "granted"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert asked["login_hint"] == ANA and asked["access_type"] == "offline"


def test_oauth_flow_needs_client_secrets(tmp_path):
    with pytest.raises(AuthError, match="client_secrets_file"):
        run_oauth_flow({"token_folder": "tokens"}, context_for(tmp_path, [ANA]), ANA)


# -- configuration --------------------------------------------------------------------------


def test_valid_configuration_has_no_problems():
    section = {
        "service_account_file": "sa.json",
        "api_endpoint": "http://127.0.0.1:8080/",
        "token_uri": "http://127.0.0.1:8080/token",
        "send_updates": "externalOnly",
        "calendar_id": "primary",
        "max_retries": 3,
        "batch_size": 50,
    }
    assert GoogleBackend.validate_config(section) == []


def test_configuration_problems_are_named_by_key():
    section = {
        "service_account_file": "sa.json",
        "token_folder": "tokens",
        "api_endpoint": "www.googleapis.com",
        "send_updates": "everyone",
        "batch_size": 51,
        "max_retries": -1,
        "colour": "blue",
    }
    keys = [key for key, _ in GoogleBackend.validate_config(section)]
    assert keys == [
        "colour",
        "service_account_file",
        "api_endpoint",
        "send_updates",
        "max_retries",
        "batch_size",
    ]
    assert GoogleBackend.validate_config({})[0][0] == "service_account_file"


def test_every_config_key_has_help_text():
    assert all(GoogleBackend.config_keys.values())
    assert "send_updates" in GoogleBackend.config_keys


# -- backoff --------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_honours_retry_after():
    retrier = Retrier(5, Sleeps(), random.Random(7))
    delays = [retrier.delay(attempt, None) for attempt in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(64.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert retrier.delay(0, 42.0) == 42.0


def test_times_are_sent_as_utc_and_naive_ones_are_rejected():
    from connectors.google.events import rfc3339

    assert rfc3339(datetime(2027, 5, 4, 10, tzinfo=UTC)) == "2027-05-04T10:00:00Z"
    with pytest.raises(ValueError):
        rfc3339(datetime(2027, 5, 4, 10))
