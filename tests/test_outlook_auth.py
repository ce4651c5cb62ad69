"""Outlook authentication: real msal against the local HTTPS authority; config validation."""

from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path

import pytest

from connectors.base import AuthError, BackendContext, BackendError, TransientError
from connectors.outlook import GraphMailSource, OutlookBackend
from connectors.outlook.settings import OutlookSettings
from tests.contract.suite import at
from tests.graph_fake import CLIENT_ID, SECRET, SECRET_ENV, make_certificate
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OTHER, OWNER


def make(config, tmp_path, env=None, **overrides) -> OutlookBackend:
    context = BackendContext(
        base_dir=tmp_path, env={SECRET_ENV: SECRET} if env is None else env, sleep=lambda s: None
    )
    return OutlookBackend({**config, **overrides}, context)


def test_tokens_are_cached_in_an_owner_only_file_and_reused(config, authority, tmp_path):
    before = authority.requests["POST token"]
    make(config, tmp_path).busy(OWNER, at(4, 0), at(5, 0))
    make(config, tmp_path).busy(OWNER, at(4, 0), at(5, 0))  # a restart: the file is read
    assert authority.requests["POST token"] - before == 1
    cache = tmp_path / "tokens.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert SECRET not in cache.read_text()


def test_a_wrong_secret_is_an_auth_error_reported_once_and_recovers(
    config, authority, tmp_path, caplog
):
    env = {SECRET_ENV: "wrong"}
    backend = make(config, tmp_path, env=env)
    caplog.set_level(logging.WARNING, logger="connectors.outlook")
    for _ in range(3):
        with pytest.raises(AuthError, match="invalid_client"):
            backend.busy(OWNER, at(4, 0), at(5, 0))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "invalid_client" in errors[0].getMessage()
    assert "wrong" not in caplog.text  # the secret never reaches the log

    env[SECRET_ENV] = SECRET  # a person fixes the secret; no restart
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert [r.getMessage() for r in caplog.records[1:]] == ["Outlook authentication works again"]


def test_an_auth_failure_stops_outlook_only(config, tmp_path, graph):
    broken = make(config, tmp_path, env={SECRET_ENV: "wrong"})
    working = make(config, tmp_path / "other", env=None, token_cache_file="other.json")
    with pytest.raises(AuthError):
        broken.list_owned(OWNER)
    assert working.list_owned(OWNER) == []


def test_a_missing_secret_variable_is_an_auth_error_naming_it(config, tmp_path):
    with pytest.raises(AuthError, match=SECRET_ENV):
        make(config, tmp_path, env={}).busy(OWNER, at(4, 0), at(5, 0))


def test_an_unknown_tenant_is_an_auth_error(config, authority, tmp_path):
    backend = make(config, tmp_path, authority=f"{authority.base}/no-such-tenant")
    with pytest.raises(AuthError, match="no-such-tenant"):
        backend.busy(OWNER, at(4, 0), at(5, 0))


def test_an_unreachable_authority_is_transient(config, tmp_path):
    backend = make(config, tmp_path, authority="https://127.0.0.1:9/contoso")
    with pytest.raises(TransientError):
        backend.busy(OWNER, at(4, 0), at(5, 0))


def test_an_untrusted_authority_certificate_is_refused(config, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_certificate()[0])
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        make(config, tmp_path, ca_bundle=str(other_ca)).busy(OWNER, at(4, 0), at(5, 0))


def test_a_certificate_credential_signs_a_client_assertion(config, authority, tmp_path):
    cert_pem, key_pem = make_certificate("cadence-app")
    authority.app_certificate = cert_pem
    pem_file = tmp_path / "app.pem"
    pem_file.write_bytes(key_pem + cert_pem)
    pem_file.chmod(0o600)  # it holds the private key: cadence refuses it readable by others
    section = {k: v for k, v in config.items() if k != "client_secret_env"}
    section["certificate_file"] = "app.pem"  # relative to the config's folder
    assert OutlookBackend.validate_config(section) == []
    backend = OutlookBackend(section, BackendContext(base_dir=tmp_path))
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []


def test_a_revoked_token_is_replaced_once(config, authority, graph, tmp_path):
    backend = make(config, tmp_path)
    backend.busy(OWNER, at(4, 0), at(5, 0))
    authority.issued.clear()  # Graph no longer accepts the cached token
    before = authority.requests["POST token"]
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert authority.requests["POST token"] - before == 1


# -- configuration ----------------------------------------------------------------------------


def test_the_test_configuration_is_valid(config):
    assert OutlookBackend.validate_config(config) == []
    assert GraphMailSource.validate_config(config) == []


def test_every_configuration_problem_is_reported_at_once():
    section = {
        "client_id": CLIENT_ID,
        "client_secret_env": "X",
        "certificate_file": "app.pem",
        "authority": "http://login.example/contoso",
        "graph_endpoint": "graph.example",
        "max_retries": True,
        "timeout": 0,
        "colour": "blue",
    }
    problems = OutlookBackend.validate_config(section)
    assert sorted(key for key, _ in problems) == [
        "authority",
        "client_secret_env",
        "colour",
        "graph_endpoint",
        "max_retries",
        "tenant_id",
        "timeout",
    ]
    assert dict(problems)["authority"] == "must be an https URL, got 'http://login.example/contoso'"


def test_a_thumbprint_must_be_forty_hex_digits():
    section = {
        "tenant_id": "contoso",
        "client_id": CLIENT_ID,
        "certificate_file": "app.pem",
        "certificate_thumbprint": "12:34",
    }
    assert OutlookBackend.validate_config(section) == [
        ("certificate_thumbprint", "must be 40 hexadecimal digits (SHA-1)")
    ]


def test_every_key_has_help_text():
    assert set(OutlookBackend.config_keys) == {
        "tenant_id",
        "client_id",
        "client_secret_env",
        "certificate_file",
        "certificate_thumbprint",
        "authority",
        "graph_endpoint",
        "scope",
        "token_cache_file",
        "max_retries",
        "timeout",
        "ca_bundle",
    }
    assert all(text for text in OutlookBackend.config_keys.values())


# -- the token cache and the other local files ------------------------------------------------


def without_cache_key(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "token_cache_file"}


def test_the_token_cache_defaults_to_the_state_directory_owner_only(config, authority, tmp_path):
    state = tmp_path / "var" / "lib" / "cadence"  # missing: made 0700 by the first write
    env = {SECRET_ENV: SECRET, "STATE_DIRECTORY": str(state)}
    context = BackendContext(base_dir=tmp_path / "etc", env=env, sleep=lambda s: None)
    previous = os.umask(0)  # the cache must not depend on a careful umask
    try:
        OutlookBackend(without_cache_key(config), context).busy(OWNER, at(4, 0), at(5, 0))
    finally:
        os.umask(previous)
    cache = state / "outlook-token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert "AccessToken" in cache.read_text()
    assert not (tmp_path / "etc").exists()  # nothing next to cadence.toml


def test_where_the_token_cache_goes():
    base = Path("/etc/cadence")
    section = {"tenant_id": "contoso", "client_id": CLIENT_ID, "client_secret_env": "X"}

    def cache(env: dict[str, str], **keys: str) -> Path:
        return OutlookSettings.from_config({**section, **keys}, base, env).token_cache_file

    systemd = {"STATE_DIRECTORY": "/var/lib/cadence:/var/lib/other", "XDG_STATE_HOME": "/x"}
    assert cache(systemd) == Path("/var/lib/cadence/outlook-token-cache.json")
    assert cache({"XDG_STATE_HOME": "/home/ana/.state"}) == Path(
        "/home/ana/.state/cadence/outlook-token-cache.json"
    )
    assert cache({}) == Path.home() / ".local/state/cadence/outlook-token-cache.json"
    # An explicit file: relative to cadence.toml's folder, as documented; absolute as given.
    assert cache(systemd, token_cache_file="tokens.json") == Path("/etc/cadence/tokens.json")
    assert cache(systemd, token_cache_file="/srv/t.json") == Path("/srv/t.json")


def test_a_cache_others_can_read_is_refused_with_the_chmod_hint_until_fixed(
    config, authority, tmp_path
):
    make(config, tmp_path).busy(OWNER, at(4, 0), at(5, 0))
    cache = tmp_path / "tokens.json"
    cache.chmod(0o640)
    before = authority.requests["POST token"]
    backend = make(config, tmp_path)
    with pytest.raises(AuthError) as caught:
        backend.busy(OWNER, at(4, 0), at(5, 0))
    assert str(caught.value) == (
        f"Outlook token cache refused: {cache} can be read by other users (mode 0640); "
        f"run `chmod 600 {cache}`"
    )
    assert authority.requests["POST token"] == before  # the exposed cache was not used

    cache.chmod(0o600)  # a person follows the hint; no restart
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert authority.requests["POST token"] == before  # the cached token is good again


def test_a_link_planted_as_the_cache_is_refused_not_followed(config, authority, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    elsewhere.chmod(0o600)
    cache = tmp_path / "tokens.json"
    cache.symlink_to(elsewhere)
    with pytest.raises(AuthError) as caught:
        make(config, tmp_path).busy(OWNER, at(4, 0), at(5, 0))
    assert str(caught.value) == (
        f"Outlook token cache refused: {cache} is a symbolic link, which cadence does not "
        "follow for token files; replace it with the file itself, or remove it"
    )
    assert cache.is_symlink() and elsewhere.read_text() == "{}"


def test_an_unwritable_cache_is_logged_once_and_outlook_keeps_working(
    config, authority, graph, tmp_path, caplog
):
    blocker = tmp_path / "blocker"  # a file where the cache's folder should be: even root fails
    blocker.write_text("")
    cache = blocker / "tokens.json"
    backend = make(config, tmp_path, token_cache_file=str(cache))
    caplog.set_level(logging.WARNING, logger="connectors.outlook")
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert backend.list_owned(OTHER) == []
    backend.graph.auth.forget_token()  # a new token: the write is tried, and fails, again
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            f"cannot write the Outlook token cache {cache}: Not a directory; the token is "
            "kept in memory only, so each restart asks for a new one. Make "
            f"{blocker} writable by the user cadence runs as, or point token_cache_file at "
            "a writable folder (`cadence check` names the problem)",
        )
    ]

    caplog.clear()
    blocker.unlink()
    blocker.mkdir()  # fixed
    backend.graph.auth.forget_token()
    assert backend.busy(OWNER, at(4, 0), at(5, 0)) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"Outlook token cache {cache} is written again"
    ]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_a_certificate_file_others_can_read_is_refused(config, authority, tmp_path):
    cert_pem, key_pem = make_certificate("cadence-app")
    authority.app_certificate = cert_pem
    pem_file = tmp_path / "app.pem"
    pem_file.write_bytes(key_pem + cert_pem)
    pem_file.chmod(0o640)
    section = {k: v for k, v in config.items() if k != "client_secret_env"}
    section["certificate_file"] = "app.pem"
    backend = OutlookBackend(section, BackendContext(base_dir=tmp_path))
    with pytest.raises(AuthError) as caught:
        backend.busy(OWNER, at(4, 0), at(5, 0))
    assert str(caught.value) == (
        f"certificate_file: {pem_file} can be read by other users (mode 0640); "
        f"run `chmod 600 {pem_file}`"
    )


def test_a_missing_ca_bundle_is_a_backend_error_not_a_crash(config, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(BackendError) as caught:
        make(config, tmp_path, ca_bundle=str(missing)).busy(OWNER, at(4, 0), at(5, 0))
    assert type(caught.value) is BackendError  # neither auth nor transient: a person fixes it
    assert str(missing) in str(caught.value)


def test_check_local_finds_nothing_wrong_with_a_working_setup(config, tmp_path):
    make(config, tmp_path).busy(OWNER, at(4, 0), at(5, 0))  # the cache exists now
    assert OutlookBackend.check_local(config, tmp_path, {}) == []
    assert GraphMailSource.check_local(config, tmp_path, {}) == []


def test_check_local_checks_the_default_cache_in_the_state_directory(config, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    cache = state / "outlook-token-cache.json"
    cache.write_text("{}")
    cache.chmod(0o644)
    assert OutlookBackend.check_local(
        without_cache_key(config), tmp_path, {"STATE_DIRECTORY": str(state)}
    ) == [
        (
            "token_cache_file",
            f"{cache} can be read by other users (mode 0644); run `chmod 600 {cache}`",
        )
    ]


def test_check_local_reports_a_cache_location_that_cannot_be_written(config, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    section = {**config, "token_cache_file": str(blocker / "tokens.json")}
    expected = [("token_cache_file", f"cannot create {blocker}: {blocker} is not a folder")]
    assert OutlookBackend.check_local(section, tmp_path, {}) == expected
    assert GraphMailSource.check_local(section, tmp_path, {}) == expected


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root may write into a 0500 folder; the parent-is-a-file and /etc tests cover root",
)
def test_check_local_reports_a_read_only_folder(config, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    section = {**config, "token_cache_file": str(folder / "tokens.json")}
    assert OutlookBackend.check_local(section, tmp_path, {}) == [
        (
            "token_cache_file",
            f"cannot write {folder / 'tokens.json'}: {folder} is not writable by this user",
        )
    ]


def test_check_local_reports_a_cache_next_to_cadence_toml_in_etc(config):
    # The old default's place under the shipped unit: /etc is read-only for the daemon.
    base = Path(f"/etc/cadence-test-{uuid.uuid4().hex}")
    assert not base.exists()
    section = {**config, "token_cache_file": "outlook-tokens.json"}
    cache = base / "outlook-tokens.json"
    if os.geteuid() == 0:  # root may write /etc, but the service unit's user may not
        message = (
            f"{cache} is under {base}, which the shipped service unit makes read-only "
            "(ProtectSystem=strict); put it in the state directory (/var/lib/cadence)"
        )
    else:
        message = f"cannot write {cache}: /etc is not writable by this user"
    assert OutlookBackend.check_local(section, base, {}) == [("token_cache_file", message)]


def test_check_local_reports_a_wrong_ca_bundle(config, tmp_path):
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("a CA bundle it is not\n")
    assert OutlookBackend.check_local({**config, "ca_bundle": "missing-ca.pem"}, tmp_path, {}) == [
        ("ca_bundle", f"CA bundle {tmp_path / 'missing-ca.pem'} does not exist")
    ]
    assert OutlookBackend.check_local({**config, "ca_bundle": "notes.txt"}, tmp_path, {}) == [
        ("ca_bundle", f"{not_pem} holds no PEM certificate; give the CA certificates file")
    ]


def test_check_local_reports_certificate_files(config, tmp_path):
    cert_pem, key_pem = make_certificate("cadence-app")
    section = {k: v for k, v in config.items() if k != "client_secret_env"}
    pem_file = tmp_path / "app.pem"

    def problems(content: bytes, mode: int, **keys: str) -> list[tuple[str, str]]:
        pem_file.write_bytes(content)
        pem_file.chmod(mode)
        return OutlookBackend.check_local(
            {**section, "certificate_file": "app.pem", **keys}, tmp_path, {}
        )

    assert problems(key_pem + cert_pem, 0o600) == []
    assert problems(key_pem + cert_pem, 0o644) == [
        (
            "certificate_file",
            f"{pem_file} can be read by other users (mode 0644); run `chmod 600 {pem_file}`",
        )
    ]
    assert problems(cert_pem, 0o600) == [
        ("certificate_file", f"certificate_file {pem_file}: no PEM private key in it")
    ]
    assert problems(key_pem, 0o600) == [
        (
            "certificate_file",
            f"certificate_file {pem_file}: no certificate in it; give certificate_thumbprint",
        )
    ]
    assert problems(key_pem, 0o600, certificate_thumbprint="AB" * 20) == []
    pem_file.unlink()
    assert OutlookBackend.check_local({**section, "certificate_file": "app.pem"}, tmp_path, {}) == [
        ("certificate_file", f"cannot read {pem_file}: No such file or directory")
    ]
