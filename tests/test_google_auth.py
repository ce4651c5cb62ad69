"""Google credentials: stored OAuth tokens (permissions, refresh written back, revocation),
the OAuth flow's storage step, configuration checks and the backoff schedule."""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from connectors.base import AuthError
from connectors.google import GmailSource, GoogleBackend, run_oauth_flow
from connectors.google.auth import load_user_token, save_user_token, token_path
from connectors.google.retry import Retrier
from tests.google_fake import FakeGoogle
from tests.google_fake.harness import Sleeps, context_for, service_account_config
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


# -- files: permissions, links, a folder that cannot be written, `cadence check` ---------------


def test_a_service_account_key_others_can_read_is_refused(fake, tmp_path):
    config = service_account_config(fake, tmp_path)
    key = tmp_path / "service-account.json"
    key.chmod(0o640)
    backend = GoogleBackend(config, context_for(tmp_path, [ANA]))
    with pytest.raises(AuthError) as caught:
        backend.list_owned(ANA)
    assert str(caught.value) == (
        f"{key} can be read by other users (mode 0640); run `chmod 600 {key}`"
    )
    assert fake.http_requests == 0

    key.chmod(0o600)  # fixed, no restart
    assert backend.list_owned(ANA) == []


def test_a_link_planted_as_a_token_file_is_refused_not_followed(fake, tmp_path):
    real = write_user_token(fake, tmp_path / "tokens", ANA)
    elsewhere = real.rename(tmp_path / "elsewhere.json")
    real.symlink_to(elsewhere)
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA]))
    with pytest.raises(AuthError) as caught:
        backend.list_owned(ANA)
    assert str(caught.value) == (
        f"{real} is a symbolic link, which cadence does not follow for token files; "
        "replace it with the file itself, or remove it"
    )
    assert fake.http_requests == 0


def test_tokens_that_cannot_be_saved_are_logged_once_and_stop_nobody(
    fake, tmp_path, caplog, monkeypatch
):
    folder = tmp_path / "tokens"
    paths = [write_user_token(fake, folder, user) for user in (ANA, BOB)]
    stored = [path.read_text() for path in paths]

    def read_only(path, data):  # what a folder the service cannot write does, even to root
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("connectors.google.auth.write_private_file", read_only)
    caplog.set_level(logging.WARNING, logger="connectors.google")
    backend = GoogleBackend(token_config(fake), context_for(tmp_path, [ANA, BOB]))
    assert backend.list_owned(ANA) == []
    assert backend.list_owned(BOB) == []
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            f"cannot save refreshed Google tokens in {folder}: Permission denied; they are "
            "kept in memory only, so each restart refreshes them again. Make the folder "
            "writable by the user cadence runs as, or move token_folder "
            "(`cadence check` names the problem)",
        )
    ]
    assert [path.read_text() for path in paths] == stored

    monkeypatch.undo()  # fixed
    caplog.clear()
    with fake.lock:
        fake.access_tokens.clear()  # the access tokens expire: the next call refreshes
    assert backend.list_owned(ANA) == []
    assert [r.getMessage() for r in caplog.records] == ["Google tokens are saved again"]
    assert json.loads(paths[0].read_text())["token"].startswith("ya29.fake-")


def test_check_local_finds_nothing_wrong_with_a_working_setup(fake, tmp_path):
    config = service_account_config(fake, tmp_path)
    assert GoogleBackend.check_local(config, tmp_path, {}) == []
    write_user_token(fake, tmp_path / "tokens", ANA)
    (tmp_path / "client.json").write_text("{}")
    tokens = {**token_config(fake), "client_secrets_file": "client.json"}
    assert GoogleBackend.check_local(tokens, tmp_path, {}) == []
    assert GmailSource.check_local(tokens, tmp_path, {}) == []


def test_check_local_reports_a_service_account_key(fake, tmp_path):
    config = service_account_config(fake, tmp_path)
    key = tmp_path / "service-account.json"
    key.chmod(0o644)
    assert GoogleBackend.check_local(config, tmp_path, {}) == [
        (
            "service_account_file",
            f"{key} can be read by other users (mode 0644); run `chmod 600 {key}`",
        )
    ]
    key.write_text('{"type": "service_account"}')
    key.chmod(0o600)
    [(name, message)] = GoogleBackend.check_local(config, tmp_path, {})
    assert name == "service_account_file"
    assert message.startswith(f"{key} is not a usable service account key: ")
    key.unlink()
    assert GmailSource.check_local(config, tmp_path, {}) == [
        ("service_account_file", f"cannot read {key}: No such file or directory")
    ]


def test_check_local_reports_each_token_file_at_risk(fake, tmp_path):
    folder = tmp_path / "tokens"
    open_token = write_user_token(fake, folder, ANA)
    open_token.chmod(0o644)
    link = folder / "bob@example.com.json"
    link.symlink_to(write_user_token(fake, tmp_path / "elsewhere", BOB))
    (folder / ".ana@example.com.json.x1y2.tmp").write_text("")  # a write in progress: ignored
    assert GoogleBackend.check_local(token_config(fake), tmp_path, {}) == [
        (
            "token_folder",
            f"{open_token} can be read by other users (mode 0644); run `chmod 600 {open_token}`",
        ),
        (
            "token_folder",
            f"{link} is a symbolic link, which cadence does not follow for token files; "
            "replace it with the file itself, or remove it",
        ),
    ]


def test_check_local_reports_a_token_folder_that_cannot_be_written(fake, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config = {**token_config(fake), "token_folder": "blocker/tokens"}
    assert GoogleBackend.check_local(config, tmp_path, {}) == [
        (
            "token_folder",
            f"cannot create {blocker / 'tokens'}: {blocker} is not a folder "
            "(refreshed tokens are saved there)",
        )
    ]
    assert GoogleBackend.check_local({**config, "token_folder": "blocker"}, tmp_path, {}) == [
        ("token_folder", f"{blocker} is not a folder")
    ]


def test_check_local_names_a_token_folder_in_etc(fake):
    # A relative token_folder next to cadence.toml in /etc: read-only under the shipped unit.
    base = Path(f"/etc/cadence-test-{uuid.uuid4().hex}")
    assert not base.exists()
    target = base / "tokens" / "EMAIL.json"
    if os.geteuid() == 0:  # root may write /etc, but the service unit's user may not
        detail = (
            f"{target} is under {target.parent}, which the shipped service unit makes "
            "read-only (ProtectSystem=strict); put it in the state directory (/var/lib/cadence)"
        )
    else:
        detail = f"cannot write {target}: /etc is not writable by this user"
    assert GoogleBackend.check_local(token_config(fake), base, {}) == [
        ("token_folder", f"{detail} (refreshed tokens are saved there)")
    ]


def test_check_local_reports_missing_client_secrets(tmp_path):
    config = {"token_folder": "tokens", "client_secrets_file": "client.json"}
    assert GoogleBackend.check_local(config, tmp_path, {}) == [
        (
            "client_secrets_file",
            f"cannot read {tmp_path / 'client.json'} (`cadence auth google` needs it)",
        )
    ]


# -- the service account's access tokens, kept across runs ---------------------------------


def test_service_account_tokens_are_kept_on_disk_until_they_expire(fake, tmp_path):
    """Each `run --once` is a new process: without the cache every one of them, and the Gmail
    source besides the calendar, asks Google for a new token per salesperson."""
    config = service_account_config(fake, tmp_path, token_cache_file="cache/tokens.json")

    def one_run() -> None:
        context = context_for(tmp_path, [ANA])
        calendar, gmail = GoogleBackend(config, context), GmailSource(config, context)
        try:
            calendar.list_owned(ANA)
            gmail.messages(ANA, ["buyer@acme.com"], [], datetime(2027, 1, 1, tzinfo=UTC))
        finally:
            calendar.close()
            gmail.close()

    one_run()
    assert fake.requests["token"] == 1  # the Gmail source used the calendar's
    cache = tmp_path / "cache" / "tokens.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    one_run()
    assert fake.requests["token"] == 1  # the next run granted none
    entries = json.loads(cache.read_text())
    [key] = entries
    entries[key]["expiry"] = "2000-01-01T00:00:00+00:00"  # expired: asked for again
    cache.write_text(json.dumps(entries))
    one_run()
    assert fake.requests["token"] == 2
    os.chmod(cache, 0o644)  # others could read it: not used, written afresh (0600)
    fake.reset_counts()
    one_run()
    assert fake.requests["token"] == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
