"""Application tokens for Microsoft Graph through msal's client-credentials flow.

The app registration has *application* permissions (Calendars.ReadWrite, Mail.Read) granted by an
administrator, so one token serves every salesperson's mailbox. msal keeps tokens in a
:class:`msal.SerializableTokenCache`; we persist it to ``token_cache_file`` with owner-only
permissions so a restart reuses a valid token instead of asking the authority again.

Failures are sorted the way the backend contract wants them: a rejected credential (wrong secret,
unknown tenant, revoked consent) is an :class:`AuthError` that retrying cannot fix; an authority
that cannot be reached is a :class:`TransientError`. An auth failure is logged once, when it
starts, and its recovery once, when a token is issued again; the msal app is rebuilt after a
failure so a fixed secret or certificate file is picked up without a restart.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from connectors.base import AuthError, TransientError
from connectors.outlook.settings import OutlookSettings

log = logging.getLogger(__name__)

# Errors from the token endpoint that only a person can fix (RFC 6749 section 5.2 and AADSTS).
_CREDENTIAL_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_request", "invalid_scope"}
)
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


class GraphAuth:
    """Issues bearer tokens for Graph; thread-safe; one instance per configured backend."""

    def __init__(self, settings: OutlookSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env
        self._app: msal.ConfidentialClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        self._lock = threading.Lock()
        self._failing: str | None = None  # the message of the auth failure in progress

    def token(self) -> str:
        """A valid access token for the Graph scope (from the cache when still valid).

        Raises AuthError when the credentials are rejected or missing, TransientError when the
        authority cannot be reached.
        """
        with self._lock:
            try:
                token = self._acquire()
            except AuthError as exc:
                self._app = None  # re-read the secret / certificate on the next try
                if self._failing != str(exc):
                    log.error("Outlook authentication failed: %s", exc)
                self._failing = str(exc)
                raise
            if self._failing is not None:
                log.warning("Outlook authentication works again")
                self._failing = None
            return token

    def forget_token(self) -> None:
        """Drop cached tokens (Graph rejected one: revoked, or signed for another audience)."""
        with self._lock:
            self._cache = msal.SerializableTokenCache()
            self._app = None
            self._save_cache()

    # ----------------------------------------------------------------------------------------

    def _acquire(self) -> str:
        app = self._app or self._build_app()
        try:
            result = app.acquire_token_for_client(scopes=[self.settings.scope])
        except requests.RequestException as exc:
            raise TransientError(f"token authority unreachable: {exc}") from exc
        self._save_cache()
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown_error"))
        text = _first_line(str(result.get("error_description", "")))
        message = f"{error}: {text}" if text else error
        if error in _CREDENTIAL_ERRORS:
            raise AuthError(
                f"token request for client {self.settings.client_id} refused: {message}"
            )
        raise TransientError(f"token request failed: {message}")

    def _build_app(self) -> msal.ConfidentialClientApplication:
        credential = self._credential()
        if self._cache is None:
            self._cache = _load_cache(self.settings.token_cache_file)
        try:
            app = msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=credential,
                authority=self.settings.authority,
                token_cache=self._cache,
                http_client=_session(self.settings),
                # The configured authority is trusted as given (sovereign clouds, test servers):
                # no instance discovery through login.microsoftonline.com.
                instance_discovery=False,
            )
        except ValueError as exc:  # msal: the tenant's OpenID configuration was refused
            raise AuthError(f"authority {self.settings.authority} refused: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"token authority unreachable: {exc}") from exc
        self._app = app
        return app

    def _credential(self) -> str | dict[str, Any]:
        settings = self.settings
        if settings.client_secret_env:
            secret = self.env.get(settings.client_secret_env, "")
            if not secret:
                raise AuthError(
                    f"environment variable {settings.client_secret_env} (client_secret_env) "
                    "is not set"
                )
            return secret
        assert settings.certificate_file is not None  # validate() requires one of the two
        return _certificate_credential(settings.certificate_file, settings.certificate_thumbprint)

    def _save_cache(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            _write_private(self.settings.token_cache_file, self._cache.serialize())
            self._cache.has_state_changed = False


def _session(settings: OutlookSettings) -> requests.Session:
    """The HTTP session msal uses. ``verify`` goes with every request, because requests lets
    ``REQUESTS_CA_BUNDLE`` in the environment override a session-wide setting."""
    session = requests.Session()
    verify = str(settings.ca_bundle) if settings.ca_bundle else True
    session.request = functools.partial(  # type: ignore[method-assign]
        session.request, verify=verify, timeout=settings.timeout
    )
    return session


def _certificate_credential(path: Path, thumbprint: str | None) -> dict[str, Any]:
    """msal's certificate credential from a PEM file holding the private key and certificate."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuthError(f"certificate_file {path}: {exc.strerror or exc}") from exc
    blocks = {m.group(1).decode(): m.group(0) for m in _PEM_BLOCK.finditer(data)}
    key_pem = next((pem for kind, pem in blocks.items() if "PRIVATE KEY" in kind), None)
    if key_pem is None:
        raise AuthError(f"certificate_file {path}: no PEM private key in it")
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuthError(f"certificate_file {path}: unreadable private key ({exc})") from exc
    if thumbprint is None:
        cert_pem = blocks.get("CERTIFICATE")
        if cert_pem is None:
            raise AuthError(
                f"certificate_file {path}: no certificate in it; give certificate_thumbprint"
            )
        cert = x509.load_pem_x509_certificate(cert_pem)
        thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra's x5t is SHA-1
    return {"private_key": key_pem.decode(), "thumbprint": thumbprint}


def _load_cache(path: Path) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return cache
    except OSError as exc:
        log.warning("Outlook token cache %s unreadable (%s); starting empty", path, exc)
        return cache
    try:
        cache.deserialize(text)
    except ValueError:
        log.warning("Outlook token cache %s is corrupt; starting empty", path)
    return cache


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (it holds tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the file may have existed with wider permissions
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
