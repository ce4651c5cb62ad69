"""The caldav backend's configuration, credentials, discovery and failures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import caldav
import pytest
import requests

from connectors.base import AuthError, BackendContext, BackendError, Create, TransientError
from connectors.caldav import CalDavBackend
from tests import caldav_kit
from tests.caldav_kit import PASSWORD_ENV, T0, calendar_url, create, make_backend, spec
from tests.local_servers import free_port

radicale, owner, person, backend = (
    caldav_kit.radicale,
    caldav_kit.owner,
    caldav_kit.person,
    caldav_kit.backend,
)


# --------------------------------------------------------------------------------------------
# Configuration, credentials, discovery, failures


def test_discovery_through_the_principal_with_templated_user_and_password_file(
    radicale, tmp_path
) -> None:
    owner = "bob@example.com"
    client = caldav.DAVClient(radicale.url, auth=requests.auth.HTTPBasicAuth(owner, "bob-secret"))
    client.principal().make_calendar(name="Bob's work", cal_id="work")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "bob.txt").write_text("bob-secret\n", encoding="utf-8")
    (tmp_path / "secrets" / "bob.txt").chmod(0o600)  # a password file others can read is refused
    config = {
        "principal_url": radicale.url + "{email}/",
        "username": "{email}",
        "password_file": "secrets/{user}.txt",
    }
    assert CalDavBackend.validate_config(config) == []
    backend = CalDavBackend(config, BackendContext(base_dir=tmp_path))

    assert backend.calendar_url(owner) == f"{radicale.url}bob%40example.com/work/"
    create(backend, spec(owner))
    assert [e.uid for e in backend.list_owned(owner)] == ["acme:check_in:1"]
    backend.close()


def test_explicit_calendar_table_wins_over_the_url_template(
    radicale, tmp_path, owner, person
) -> None:
    backend = make_backend(
        radicale, tmp_path, owner, calendars={owner: calendar_url(radicale, owner)}
    )
    backend.config["url"] = "http://127.0.0.1:9/nowhere/{user}/"

    assert backend.calendar_url(owner) == calendar_url(radicale, owner)


def test_wrong_password_is_an_auth_error(radicale, tmp_path, owner, person) -> None:
    backend = make_backend(radicale, tmp_path, owner)
    backend.context.env = {PASSWORD_ENV: "wrong"}

    with pytest.raises(AuthError, match="401"):
        backend.list_owned(owner)


def test_missing_password_variable_is_an_auth_error_naming_it(radicale, tmp_path, owner) -> None:
    backend = make_backend(radicale, tmp_path, owner)
    backend.context.env = {}

    with pytest.raises(AuthError, match=PASSWORD_ENV):
        backend.write(owner, [Create(spec(owner))])


def test_unreachable_server_is_transient(tmp_path) -> None:
    config = {"url": f"http://127.0.0.1:{free_port()}/{{user}}/", "timeout": 2}
    backend = CalDavBackend(config, BackendContext(base_dir=tmp_path))

    with pytest.raises(TransientError, match="cannot connect"):
        backend.busy("ana@example.com", T0, T0 + timedelta(days=1))


def test_validate_config_reports_every_problem() -> None:
    problems = CalDavBackend.validate_config(
        {
            "url": "ftp://example.com/{login}/",
            "calendars": {"not-an-email": "https://example.com/cal/"},
            "password_env": "X",
            "password_file": "y",
            "verify_tls": 3,
            "timeout": -1,
            "colour": "blue",
        }
    )

    assert problems == [
        (
            "colour",
            "unknown key (allowed: calendars, invites, password_env, password_file, principal_url, "
            "timeout, url, username, verify_tls)",
        ),
        ("url", "unknown placeholder {login} (known: {email}, {user})"),
        ("calendars", "'not-an-email' is not an e-mail address"),
        ("password_file", "set password_env or password_file, not both"),
        ("username", "a password is configured but no username"),
        ("verify_tls", "must be true, false or a CA bundle path"),
        ("timeout", "must be a positive number of seconds, got -1"),
    ]


def test_validate_config_needs_somewhere_to_find_calendars() -> None:
    assert CalDavBackend.validate_config({"username": "x"}) == [
        ("url", "set url, principal_url or calendars to find the calendars")
    ]


# -- local files: the password file and the CA bundle -------------------------------------------


def offline_backend(tmp_path: Path, **extra) -> CalDavBackend:
    """A backend whose server is never reached (the trouble is found before any request)."""
    config = {"url": f"https://127.0.0.1:{free_port()}/{{user}}/", "timeout": 2, **extra}
    assert CalDavBackend.validate_config(config) == []
    return CalDavBackend(config, BackendContext(base_dir=tmp_path))


def test_a_password_file_others_can_read_is_refused_for_that_person(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "ana.txt").write_text("ana-secret\n")
    (secrets / "ana.txt").chmod(0o644)
    backend = offline_backend(tmp_path, username="{email}", password_file="secrets/{user}.txt")
    path = secrets / "ana.txt"

    with pytest.raises(AuthError) as caught:
        backend.calendar_url("ana@example.com")

    assert str(caught.value) == (
        f"caldav: password_file: {path} can be read by other users (mode 0644); "
        f"run `chmod 600 {path}`"
    )


def test_a_missing_ca_bundle_is_a_backend_error_naming_it(tmp_path) -> None:
    backend = offline_backend(tmp_path, verify_tls="missing-ca.pem")

    with pytest.raises(BackendError) as caught:
        backend.busy("ana@example.com", T0, T0 + timedelta(days=1))

    assert type(caught.value) is BackendError  # not transient: retrying cannot fix it
    assert str(tmp_path / "missing-ca.pem") in str(caught.value)


def test_check_local_reports_a_fixed_password_file(tmp_path) -> None:
    path = tmp_path / "caldav.password"
    config = {"url": "https://dav.example.com/{user}/", "username": "cadence"}
    config["password_file"] = "caldav.password"

    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("password_file", f"cannot read {path}: No such file or directory")
    ]
    path.write_text("secret\n")
    path.chmod(0o640)
    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("password_file", f"{path} can be read by other users (mode 0640); run `chmod 600 {path}`")
    ]
    path.chmod(0o600)
    assert CalDavBackend.check_local(config, tmp_path, {}) == []


def test_check_local_checks_the_folder_of_per_person_password_files(tmp_path) -> None:
    config = {"url": "https://dav.example.com/{user}/", "username": "{email}"}
    per_person = {**config, "password_file": "secrets/{user}.caldav"}

    assert CalDavBackend.check_local(per_person, tmp_path, {}) == [
        (
            "password_file",
            f"{tmp_path / 'secrets'} (the folder of the per-salesperson password files "
            "secrets/{user}.caldav) does not exist",
        )
    ]
    (tmp_path / "secrets").mkdir()
    assert CalDavBackend.check_local(per_person, tmp_path, {}) == []
    # Next to cadence.toml, or in an absolute folder: that folder is the one checked.
    assert CalDavBackend.check_local({**config, "password_file": "{user}.pw"}, tmp_path, {}) == []
    absolute = {**config, "password_file": str(tmp_path / "none" / "{email}")}
    assert CalDavBackend.check_local(absolute, tmp_path, {}) == [
        (
            "password_file",
            f"{tmp_path / 'none'} (the folder of the per-salesperson password files "
            f"{tmp_path / 'none' / '{email}'}) does not exist",
        )
    ]


def test_check_local_reports_a_wrong_ca_bundle(tmp_path) -> None:
    config = {"url": "https://dav.example.com/{user}/", "verify_tls": "certs/ca.pem"}
    path = tmp_path / "certs" / "ca.pem"

    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("verify_tls", f"CA bundle {path} does not exist")
    ]
    path.parent.mkdir()
    path.write_text("-----BEGIN NOTHING-----\n")
    assert CalDavBackend.check_local(config, tmp_path, {}) == [
        ("verify_tls", f"{path} holds no PEM certificate; give the CA certificates file")
    ]
    assert CalDavBackend.check_local({**config, "verify_tls": True}, tmp_path, {}) == []
