"""A local HTTPS token authority that real msal talks to, as it would to Entra ID.

msal refuses plain-http authorities, so this serves TLS with a self-signed certificate for
127.0.0.1 made here; clients trust it through ``ca_file``. It serves the tenant's OpenID
configuration and a client-credentials token endpoint checking either the client secret or a
certificate-signed client assertion (verified with PyJWT against the registered certificate).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def make_certificate(common_name: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A self-signed certificate for ``common_name`` (also as IP SAN) and its key, as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class FakeAuthority:
    """Entra ID for one tenant and one app. ``issued`` holds every access token handed out."""

    def __init__(self, folder: Path, *, tenant: str, client_id: str, secret: str) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.secret = secret
        self.app_certificate: bytes | None = None  # PEM; enables client assertions
        self.issued: set[str] = set()
        self.scopes: dict[str, str] = {}  # access token -> the scope it was asked for
        self.expires_in = 3599  # seconds an access token lasts
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        cert_pem, key_pem = make_certificate()
        self.ca_file = folder / "authority-ca.pem"
        self.ca_file.write_bytes(cert_pem)
        key_file = folder / "authority-key.pem"
        key_file.write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    @property
    def authority(self) -> str:
        """The authority URL to configure (``authority`` key)."""
        return f"{self.base}/{self.tenant}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def openid_configuration(self) -> dict[str, str]:
        root = f"{self.base}/{self.tenant}"
        return {
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """The token endpoint: (status, JSON body) as Entra answers."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016"}
        if not self._client_authenticated(form):
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.issued.add(token)
            self.scopes[token] = form.get("scope", "")
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}

    def _client_authenticated(self, form: dict[str, str]) -> bool:
        if "client_secret" in form:
            return secrets.compare_digest(form["client_secret"], self.secret)
        assertion = form.get("client_assertion")
        if not assertion or self.app_certificate is None:
            return False
        cert = x509.load_pem_x509_certificate(self.app_certificate)
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key(),
                algorithms=["RS256", "PS256"],
                audience=self.openid_configuration()["token_endpoint"],
            )
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.client_id == claims.get("sub")


def _handler(authority: FakeAuthority) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with authority.lock:
                authority.requests["GET " + path.rsplit("/", 1)[-1]] += 1
            if path == f"/{authority.tenant}/v2.0/.well-known/openid-configuration":
                self._send(200, authority.openid_configuration())
            else:
                self._send(400, {"error": "invalid_tenant", "error_description": "AADSTS90002"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with authority.lock:
                authority.requests["POST token"] += 1
            if self.path.split("?", 1)[0] != f"/{authority.tenant}/oauth2/v2.0/token":
                self._send(404, {"error": "not_found"})
                return
            self._send(*authority.token(form))

    return Handler
