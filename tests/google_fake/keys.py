"""Credentials for the fake: a service account key made with ``cryptography`` and stored OAuth
tokens, written where the connector expects them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .server import FakeGoogle

SERVICE_ACCOUNT = "cadence@cadence-test.iam.gserviceaccount.com"
CLIENT_ID = "fake-client.apps.googleusercontent.com"
CLIENT_SECRET = "fake-secret"


@cache
def _key() -> rsa.RSAPrivateKey:
    # One key per test run: generating RSA keys is the slowest part of a test otherwise.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_service_account_key(fake: FakeGoogle, path: Path) -> Path:
    """An RSA key (made here) as a service-account JSON file at ``path``, trusted by ``fake``."""
    key = _key()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    fake.add_service_account(SERVICE_ACCOUNT, public_pem)
    info = {
        "type": "service_account",
        "project_id": "cadence-test",
        "private_key_id": "key-1",
        "private_key": private_pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "1234567890",
        "token_uri": fake.token_uri,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)  # cadence refuses a key other users can read
    return path


def write_user_token(fake: FakeGoogle, folder: Path, user: str) -> Path:
    """A stored OAuth token of ``user`` as ``cadence auth google`` leaves it (mode 0600)."""
    refresh = f"refresh-{user}"
    fake.add_refresh_token(user, refresh, CLIENT_ID, CLIENT_SECRET)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{user.lower()}.json"
    info = {
        "refresh_token": refresh,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_uri": fake.token_uri,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
    return path
