"""Application tokens for Microsoft Graph through msal's client-credentials flow.

The app registration has *application* permissions (Calendars.ReadWrite, Mail.Read) granted by an
administrator, so one token serves every salesperson's mailbox. msal keeps tokens in a
:class:`msal.SerializableTokenCache`; we persist it to ``token_cache_file`` (by default in the
state directory, see :func:`connectors.localfiles.default_state_dir`) so a restart reuses a valid
token instead of asking the authority again.

The cache holds bearer tokens, so it is handled as a secret: written atomically with mode 0600
(into a folder created 0700), never read through a symbolic link, and refused (an
:class:`AuthError` saying ``chmod 600``) when other users can read it. A cache that cannot be
*written* does not stop anyone: the token is kept in memory, and the problem is logged once
(and once more when writing works again); ``cadence check`` reports it beforehand
(:func:`check_local_files`).

Failures are sorted the way the backend contract wants them: a rejected credential (wrong secret,
unknown tenant, revoked consent) is an :class:`AuthError` that retrying cannot fix; an authority
that cannot be reached is a :class:`TransientError`. An auth failure is logged once, when it
starts, and its recovery once, when a token is issued again; the msal app is rebuilt after a
failure so a fixed secret or certificate file is picked up without a restart.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from connectors.base import AuthError, BackendError, TransientError
from connectors.localfiles import (
    ca_bundle_problem,
    read_private_file,
    secret_file_problem,
    token_file_problem,
    writable_problem,
    write_private_file,
)
from connectors.outlook.settings import OutlookSettings, section_path, token_cache_path

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
        self._cache_failing: str | None = None  # why the token cache cannot be written

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
        if self._app is None:
            cached = self._cached_token()
            if cached:
                return cached  # no authority contacted: not even its OpenID configuration
        app = self._app or self._build_app()
        try:
            result = app.acquire_token_for_client(scopes=[self.settings.scope])
        except requests.RequestException as exc:
            raise TransientError(f"token authority unreachable: {exc}") from exc
        except OSError as exc:  # not a RequestException: e.g. no CA bundle at ca_bundle
            raise BackendError(f"token request failed: {exc}") from exc
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

    def _cached_token(self) -> str | None:
        """A still valid access token for the scope from the cache file, as msal would take
        it (more than 5 minutes left, not due for refresh), without building the msal app:
        building it fetches the authority's OpenID configuration, one request per process
        (each `run --once`) that a cached token makes needless."""
        if self._cache is None:
            self._cache = load_cache(self.settings.token_cache_file)
        now = time.time()
        authority = urlsplit(self.settings.authority)
        query = {
            "client_id": self.settings.client_id,
            "environment": authority.hostname or "",
            "realm": authority.path.strip("/").split("/", 1)[0],
        }
        for entry in self._cache.search(
            msal.TokenCache.CredentialType.ACCESS_TOKEN, target=[self.settings.scope], query=query
        ):
            try:
                left = int(entry["expires_on"]) - now
                aging = "refresh_on" in entry and int(entry["refresh_on"]) < now
            except (KeyError, ValueError, TypeError):
                continue
            if left >= 5 * 60 and not aging and entry.get("secret"):
                return str(entry["secret"])
        return None

    def _build_app(self) -> msal.ConfidentialClientApplication:
        credential = self._credential()
        if self._cache is None:
            self._cache = load_cache(self.settings.token_cache_file)
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
        except OSError as exc:  # not a RequestException: e.g. no CA bundle at ca_bundle
            raise BackendError(f"token request failed: {exc}") from exc
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
        """Persist the cache if msal changed it. A failure is logged, not raised: the token in
        memory still works, and failing every salesperson's call over a cache would stop the
        whole team for want of a file."""
        if self._cache is None or not self._cache.has_state_changed:
            return
        path = self.settings.token_cache_file
        # Tried again at the next change only (a new token), not at every request.
        self._cache.has_state_changed = False
        try:
            write_private_file(path, self._cache.serialize().encode("utf-8"))
        except OSError as exc:
            problem = (
                f"cannot write the Outlook token cache {path}: {exc.strerror or exc}; "
                "the token is kept in memory only, so each restart asks for a new one. "
                f"Make {path.parent} writable by the user cadence runs as, or point "
                "token_cache_file at a writable folder (`cadence check` names the problem)"
            )
            if self._cache_failing != problem:
                log.error("%s", problem)
            self._cache_failing = problem
            return
        if self._cache_failing is not None:
            log.warning("Outlook token cache %s is written again", path)
            self._cache_failing = None


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
    """msal's certificate credential from a PEM file holding the private key and certificate.

    The file holds the app's private key: refused when other users can read it."""
    try:
        data = read_private_file(path)
    except AuthError as exc:
        raise AuthError(f"certificate_file: {exc}") from None
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


def load_cache(path: Path) -> msal.SerializableTokenCache:
    """The token cache stored in ``path``; empty when there is none yet.

    Raises AuthError (naming the file and the fix) when ``path`` is a symbolic link, not a
    regular file, or readable by other users: tokens others may have read are not used. A cache
    that cannot be read or parsed is only a lost cache: logged, and started empty (the next
    token replaces the file).
    """
    cache = msal.SerializableTokenCache()
    try:
        data = read_private_file(path, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):  # none yet (a bad folder: see the write)
        return cache
    except AuthError as exc:
        raise AuthError(f"Outlook token cache refused: {exc}") from None
    except OSError as exc:
        log.warning("Outlook token cache %s unreadable (%s); starting empty", path, exc)
        return cache
    try:
        cache.deserialize(data.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        log.warning("Outlook token cache %s is corrupt; starting empty", path)
    return cache


def check_local_files(
    section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Problems with the files ``[calendar.outlook]`` names, as ``(key, message)`` pairs: the
    token cache (a link, readable by others, or a place that cannot be written), the
    certificate file (missing, readable by others, no usable key) and the CA bundle.

    ``client_secret_env`` is not looked at: ``cadence check`` may run without the service's
    environment file.
    """
    problems: list[tuple[str, str]] = []
    cache = token_cache_path(section, base_dir, env)
    for problem in (token_file_problem(cache), writable_problem(cache)):
        if problem:
            problems.append(("token_cache_file", problem))
    certificate = section_path(section, "certificate_file", base_dir)
    if certificate is not None:
        problem = secret_file_problem(certificate)
        if problem is None:
            # Loads the key, and the certificate too when no thumbprint is given (as at use).
            thumbprint = section.get("certificate_thumbprint")
            try:
                _certificate_credential(certificate, str(thumbprint) if thumbprint else None)
            except AuthError as exc:
                problem = str(exc)
        if problem:
            problems.append(("certificate_file", problem))
    ca_bundle = section_path(section, "ca_bundle", base_dir)
    if ca_bundle is not None:
        problem = ca_bundle_problem(ca_bundle)
        if problem:
            problems.append(("ca_bundle", problem))
    return problems


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
