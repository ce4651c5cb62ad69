"""Outlook authentication: real msal against the local HTTPS authority; config validation."""

from __future__ import annotations

import logging
import stat

import pytest

from connectors.base import AuthError, BackendContext, TransientError
from connectors.outlook import GraphMailSource, OutlookBackend
from tests.contract.suite import at
from tests.graph_fake import CLIENT_ID, SECRET, SECRET_ENV, make_certificate
from tests.graph_fake.fixtures import *  # noqa: F403
from tests.graph_fake.fixtures import OWNER


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
        "token_cache_file",
        "max_retries",
        "timeout",
        "ca_bundle",
    }
    assert all(text for text in OutlookBackend.config_keys.values())
